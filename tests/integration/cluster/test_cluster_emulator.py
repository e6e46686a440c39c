# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster and validation stages' flows against the kmock Kubernetes API emulator.

The emulator is not a cluster (see emulator.py): these tests prove what the roles
send, in which order, what they wait for and how they judge what comes back.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

# Needs kmock: run through tests/integration/cluster/run.sh, which installs it (no skip when it is missing).
kmock = importlib.import_module('kmock')

from emulator import EmulatorThread  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SHARED_BIN = Path(os.environ.get('KUBEGPU_SHARED_BIN') or REPO.parent / 'shared' / 'bin')
STATES = yaml.safe_load((REPO / 'tests/unit/fixtures/validate/pod_states.yml').read_text())
STATES_ROLLOUT = yaml.safe_load((REPO / 'tests/unit/fixtures/rollout/device_plugin.yml').read_text())
OTHER_TAINT = {'key': 'example.com/dedicated', 'value': 'ml', 'effect': 'PreferNoSchedule'}
# Plays and tasks of playbooks/cluster.yml, emulated_nodes.yml and roles/preflight whose results the tests read.
INPUTS_PLAY = "Check the collection's inputs"
NODE_STAGE_PLAY = 'Give the emulated GPU nodes their recorded gpu_facts'
CLUSTER_DECIDE_PLAY = 'Decide what each GPU node needs, where this run has not yet'
DECIDE = 'Decide what this node needs'
PLAN = "kubegpu.nvidia.preflight : Plan the cluster from the GPU nodes' decisions"


@pytest.fixture
def env(tmp_path):
    collections = tmp_path / 'collections' / 'ansible_collections' / 'kubegpu'
    collections.mkdir(parents=True)
    (collections / 'nvidia').symlink_to(REPO)
    environ = dict(os.environ)
    environ.update({
        'ANSIBLE_CONFIG': str(REPO / 'ansible.cfg'),
        'ANSIBLE_COLLECTIONS_PATH': str(tmp_path / 'collections'),
        'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-local'),
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json',
        'ANSIBLE_NOCOLOR': '1',
        'PATH': '{0}{1}{2}'.format(Path(sys.executable).parent, os.pathsep, environ.get('PATH', '')),
    })
    environ.pop('KUBECONFIG', None)
    return environ


def play(env, cluster, playbook, extra, tags=None):
    env = dict(env, K8S_AUTH_KUBECONFIG=str(cluster.kubeconfig(Path(env['ANSIBLE_LOCAL_TEMP']).parent / 'kubeconfig')))
    extra = dict({'ansible_python_interpreter': sys.executable}, **extra)
    argv = [str(Path(sys.executable).parent / 'ansible-playbook'), '-i', str(HERE / 'inventory.yml'),
            str(HERE / playbook), '-e', json.dumps(extra)]
    if tags:
        argv += ['--tags', tags]
    proc = subprocess.run(argv, cwd=HERE, env=env, capture_output=True, text=True, timeout=240, check=False)
    try:
        run = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:]) from None
    return proc.returncode, run


def task(run, name, host='localhost', play=None):
    """The result of the first task called `name` on `host` (in the play called `play`, if given).

    A name with its role ("kubegpu.nvidia.preflight : ...") picks the role's task from the
    include_role task of the same name.
    """
    for one in run['plays']:
        if play is not None and one['play']['name'] != play:
            continue
        for entry in one['tasks']:
            if name in (entry['task']['name'], entry['task']['name'].split(' : ')[-1]) and host in entry['hosts']:
                return entry['hosts'][host]
    raise AssertionError('task {0!r} did not run on {1}'.format(name, host))


def changed(run):
    return {host: stats['changed'] for host, stats in run['stats'].items() if stats['changed']}


def ok(code, run):
    assert code == 0, json.dumps([t for p in run['plays'] for t in p['tasks']
                                  if any(h.get('failed') for h in t['hosts'].values())], indent=1)[-4000:]


def test_emulator_cluster_stage_labels_nodes_applies_the_plugin_and_a_second_run_changes_nothing(env, tmp_path):
    nodes = ['gpu-a', 'gpu-b']
    with EmulatorThread(nodes=nodes, advertised={'gpu-a': 1, 'gpu-b': 1}) as cluster:
        extra = {'emulated_nodes': nodes, 'device_plugin_capacity_delay': 1,
                 'device_plugin_manifest_dir': str(tmp_path)}
        code, run = play(env, cluster, 'emulated_site.yml', extra, tags='cluster')
        ok(code, run)
        daemonset = cluster.objects('daemonsets', 'kube-system')['nvidia-device-plugin-daemonset']
        container = daemonset['spec']['template']['spec']['containers'][0]
        envs = {e['name']: e['value'] for e in container['env']}
        assert envs['DEVICE_LIST_STRATEGY'] == 'cdi-cri'
        # In cdi mode a node without the driver falls back to envvar and runs, serving no GPUs.
        assert container['command'] == ['/bin/sh', '-c']
        assert container['args'][0].rstrip().endswith('exec nvidia-device-plugin')
        assert envs['NVIDIA_DRIVER_ROOT'] == '/usr/local/nvidia'
        assert container['image'] == 'nvcr.io/nvidia/k8s-device-plugin:v0.20.0'
        assert 'runtimeClassName' not in daemonset['spec']['template']['spec']
        assert cluster.objects('runtimeclasses') == {}
        for node in cluster.objects('nodes').values():
            assert node['metadata']['labels']['nvidia.com/gpu.present'] == 'true'
            assert node['spec']['taints'] == [OTHER_TAINT]
        capacity = task(run, 'Fail unless every GPU node advertises its GPUs')['msg']
        assert capacity == 'every GPU node advertises its nvidia.com/gpu'
        assert sorted(p.name for p in tmp_path.glob('*.yml')) == [
            '00-networkpolicy-nvidia-device-plugin-no-network.yml', '01-daemonset-nvidia-device-plugin-daemonset.yml']

        code, again = play(env, cluster, 'emulated_site.yml', extra, tags='cluster')
        ok(code, again)
        assert changed(again) == {}


def test_emulator_runtime_mode_adds_the_runtimeclass_time_slicing_and_gfd(env):
    nodes = ['gpu-a']
    with EmulatorThread(nodes=nodes, advertised={'gpu-a': 4}) as cluster:
        extra = {'emulated_nodes': nodes, 'kubegpu_runtime_mode': 'runtime', 'device_plugin_sharing': 'time-slicing',
                 'device_plugin_sharing_replicas': 4, 'device_plugin_gfd': True, 'device_plugin_capacity_delay': 1}
        code, run = play(env, cluster, 'emulated_site.yml', extra, tags='cluster')
        ok(code, run)
        assert cluster.objects('runtimeclasses')['nvidia']['handler'] == 'nvidia'
        daemonset = cluster.objects('daemonsets', 'kube-system')['nvidia-device-plugin-daemonset']
        spec = daemonset['spec']['template']['spec']
        assert spec['runtimeClassName'] == 'nvidia'
        assert {e['name']: e['value'] for e in spec['containers'][0]['env']}['DEVICE_LIST_STRATEGY'] == 'envvar'
        configmap = cluster.objects('configmaps', 'kube-system')['nvidia-device-plugin-config']
        config = yaml.safe_load(configmap['data']['config.yaml'])
        assert config['sharing']['timeSlicing']['resources'] == [{'name': 'nvidia.com/gpu', 'replicas': 4}]
        assert 'gpu-feature-discovery' in cluster.objects('daemonsets', 'kube-system')


@pytest.mark.parametrize('node_stage', [True, False], ids=['after-the-node-stage', 'cluster-stage-alone'])
def test_emulator_containerd_1_6_node_gets_the_plugin_in_the_mode_its_runtime_was_configured_in(env, node_stage):
    nodes = ['gpu-a']
    with EmulatorThread(nodes=nodes, advertised={'gpu-a': 1}) as cluster:
        extra = {'emulated_nodes': nodes, 'emulated_node_stage': node_stage, 'device_plugin_capacity_delay': 1,
                 'emulated_facts': {'runtimes': {'containerd': {'version': '1.6.20'}}}}
        code, run = play(env, cluster, 'emulated_site.yml', extra, tags='cluster')
        ok(code, run)
        plan = task(run, PLAN)['ansible_facts']['kubegpu_cluster_plan']
        assert [(p['node'], p['runtime'], p['mode']) for p in plan['nodes']] == [
            ('gpu-a', 'containerd 1.6.20', 'runtime')]
        assert (plan['mode'], plan['cdi'], plan['handler']) == ('runtime', False, True)
        # One decision per node: made by the node stage when it ran, else by the cluster stage, never twice.
        decided_in = [one['play']['name'] for one in run['plays'] for entry in one['tasks']
                      if entry['task']['name'].split(' : ')[-1] == DECIDE
                      and 'ansible_facts' in entry['hosts'].get('gpu-a', {})]
        assert decided_in == [NODE_STAGE_PLAY if node_stage else CLUSTER_DECIDE_PLAY]
        recorded = task(run, DECIDE, host='gpu-a', play=decided_in[0])['ansible_facts']['kubegpu_node']
        assert (recorded['runtime'], recorded['runtime_version'], recorded['mode']) == (
            'containerd', '1.6.20', 'runtime')
        assert 'CDI support came with containerd 1.7' in recorded['reason']
        assert cluster.objects('runtimeclasses')['nvidia']['handler'] == 'nvidia'
        daemonset = cluster.objects('daemonsets', 'kube-system')['nvidia-device-plugin-daemonset']
        spec = daemonset['spec']['template']['spec']
        assert spec['runtimeClassName'] == 'nvidia'
        assert {e['name']: e['value'] for e in spec['containers'][0]['env']}['DEVICE_LIST_STRATEGY'] == 'envvar'


def test_emulator_cdi_asked_for_on_containerd_1_6_stops_the_cluster_stage_with_the_fix(env):
    nodes = ['gpu-a']
    with EmulatorThread(nodes=nodes, advertised={'gpu-a': 1}) as cluster:
        extra = {'emulated_nodes': nodes, 'kubegpu_runtime_mode': 'cdi',
                 'emulated_facts': {'runtimes': {'containerd': {'version': '1.6.20'}}}}
        code, run = play(env, cluster, 'emulated_site.yml', extra, tags='cluster')
        assert code != 0
        failed = task(run, DECIDE, host='gpu-a', play=CLUSTER_DECIDE_PLAY)
        assert failed.get('failed') is True
        assert 'kubegpu_runtime_mode is cdi, but containerd 1.6.20 on gpu-a has no CDI support' in failed['msg']
        assert 'upgrade containerd, or set kubegpu_runtime_mode: runtime' in failed['msg']
        # The stage stops there: no plan is made and nothing is sent to the cluster.
        assert [one['play']['name'] for one in run['plays']][-1] == CLUSTER_DECIDE_PLAY
        assert cluster.objects('daemonsets', 'kube-system') == {}


def test_emulator_taint_then_absent_removes_only_what_the_roles_added(env):
    nodes = ['gpu-a']
    with EmulatorThread(nodes=nodes, advertised={'gpu-a': 1}) as cluster:
        base = {'emulated_nodes': nodes, 'device_plugin_capacity_delay': 1}
        ok(*play(env, cluster, 'emulated_site.yml', dict(base, node_labels_taint=True), tags='cluster'))
        taints = cluster.objects('nodes')['gpu-a']['spec']['taints']
        assert {'key': 'nvidia.com/gpu', 'value': 'present', 'effect': 'NoSchedule'} in taints
        assert len(taints) == 2

        code, run = play(env, cluster, 'emulated_site.yml',
                         dict(base, node_labels_state='absent', device_plugin_state='absent'), tags='cluster')
        ok(code, run)
        node = cluster.objects('nodes')['gpu-a']
        assert 'nvidia.com/gpu.present' not in node['metadata']['labels']
        assert node['spec']['taints'] == [OTHER_TAINT]
        assert cluster.objects('daemonsets', 'kube-system') == {}


def test_emulator_node_not_advertising_its_gpus_fails_naming_it(env):
    nodes = ['gpu-a', 'gpu-b']
    with EmulatorThread(nodes=nodes, advertised={'gpu-a': 1}) as cluster:
        extra = {'emulated_nodes': nodes, 'device_plugin_capacity_retries': 2, 'device_plugin_capacity_delay': 1}
        code, run = play(env, cluster, 'emulated_site.yml', extra, tags='cluster')
        assert code == 2
        msg = task(run, 'Fail unless every GPU node advertises its GPUs')['msg']
        assert 'gpu-b: nvidia.com/gpu absent expected 1 (not advertised yet)' in msg
        assert 'gpu-a' not in msg.split(':', 1)[1].replace('gpu-b', '')


def test_emulator_device_plugin_not_rolled_out_fails_with_a_line_per_node(env):
    nodes = ['gpu-a', 'gpu-b']
    log = STATES_ROLLOUT['logs']['nvidia-device-plugin-daemonset-8wz2m']
    with EmulatorThread(nodes=nodes, advertised={'gpu-a': 1}, ready_nodes=1) as cluster:
        def crash_looping_plugin(emulator):
            name = 'nvidia-device-plugin-daemonset-8wz2m'
            pod = next(p for p in STATES_ROLLOUT['pods'] if p['metadata']['name'] == name)
            emulator.objects[kmock.resource('v1/pods'), 'kube-system', name] = pod
            emulator.logs['kube-system', name] = log
            for event in STATES_ROLLOUT['events']:
                emulator.objects[kmock.resource('v1/events'), 'kube-system', event['metadata']['name']] = event
        cluster.call(crash_looping_plugin)
        extra = {'emulated_nodes': nodes, 'device_plugin_wait_timeout': 1, 'device_plugin_wait_delay': 1}
        code, run = play(env, cluster, 'emulated_site.yml', extra, tags='cluster')
        assert code == 2
        msg = task(run, 'Fail with what each node shows')['msg']
        assert msg[0].startswith('DaemonSet kube-system/nvidia-device-plugin-daemonset: not ready: 1 of 1 pods ready')
        assert 'scheduled on 1 of the 2 expected nodes' in msg[0]
        gpu_b = next(line for line in msg if line.startswith('gpu-b: pod nvidia-device-plugin-daemonset-8wz2m'))
        assert 'CrashLoopBackOff (6 restarts, last exit code 1 Error)' in gpu_b
        assert 'BackOff (x27)' in gpu_b
        assert 'cdi_needs_nvml' in gpu_b
        logs = task(run, 'Read the log tail of each device plugin pod in trouble')['results']
        assert [r['item']['pod'] for r in logs] == ['nvidia-device-plugin-daemonset-8wz2m']


def test_emulator_refuses_the_device_plugin_next_to_the_gpu_operator(env):
    with EmulatorThread(nodes=['gpu-a'], advertised={'gpu-a': 1}) as cluster:
        def operator_plugin(emulator):
            emulator.objects[kmock.resource('apps/v1/daemonsets'), 'gpu-operator', 'nvidia-device-plugin-daemonset'] = {
                'apiVersion': 'apps/v1', 'kind': 'DaemonSet',
                'metadata': {'name': 'nvidia-device-plugin-daemonset', 'namespace': 'gpu-operator'}}
        cluster.call(operator_plugin)
        code, run = play(env, cluster, 'emulated_site.yml', {'emulated_nodes': ['gpu-a']}, tags='cluster')
        assert code == 2
        refusal = task(run, 'Refuse to deploy one stack next to the other')['msg']
        assert 'The GPU Operator is already deployed' in refusal
        assert cluster.objects('daemonsets', 'kube-system') == {}


@pytest.mark.parametrize('stack', [['device_plugin', 'gpu_operator'], 'gpu_operaor'], ids=['both', 'misspelt'])
def test_emulator_refuses_an_unknown_stack(env, stack):
    with EmulatorThread(nodes=['gpu-a']) as cluster:
        code, run = play(env, cluster, 'emulated_site.yml', {'emulated_nodes': ['gpu-a'], 'kubegpu_gpu_stack': stack},
                         tags='cluster')
        assert code == 2
        # The inputs role's argument specs refuse it in the cluster stage's first play, before any node is read.
        refusal = next(entry['hosts']['localhost'] for one in run['plays'] if one['play']['name'] == INPUTS_PLAY
                       for entry in one['tasks'] if 'localhost' in entry['hosts']
                       and entry['task']['name'].split(' : ')[-1].startswith('Validating arguments against arg spec'))
        assert refusal.get('failed') is True
        want = 'kubegpu_gpu_stack must be one of: device_plugin, gpu_operator, dra, got: {0}'.format(stack)
        assert want in refusal['msg']
        assert [one['play']['name'] for one in run['plays']][-1] == INPUTS_PLAY
        assert cluster.objects('daemonsets', 'kube-system') == {}


def test_emulator_validation_passes_and_prints_the_summary(env):
    with EmulatorThread(nodes=['gpu-a'], pod_scenarios={'gpu-a': STATES['passed']}) as cluster:
        code, run = play(env, cluster, 'emulated_site.yml', {'emulated_nodes': ['gpu-a'], 'validate_cleanup': False},
                         tags='validate')
        ok(code, run)
        table = task(run, 'Summarize the run')['msg']
        assert table[0].split() == ['NODE', 'GPUS', 'DRIVER', 'RUNTIME', 'MODE', 'STACK', 'VALIDATION']
        assert table[2].split() == [
            'gpu-a', '1/1', '580.159.04', 'containerd', '1.7.24', 'cdi', 'device_plugin', 'passed']
        pod = cluster.objects('pods', 'kubegpu-validate')['kubegpu-validate-gpu-a']
        assert pod['spec']['containers'][0]['resources']['limits']['nvidia.com/gpu'] == '1'
        assert pod['spec']['securityContext']['runAsNonRoot'] is True
        assert pod['spec']['affinity']['nodeAffinity']['requiredDuringSchedulingIgnoredDuringExecution'][
            'nodeSelectorTerms'][0]['matchFields'][0]['values'] == ['gpu-a']


def test_emulator_validation_explains_every_failure_in_one_line(env):
    failing = [name for name in STATES if name != 'passed']
    scenarios = {name.replace('_', '-'): STATES[name] for name in STATES}
    with EmulatorThread(nodes=sorted(scenarios), pod_scenarios=scenarios) as cluster:
        def plugin_pod(emulator):
            emulator.objects[kmock.resource('v1/pods'), 'kube-system', 'nvidia-device-plugin-daemonset-x1'] = {
                'apiVersion': 'v1', 'kind': 'Pod',
                'metadata': {'name': 'nvidia-device-plugin-daemonset-x1', 'namespace': 'kube-system',
                             'labels': {'name': 'nvidia-device-plugin-ds'}},
                'spec': {'nodeName': 'insufficient-gpu'}}
            emulator.logs['kube-system', 'nvidia-device-plugin-daemonset-x1'] = STATES['insufficient_gpu']['plugin_log']
        cluster.call(plugin_pod)
        extra = {'emulated_nodes': sorted(scenarios), 'validate_timeout': 3, 'validate_poll_delay': 1}
        code, run = play(env, cluster, 'emulated_site.yml', extra, tags='validate')
        assert code == 2
        table = task(run, 'Summarize the run')['msg']
        results = {line.split()[0]: line.split()[-1] for line in table[2:]}
        assert results == {name.replace('_', '-'): STATES[name]['expect'] for name in STATES}
        msg = task(run, 'Fail for the nodes that did not pass')['msg']
        for name in failing:
            assert any(line.startswith(name.replace('_', '-') + ': ') for line in msg), name
        assert any(line.startswith('  device plugin: ') and 'No devices found' in line for line in msg)
        assert any('no runtime for "nvidia" is configured' in line for line in msg)
        assert cluster.objects('pods', 'kubegpu-validate') == {}


def leaves(values, prefix=''):
    for key, value in values.items():
        path = prefix + key
        if isinstance(value, dict) and path != 'devicePlugin.config.data':
            yield from leaves(value, path + '.')
        else:
            yield path


def chart():
    """Chart.yaml and values.yaml of NVIDIA's gpu-operator chart archive (the one the GPU host ran)."""
    with tarfile.open(SHARED_BIN / 'gpu-operator-v26.7.0.tgz') as archive:
        return tuple(yaml.safe_load(archive.extractfile('gpu-operator/' + name).read())
                     for name in ('Chart.yaml', 'values.yaml'))


def unknown_to_chart(values, chart_values):
    """The rendered value paths the chart's values.yaml does not have: values the chart would ignore."""
    unknown = []
    for path in leaves(values):
        node = chart_values
        for key in path.split('.'):
            if not isinstance(node, dict) or key not in node:
                unknown.append(path)
                break
            node = node[key]
    return unknown


def operator_deployment(emulator, ready=True):
    status = ({'observedGeneration': 1, 'replicas': 1, 'readyReplicas': 1, 'availableReplicas': 1, 'updatedReplicas': 1}
              if ready else {'observedGeneration': 1, 'replicas': 1, 'unavailableReplicas': 1, 'updatedReplicas': 1})
    emulator.objects[kmock.resource('apps/v1/deployments'), 'gpu-operator', 'gpu-operator'] = {
        'apiVersion': 'apps/v1', 'kind': 'Deployment',
        'metadata': {'name': 'gpu-operator', 'namespace': 'gpu-operator', 'generation': 1},
        'spec': {'replicas': 1, 'selector': {'matchLabels': {'app': 'gpu-operator'}}},
        'status': status}


def test_emulator_gpu_operator_values_follow_the_node_stage_and_the_validator_is_awaited(env, tmp_path):
    with EmulatorThread(nodes=['gpu-a']) as cluster:
        def operator_ready(emulator):
            operator_deployment(emulator)
            emulator.objects[kmock.resource('nvidia.com/v1/clusterpolicies'), None, 'cluster-policy'] = {
                'apiVersion': 'nvidia.com/v1', 'kind': 'ClusterPolicy', 'metadata': {'name': 'cluster-policy'},
                'status': {'state': 'ready'}}
            emulator.objects[kmock.resource('apps/v1/daemonsets'), 'gpu-operator', 'nvidia-operator-validator'] = {
                'apiVersion': 'apps/v1', 'kind': 'DaemonSet',
                'metadata': {'name': 'nvidia-operator-validator', 'namespace': 'gpu-operator', 'generation': 1},
                'status': {'desiredNumberScheduled': 1, 'numberReady': 1, 'updatedNumberScheduled': 1,
                           'observedGeneration': 1}}
        cluster.call(operator_ready)
        code, run = play(env, cluster, 'operator_flow.yml', {'gpu_operator_manifest_dir': str(tmp_path),
                                                             'gpu_operator_sharing': 'time-slicing'})
        ok(code, run)
        values = yaml.safe_load((tmp_path / 'gpu-operator-values.yml').read_text())
        chart_meta, chart_values = chart()
        # The pinned version is the chart the GPU host ran; every value is one that chart reads.
        assert yaml.safe_load((REPO / 'roles/gpu_operator/defaults/main.yml').read_text())[
            'gpu_operator_chart_version'] == chart_meta['version']
        assert unknown_to_chart(values, chart_values) == []
        assert 'gfd' not in values
        assert values['driver']['enabled'] is False
        assert values['toolkit']['enabled'] is False
        assert values['cdi']['enabled'] is True
        assert values['hostPaths']['driverInstallDir'] == '/usr/local/nvidia'
        assert 'timeSlicing' in yaml.safe_load(values['devicePlugin']['config']['data']['default'])['sharing']
        assert task(run, "Fail unless the operator's validator succeeded on every GPU node")['msg'] == \
            'GPU Operator validated 1 GPU node(s)'

        code, run = play(env, cluster, 'operator_flow.yml', {
            'gpu_operator_manifest_dir': str(tmp_path), 'kubegpu_manage_driver': False,
            'kubegpu_runtime_mode': 'runtime', 'operator_wait': False})
        ok(code, run)
        values = yaml.safe_load((tmp_path / 'gpu-operator-values.yml').read_text())
        assert values['driver']['enabled'] is True
        assert values['cdi']['enabled'] is False
        assert values['hostPaths']['driverInstallDir'] == '/run/nvidia/driver'

        # A host driver at /: the operator would mount / over its validator's image; the chart's default stays.
        code, run = play(env, cluster, 'operator_flow.yml', {
            'gpu_operator_manifest_dir': str(tmp_path), 'gpu_operator_driver_root': '/', 'operator_wait': False})
        ok(code, run)
        values = yaml.safe_load((tmp_path / 'gpu-operator-values.yml').read_text())
        assert values['driver']['enabled'] is False
        assert values['hostPaths']['driverInstallDir'] == '/run/nvidia/driver'

        # Without NFD there is no NodeFeature API: feature discovery must write its file instead.
        code, run = play(env, cluster, 'operator_flow.yml', {
            'gpu_operator_manifest_dir': str(tmp_path), 'gpu_operator_nfd': False, 'operator_wait': False})
        ok(code, run)
        values = yaml.safe_load((tmp_path / 'gpu-operator-values.yml').read_text())
        assert values['nfd']['enabled'] is False
        assert values['gfd']['env'] == [{'name': 'GFD_USE_NODE_FEATURE_API', 'value': 'false'}]
        assert unknown_to_chart(values, chart()[1]) == []


def test_emulator_gpu_operator_refuses_nodes_without_its_handler(env, tmp_path):
    # The operator's own pods run with runtimeClassName nvidia; in cdi mode the node stage adds no such handler.
    with EmulatorThread(nodes=['gpu-a']) as cluster:
        code, run = play(env, cluster, 'operator_flow.yml', {'operator_require_handler': True, 'operator_wait': False})
        assert code == 2
        refusal = task(run, "Refuse nodes that lack the runtime handler the operator's own pods run with")['msg']
        assert 'runtimeClassName nvidia' in refusal
        assert 'these nodes are in cdi mode, where the container_runtime role adds no handler: gpu-a.' in refusal
        assert 'set kubegpu_runtime_mode: cdi_handler' in refusal and 'kubegpu_manage_runtime: false' in refusal

        # A runtime class of the user's choosing is the one named.
        code, run = play(env, cluster, 'operator_flow.yml', {
            'operator_require_handler': True, 'operator_wait': False,
            'gpu_operator_extra_values': {'operator': {'runtimeClass': 'nvidia-gpu'}}})
        assert code == 2
        refusal = task(run, "Refuse nodes that lack the runtime handler the operator's own pods run with")['msg']
        assert 'runtimeClassName nvidia-gpu, whose handler nvidia-gpu' in refusal

        # Accepted: the handler is there (runtime mode), the operator brings its toolkit, or its NRI plugin injects.
        for extra in ({'kubegpu_runtime_mode': 'runtime'}, {'kubegpu_manage_runtime': False},
                      {'gpu_operator_extra_values': {'cdi': {'nriPluginEnabled': True}}}):
            code, run = play(env, cluster, 'operator_flow.yml', dict(
                {'operator_require_handler': True, 'operator_wait': False,
                 'gpu_operator_manifest_dir': str(tmp_path)}, **extra))
            ok(code, run)
            assert task(run, "Refuse nodes that lack the runtime handler the operator's own pods run with").get(
                'failed') is not True, extra
            assert (tmp_path / 'gpu-operator-values.yml').exists(), extra
            (tmp_path / 'gpu-operator-values.yml').unlink()


def test_emulator_gpu_operator_not_ready_fails_with_the_state(env):
    with EmulatorThread(nodes=['gpu-a']) as cluster:
        def operator_notready(emulator):
            operator_deployment(emulator)
            emulator.objects[kmock.resource('nvidia.com/v1/clusterpolicies'), None, 'cluster-policy'] = {
                'apiVersion': 'nvidia.com/v1', 'kind': 'ClusterPolicy', 'metadata': {'name': 'cluster-policy'},
                'status': {'state': 'notReady'}}
            emulator.objects[kmock.resource('apps/v1/daemonsets'), 'gpu-operator', 'nvidia-operator-validator'] = {
                'apiVersion': 'apps/v1', 'kind': 'DaemonSet',
                'metadata': {'name': 'nvidia-operator-validator', 'namespace': 'gpu-operator', 'generation': 1},
                'status': {'desiredNumberScheduled': 0, 'numberReady': 0, 'updatedNumberScheduled': 0,
                           'observedGeneration': 1}}
        cluster.call(operator_notready)
        code, run = play(env, cluster, 'operator_flow.yml',
                         {'gpu_operator_wait_timeout': 2, 'gpu_operator_wait_delay': 1})
        assert code == 2
        failure = task(run, 'Fail with what the operator and its validator show')['msg']
        assert failure[0] == "The GPU Operator did not validate the nodes: ClusterPolicy state is 'notReady'"
        assert failure[1].startswith('Deployment gpu-operator/gpu-operator: rolled out')
        validator = failure.index(next(line for line in failure if line.startswith('DaemonSet ')))
        assert 'scheduled on 0 of the 1 expected nodes' in failure[validator]
        assert failure[validator + 1].startswith('gpu-a: no pod: ')
        # One full wait (timeout 2 s, 1 s apart: 3 reads), for the validator; the policy, which is ready only once
        # the validator is, is then read once instead of being awaited for as long again.
        assert task(run, "Wait for the operator's validator on every GPU node")['attempts'] == 3
        assert task(run, 'Wait for the ClusterPolicy to report ready')['attempts'] == 1


def test_emulator_gpu_operator_operand_in_trouble_is_named_after_the_validator_passed(env):
    # As on the H100 host with NFD off and feature discovery on NFD's NodeFeature API: the validator passed, the
    # ClusterPolicy stayed notReady for gpu-feature-discovery, whose pod exited at each start.
    gfd_log = ('E1207 09:17:00.632487       1 main.go:127] failed to create NodeFeature object '
               '"nvidia-features-for-gpu-a": the server could not find the requested resource '
               '(post nodefeatures.nfd.k8s-sigs.io)')
    with EmulatorThread(nodes=['gpu-a']) as cluster:
        def operand_crashing(emulator):
            operator_deployment(emulator)
            emulator.objects[kmock.resource('nvidia.com/v1/clusterpolicies'), None, 'cluster-policy'] = {
                'apiVersion': 'nvidia.com/v1', 'kind': 'ClusterPolicy', 'metadata': {'name': 'cluster-policy'},
                'status': {'state': 'notReady'}}
            ready = {'desiredNumberScheduled': 1, 'numberReady': 1, 'updatedNumberScheduled': 1,
                     'numberAvailable': 1, 'observedGeneration': 1}
            for name, status in (('nvidia-operator-validator', ready), ('nvidia-device-plugin-daemonset', ready),
                                 ('gpu-feature-discovery', dict(ready, numberReady=0, numberAvailable=0,
                                                                numberUnavailable=1))):
                emulator.objects[kmock.resource('apps/v1/daemonsets'), 'gpu-operator', name] = {
                    'apiVersion': 'apps/v1', 'kind': 'DaemonSet',
                    'metadata': {'name': name, 'namespace': 'gpu-operator', 'generation': 1},
                    'spec': {'selector': {'matchLabels': {'app': name}}}, 'status': status}
            emulator.objects[kmock.resource('v1/pods'), 'gpu-operator', 'gpu-feature-discovery-q27p8'] = {
                'apiVersion': 'v1', 'kind': 'Pod',
                'metadata': {'name': 'gpu-feature-discovery-q27p8', 'namespace': 'gpu-operator',
                             'labels': {'app': 'gpu-feature-discovery'}},
                'spec': {'nodeName': 'gpu-a', 'containers': [{'name': 'gpu-feature-discovery', 'image': 'gfd'}]},
                'status': {'phase': 'Running', 'containerStatuses': [{
                    'name': 'gpu-feature-discovery', 'ready': False, 'restartCount': 5, 'image': 'gfd',
                    'state': {'waiting': {'reason': 'CrashLoopBackOff'}},
                    'lastState': {'terminated': {'exitCode': 1, 'reason': 'Error'}}}]}}
            emulator.logs[('gpu-operator', 'gpu-feature-discovery-q27p8')] = gfd_log + '\n'
        cluster.call(operand_crashing)
        code, run = play(env, cluster, 'operator_flow.yml',
                         {'gpu_operator_wait_timeout': 1, 'gpu_operator_wait_delay': 1})
        assert code == 2
        failure = task(run, 'Fail with what the operator and its validator show')['msg']
        assert failure[0] == "The GPU Operator did not validate the nodes: ClusterPolicy state is 'notReady'"
        gfd = next(line for line in failure if line.startswith('DaemonSet gpu-operator/gpu-feature-discovery'))
        assert 'not ready' in gfd and 'not ready on gpu-a' in gfd
        assert any(line.startswith('DaemonSet gpu-operator/nvidia-device-plugin-daemonset: rolled out')
                   for line in failure)
        pod_line = next(line for line in failure if line.startswith('gpu-a: pod gpu-feature-discovery-q27p8'))
        assert 'CrashLoopBackOff' in pod_line and 'node_feature_api_missing' in pod_line
        assert 'gpu_operator_nfd: true' in pod_line


def test_emulator_gpu_operator_not_running_is_explained_and_the_rest_not_awaited(env):
    with EmulatorThread(nodes=['gpu-a']) as cluster:
        def operator_pending(emulator):
            operator_deployment(emulator, ready=False)
            emulator.objects[kmock.resource('v1/pods'), 'gpu-operator', 'gpu-operator-7d9f8b6c5d-2lqkp'] = {
                'apiVersion': 'v1', 'kind': 'Pod',
                'metadata': {'name': 'gpu-operator-7d9f8b6c5d-2lqkp', 'namespace': 'gpu-operator',
                             'labels': {'app': 'gpu-operator', 'pod-template-hash': '7d9f8b6c5d'}},
                'spec': {'nodeName': 'gpu-a', 'containers': [{'name': 'gpu-operator', 'image': 'gpu-operator'}]},
                'status': {'phase': 'Pending', 'containerStatuses': [{
                    'name': 'gpu-operator', 'ready': False, 'restartCount': 0, 'image': 'gpu-operator',
                    'state': {'waiting': {
                        'reason': 'ImagePullBackOff',
                        'message': 'Back-off pulling image "nvcr.io/nvidia/gpu-operator:v25.10.0"'}}}]}}
        cluster.call(operator_pending)
        code, run = play(env, cluster, 'operator_flow.yml',
                         {'gpu_operator_wait_timeout': 1, 'gpu_operator_wait_delay': 1})
        assert code == 2
        assert task(run, 'Wait for the ClusterPolicy to report ready').get('skipped') is True
        failure = task(run, 'Fail with what the operator and its validator show')['msg']
        assert failure[0].endswith('(not awaited: the operator is not running)')
        assert failure[1].startswith('Deployment gpu-operator/gpu-operator: not ready')
        pod_line = next(line for line in failure if line.startswith('gpu-a: pod gpu-operator-7d9f8b6c5d-2lqkp'))
        assert 'ImagePullBackOff' in pod_line and 'image_pull' in pod_line
