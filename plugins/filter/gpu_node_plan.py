# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gpu_node_plan filter (documentation in gpu_node_plan.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate_nodes import NodePlanError, node_plan, plan_hosts


def gpu_node_plan(hosts_vars, default_mode='', stack='device_plugin'):
    hosts = plan_hosts(hosts_vars)
    try:
        return node_plan(hosts, default_mode=default_mode, stack=stack)
    except NodePlanError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'gpu_node_plan': gpu_node_plan}
