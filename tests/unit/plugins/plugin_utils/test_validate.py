# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate import (
    parse_nvidia_smi_list,
    pod_verdict,
    summary_table,
)

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures' / 'validate'
H200_UUID = 'GPU-f7c97444-05e0-ca40-86a8-bba4267c92a0'
EXPECTED = {'node': 'gpu-a', 'gpu_count': 1, 'uuids': [H200_UUID]}
STATES = yaml.safe_load((FIXTURES / 'pod_states.yml').read_text())


def pod(state):
    return {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'kubegpu-validate-gpu-a'},
            'status': state['status']}


def verdict_for(name, **overrides):
    state = STATES[name]
    kwargs = {'log': state.get('log'), 'events': state.get('events'), 'plugin_log': state.get('plugin_log')}
    kwargs.update(overrides)
    return pod_verdict(pod(state), EXPECTED, **kwargs)


def test_nvidia_smi_list_of_the_real_h200_gives_its_uuid():
    gpus = parse_nvidia_smi_list((FIXTURES / 'nvidia-smi-L-h200.txt').read_text())
    assert gpus == [{'index': 0, 'name': 'NVIDIA H200', 'uuid': H200_UUID, 'mig_devices': []}]


def test_nvidia_smi_list_keeps_mig_devices_under_their_gpu():
    gpus = parse_nvidia_smi_list((FIXTURES / 'nvidia-smi-L-8x-mig.txt').read_text())
    assert [g['index'] for g in gpus] == [0, 1]
    assert [m['profile'] for m in gpus[0]['mig_devices']] == ['3g.71gb', '3g.71gb']
    assert gpus[1]['mig_devices'] == []


def test_nvidia_smi_list_ignores_other_output():
    assert parse_nvidia_smi_list('No devices were found\n') == []
    assert parse_nvidia_smi_list(None) == []


@pytest.mark.parametrize('name', sorted(STATES))
def test_each_emulated_pod_state_gets_its_reason(name):
    result = verdict_for(name)
    assert result['reason'] == STATES[name]['expect']
    assert result['ok'] is (name == 'passed')
    assert result['message'].startswith('gpu-a: ')
    assert '\n' not in result['message']


def test_passing_pod_reports_the_gpus_it_saw():
    result = verdict_for('passed')
    assert result['uuids_seen'] == [H200_UUID]
    assert result['gpus_seen'] == result['gpus_expected'] == 1
    assert result['message'] == 'gpu-a: nvidia-smi saw the GPUs gpu_facts reported: 1 GPU'


def test_insufficient_gpu_shows_the_scheduler_and_the_device_plugin_log():
    result = verdict_for('insufficient_gpu')
    assert any('Insufficient nvidia.com/gpu' in line for line in result['evidence'])
    assert any(line.startswith('device plugin: ') and 'No devices found' in line for line in result['evidence'])


def test_insufficient_gpu_without_a_device_plugin_pod_says_so():
    result = verdict_for('insufficient_gpu', plugin_log=None)
    assert 'device plugin: no log (no device plugin pod on this node)' in result['evidence']


def test_kubelet_admission_rejection_is_insufficient_gpu_too():
    rejected = {'status': {'phase': 'Failed', 'reason': 'OutOfnvidia.com/gpu',
                           'message': 'Pod was rejected: Node didn\'t have enough resource: nvidia.com/gpu'}}
    assert pod_verdict(rejected, EXPECTED)['reason'] == 'insufficient_gpu'


def test_runtime_handler_missing_names_the_handler_and_the_fix():
    result = verdict_for('runtime_handler_missing')
    assert 'handler "nvidia"' in result['message']
    assert 'container_runtime' in result['message']
    assert 'no runtime for "nvidia" is configured' in result['evidence'][0]


def test_missing_runtimeclass_is_told_apart_from_a_missing_handler():
    state = {'status': {'phase': 'Pending', 'conditions': [
        {'type': 'PodScheduled', 'status': 'False', 'message': 'pod rejected: RuntimeClass "nvidia" not found'}]}}
    assert pod_verdict(state, EXPECTED)['reason'] == 'runtimeclass_missing'


def test_cdi_unresolvable_names_the_device():
    result = verdict_for('cdi_unresolvable')
    assert 'nvidia.com/gpu=' + H200_UUID in result['message']
    assert 'cdi_spec' in result['message']


def test_image_pull_names_the_image_and_shows_the_pull_error():
    result = verdict_for('image_pull')
    assert 'nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04 (ImagePullBackOff)' in result['message']
    assert any('no such host' in line for line in result['evidence'])


def test_nvml_init_error_quotes_nvidia_smi():
    result = verdict_for('nvml_init')
    assert 'Failed to initialize NVML: Unknown Error' in result['message']
    assert 'log: Failed to initialize NVML: Unknown Error' in result['evidence']


def test_driver_not_reachable_is_an_nvml_error_even_when_the_pod_succeeded():
    log = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"
    result = verdict_for('passed', log=log)
    assert result['reason'] == 'nvml_init'


def test_other_gpus_than_gpu_facts_saw_is_a_uuid_mismatch():
    result = verdict_for('uuid_mismatch')
    assert 'missing ' + H200_UUID in result['message']
    assert 'unexpected GPU-00000000-1111-2222-3333-444444444444' in result['message']


def test_fewer_gpus_than_gpu_facts_counted_is_a_count_mismatch():
    result = pod_verdict(pod(STATES['passed']), dict(EXPECTED, gpu_count=2, uuids=[]), log=STATES['passed']['log'])
    assert result['reason'] == 'gpu_count_mismatch'
    assert 'expected 2, nvidia-smi -L listed 1' in result['message']


def test_uuids_unknown_to_gpu_facts_are_not_compared():
    result = pod_verdict(pod(STATES['passed']), dict(EXPECTED, uuids=[]), log=STATES['passed']['log'])
    assert result['ok']


def test_vector_add_must_pass_when_asked():
    log = (FIXTURES / 'vectoradd-passed.txt').read_text()
    assert verdict_for('passed', log=log, vector_add=True)['ok']
    failed = verdict_for('passed', vector_add=True)
    assert failed['reason'] == 'vector_add_failed'


def test_failed_container_without_a_known_cause_shows_its_exit_code_and_log():
    state = {'status': {'phase': 'Failed', 'containerStatuses': [
        {'name': 'nvidia-smi', 'state': {'terminated': {'exitCode': 127, 'reason': 'Error'}}}]}}
    result = pod_verdict(state, EXPECTED, log='sh: nvidia-smi: not found\n')
    assert result['reason'] == 'pod_failed'
    assert 'nvidia-smi exited 127 (Error)' in result['message']
    assert 'log: sh: nvidia-smi: not found' in result['evidence']


def test_other_scheduling_failures_quote_the_scheduler():
    state = {'status': {'phase': 'Pending', 'conditions': [{
        'type': 'PodScheduled', 'status': 'False', 'reason': 'Unschedulable',
        'message': "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."}]}}
    result = pod_verdict(state, EXPECTED)
    assert result['reason'] == 'unschedulable'
    assert 'untolerated taint' in result['message']


def test_a_pod_still_running_at_the_deadline_is_a_timeout():
    state = {'status': {'phase': 'Running', 'conditions': [{'type': 'PodScheduled', 'status': 'True'}]}}
    result = pod_verdict(state, EXPECTED, timed_out=True)
    assert result['reason'] == 'timeout'
    assert 'still Running' in result['message']


def test_a_missing_pod_is_reported():
    assert pod_verdict({}, EXPECTED)['reason'] == 'pod_missing'
    assert pod_verdict(None, EXPECTED)['reason'] == 'pod_missing'


def test_summary_table_aligns_columns_and_fills_gaps():
    lines = summary_table([
        {'node': 'gpu-a', 'gpus': '1/1', 'driver': '580.159.04', 'runtime': 'containerd 1.7.24', 'mode': 'cdi',
         'stack': 'device_plugin', 'result': 'passed'},
        {'node': 'gpu-bb', 'gpus': '0/2', 'result': 'insufficient_gpu'},
    ])
    assert lines[0].split() == ['NODE', 'GPUS', 'DRIVER', 'RUNTIME', 'MODE', 'STACK', 'VALIDATION']
    assert set(lines[1]) <= {'-', ' '}
    assert lines[2].split() == ['gpu-a', '1/1', '580.159.04', 'containerd', '1.7.24', 'cdi', 'device_plugin', 'passed']
    assert lines[3].split() == ['gpu-bb', '0/2', '-', '-', '-', '-', 'insufficient_gpu']
    assert len({line.index('VALIDATION') for line in lines[:1]}) == 1
    assert lines[2].index('passed') == lines[0].index('VALIDATION')
