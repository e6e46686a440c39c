# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubeconfig_problem filter (documentation in kubeconfig_problem.yml)."""

from __future__ import annotations

import base64
import binascii

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubernetes import kubeconfig_problem as _problem


def kubeconfig_problem(probe, path='', content=None, context=''):
    if not isinstance(probe, dict):
        raise AnsibleFilterError('kubeconfig_problem needs the registered result of a kubernetes.core.k8s_info '
                                 'task, not {0}'.format(type(probe).__name__))
    data = None
    if content:
        try:
            data = base64.b64decode(str(content), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AnsibleFilterError(
                'kubeconfig_problem: content must be base64 (slurp\'s content): {0}'.format(exc)) from exc
    return _problem(probe, str(path or ''), data, str(context or ''))


class FilterModule:
    def filters(self):
        return {'kubeconfig_problem': kubeconfig_problem}
