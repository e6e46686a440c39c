# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubernetes_subnets_problem filter (documentation in kubernetes_subnets_problem.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._role_inputs import subnets_problem


def kubernetes_subnets_problem(pod_subnet, service_subnet):
    return subnets_problem(pod_subnet, service_subnet)


class FilterModule:
    def filters(self):
        return {'kubernetes_subnets_problem': kubernetes_subnets_problem}
