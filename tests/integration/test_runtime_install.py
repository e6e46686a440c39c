# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container_runtime role's `install` entry point on a node without a runtime, where it must not install.

The install itself (Debian's containerd on a bare host, then kubeadm on it) runs for real on the
kubernetes test cluster's control-plane host (tests/integration/kubernetes/run.sh). Here the same
tasks run on localhost with another machine's facts: a recorded H200 whose gpu_facts found no
runtime, on an OS family, in check mode, so that nothing is installed on this machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
H200 = yaml.safe_load((HERE / 'cluster' / 'facts' / 'h200.yml').read_text())
BARE = dict(H200, init_systemd=True, runtimes={'containerd': {'installed': False, 'path': None, 'version': None},
                                               'crio': {'installed': False, 'path': None, 'version': None}})
DECIDE = 'Decide what this node needs'


def run(ansible_env, tmp_path, os_family, extra=None):
    tasks = [
        {'name': 'Be the other machine', 'emulated_facts': {'facts': {
            'nvidia': BARE, 'os_family': os_family,
            'distribution': {'Debian': 'Ubuntu', 'RedHat': 'Rocky'}[os_family]}}},
        {'name': 'Install a container runtime where the node has none',
         'ansible.builtin.include_role': {'name': 'kubegpu.nvidia.container_runtime', 'tasks_from': 'install'}},
    ]
    playbook = tmp_path / 'install.yml'
    playbook.write_text(yaml.safe_dump([{'name': 'A bare node', 'hosts': 'localhost', 'gather_facts': False,
                                         'tasks': tasks}]))
    env = dict(ansible_env, ANSIBLE_LIBRARY=str(HERE / 'runtime_install' / 'library'),
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    variables = dict({'ansible_python_interpreter': sys.executable}, **(extra or {}))
    proc = subprocess.run(
        [str(VENV_BIN / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '--check', '--diff',
         '-e', json.dumps(variables), str(playbook)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.stdout, proc.stderr
    out = json.loads(proc.stdout)
    results = {t['task']['name'].split(' : ')[-1]: t['hosts'].get('localhost', {}) for t in out['plays'][0]['tasks']}
    return proc.returncode, results


def test_a_rhel_node_without_a_runtime_stops_with_what_to_install(ansible_env, tmp_path):
    code, results = run(ansible_env, tmp_path, 'RedHat')
    assert code == 2
    message = results['Stop where the OS has no containerd package of its own']['msg']
    assert 'localhost has neither containerd nor CRI-O, and Rocky (RedHat) ships no containerd package' in message
    assert 'containerd.io from Docker' in message and 'container_runtime_install: false' in message
    assert "Install the OS's containerd package containerd" not in results


def test_crio_asked_for_on_a_node_without_it_stops(ansible_env, tmp_path):
    code, results = run(ansible_env, tmp_path, 'Debian', {'container_runtime_name': 'crio'})
    assert code == 2
    message = results[DECIDE]['msg']
    assert 'container_runtime_name is crio, but on localhost there is no CRI-O' in message
    assert 'pkgs.k8s.io' in message
    assert "Install the OS's containerd package containerd" not in results


def test_install_off_leaves_the_node_bare_and_the_decision_says_so(ansible_env, tmp_path):
    code, results = run(ansible_env, tmp_path, 'Debian', {'container_runtime_install': False})
    assert code == 2
    assert "Install the OS's containerd package containerd" not in results
    message = results[DECIDE]['msg']
    assert 'Neither containerd nor CRI-O is installed on localhost' in message
    assert 'container_runtime_install: true' in message


def test_check_mode_plans_for_the_containerd_a_real_run_installs(ansible_env, tmp_path):
    # apt's check mode plans the install only where the package is missing: this machine must lack it.
    status = subprocess.run(['dpkg-query', '-W', '-f', '${db:Status-Status}', 'containerd'],
                            capture_output=True, text=True, check=False).stdout
    assert status != 'installed', "this test needs a machine without Debian's containerd package"
    code, results = run(ansible_env, tmp_path, 'Debian', {'container_runtime_containerd_package': 'containerd'})
    assert code == 0, json.dumps(results, indent=1)[-3000:]
    assert results["Install the OS's containerd package containerd"]['changed'] is True
    assert results['Start containerd, and start it at boot'].get('skipped') is True
    # The decision made before the install is the plan for the containerd it installs: not there yet,
    # its version unknown (so CDI), and systemd's cgroup driver on a node whose init is systemd.
    decision = results[DECIDE]['ansible_facts']['kubegpu_node']
    assert decision['runtime'] == 'containerd'
    assert (decision['runtime_install'], decision['runtime_present']) == (True, False)
    assert decision['mode'] == 'cdi' and 'version unknown' in decision['reason']
    assert decision['cgroup_driver'] == 'systemd'
    assert decision['socket'] == '/run/containerd/containerd.sock'
