# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gpu_node_plan filter (documentation in gpu_node_plan.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate_nodes import NodePlanError, node_plan


def gpu_node_plan(hosts_vars, default_mode='cdi', stack='device_plugin'):
    hosts = []
    for host_vars in hosts_vars or []:
        hosts.append({'host': host_vars.get('inventory_hostname'), 'vars': {
            'ansible_facts': host_vars.get('ansible_facts') or {},
            'kubegpu_node_name': host_vars.get('kubegpu_node_name'),
            'kubegpu_runtime_mode': host_vars.get('kubegpu_runtime_mode'),
        }})
    try:
        return node_plan(hosts, default_mode=default_mode, stack=stack)
    except NodePlanError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'gpu_node_plan': gpu_node_plan}
