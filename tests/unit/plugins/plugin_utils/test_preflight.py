# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.findings import compute_findings
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._preflight import PreflightInputError, assess

SECURE_BOOT = {
    'id': 'secure_boot_unsigned_modules', 'severity': 'blocker',
    'message': 'Secure Boot is enabled and the driver is not loaded.', 'fix': 'Enroll a MOK.',
}
HEADERS = {
    'id': 'kernel_headers_missing', 'severity': 'warning',
    'message': 'Headers for kernel 6.1.0-9 are not installed.', 'fix': 'Install linux-headers-6.1.0-9-amd64.',
}
CONTAINERD = {
    'id': 'containerd_config_version', 'severity': 'info',
    'message': 'containerd config is version 3 (containerd 2.x).', 'fix': '',
}


def facts(*findings, gpu_count=1, **extra):
    base = {
        'gpu_count': gpu_count,
        'gpus': [{'name': 'NVIDIA H200', 'device_id': '0x2335'}] * gpu_count,
        'driver': {'loaded': False},
        'runtimes': {'containerd': {'installed': True, 'version': '1.7.24', 'config_version': 3}},
        'findings': list(findings),
    }
    base.update(extra)
    return base


def test_blocker_stops_the_run_with_its_fix_in_the_message():
    verdict = assess(facts(SECURE_BOOT, HEADERS, CONTAINERD))
    assert verdict['ok'] is False
    assert [f['id'] for f in verdict['failures']] == ['secure_boot_unsigned_modules']
    assert SECURE_BOOT['message'] in verdict['message']
    assert 'Fix: ' + SECURE_BOOT['fix'] in verdict['message']


def test_warnings_pass_by_default_and_stop_in_strict_mode():
    assert assess(facts(HEADERS, CONTAINERD))['ok'] is True
    strict = assess(facts(HEADERS, CONTAINERD), strict=True)
    assert strict['ok'] is False
    assert [f['id'] for f in strict['failures']] == ['kernel_headers_missing']


def test_info_never_stops_the_run_even_in_strict_mode():
    assert assess(facts(CONTAINERD), strict=True)['ok'] is True


def test_ignored_finding_does_not_stop_but_stays_in_the_report():
    verdict = assess(facts(SECURE_BOOT), ignore=('secure_boot_unsigned_modules',))
    assert verdict['ok'] is True
    assert any('(ignored)' in line and 'secure_boot_unsigned_modules' in line for line in verdict['report'])


def test_report_lists_blockers_before_warnings_before_info():
    report = assess(facts(CONTAINERD, HEADERS, SECURE_BOOT))['report']
    order = (SECURE_BOOT, HEADERS, CONTAINERD)
    positions = [next(i for i, line in enumerate(report) if f['id'] in line) for f in order]
    assert positions == sorted(positions)


def test_host_without_gpu_is_a_normal_answer_unless_a_gpu_is_required():
    no_gpu = facts({'id': 'no_gpu', 'severity': 'info', 'message': 'No NVIDIA GPU.', 'fix': ''}, gpu_count=0)
    verdict = assess(no_gpu)
    assert verdict['ok'] is True
    assert any(line.startswith('GPUs: none') for line in verdict['report'])
    required = assess(no_gpu, require_gpu=True)
    assert [f['id'] for f in required['failures']] == ['gpu_required']


def test_summary_names_gpu_model_driver_and_containerd_config_version():
    loaded = facts(driver={'loaded': True, 'version': '580.159.04', 'kernel_module_type': 'open'})
    report = assess(loaded)['report']
    assert 'GPUs: 1 (NVIDIA H200)' in report
    assert 'Driver: 580.159.04 (open kernel module) loaded' in report
    assert 'Container runtimes: containerd 1.7.24 (config version 3)' in report


@pytest.mark.parametrize('bad', [None, {}, {'gpu_count': 0}, 'text'])
def test_input_that_is_not_gpu_facts_is_refused_with_what_to_run(bad):
    with pytest.raises(PreflightInputError, match='gpu_facts'):
        assess(bad)


def test_unknown_severity_is_refused():
    with pytest.raises(PreflightInputError, match="unknown severity 'fatal'"):
        assess(facts({'id': 'x', 'severity': 'fatal', 'message': 'm', 'fix': 'f'}))


def test_info_finding_shows_its_next_step_and_the_no_gpu_one_points_at_an_inventory():
    no_gpu = facts(*compute_findings({'gpus': [], 'driver': {}}), gpu_count=0)
    line = next(line for line in assess(no_gpu)['report'] if '[no_gpu]' in line)

    assert line.startswith('INFO [no_gpu] ')
    assert ' Next: ' in line and 'inventory/sample' in line and '-i ' in line


def test_a_required_gpu_that_is_missing_says_what_the_no_gpu_finding_says_and_both_ways_out():
    no_gpu = facts(*compute_findings({'gpus': [], 'driver': {}}), gpu_count=0)
    finding = next(line for line in assess(no_gpu)['report'] if '[no_gpu]' in line)
    message = assess(no_gpu, require_gpu=True)['message']

    assert message.startswith('gpu_required: ')
    # The finding's words, and its next step, are the refusal's: one message, kept in one place.
    said = finding.partition('[no_gpu] ')[2].partition(',')[0]
    step = finding.partition(' Next: ')[2]
    assert said and said in message
    assert step and step in message
    assert 'inventory/sample/hosts.yml' in message
    assert message.endswith('Or set preflight_require_gpu: false.')
