# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubernetes_node_action filter (documentation in kubernetes_node_action.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubernetes import node_action


def kubernetes_node_action(node, first_node, *, first=False, control_plane=False, host='this node',
                           first_host='the first control-plane host'):
    return node_action(node, first_node, first=bool(first), control_plane=bool(control_plane), host=host,
                       first_host=first_host)


class FilterModule:
    def filters(self):
        return {'kubernetes_node_action': kubernetes_node_action}
