# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssh host keys: checked for every host; hosts the provision stage just made accept their first key only."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_the_checkout_configuration_keeps_host_key_checking_on(ansible_env):
    proc = subprocess.run([str(VENV_BIN / 'ansible-config'), 'dump', '--only-changed'], cwd=REPO, env=ansible_env,
                          capture_output=True, text=True, timeout=120, check=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith('HOST_KEY_CHECKING(')]
    assert lines and lines[0].endswith('= True'), proc.stdout


def test_only_provisioned_hosts_accept_a_new_key(ansible_env, tmp_path):
    port = closed_port()
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {
        'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable},
                  'kept': {'ansible_host': '127.0.0.1', 'ansible_port': port}}}}))
    playbook = tmp_path / 'provisioned.yml'
    playbook.write_text(yaml.safe_dump([
        {'name': 'Add what Terraform made', 'hosts': 'localhost', 'gather_facts': False,
         'vars': {'provision_ssh_private_key_file': '',
                  '__provision_terraform': {'outputs': {'hosts': {'value': [{
                      'name': 'gpu-0', 'groups': ['gpu_nodes'], 'ansible_host': '127.0.0.1', 'ansible_user': 'ubuntu',
                      'private_ip': '10.0.1.10', 'public_ip': '127.0.0.1', 'instance_id': 'i-0',
                      'instance_type': 'g6.xlarge'}]}}}},
         'tasks': [{'name': 'Add the nodes', 'ansible.builtin.include_role': {
             'name': 'kubegpu.nvidia.provision', 'tasks_from': 'inventory'}}]},
        {'name': 'Reach them over ssh', 'hosts': 'kubegpu_provisioned:kept', 'gather_facts': False,
         'vars': {'ansible_port': port, 'ansible_connection': 'ssh'},
         'tasks': [{'name': 'Ping', 'ansible.builtin.ping': {}}]},
    ]))
    env = dict(ansible_env, ANSIBLE_SSH_RETRIES='0', ANSIBLE_TIMEOUT='5')
    proc = subprocess.run([str(VENV_BIN / 'ansible-playbook'), '-vvv', '-i', str(inventory), str(playbook)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    ssh_lines = [line for line in proc.stdout.splitlines() if 'SSH: EXEC ssh' in line]
    assert len(ssh_lines) == 2, proc.stdout
    # The provisioned host logs in as ubuntu (its ansible_user); the other as this user.
    provisioned = [line for line in ssh_lines if 'User="ubuntu"' in line or "User=ubuntu" in line]
    kept = [line for line in ssh_lines if line not in provisioned]
    assert len(provisioned) == 1 and len(kept) == 1, ssh_lines
    assert 'StrictHostKeyChecking=accept-new' in provisioned[0]
    assert 'StrictHostKeyChecking' not in kept[0]
    assert 'StrictHostKeyChecking=no' not in proc.stdout
