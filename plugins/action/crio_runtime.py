# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of kubegpu.nvidia.crio_runtime: CRI-O's rules plugged into the runtime flow.

The flow (plugin_utils._node_files.RuntimeConfigAction) reads crio.conf and
every file under the drop-in's directory with the module of the same name,
computes the drop-in with plugin_utils._crio_config (tomlkit, on the
controller), validates with the node's `crio config`, and writes with
ansible.builtin.copy. Backups go to backup_dir, never next to the drop-in:
CRI-O would read them.
"""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._crio_config import RUNTIME
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_files import RuntimeConfigAction


class ActionModule(RuntimeConfigAction):
    RUNTIME = RUNTIME
    _VALID_ARGS = frozenset(RUNTIME.argument_spec)
