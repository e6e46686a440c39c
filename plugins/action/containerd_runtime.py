# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of kubegpu.nvidia.containerd_runtime: containerd's rules plugged into the runtime flow.

The flow (plugin_utils._node_files.RuntimeConfigAction) reads the node with the
module of the same name, computes with plugin_utils._containerd_config
(tomlkit, on the controller), validates with the node's `containerd config
dump`, and writes with ansible.builtin.copy.
"""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtime_args import CONTAINERD_ARGUMENT_SPEC
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _containerd_config as containerd
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_files import RuntimeConfigAction
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._runtime_flow import Runtime


class ActionModule(RuntimeConfigAction):
    _VALID_ARGS = frozenset(CONTAINERD_ARGUMENT_SPEC)
    RUNTIME = Runtime(
        name="containerd",
        module="kubegpu.nvidia.containerd_runtime",
        argument_spec=CONTAINERD_ARGUMENT_SPEC,
        compute=containerd.compute,
        validator=containerd.validator,
        lock_path=lambda args: args["path"],
    )
