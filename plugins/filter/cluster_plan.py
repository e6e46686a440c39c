# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster_plan filter (documentation in cluster_plan.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_decision import DecisionError, cluster_plan


def cluster_plan_filter(hosts_vars, stack='device_plugin', mode='', removing=False):
    records = [(h.get('inventory_hostname'), h.get('kubegpu_node')) for h in hosts_vars or []]
    try:
        return cluster_plan(records, stack=stack, mode=mode, removing=removing)
    except DecisionError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'cluster_plan': cluster_plan_filter}
