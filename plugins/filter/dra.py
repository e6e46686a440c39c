# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DRA and GPU-stack filters (documentation in dra_cluster_refusal.yml, dra_slice_report.yml,
dra_allocated_uuids.yml and gpu_stack_refusal.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _dra, _stacks


def dra_cluster_refusal(server_version, kubelet_versions=None, namespace=''):
    return _dra.cluster_refusal(server_version, kubelet_versions or {}, namespace) or ''


def dra_slice_report(slices, nodes):
    return _dra.slice_report(slices or [], nodes or [])


def dra_allocated_uuids(claim, slices, node=None):
    return _dra.allocated_uuids(claim or {}, slices or [], node)


def gpu_stack_refusal(daemonsets, stack):
    return _stacks.refusal(daemonsets or [], stack)


class FilterModule:
    def filters(self):
        return {'dra_cluster_refusal': dra_cluster_refusal, 'dra_slice_report': dra_slice_report,
                'dra_allocated_uuids': dra_allocated_uuids, 'gpu_stack_refusal': gpu_stack_refusal}
