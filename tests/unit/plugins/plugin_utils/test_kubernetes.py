# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubernetes role's decisions: each node's kubeadm step, the nodes not Ready."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubernetes import (
    ACTIONS,
    node_action,
    nodes_not_ready,
)

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures'
NODES = yaml.safe_load((FIXTURES / 'kubernetes' / 'nodes.yml').read_text())['nodes']

# What tasks/plan.yml records per node: which of kubeadm's files exist, the
# sha256 of /etc/kubernetes/pki/ca.crt, and the API server in kubelet.conf.
STATE_FILES = ('kubelet_conf', 'admin_conf', 'apiserver_manifest', 'ca_crt')
CA = '3f1d0c1a5e0b9d4f8e2a7c6b5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e'
OTHER_CA = '9b2e4c7d1f0a3e6b5c8d7a4f1e0b3c6d9a8f7e2b5c4d1a0f3e6b9c8d7a2f5e4b'
SERVER = 'https://10.89.61.10:6443'
OTHER_SERVER = 'https://192.0.2.20:6443'


def state(*files, ca='', server=''):
    unknown = set(files) - set(STATE_FILES)
    assert not unknown, unknown
    return dict({key: key in files for key in STATE_FILES}, ca_checksum=ca, server=server)


CLEAN = state()
CONTROL_PLANE = state('kubelet_conf', 'admin_conf', 'apiserver_manifest', 'ca_crt', ca=CA, server=SERVER)
WORKER = state('kubelet_conf', 'ca_crt', ca=CA, server=SERVER)


def first(node):
    return node_action(node, node, first=True, control_plane=True, host='kubegpu-k8s-cp', first_host='kubegpu-k8s-cp')


def other(node, first_node=None, control_plane=False, host='kubegpu-k8s-worker'):
    first_node = CONTROL_PLANE if first_node is None else first_node
    return node_action(node, first_node, first=False, control_plane=control_plane, host=host,
                       first_host='kubegpu-k8s-cp')


def assert_refusal(result, host, *found):
    """A refusal names the host, what was found on it, and both ways out; never a reset of its own."""
    assert result['action'] == 'refuse'
    assert '\n' not in result['reason']
    assert result['reason'].startswith(host + ' ')
    for text in found:
        assert text in result['reason'], (text, result['reason'])
    assert 'run `kubeadm reset` on {0} yourself'.format(host) in result['reason']
    assert 'kubernetes_state: absent' in result['reason']
    assert 'never resets a node on its own' in result['reason']


# node_action: the first control-plane host

def test_clean_first_host_runs_kubeadm_init():
    result = first(CLEAN)
    assert result == {'action': 'init', 'reason': 'kubeadm init: the first control-plane host of a new cluster',
                      'control_plane': True}


def test_nothing_known_about_the_first_host_is_a_clean_one():
    assert node_action(None, None, first=True, control_plane=True)['action'] == 'init'
    assert node_action({}, {}, first=True, control_plane=True)['action'] == 'init'


def test_initialized_first_host_is_left_alone():
    result = first(CONTROL_PLANE)
    assert result['action'] == 'initialized'
    assert result['control_plane'] is True
    assert SERVER in result['reason']


def test_initialized_without_a_readable_server_says_so():
    assert 'API server unknown' in first(dict(CONTROL_PLANE, server=''))['reason']


@pytest.mark.parametrize(('files', 'found'), [
    # kubeadm init stopped after the control-plane phase: manifests, no kubeconfigs yet.
    (('apiserver_manifest', 'ca_crt'), ['/etc/kubernetes/manifests/kube-apiserver.yaml']),
    # admin.conf written, kubelet.conf not (the kubeconfig phase stopped half-way).
    (('admin_conf', 'apiserver_manifest', 'ca_crt'),
     ['/etc/kubernetes/admin.conf', '/etc/kubernetes/manifests/kube-apiserver.yaml']),
    # Once a worker of some cluster: a kubelet.conf and no control plane.
    (('kubelet_conf', 'ca_crt'), ['/etc/kubernetes/kubelet.conf']),
])
def test_half_built_first_host_is_refused(files, found):
    result = first(state(*files, ca=CA, server=SERVER))
    assert_refusal(result, 'kubegpu-k8s-cp', 'not a finished control plane', 'stopped half-way', *found)
    assert result['control_plane'] is True


def test_half_built_refusal_lists_only_what_is_there():
    reason = first(state('apiserver_manifest'))['reason']
    assert 'kube-apiserver.yaml' in reason
    assert 'kubelet.conf' not in reason and 'admin.conf' not in reason


# node_action: every other host

def test_clean_worker_joins():
    assert other(CLEAN) == {'action': 'join', 'reason': 'kubeadm join as a node', 'control_plane': False}


def test_clean_control_plane_host_joins_as_control_plane():
    result = other(CLEAN, control_plane=True, host='kubegpu-k8s-cp2')
    assert result == {'action': 'join', 'reason': 'kubeadm join as a control-plane host', 'control_plane': True}


def test_clean_worker_joins_a_cluster_that_this_run_creates():
    # In a first run (and in check mode) the first host has nothing yet: it runs init, the others join.
    assert other(CLEAN, first_node=CLEAN)['action'] == 'join'
    assert other(CLEAN, first_node=None)['action'] == 'join'


def test_worker_of_this_cluster_is_joined():
    result = other(WORKER)
    assert result['action'] == 'joined'
    assert result['control_plane'] is False
    assert result['reason'] == 'already a node of this cluster (API server {0})'.format(SERVER)


def test_control_plane_host_of_this_cluster_is_joined():
    result = other(CONTROL_PLANE, control_plane=True, host='kubegpu-k8s-cp2')
    assert result['action'] == 'joined'
    assert result['reason'].startswith('already a control-plane host of this cluster')


def test_worker_of_another_cluster_is_refused():
    result = other(state('kubelet_conf', 'ca_crt', ca=OTHER_CA, server=OTHER_SERVER))
    assert_refusal(result, 'kubegpu-k8s-worker', 'already a node of another cluster',
                   'its kubelet talks to ' + OTHER_SERVER,
                   'its cluster CA differs from the one of kubegpu-k8s-cp',
                   'would take it out of that cluster')


def test_worker_whose_ca_was_not_read_is_refused():
    # kubelet.conf without ca.crt: nothing says it is this cluster's node.
    result = other(state('kubelet_conf', server=SERVER))
    assert_refusal(result, 'kubegpu-k8s-worker', 'its cluster CA differs')


def test_worker_of_some_cluster_while_the_first_host_has_none_is_refused():
    result = other(WORKER, first_node=CLEAN)
    assert_refusal(result, 'kubegpu-k8s-worker', 'already a node of another cluster', SERVER,
                   'kubegpu-k8s-cp has no cluster yet')


def test_worker_of_some_cluster_while_the_first_host_is_half_built_is_refused():
    # A first host without kubelet.conf has no cluster, even with its admin.conf and CA.
    result = other(WORKER, first_node=state('admin_conf', 'apiserver_manifest', 'ca_crt', ca=CA))
    assert_refusal(result, 'kubegpu-k8s-worker', 'kubegpu-k8s-cp has no cluster yet')


def test_unknown_server_of_another_cluster_is_named_as_unknown():
    result = other(state('kubelet_conf', 'ca_crt', ca=OTHER_CA))
    assert 'its kubelet talks to an unknown API server' in result['reason']


@pytest.mark.parametrize('files', [
    ('apiserver_manifest',), ('admin_conf',), ('admin_conf', 'apiserver_manifest', 'ca_crt')])
@pytest.mark.parametrize('control_plane', [False, True])
def test_host_with_a_control_plane_of_its_own_is_refused(files, control_plane):
    result = other(state(*files, ca=OTHER_CA), control_plane=control_plane)
    assert_refusal(result, 'kubegpu-k8s-worker', 'holds a control plane of its own', 'no kubelet.conf')
    assert result['control_plane'] is control_plane


def test_every_decision_is_one_of_the_actions():
    cases = [first(CLEAN), first(CONTROL_PLANE), first(state('apiserver_manifest')), other(CLEAN), other(WORKER),
             other(state('kubelet_conf', ca=OTHER_CA)), other(state('admin_conf'))]
    assert sorted({case['action'] for case in cases}) == sorted(ACTIONS)
    for case in cases:
        assert set(case) == {'action', 'reason', 'control_plane'}
        assert case['reason'] and '\n' not in case['reason']


# nodes_not_ready

def by_name(name):
    return next(node for node in NODES if node['metadata']['name'] == name)


def test_fixture_nodes_are_shaped_as_the_api_server_returns_them():
    for node in NODES:
        assert node['apiVersion'] == 'v1' and node['kind'] == 'Node'
        for condition in node['status'].get('conditions', []):
            assert set(condition) == {'type', 'status', 'reason', 'message', 'lastHeartbeatTime', 'lastTransitionTime'}
            assert condition['status'] in ('True', 'False', 'Unknown')


def test_ready_node_is_not_reported():
    assert nodes_not_ready(NODES, ['kubegpu-k8s-cp']) == []


def test_missing_node_is_reported_as_not_registered():
    assert nodes_not_ready(NODES, ['kubegpu-k8s-cp', 'gpu-z']) == [
        {'name': 'gpu-z', 'reason': 'not registered with the API server (did its kubelet start?)'}]


def test_no_nodes_at_all():
    assert [entry['name'] for entry in nodes_not_ready([], ['a', 'b'])] == ['a', 'b']
    assert [entry['name'] for entry in nodes_not_ready(None, ['a'])] == ['a']
    assert nodes_not_ready(NODES, []) == []


def test_node_without_conditions_has_no_ready_condition_yet():
    assert nodes_not_ready(NODES, ['gpu-c']) == [{'name': 'gpu-c', 'reason': 'no Ready condition yet'}]


def test_node_with_only_pressure_conditions_has_no_ready_condition_yet():
    node = copy.deepcopy(by_name('kubegpu-k8s-cp'))
    node['status']['conditions'] = [c for c in node['status']['conditions'] if c['type'] != 'Ready']
    assert nodes_not_ready([node], ['kubegpu-k8s-cp']) == [
        {'name': 'kubegpu-k8s-cp', 'reason': 'no Ready condition yet'}]


def test_not_ready_node_gives_the_kubelet_message():
    assert nodes_not_ready(NODES, ['kubegpu-k8s-worker']) == [{
        'name': 'kubegpu-k8s-worker',
        'reason': 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady '
                  'message:Network plugin returns error: cni plugin not initialized'}]


def test_node_whose_kubelet_went_quiet_is_not_ready():
    assert nodes_not_ready(NODES, ['gpu-b']) == [{'name': 'gpu-b', 'reason': 'Kubelet stopped posting node status.'}]


def test_not_ready_without_message_falls_back_to_reason_then_to_not_ready():
    node = copy.deepcopy(by_name('kubegpu-k8s-worker'))
    ready = next(c for c in node['status']['conditions'] if c['type'] == 'Ready')
    ready['message'] = ''
    assert nodes_not_ready([node], ['kubegpu-k8s-worker'])[0]['reason'] == 'KubeletNotReady'
    ready['reason'] = ''
    assert nodes_not_ready([node], ['kubegpu-k8s-worker'])[0]['reason'] == 'not Ready'


def test_only_the_named_nodes_in_their_order():
    names = ['gpu-c', 'kubegpu-k8s-cp', 'gpu-b', 'kubegpu-k8s-worker', 'gpu-z']
    assert [entry['name'] for entry in nodes_not_ready(NODES, names)] == [
        'gpu-c', 'gpu-b', 'kubegpu-k8s-worker', 'gpu-z']
    # A not-Ready node that is not asked about is not reported.
    assert nodes_not_ready(NODES, ['kubegpu-k8s-cp']) == []


def test_a_node_turning_ready_leaves_the_list():
    node = copy.deepcopy(by_name('kubegpu-k8s-worker'))
    ready = next(c for c in node['status']['conditions'] if c['type'] == 'Ready')
    ready.update(status='True', reason='KubeletReady', message='kubelet is posting ready status')
    assert nodes_not_ready([by_name('kubegpu-k8s-cp'), node], ['kubegpu-k8s-cp', 'kubegpu-k8s-worker']) == []
