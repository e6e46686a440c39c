# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubernetes test's connection to its node containers (tests/integration/connection_plugins/node_nsenter.py):
a PID that is not the named node's runs nothing, on the build machine least of all."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
NODE = 'kubegpu-test-node'


def run_on_node(tmp_path, ansible_env, pid):
    """A one-task play on NODE through node_nsenter with PID: (rc, output, whether the task ran)."""
    marker = tmp_path / 'the-task-ran'
    (tmp_path / 'inventory.yml').write_text(
        'all:\n  hosts:\n    {0}:\n      ansible_connection: node_nsenter\n      ansible_nsenter_pid: {1}\n'
        '      ansible_python_interpreter: /usr/bin/python3\n'.format(NODE, pid))
    (tmp_path / 'play.yml').write_text(
        '- hosts: all\n  gather_facts: false\n  tasks:\n'
        '    - ansible.builtin.command: touch {0}\n'.format(marker))
    env = dict(ansible_env, ANSIBLE_CONNECTION_PLUGINS=str(REPO / 'tests/integration/connection_plugins'))
    proc = subprocess.run([str(VENV_BIN / 'ansible-playbook'), '-i', str(tmp_path / 'inventory.yml'),
                           str(tmp_path / 'play.yml')], capture_output=True, text=True, env=env, cwd=REPO,
                          check=False, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr, marker.exists()


def test_a_pid_of_the_build_machine_is_refused_and_runs_nothing(tmp_path, ansible_env):
    rc, output, ran = run_on_node(tmp_path, ansible_env, os.getpid())

    assert rc == 4, output  # unreachable
    assert "shares the build machine's mount namespace" in output, output
    assert not ran


def test_a_pid_of_another_host_is_refused_by_its_hostname(tmp_path, ansible_env):
    # A process in a mount namespace of its own, whose /etc/hostname is the build machine's, not NODE.
    other = subprocess.Popen(['unshare', '--mount', 'sleep', '120'])
    try:
        own = os.readlink('/proc/self/ns/mnt')
        for _attempt in range(100):
            if os.readlink('/proc/{0}/ns/mnt'.format(other.pid)) != own:
                break
            time.sleep(0.05)
        else:
            raise AssertionError('unshare --mount did not give its process a mount namespace')

        rc, output, ran = run_on_node(tmp_path, ansible_env, other.pid)
    finally:
        other.kill()
        other.wait()

    assert rc == 4, output
    hostname = Path('/etc/hostname').read_text().strip() or socket.gethostname()
    assert "is node {0!r}, not {1!r}".format(hostname, NODE) in output, output
    assert not ran
