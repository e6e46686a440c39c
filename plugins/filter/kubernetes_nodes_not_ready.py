# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubernetes_nodes_not_ready filter (documentation in kubernetes_nodes_not_ready.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubernetes import nodes_not_ready


def kubernetes_nodes_not_ready(nodes, names):
    return nodes_not_ready(nodes, names)


class FilterModule:
    def filters(self):
        return {'kubernetes_nodes_not_ready': kubernetes_nodes_not_ready}
