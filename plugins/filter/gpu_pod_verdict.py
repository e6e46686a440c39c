# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gpu_pod_verdict filter (documentation in gpu_pod_verdict.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate import pod_verdict


def gpu_pod_verdict(pod, expected, *, log=None, events=None, plugin_log=None, vector_add=False, timed_out=False,
                    allocated=None, plugin='device plugin'):
    return pod_verdict(pod or None, expected, log=log, events=events, plugin_log=plugin_log,
                       vector_add=bool(vector_add), timed_out=bool(timed_out), allocated=allocated, plugin=plugin)


class FilterModule:
    def filters(self):
        return {'gpu_pod_verdict': gpu_pod_verdict}
