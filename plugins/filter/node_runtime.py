# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node_runtime filter (documentation in node_runtime.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._runtime_mode import RuntimeModeError, decide_runtime


def node_runtime(facts, mode='', runtime='', *, containerd_version='', host='', mode_variable='container_runtime_mode'):
    try:
        return decide_runtime(facts, mode=mode, runtime=runtime, containerd_version=containerd_version, host=host,
                              mode_variable=mode_variable)
    except RuntimeModeError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'node_runtime': node_runtime}
