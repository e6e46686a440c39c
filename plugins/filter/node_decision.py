# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node_decision filter (documentation in node_decision.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_decision import DecisionError, decide_node


def node_decision(facts, inputs=None, host='', node_name=''):
    try:
        return decide_node(facts, inputs, host=host, node_name=node_name)
    except DecisionError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'node_decision': node_decision}
