# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubernetes role's decisions: each node's kubeadm step, the runtime's cgroup driver, the nodes not Ready."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubernetes import (
    ACTIONS,
    KubernetesInputError,
    node_action,
    nodes_not_ready,
    runtime_cgroup_driver,
)

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures'
# Real `containerd config dump` outputs: config version 2 (1.6, 1.7) and 3 (2.x).
CONTAINERD = {v: (FIXTURES / 'containerd' / 'config-default-{0}.toml'.format(v)).read_text()
              for v in ('1.6.20', '1.7.24', '2.1.9')}
VERSION_2 = ('1.6.20', '1.7.24')
CRI_PLUGIN = {'1.6.20': 'io.containerd.grpc.v1.cri', '1.7.24': 'io.containerd.grpc.v1.cri',
              '2.1.9': 'io.containerd.cri.v1.runtime'}
# CRI-O's crio.conf as `crio config` prints it: cgroup_manager is not set in it.
CRIO_CONF = (FIXTURES / 'crio' / 'crio.conf').read_text()
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


# runtime_cgroup_driver: containerd

def set_systemd_cgroup(text, value, runtime='runc'):
    """The real dump with the one SystemdCgroup line of ``runtime`` set to ``value`` (None: removed)."""
    lines = text.splitlines(keepends=True)
    options = '.runtimes.{0}.options]'.format(runtime)
    header = ''
    out, hits = [], 0
    for line in lines:
        stripped = line.strip()
        if stripped.startswith('['):
            header = stripped
        if stripped.startswith('SystemdCgroup = ') and header.endswith(options):
            hits += 1
            if value is not None:
                out.append(line.replace(stripped, 'SystemdCgroup = {0}'.format('true' if value else 'false')))
            continue
        out.append(line)
    assert hits == 1, 'no SystemdCgroup line of {0} in the fixture'.format(runtime)
    return ''.join(out)


def with_runtime(text, name, default=False):
    """The dump with a second runtime ``name``, a copy of its runc tables (as the container_runtime role adds one)."""
    lines = text.splitlines(keepends=True)
    runc = re.compile(r'\[plugins\.(\S+)\.containerd\.runtimes\.runc\]$')
    start = next(i for i, line in enumerate(lines) if runc.match(line.strip()))
    end = next(i for i in range(start + 1, len(lines))
               if lines[i].strip().startswith('[') and '.runtimes.runc' not in lines[i])
    block = ''.join(lines[start:end]).replace('.runtimes.runc', '.runtimes.' + name)
    block = re.sub(r"BinaryName = (['\"])\1", r'BinaryName = \g<1>/usr/bin/nvidia-container-runtime\g<1>', block)
    text = ''.join(lines[:end]) + block + ''.join(lines[end:])
    if default:
        text, count = re.subn(r"default_runtime_name = (['\"])runc\1",
                              r'default_runtime_name = \g<1>{0}\g<1>'.format(name), text)
        assert count == 1
    return text


@pytest.mark.parametrize('version', sorted(CONTAINERD))
def test_containerd_default_dump_is_cgroupfs(version):
    # Every containerd release ships SystemdCgroup = false for runc.
    assert 'SystemdCgroup = false' in CONTAINERD[version]
    assert runtime_cgroup_driver(CONTAINERD[version]) == 'cgroupfs'


@pytest.mark.parametrize('version', sorted(CONTAINERD))
@pytest.mark.parametrize(('value', 'driver'), [(True, 'systemd'), (False, 'cgroupfs'), (None, 'cgroupfs')])
def test_containerd_runc_systemd_cgroup(version, value, driver):
    assert runtime_cgroup_driver(set_systemd_cgroup(CONTAINERD[version], value), 'containerd') == driver


def test_containerd_2_reads_the_cri_runtime_plugin_of_config_version_3():
    text = CONTAINERD['2.1.9']
    assert text.startswith('version = 3')
    assert "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]" in text
    # containerd 2.x still prints an io.containerd.grpc.v1.cri plugin, without the runtimes.
    assert "[plugins.'io.containerd.grpc.v1.cri']" in text
    assert runtime_cgroup_driver(set_systemd_cgroup(text, True)) == 'systemd'


@pytest.mark.parametrize('version', VERSION_2)
def test_containerd_1_reads_the_grpc_cri_plugin_of_config_version_2(version):
    text = CONTAINERD[version]
    assert text.splitlines()[8] == 'version = 2'
    assert '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]' in text
    assert runtime_cgroup_driver(set_systemd_cgroup(text, True)) == 'systemd'


@pytest.mark.parametrize('version', sorted(CONTAINERD))
def test_containerd_default_runtime_other_than_runc_decides(version):
    # runc on systemd, the default runtime (nvidia) on cgroupfs: the pods run under nvidia.
    text = with_runtime(set_systemd_cgroup(CONTAINERD[version], True), 'nvidia', default=True)
    assert runtime_cgroup_driver(set_systemd_cgroup(text, False, runtime='nvidia')) == 'cgroupfs'
    # And the other way round.
    text = with_runtime(set_systemd_cgroup(CONTAINERD[version], False), 'nvidia', default=True)
    assert runtime_cgroup_driver(set_systemd_cgroup(text, True, runtime='nvidia')) == 'systemd'
    assert runtime_cgroup_driver(set_systemd_cgroup(text, None, runtime='nvidia')) == 'cgroupfs'


@pytest.mark.parametrize('version', sorted(CONTAINERD))
def test_containerd_extra_runtime_that_is_not_the_default_does_not_decide(version):
    text = with_runtime(set_systemd_cgroup(CONTAINERD[version], False), 'nvidia')
    assert runtime_cgroup_driver(set_systemd_cgroup(text, True, runtime='nvidia')) == 'cgroupfs'


def test_containerd_default_runtime_without_a_table_is_cgroupfs():
    text = set_systemd_cgroup(CONTAINERD['1.7.24'], True).replace('default_runtime_name = "runc"',
                                                                  'default_runtime_name = "kata"')
    assert runtime_cgroup_driver(text) == 'cgroupfs'


def test_containerd_without_a_cri_plugin_is_cgroupfs():
    no_runtimes = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "x"\n'
    assert runtime_cgroup_driver(no_runtimes) == 'cgroupfs'
    assert runtime_cgroup_driver('') == 'cgroupfs'


@pytest.mark.parametrize(('runtime', 'command'), [('containerd', 'containerd config dump'), ('crio', 'crio config')])
def test_unreadable_configuration_names_the_command(runtime, command):
    with pytest.raises(KubernetesInputError) as error:
        runtime_cgroup_driver('[plugins\nSystemdCgroup = = true\n', runtime)
    message = str(error.value)
    assert message.startswith(runtime + ': its effective configuration is not TOML')
    assert 'run `{0}` on the node'.format(command) in message


def test_unknown_runtime_is_an_input_error():
    with pytest.raises(KubernetesInputError, match=r"runtime is 'docker'; expected containerd or crio"):
        runtime_cgroup_driver(CONTAINERD['1.7.24'], 'docker')


# runtime_cgroup_driver: CRI-O

def set_cgroup_manager(text, value):
    assert text.count('\n[crio.runtime]\n') == 1
    return text.replace('\n[crio.runtime]\n', '\n[crio.runtime]\ncgroup_manager = "{0}"\n'.format(value))


@pytest.mark.parametrize(('value', 'driver'), [('cgroupfs', 'cgroupfs'), ('systemd', 'systemd')])
def test_crio_cgroup_manager(value, driver):
    assert runtime_cgroup_driver(set_cgroup_manager(CRIO_CONF, value), 'crio') == driver


def test_crio_without_cgroup_manager_is_systemd():
    # CRI-O's default cgroup_manager is systemd (crio.conf(5)).
    assert 'cgroup_manager' not in CRIO_CONF.replace('# ', '')
    assert runtime_cgroup_driver(CRIO_CONF, 'crio') == 'systemd'


def test_crio_reads_crio_not_containerd_keys():
    # A containerd key in a CRI-O configuration means nothing to CRI-O.
    text = set_cgroup_manager(CRIO_CONF, 'cgroupfs') + (
        '\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\nSystemdCgroup = true\n')
    assert runtime_cgroup_driver(text, 'crio') == 'cgroupfs'


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
