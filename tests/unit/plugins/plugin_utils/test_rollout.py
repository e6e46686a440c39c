# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._rollout import (
    label_selector,
    rollout_diagnosis,
    why_no_pod,
)

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures' / 'rollout'
PLUGIN = yaml.safe_load((FIXTURES / 'device_plugin.yml').read_text())
OPERATOR = yaml.safe_load((FIXTURES / 'gpu_operator.yml').read_text())
NODES = {n['metadata']['name']: n for n in PLUGIN['nodes']}


def plugin_diagnosis(**kwargs):
    kwargs.setdefault('logs', PLUGIN['logs'])
    kwargs.setdefault('nodes', PLUGIN['nodes'])
    return rollout_diagnosis(PLUGIN['daemonset'], PLUGIN['pods'], PLUGIN['events'], **kwargs)


def by_node(diagnosis):
    return {entry['node']: entry for entry in diagnosis['nodes']}


def hint_ids(entry):
    return [hint['id'] for hint in entry['hints']]


def with_status(obj, status):
    obj = copy.deepcopy(obj)
    obj['status'] = copy.deepcopy(status)
    return obj


def pod_with_log(log, name='nvidia-device-plugin-daemonset-zz9k1', node='gpu-z'):
    pod = copy.deepcopy(PLUGIN['pods'][0])
    pod['metadata']['name'] = name
    pod['spec']['nodeName'] = node
    return pod, {name: log}


def test_daemonset_with_unavailable_pods_is_not_ready_and_names_those_nodes():
    diagnosis = plugin_diagnosis()
    assert diagnosis['ready'] is False
    assert diagnosis['counts'] == {'desired': 4, 'ready': 1, 'updated': 4, 'unavailable': 3, 'available': 1,
                                   'misscheduled': 0}
    assert diagnosis['summary'].endswith('not ready on gpu-b, gpu-c, gpu-d')
    assert diagnosis['lines'][0] == diagnosis['summary']
    assert diagnosis['message'].splitlines() == diagnosis['lines']


def test_only_the_workloads_own_pods_are_read():
    nodes = by_node(plugin_diagnosis())
    assert sorted(nodes) == ['gpu-a', 'gpu-b', 'gpu-c', 'gpu-d']
    assert 'kube-proxy' not in plugin_diagnosis()['message']


def test_rolled_out_daemonset_is_ready():
    diagnosis = rollout_diagnosis(with_status(PLUGIN['daemonset'], PLUGIN['rolled_out_status']), [], [],
                                  expected_nodes=['gpu-a', 'gpu-b'])
    assert diagnosis['ready'] is True


def test_status_of_an_older_generation_is_not_ready():
    diagnosis = rollout_diagnosis(with_status(PLUGIN['daemonset'], PLUGIN['stale_status']))
    assert diagnosis['ready'] is False
    assert 'generation 2 not yet observed (at 1)' in diagnosis['summary']


def test_daemonset_scheduled_on_fewer_nodes_than_expected_is_not_ready():
    daemonset = with_status(PLUGIN['daemonset'], PLUGIN['rolled_out_status'])
    diagnosis = rollout_diagnosis(daemonset, [], [], nodes=PLUGIN['nodes'],
                                  expected_nodes=[{'node': 'gpu-a'}, {'node': 'gpu-b'}, {'node': 'gpu-e'}])
    assert diagnosis['ready'] is False
    assert 'scheduled on 2 of the 3 expected nodes' in diagnosis['summary']


def test_crash_loop_gives_restarts_last_exit_code_backoff_event_and_the_cdi_hint():
    entry = by_node(plugin_diagnosis())['gpu-b']
    container = entry['containers'][0]
    assert (container['state'], container['reason'], container['restarts'], container['last_exit_code']) == (
        'waiting', 'CrashLoopBackOff', 6, 1)
    assert entry['ready'] is False
    assert entry['events'][-1].startswith('BackOff (x27): Back-off restarting failed container')
    assert hint_ids(entry) == ['cdi_needs_nvml']
    assert entry['log_container'] == 'nvidia-device-plugin-ctr'


def test_image_never_pulled_is_the_waiting_reason_with_its_event():
    entry = by_node(plugin_diagnosis())['gpu-c']
    assert entry['containers'][0]['reason'] == 'ErrImageNeverPull'
    assert entry['phase'] == 'Pending'
    assert hint_ids(entry) == ['image_pull']
    assert entry['events'] == [
        'ErrImageNeverPull (x40): Container image "nvcr.io/nvidia/k8s-device-plugin:v0.20.0" is not present '
        'with pull policy of Never']


def test_missing_runtime_handler_is_found_in_the_sandbox_event():
    entry = by_node(plugin_diagnosis())['gpu-d']
    assert hint_ids(entry) == ['runtime_handler_missing']
    assert 'no runtime for "nvidia" is configured' in entry['hints'][0]['evidence']
    assert entry['hints'][0]['fix']


def test_each_node_line_names_its_node_pod_and_cause():
    lines = plugin_diagnosis()['lines'][1:]
    gpu_b = next(line for line in lines if line.startswith('gpu-b: '))
    assert 'nvidia-device-plugin-daemonset-8wz2m' in gpu_b
    assert 'CrashLoopBackOff' in gpu_b and '6 restarts' in gpu_b and 'last exit code 1' in gpu_b
    assert 'cdi_needs_nvml' in gpu_b and 'Fix: ' in gpu_b
    gpu_a = next(line for line in lines if line.startswith('gpu-a: '))
    assert 'ready' in gpu_a and 'Fix' not in gpu_a


def test_plugin_without_nvml_in_envvar_mode_runs_and_says_no_devices():
    pod, logs = pod_with_log(PLUGIN['no_gpu_envvar_log'])
    entry = by_node(rollout_diagnosis(PLUGIN['daemonset'], [pod], [], logs=logs))['gpu-z']
    assert entry['ready'] is True
    # The library-not-found hint explains the NVML failure; the broader init hint is not repeated.
    assert hint_ids(entry) == ['nvml_library_missing', 'no_devices']


def test_driver_not_loaded_is_an_nvml_init_failure_not_a_missing_library():
    pod, logs = pod_with_log(PLUGIN['driver_not_loaded_log'])
    entry = by_node(rollout_diagnosis(PLUGIN['daemonset'], [pod], [], logs=logs))['gpu-z']
    assert hint_ids(entry) == ['nvml_init', 'no_devices']


def test_permission_denied_on_the_cdi_directory_gives_both_hints():
    pod, logs = pod_with_log(PLUGIN['permission_log'])
    entry = by_node(rollout_diagnosis(PLUGIN['daemonset'], [pod], [], logs=logs))['gpu-z']
    assert hint_ids(entry) == ['cdi_error', 'permission_denied']


def test_plugin_that_cannot_reach_the_kubelet_says_so():
    pod, logs = pod_with_log(PLUGIN['kubelet_log'])
    entry = by_node(rollout_diagnosis(PLUGIN['daemonset'], [pod], [], logs=logs))['gpu-z']
    assert hint_ids(entry) == ['kubelet_unreachable']


def test_expected_node_without_the_gpu_label_is_explained_by_the_affinity():
    entry = by_node(plugin_diagnosis(expected_nodes=['gpu-a', 'gpu-e']))['gpu-e']
    assert entry['pod'] is None
    assert entry['problem'].startswith('node does not match the node affinity (nvidia.com/gpu.present In true)')


def test_untolerated_taint_is_named_and_tolerated_ones_are_not():
    assert why_no_pod(PLUGIN['daemonset'], NODES['gpu-f']) == (
        'untolerated taint example.com/maintenance=true:NoSchedule')
    # Cordoned and not ready: the DaemonSet controller tolerates both.
    assert why_no_pod(PLUGIN['daemonset'], NODES['gpu-g']).startswith('no pod yet')


def test_expected_node_the_cluster_does_not_have():
    entry = by_node(plugin_diagnosis(expected_nodes=['gpu-x']))['gpu-x']
    assert entry['problem'].startswith('not a node of this cluster')


def test_missing_workload_is_not_ready():
    diagnosis = rollout_diagnosis({}, [], [], expected_nodes=['gpu-a'])
    assert diagnosis['ready'] is False
    assert by_node(diagnosis)['gpu-a']['problem'] == 'the DaemonSet does not exist'


def test_selector_string_is_usable_as_a_label_selector():
    assert label_selector(PLUGIN['daemonset']) == 'name=nvidia-device-plugin-ds'
    assert label_selector(OPERATOR['deployment']) == 'app=gpu-operator,app.kubernetes.io/component=gpu-operator'


def test_deployment_past_its_deadline_with_an_unschedulable_pod():
    diagnosis = rollout_diagnosis(OPERATOR['deployment'], OPERATOR['pods'], OPERATOR['events'],
                                  expected_nodes=['gpu-a'])
    assert diagnosis['ready'] is False
    assert 'has timed out progressing' in diagnosis['summary']
    # A Deployment owes no node a pod: the expected GPU node is not listed without one.
    entry = by_node(diagnosis)['(not scheduled)']
    assert entry['problems'][0].startswith('not scheduled: 0/3 nodes are available')
    # events.k8s.io event read as core/v1: the series count is shown.
    assert entry['events'][0].startswith('FailedScheduling (x4): 0/3 nodes are available')


def test_ready_deployment():
    diagnosis = rollout_diagnosis(with_status(OPERATOR['deployment'], OPERATOR['ready_status']))
    assert diagnosis['ready'] is True
    assert diagnosis['counts']['ready'] == 1


def test_a_pod_in_trouble_shows_the_end_of_its_log_on_its_line():
    # An exit code alone (127 from the GPU Operator's driver validation on an H100) does not say why.
    log = 'starting\nrunning nvidia-smi\n\n/bin/sh: nvidia-smi: not found\n'
    pod, logs = pod_with_log(log, node='gpu-b')
    pod = with_status(pod, PLUGIN['pods'][1]['status'])
    diagnosis = rollout_diagnosis(PLUGIN['daemonset'], [pod], [], logs=logs)
    line = next(line for line in diagnosis['lines'] if line.startswith('gpu-b: '))
    assert line.endswith('log: starting | running nvidia-smi | /bin/sh: nvidia-smi: not found')
    # A ready pod's line stays short.
    ready, logs = pod_with_log(log, name='ok-pod', node='gpu-a')
    ready = with_status(ready, PLUGIN['pods'][0]['status'])
    assert ' log: ' not in next(line for line in rollout_diagnosis(PLUGIN['daemonset'], [ready], [], logs=logs)['lines']
                                if line.startswith('gpu-a: '))


def test_feature_discovery_without_nfds_api_names_the_setting():
    # The last lines of GPU feature discovery v0.20.0 on a cluster without NFD (H100 host, 2026-12-07).
    log = ('I1207 09:17:00.631283       1 output.go:138] creating NodeFeature object nvidia-features-for-kubegpu-h200\n'
           'I1207 09:17:00.632469       1 main.go:160] Exiting\n'
           'E1207 09:17:00.632487       1 main.go:127] failed to create NodeFeature object '
           '"nvidia-features-for-kubegpu-h200": the server could not find the requested resource '
           '(post nodefeatures.nfd.k8s-sigs.io)\n')
    pod, logs = pod_with_log(log, name='gpu-feature-discovery-q27p8')
    entry = by_node(rollout_diagnosis(PLUGIN['daemonset'], [pod], [], logs=logs))['gpu-z']
    assert hint_ids(entry) == ['node_feature_api_missing']
    assert 'gpu_operator_nfd' in entry['hints'][0]['fix']
    assert 'nodefeatures.nfd.k8s-sigs.io' in entry['hints'][0]['evidence']
