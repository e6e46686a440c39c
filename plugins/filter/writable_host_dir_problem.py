# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The writable_host_dir_problem filter (documentation in writable_host_dir_problem.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._role_inputs import writable_host_dir_problem


class FilterModule:
    def filters(self):
        return {'writable_host_dir_problem': writable_host_dir_problem}
