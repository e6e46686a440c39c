# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubernetes_trust_problems filter (documentation in kubernetes_trust_problems.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubernetes import trust_problems


def kubernetes_trust_problems(inputs):
    if not isinstance(inputs, dict):
        raise AnsibleFilterError('kubernetes_trust_problems needs a dict of the role\'s inputs, not {0}'.format(
            type(inputs).__name__))
    return trust_problems(inputs)


class FilterModule:
    def filters(self):
        return {'kubernetes_trust_problems': kubernetes_trust_problems}
