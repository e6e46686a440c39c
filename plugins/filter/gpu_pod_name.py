# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gpu_pod_name filter (documentation in gpu_pod_name.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate import POD_NAME_PREFIX, pod_name


def gpu_pod_name(node, prefix=POD_NAME_PREFIX):
    return pod_name(node, prefix=prefix)


class FilterModule:
    def filters(self):
        return {'gpu_pod_name': gpu_pod_name}
