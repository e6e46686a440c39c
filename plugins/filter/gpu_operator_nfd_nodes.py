# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gpu_operator_nfd_nodes filter (documentation in gpu_operator_nfd_nodes.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._gpu_operator import LabelError, nfd_nodes


def gpu_operator_nfd_nodes(nodes, labels=None, removing=False):
    try:
        return nfd_nodes(nodes or [], labels or {}, removing=removing)
    except LabelError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'gpu_operator_nfd_nodes': gpu_operator_nfd_nodes}
