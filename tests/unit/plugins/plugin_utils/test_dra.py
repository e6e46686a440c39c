# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NVIDIA's DRA driver as a GPU stack: its refusals, its ResourceSlices and claims, and the stacks beside it."""
from __future__ import annotations

import pathlib
import re

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _dra, _stacks, _validate
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_decision import (
    DecisionError,
    cluster_plan,
    decide_node,
)

UUID_A = 'GPU-f7c97444-05e0-ca40-86a8-bba4267c92a0'
UUID_B = 'GPU-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'


def facts(driver='580.159.04', containerd='1.7.24', gpus=(UUID_A,)):
    return {
        'gpu_count': len(gpus),
        'gpus': [{'name': 'NVIDIA H200', 'uuid': uuid} for uuid in gpus],
        'driver': {'loaded': bool(driver), 'version': driver},
        'driver_root': {'found': True, 'root': '/'},
        'runtimes': {'containerd': {'installed': True, 'path': '/usr/bin/containerd', 'version': containerd},
                     'crio': {'installed': False, 'path': None, 'version': None}},
        'mig': {'enabled_count': 0},
    }


def gpu_slice(node, uuids, pool=None, driver='gpu.nvidia.com'):
    """A ResourceSlice as the kubelet plugin publishes it (resource.k8s.io/v1: attributes on the device)."""
    return {'apiVersion': 'resource.k8s.io/v1', 'kind': 'ResourceSlice',
            'metadata': {'name': '{0}-gpu.nvidia.com-x'.format(node)},
            'spec': {'driver': driver, 'nodeName': node, 'pool': {'name': pool or node, 'generation': 1},
                     'devices': [{'name': 'gpu-{0}'.format(i),
                                  'attributes': {'type': {'string': 'gpu'}, 'uuid': {'string': uuid},
                                                 'productName': {'string': 'NVIDIA H200'}}}
                                 for i, uuid in enumerate(uuids)]}}


# The node decision refuses what the driver cannot serve, naming the fix.

def test_dra_on_a_node_with_cdi_and_a_new_driver_is_decided():
    record = decide_node(facts(), {'stack': 'dra'}, host='gpu-a')
    assert (record['stack'], record['mode'], record['cdi']) == ('dra', 'cdi', True)


def test_dra_refuses_a_node_in_runtime_mode():
    with pytest.raises(DecisionError, match=r'gpu-a runs its GPUs in runtime mode, without CDI.*runtime_mode: cdi'):
        decide_node(facts(), {'stack': 'dra', 'mode': 'runtime'}, host='gpu-a')


def test_dra_refuses_containerd_1_6_where_the_decision_falls_back_to_the_handler():
    with pytest.raises(DecisionError, match='without CDI'):
        decide_node(facts(containerd='1.6.20'), {'stack': 'dra'}, host='gpu-a')


def test_dra_refuses_a_driver_older_than_branch_565():
    with pytest.raises(DecisionError, match=r'driver on gpu-a is 550\.163\.01: .*branch 565 or later.*driver_branch'):
        decide_node(facts(driver='550.163.01'), {'stack': 'dra'}, host='gpu-a')


def test_dra_takes_branch_565_itself():
    assert decide_node(facts(driver='565.57.01'), {'stack': 'dra'}, host='gpu-a')['driver_version'] == '565.57.01'


def test_dra_leaves_a_node_without_a_driver_yet_to_the_cluster_plan():
    record = decide_node(facts(driver=None), {'stack': 'dra'}, host='gpu-a')
    assert record['driver_version'] is None
    # Once the node stage installed an old driver, the plan refuses it.
    record['driver_version'] = '535.309.01'
    with pytest.raises(DecisionError, match=r'535\.309\.01'):
        cluster_plan([('gpu-a', record)], stack='dra')


def test_the_plan_of_dra_does_not_care_which_runtime_each_node_has():
    one = decide_node(facts(), {'stack': 'dra'}, host='gpu-a')
    two = dict(one, host='gpu-b', node='gpu-b', runtime='crio')
    plan = cluster_plan([('gpu-a', one), ('gpu-b', two)], stack='dra')
    assert [n['node'] for n in plan['nodes']] == ['gpu-a', 'gpu-b']


def test_the_plan_of_dra_refuses_two_driver_roots_naming_the_driver():
    one = decide_node(facts(), {'stack': 'dra'}, host='gpu-a')
    two = dict(one, host='gpu-b', driver_root='/run/nvidia/driver')
    with pytest.raises(DecisionError, match=r'driver root .*one DRA driver \(one nvidiaDriverRoot\)'):
        cluster_plan([('gpu-a', one), ('gpu-b', two)], stack='dra')


# The cluster's refusals

@pytest.mark.parametrize('namespace', ['default', '', 'kube-system'])
def test_the_cluster_refusal_names_the_namespace_variable(namespace):
    assert 'dra_driver_namespace is {0!r}'.format(namespace) in _dra.cluster_refusal('v1.36.2', {}, namespace)


@pytest.mark.parametrize('version', ['v1.33.5', 'v1.34.1', 'v1.30.0-gke.1'])
def test_the_cluster_refusal_wants_kubernetes_1_34_2(version):
    refusal = _dra.cluster_refusal(version, {}, 'nvidia-dra-driver-gpu')
    assert 'Kubernetes {0}'.format(version) in refusal and '1.34.2 or later' in refusal


@pytest.mark.parametrize('version', ['v1.34.2', 'v1.36.2', 'v1.36.2+openshift', 'v2.0.0'])
def test_the_cluster_refusal_takes_kubernetes_1_34_2_and_later(version):
    assert _dra.cluster_refusal(version, {'gpu-a': version}, 'nvidia-dra-driver-gpu') is None


def test_the_cluster_refusal_names_gpu_nodes_with_an_old_kubelet():
    refusal = _dra.cluster_refusal('v1.36.2', {'gpu-a': 'v1.36.2', 'gpu-b': 'v1.33.1'}, 'nvidia-dra-driver-gpu')
    assert 'gpu-b (v1.33.1)' in refusal and 'gpu-a' not in refusal


def test_the_cluster_refusal_says_when_the_version_is_not_one():
    assert 'not a Kubernetes version' in _dra.cluster_refusal('', {}, 'nvidia-dra-driver-gpu')


# ResourceSlices against gpu_facts

NODES = [{'node': 'gpu-a', 'gpu_count': 2, 'uuids': [UUID_A, UUID_B]}]


def test_a_slice_that_lists_every_gpu_uuid_for_uuid_is_ok():
    report = _dra.slice_report([gpu_slice('gpu-a', [UUID_B, UUID_A])], NODES)
    assert report['ok'] and report['short'] == []
    assert report['nodes'][0]['listed'] == 2


def test_a_missing_slice_names_the_node():
    others = [gpu_slice('gpu-z', [UUID_A]), gpu_slice('gpu-a', [UUID_A], driver='other.example.com')]
    report = _dra.slice_report(others, NODES)
    assert not report['ok'] and report['short'] == ['gpu-a']
    assert report['nodes'][0]['message'] == (
        'gpu-a: no ResourceSlice of gpu.nvidia.com lists a GPU (gpu_facts counted 2)')


def test_a_short_slice_says_how_short():
    report = _dra.slice_report([gpu_slice('gpu-a', [UUID_A])], NODES)
    assert report['short'] == ['gpu-a'] and 'lists 1 GPU(s), gpu_facts counted 2' in report['nodes'][0]['message']


def test_a_slice_with_other_uuids_is_short():
    report = _dra.slice_report([gpu_slice('gpu-a', [UUID_A, 'GPU-other'])], NODES)
    assert report['short'] == ['gpu-a'] and 'GPU-other' in report['nodes'][0]['message']


def test_v1beta1_devices_keep_their_attributes_under_basic():
    item = gpu_slice('gpu-a', [UUID_A, UUID_B])
    for device in item['spec']['devices']:
        device['basic'] = {'attributes': device.pop('attributes')}
    assert _dra.slice_report([item], NODES)['ok']


def test_a_claims_devices_are_read_against_the_slices():
    claim = {'status': {'allocation': {'devices': {'results': [
        {'request': 'gpus', 'driver': 'gpu.nvidia.com', 'pool': 'gpu-a', 'device': 'gpu-1'}]}}}}
    assert _dra.allocated_uuids(claim, [gpu_slice('gpu-a', [UUID_A, UUID_B])]) == [UUID_B]
    assert _dra.allocated_uuids({}, []) == []
    gone = _dra.allocated_uuids(claim, [])
    assert gone == ['unknown device gpu-a/gpu-1']


def test_a_finished_pods_claim_was_allocated_every_gpu_of_its_node():
    # Kubernetes deallocates a finished pod's claim and deletes the one made from its template: the
    # validate claim asked for every GPU of the node, so that is what it held.
    slices = [gpu_slice('gpu-a', [UUID_B, UUID_A]), gpu_slice('gpu-z', ['GPU-z'])]
    assert _dra.allocated_uuids({}, slices, 'gpu-a') == sorted([UUID_A, UUID_B])
    released = {'status': {'reservedFor': []}}
    assert _dra.allocated_uuids(released, slices, 'gpu-z') == ['GPU-z']
    # Still allocated: the allocation itself, not the node's slices.
    claim = {'status': {'allocation': {'devices': {'results': [
        {'request': 'gpus', 'driver': 'gpu.nvidia.com', 'pool': 'gpu-a', 'device': 'gpu-1'}]}}}}
    assert _dra.allocated_uuids(claim, slices, 'gpu-a') == [UUID_A]
    # A pod that has not finished (no node given): a claim without an allocation holds nothing.
    assert _dra.allocated_uuids({}, slices) == []


# The validate verdict with claims

def pod(phase='Succeeded', scheduled=True, message=''):
    conditions = [] if scheduled else [{'type': 'PodScheduled', 'status': 'False', 'reason': 'Unschedulable',
                                        'message': message}]
    return {'metadata': {'name': 'kubegpu-validate-gpu-a'}, 'status': {'phase': phase, 'conditions': conditions}}


def test_an_unallocatable_claim_is_its_own_verdict_with_the_plugins_log():
    message = ('0/2 nodes are available: 1 cannot allocate all claims, '
               '1 node(s) didn\'t match Pod\'s node affinity/selector.')
    events = [{'reason': 'FailedScheduling', 'message': message,
               'involvedObject': {'name': 'kubegpu-validate-gpu-a'}}]
    waiting = 'waiting for the NVIDIA driver under / on the host'
    verdict = _validate.pod_verdict(pod('Pending', scheduled=False, message=message), NODES[0], events=events,
                                    plugin_log=waiting, plugin='kubelet plugin')
    assert verdict['reason'] == 'claim_unallocatable' and not verdict['ok']
    assert 'kubelet plugin: waiting for the NVIDIA driver under / on the host' in verdict['evidence']


def test_nvidia_smi_must_list_exactly_the_claims_gpus():
    log = 'GPU 0: NVIDIA H200 (UUID: {0})\nGPU 1: NVIDIA H200 (UUID: {1})\n'.format(UUID_A, UUID_B)
    verdict = _validate.pod_verdict(pod(), NODES[0], log=log, allocated=[UUID_A])
    assert verdict['reason'] == 'claim_mismatch'
    assert _validate.pod_verdict(pod(), NODES[0], log=log, allocated=[UUID_B, UUID_A])['ok']


# One stack at a time

def daemonset(namespace, name, labels=None):
    return {'metadata': {'namespace': namespace, 'name': name, 'labels': labels or {}}}


def test_the_dra_driver_is_refused_beside_the_device_plugin():
    refusal = _stacks.refusal([daemonset('kube-system', 'nvidia-device-plugin-daemonset')], 'dra')
    assert refusal.startswith('The standalone device plugin is already deployed (DaemonSet kube-system/')
    assert 'device_plugin_state=absent' in refusal


def test_the_device_plugin_is_refused_beside_the_dra_driver():
    running = [daemonset('nvidia-dra-driver-gpu', 'dra-driver-nvidia-gpu-kubelet-plugin',
                         {'app.kubernetes.io/name': 'dra-driver-nvidia-gpu'})]
    assert 'NVIDIA\'s DRA driver is already deployed' in _stacks.refusal(running, 'device_plugin')
    assert _stacks.refusal(running, 'dra') == ''


def test_the_gpu_operators_plugin_is_told_from_the_standalone_one():
    operator = daemonset('gpu-operator', 'nvidia-device-plugin-daemonset', {'app': 'nvidia-device-plugin-daemonset'})
    assert _stacks.deployed([operator, daemonset('kube-system', 'kube-proxy')]) == [
        {'stack': 'gpu_operator', 'name': 'gpu-operator/nvidia-device-plugin-daemonset'}]
    mine = daemonset('gpu-stack', 'nvidia-device-plugin-daemonset', {'app.kubernetes.io/managed-by': 'kubegpu.nvidia'})
    assert _stacks.deployed([mine])[0]['stack'] == 'device_plugin'


# The GPU host's own test program must print what the verdict looks for: a mismatch passed the
# rehearsal on the build machine (no GPU, no nvcc) and failed only on the GPU host.

def _c_printf_lines(source):
    """The printf format strings of a C file, with their escapes as printed."""
    return [fmt.encode().decode('unicode_escape') for fmt in re.findall(r'printf\("((?:[^"\\]|\\.)*)"', source)]


def test_the_gpu_hosts_vector_add_prints_the_verdicts_pass_line_on_success_only():
    source = (pathlib.Path(__file__).parents[4] / 'tests' / 'gpu' / 'vectoradd.cu').read_text()
    printed = _c_printf_lines(source)
    # A line of its own, so that the pass line cannot be part of a failure message.
    assert _validate.VECTOR_ADD_PASSED + '\n' in printed
    success = 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: {0})\n{1}\n'.format(UUID_A, _validate.VECTOR_ADD_PASSED)
    assert _validate.pod_verdict(pod(), {'node': 'gpu-a', 'gpu_count': 1, 'uuids': [UUID_A]}, log=success,
                                 vector_add=True)['ok']
    # Every failure line it prints leaves the verdict failing.
    failures = [line for line in printed if 'FAILED' in line]
    assert failures
    for line in failures:
        log = 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: {0})\n{1}'.format(UUID_A, line.replace('%s', 'x').replace('%d', '1'))
        verdict = _validate.pod_verdict(pod(), {'node': 'gpu-a', 'gpu_count': 1, 'uuids': [UUID_A]}, log=log,
                                        vector_add=True)
        assert verdict['reason'] == 'vector_add_failed', line


def test_a_claim_the_plugin_cannot_prepare_is_its_own_verdict():
    # The kubelet's event on a real H100 node, driver root /usr/local/nvidia given as nvidiaDriverRoot (2026-12-06).
    message = ('Failed to prepare dynamic resources: prepare dynamic resources: NodePrepareResources failed for '
               'ResourceClaim kubegpu-validate-gpu-a-gpus-x75sz: error preparing devices for claim '
               'kubegpu-validate/kubegpu-validate-gpu-a-gpus-x75sz:95fe779c: unable to create CDI spec file for claim: '
               'failed to write spec: invalid CDI Spec: failed add device "95fe779c-gpu-0": invalid device, empty '
               'device edits')
    events = [{'reason': 'FailedPrepareDynamicResources', 'message': message,
               'involvedObject': {'name': 'kubegpu-validate-gpu-a'}}]
    verdict = _validate.pod_verdict(pod('Pending'), NODES[0], events=events, plugin='kubelet plugin')
    assert verdict['reason'] == 'claim_prepare_failed'
    assert 'empty device edits' in verdict['message'] and 'dra_driver_driver_root' in verdict['message']


def test_dra_refuses_a_driver_under_a_prefix_and_takes_a_driver_containers_root():
    prefixed = facts()
    prefixed['driver_root'] = {'found': True, 'root': '/usr/local/nvidia'}
    with pytest.raises(DecisionError, match=r'installed under the prefix /usr/local/nvidia: .*driver under /'):
        decide_node(prefixed, {'stack': 'dra'}, host='gpu-a')
    container = facts()
    container['driver_root'] = {'found': True, 'root': '/run/nvidia/driver'}
    assert decide_node(container, {'stack': 'dra'}, host='gpu-a')['driver_root'] == '/run/nvidia/driver'
    # The device plugin serves the prefix.
    assert decide_node(prefixed, {'stack': 'device_plugin'}, host='gpu-a')['driver_root'] == '/usr/local/nvidia'


def test_insufficient_nvidia_gpu_for_a_claim_is_an_unallocatable_claim():
    # The real test cluster's scheduler, for a gpu.nvidia.com claim on a worker whose device plugin had run before.
    message = ("0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) didn't satisfy plugin(s) "
               "[NodeAffinity]. no new claims to deallocate")
    events = [{'reason': 'FailedScheduling', 'message': message,
               'involvedObject': {'name': 'kubegpu-validate-gpu-a'}}]
    waiting = 'waiting for the NVIDIA driver under / on the host'
    claim = _validate.pod_verdict(pod('Pending', scheduled=False, message=message), NODES[0], events=events,
                                  plugin_log=waiting, plugin='kubelet plugin', allocated=[])
    assert claim['reason'] == 'claim_unallocatable'
    assert 'kubelet plugin: ' + waiting in claim['evidence']
    counted = _validate.pod_verdict(pod('Pending', scheduled=False, message=message), NODES[0], events=events)
    assert counted['reason'] == 'insufficient_gpu'
