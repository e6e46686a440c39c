# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate_nodes import capacity_report


def planned(name, gpu_count=1):
    """One of cluster_plan's nodes, with what capacity_report reads of it (test_node_decision covers the rest)."""
    return {'host': name, 'node': name, 'gpu_count': gpu_count}


def node(name, gpus=None):
    capacity = {'cpu': '16'}
    if gpus is not None:
        capacity['nvidia.com/gpu'] = str(gpus)
    return {'metadata': {'name': name}, 'status': {'capacity': capacity}}


def test_capacity_matches_when_every_node_advertises_its_gpus():
    plan = [planned('gpu-a'), planned('gpu-b', gpu_count=2)]
    report = capacity_report([node('gpu-a', 1), node('gpu-b', 2)], plan)
    assert {k: v for k, v in report.items() if k != 'nodes'} == {
        'ok': True, 'pending': [], 'message': 'every GPU node advertises its nvidia.com/gpu'}
    assert [(n['node'], n['expected'], n['advertised']) for n in report['nodes']] == [('gpu-a', 1, 1), ('gpu-b', 2, 2)]


def test_capacity_names_nodes_not_advertising_or_advertising_another_count():
    plan = [planned('gpu-a'), planned('gpu-b', gpu_count=2), planned('gpu-c')]
    report = capacity_report([node('gpu-a'), node('gpu-b', 1)], plan)
    assert not report['ok']
    assert [(p['node'], p['advertised'], p['why']) for p in report['pending']] == [
        ('gpu-a', None, 'not advertised yet'), ('gpu-b', 1, 'count differs'),
        ('gpu-c', None, 'no Node object of that name (set kubegpu_node_name)')]
    assert report['message'].startswith('gpu-a: nvidia.com/gpu absent expected 1 (not advertised yet); ')


def test_capacity_with_time_slicing_counts_replicas():
    plan = [planned('gpu-a', gpu_count=2)]
    assert capacity_report([node('gpu-a', 8)], plan, replicas=4)['ok']
    assert not capacity_report([node('gpu-a', 2)], plan, replicas=4)['ok']
