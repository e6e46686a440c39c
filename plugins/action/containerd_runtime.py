# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of kubegpu.nvidia.containerd_runtime: containerd's rules plugged into the runtime flow.

The flow (plugin_utils._node_files.RuntimeConfigAction) reads the node with the
module of the same name, computes with plugin_utils._containerd_config
(tomlkit, on the controller), validates with the node's `containerd config
dump`, and writes with ansible.builtin.copy.
"""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_config import RUNTIME
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_files import RuntimeConfigAction


class ActionModule(RuntimeConfigAction):
    RUNTIME = RUNTIME
    _VALID_ARGS = frozenset(RUNTIME.argument_spec)
