# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of kubegpu.nvidia.bundle_verify: a bundle's files checked against its SHA256SUMS on the controller.

Runs entirely on the controller (nothing is sent to the host); the rules are in
plugin_utils._bundle.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._bundle import SUMS, BundleError, verify

ARGUMENT_SPEC = {
    'path': {'type': 'path', 'required': True},
    'required': {'type': 'list', 'elements': 'str', 'default': []},
    'optional': {'type': 'list', 'elements': 'str', 'default': []},
    'sums': {'type': 'str', 'default': SUMS},
    'variable': {'type': 'str', 'default': ''},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            checked = verify(args['path'], args['required'], args['optional'], args['sums'], args['variable'])
        except BundleError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        result.update(changed=False, **checked)
        result['msg'] = '{0} files match {1}'.format(len(checked['files']), args['sums'])
        return result
