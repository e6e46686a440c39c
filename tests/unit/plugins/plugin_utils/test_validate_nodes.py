# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate_nodes import (
    NodePlanError,
    capacity_report,
    node_plan,
)

H200_UUID = 'GPU-f7c97444-05e0-ca40-86a8-bba4267c92a0'


def host(name, gpu_count=1, **hostvars):
    facts = {
        'gpu_count': gpu_count,
        'gpus': [{'name': 'NVIDIA H200', 'uuid': H200_UUID if i == 0 else 'GPU-{0}'.format(i)}
                 for i in range(gpu_count)],
        'driver': {'loaded': True, 'version': '580.159.04'},
        'driver_root': {'found': True, 'root': '/'},
        'runtimes': {'containerd': {'installed': True, 'version': '1.7.24'}, 'crio': {'installed': False}},
        'mig': {'enabled_count': 0},
    }
    return {'host': name, 'vars': dict({'ansible_facts': {'nvidia': facts}}, **hostvars)}


def node(name, gpus=None):
    capacity = {'cpu': '16'}
    if gpus is not None:
        capacity['nvidia.com/gpu'] = str(gpus)
    return {'metadata': {'name': name}, 'status': {'capacity': capacity}}


def test_plan_reads_count_uuids_driver_and_runtime_from_gpu_facts():
    plan = node_plan([host('gpu-a')])
    assert plan == [{
        'host': 'gpu-a', 'node': 'gpu-a', 'gpu_count': 1, 'uuids': [H200_UUID], 'gpu_names': ['NVIDIA H200'],
        'driver_version': '580.159.04', 'driver_root': '/', 'runtime': 'containerd 1.7.24', 'mode': 'cdi',
        'stack': 'device_plugin', 'mig_enabled': False,
    }]


def test_plan_uses_the_kubernetes_node_name_and_per_host_mode():
    plan = node_plan([host('10.0.0.5', kubegpu_node_name='ip-10-0-0-5', kubegpu_runtime_mode='runtime')],
                     stack='gpu_operator')
    assert (plan[0]['node'], plan[0]['mode'], plan[0]['stack']) == ('ip-10-0-0-5', 'runtime', 'gpu_operator')


def test_plan_leaves_out_hosts_without_gpus():
    assert [p['host'] for p in node_plan([host('cpu-1', gpu_count=0), host('gpu-a', gpu_count=2)])] == ['gpu-a']


def test_plan_without_facts_names_the_host_and_the_fix():
    with pytest.raises(NodePlanError, match=r'host gpu-b has no ansible_facts\.nvidia; run playbooks/nodes\.yml'):
        node_plan([{'host': 'gpu-b', 'vars': {}}])


def test_plan_refuses_an_unknown_mode_or_stack():
    with pytest.raises(NodePlanError, match="kubegpu_runtime_mode is 'legacy'"):
        node_plan([host('gpu-a', kubegpu_runtime_mode='legacy')])
    with pytest.raises(NodePlanError, match='kubegpu_gpu_stack'):
        node_plan([host('gpu-a')], stack='both')


def test_capacity_matches_when_every_node_advertises_its_gpus():
    plan = node_plan([host('gpu-a'), host('gpu-b', gpu_count=2)])
    report = capacity_report([node('gpu-a', 1), node('gpu-b', 2)], plan)
    assert report == {'ok': True, 'pending': [], 'message': 'every GPU node advertises its nvidia.com/gpu'}


def test_capacity_names_nodes_not_advertising_or_advertising_another_count():
    plan = node_plan([host('gpu-a'), host('gpu-b', gpu_count=2), host('gpu-c')])
    report = capacity_report([node('gpu-a'), node('gpu-b', 1)], plan)
    assert not report['ok']
    assert [(p['node'], p['advertised'], p['why']) for p in report['pending']] == [
        ('gpu-a', None, 'not advertised yet'), ('gpu-b', 1, 'count differs'),
        ('gpu-c', None, 'no Node object of that name (set kubegpu_node_name)')]
    assert report['message'].startswith('gpu-a: nvidia.com/gpu absent expected 1 (not advertised yet); ')


def test_capacity_with_time_slicing_counts_replicas():
    plan = node_plan([host('gpu-a', gpu_count=2)])
    assert capacity_report([node('gpu-a', 8)], plan, replicas=4)['ok']
    assert not capacity_report([node('gpu-a', 2)], plan, replicas=4)['ok']
