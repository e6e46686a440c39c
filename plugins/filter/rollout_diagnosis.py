# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout_diagnosis filter (documentation in rollout_diagnosis.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._rollout import rollout_diagnosis as _diagnosis


def rollout_diagnosis(workload, pods=None, events=None, *, logs=None, nodes=None, expected_nodes=None, max_events=3):
    return _diagnosis(workload or {}, pods or [], events or [], logs=logs or {}, nodes=nodes or [],
                      expected_nodes=expected_nodes or [], max_events=int(max_events))


class FilterModule:
    def filters(self):
        return {'rollout_diagnosis': rollout_diagnosis}
