# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gpu_capacity_report filter (documentation in gpu_capacity_report.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate_nodes import capacity_report


def gpu_capacity_report(nodes, plan, resource='nvidia.com/gpu', replicas=1):
    return capacity_report(nodes, plan, resource=resource, replicas=replicas)


class FilterModule:
    def filters(self):
        return {'gpu_capacity_report': gpu_capacity_report}
