# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a new user reads from `ansible-playbook site.yml` on a machine without an NVIDIA GPU.

The run is in check mode, on localhost over the local connection, with preflight looking at an
empty root (no PCI bus: no GPU on any machine), and Ansible's default callback: once with this
checkout's ansible.cfg, once with an empty one, as a project using the installed collection has.
Every play prints under a name of its own, every task header has a result under it, no play
starts on no host, and the no-GPU finding says where to go next.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BANNER = re.compile(r'^(PLAY|TASK|RUNNING HANDLER) \[(.*)\]')


@pytest.fixture(params=['repo-config', 'empty-config'])
def run_env(request, ansible_env, tmp_path):
    env = {k: v for k, v in ansible_env.items() if k not in ('KUBECONFIG', 'K8S_AUTH_KUBECONFIG')}
    if request.param == 'empty-config':
        collections = tmp_path / 'collections' / 'ansible_collections' / 'kubegpu'
        collections.mkdir(parents=True)
        (collections / 'nvidia').symlink_to(REPO)
        (tmp_path / 'ansible.cfg').write_text('')
        env = {k: v for k, v in env.items()
               if not k.startswith('ANSIBLE_') or k in ('ANSIBLE_LOCAL_TEMP', 'ANSIBLE_NOCOLOR', 'ANSIBLE_FORCE_COLOR')}
        env.update(ANSIBLE_CONFIG=str(tmp_path / 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'collections'))
    else:
        env.pop('ANSIBLE_STDOUT_CALLBACK', None)
    return env


def run_without_gpu(env, tmp_path):
    root = tmp_path / 'no-pci-bus'
    root.mkdir()
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text('\n'.join([
        'all:', '  children:', '    gpu_nodes:', '      hosts:', '        localhost:',
        '          ansible_connection: local',
        '          ansible_python_interpreter: "{0}"'.format(VENV_BIN / 'python'),
        '          preflight_root: "{0}"'.format(root)]) + '\n')
    proc = subprocess.run(
        [str(VENV_BIN / 'ansible-playbook'), '-i', str(inventory), str(REPO / 'site.yml'), '--check'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return output.splitlines()


def test_a_run_without_a_gpu_starts_no_play_on_no_host_and_names_each_play_once(run_env, tmp_path):
    lines = run_without_gpu(run_env, tmp_path)

    assert [line for line in lines if 'no hosts matched' in line] == []
    plays = [match.group(2) for match in map(BANNER.match, lines) if match and match.group(1) == 'PLAY']
    assert plays and all(name.strip() for name in plays), plays
    assert sorted(name for name in set(plays) if plays.count(name) > 1) == []


def test_every_task_header_of_a_run_without_a_gpu_has_a_result_under_it(run_env, tmp_path):
    lines = [line for line in run_without_gpu(run_env, tmp_path) if line.strip()]

    headers = [(i, match) for i, match in enumerate(map(BANNER.match, lines)) if match and match.group(1) != 'PLAY']
    assert headers
    # A task's result follows its header; another header, or the recap, means the task printed nothing.
    empty = [match.group(0) for i, match in headers
             if not match.group(2).strip() or BANNER.match(lines[i + 1]) or lines[i + 1].startswith('PLAY RECAP')]
    assert empty == []


def test_the_no_gpu_finding_of_a_run_without_a_gpu_names_the_sample_inventory(run_env, tmp_path):
    lines = run_without_gpu(run_env, tmp_path)

    finding = [line for line in lines if '[no_gpu]' in line]
    assert len(finding) == 1, finding
    assert 'no NVIDIA GPU' in finding[0] and ' Next: list your GPU nodes ' in finding[0]
    assert 'inventory/sample/hosts.yml' in finding[0]
    assert os.path.isfile(REPO / 'inventory' / 'sample' / 'hosts.yml')
