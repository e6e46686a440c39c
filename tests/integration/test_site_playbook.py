# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`ansible-playbook site.yml` from this checkout, against the default inventory (localhost)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
REPORT = "Report the node's GPU state, and stop before anything is installed"


def run_site(env, *args):
    env = dict(env, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    proc = subprocess.run(
        [str(VENV_BIN / 'ansible-playbook'), 'site.yml', *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return json.loads(proc.stdout)


def task_result(run, name, host='localhost'):
    for play in run['plays']:
        for task in play['tasks']:
            # Role tasks are named '<role FQCN> : <task name>'.
            if task['task']['name'].rpartition(' : ')[2] == name:
                return task['hosts'][host]
    raise AssertionError('task {0!r} did not run'.format(name))


def test_site_reports_this_machines_gpu_state_and_changes_nothing(ansible_env):
    run = run_site(ansible_env)
    facts = task_result(run, 'Detect GPUs, driver, runtimes and blockers')['ansible_facts']['nvidia']
    report = task_result(run, REPORT)['msg']
    if facts['gpu_count'] == 0:
        assert 'GPUs: none (no NVIDIA GPU on the PCI bus)' in report
        assert any('[no_gpu]' in line for line in report)
    else:
        assert report[0].startswith('GPUs: {0} '.format(facts['gpu_count']))
    stats = run['stats']['localhost']
    assert stats['changed'] == 0
    assert stats['failures'] == 0


def test_site_in_check_mode_reports_the_same_facts(ansible_env):
    normal = task_result(run_site(ansible_env), 'Detect GPUs, driver, runtimes and blockers')
    checked = task_result(run_site(ansible_env, '--check', '--diff'), 'Detect GPUs, driver, runtimes and blockers')
    assert checked['ansible_facts']['nvidia']['gpu_count'] == normal['ansible_facts']['nvidia']['gpu_count']
    assert checked['ansible_facts']['nvidia']['findings'] == normal['ansible_facts']['nvidia']['findings']


def test_strict_preflight_with_a_required_gpu_fails_on_a_machine_without_one(ansible_env):
    env = dict(ansible_env, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    facts = task_result(run_site(ansible_env), 'Detect GPUs, driver, runtimes and blockers')['ansible_facts']['nvidia']
    proc = subprocess.run(
        [str(VENV_BIN / 'ansible-playbook'), 'site.yml', '-e', 'preflight_require_gpu=true'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    result = task_result(json.loads(proc.stdout), REPORT)
    if facts['gpu_count'] == 0:
        assert proc.returncode == 2
        assert result['failed'] is True
        assert 'gpu_required' in result['msg']
        assert 'preflight_require_gpu: false' in result['msg']
    else:
        assert result.get('failed') is not True


def test_site_ends_with_one_summary_row_per_node_and_skips_stages_as_wholes(ansible_env):
    run = run_site(ansible_env)
    facts = task_result(run, 'Detect GPUs, driver, runtimes and blockers')['ansible_facts']['nvidia']
    summary = task_result(run, 'Summarize the run, one line per node')['msg']

    assert run['plays'][-1]['play']['name'] == 'Summarize the run'
    assert summary[0].split() == ['NODE', 'GPUS', 'DRIVER', 'RUNTIME', 'MODE', 'CDI', 'SPEC', 'VALIDATION',
                                  'CHANGED', 'SKIPPED']
    assert [line.split()[0] for line in summary[2:]] == ['localhost']
    ran = [task['task']['name'] for play in run['plays'] for task in play['tasks']]
    # Stages that do not run are one skipped task of their play on the controller, not every task of theirs
    # skipped (role tasks are named '<role FQCN> : <task name>').
    not_running = ('kubegpu.nvidia.kubernetes :', 'kubegpu.nvidia.provision :', 'kubegpu.nvidia.device_plugin :',
                   'kubegpu.nvidia.validate :')
    assert not [name for name in ran if name.startswith(not_running)]
    for play in run['plays']:
        skipped = [task['task']['name'] for task in play['tasks']
                   if ' : ' not in task['task']['name'] and task['hosts'].get('localhost', {}).get('skipped')]
        assert len(skipped) <= 1, (play['play']['name'], skipped)
    if facts['gpu_count'] == 0:
        assert 'node stage: no NVIDIA GPU' in summary[2]
        assert not [name for name in ran if name.startswith(('kubegpu.nvidia.driver :', 'kubegpu.nvidia.cdi :',
                                                             'kubegpu.nvidia.container_runtime :'))]


def test_site_without_provisioning_or_a_cluster_prints_no_warning_or_error(ansible_env):
    env = dict(ansible_env, ANSIBLE_STDOUT_CALLBACK='default')
    env.pop('KUBECONFIG', None)
    proc = subprocess.run(
        [str(VENV_BIN / 'ansible-playbook'), 'site.yml', '-e', 'kubegpu_cluster=false'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr

    assert proc.returncode == 0, output[-4000:]
    assert '[WARNING]' not in output and '[ERROR]' not in output and 'template error' not in output, output
