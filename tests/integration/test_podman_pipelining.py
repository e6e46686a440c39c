# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Molecule scenarios' connection (tests/integration/connection_plugins/podman_pipelining.py, named by
.config/molecule/config.yml), on a real podman container: one podman exec per module task, the task in the
container as podman exec runs it, and files copied in and fetched out through the container's mount."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CONTAINER = 'kubegpu-test-pipelining'
# podman's settings for this machine's tests (the Molecule scripts' too: scripts/molecule-env.sh).
PODMAN_ENV = dict(os.environ, CONTAINERS_CONF=str(REPO / 'tests/integration/containers.conf'))


@pytest.fixture(scope='module')
def container():
    image = subprocess.run([str(REPO / 'scripts/podman-image.sh'), 'trixie'], capture_output=True, text=True,
                           check=True, timeout=900).stdout.strip()
    subprocess.run(['podman', 'rm', '-f', CONTAINER], capture_output=True, env=PODMAN_ENV, check=False)
    subprocess.run(['podman', 'run', '-d', '--name', CONTAINER, image, 'sleep', 'infinity'], capture_output=True,
                   env=PODMAN_ENV, check=True, timeout=120)
    yield CONTAINER
    subprocess.run(['podman', 'rm', '-f', '-t', '0', CONTAINER], capture_output=True, env=PODMAN_ENV, check=False)


def run(tmp_path, ansible_env, container, tasks):
    """A play of TASKS on CONTAINER through podman_pipelining: its results by task name, and podman's calls."""
    calls = tmp_path / 'podman-calls'
    calls.write_text('')
    # podman as the plugin calls it, each call's arguments written down first.
    podman = tmp_path / 'podman'
    podman.write_text('#!/bin/sh\nprintf "%s\\n" "$*" >>{0}\nexec podman "$@"\n'.format(calls))
    podman.chmod(0o755)
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump({'all': {'hosts': {container: {
        'ansible_connection': 'podman_pipelining', 'ansible_podman_executable': str(podman),
        'ansible_python_interpreter': '/usr/bin/python3'}}}}))
    (tmp_path / 'play.yml').write_text(yaml.safe_dump([{'hosts': 'all', 'gather_facts': False, 'tasks': tasks}]))
    env = dict(ansible_env, CONTAINERS_CONF=PODMAN_ENV['CONTAINERS_CONF'],
               ANSIBLE_CONNECTION_PLUGINS=str(REPO / 'tests/integration/connection_plugins'),
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    proc = subprocess.run([str(VENV_BIN / 'ansible-playbook'), '-i', str(tmp_path / 'inventory.yml'),
                           str(tmp_path / 'play.yml')], capture_output=True, text=True, env=env, cwd=REPO,
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = {task['task']['name']: task['hosts'][container] for task in json.loads(proc.stdout)['plays'][0]['tasks']}
    return results, calls.read_text().splitlines()


def test_a_module_task_is_one_podman_exec_in_the_container(tmp_path, ansible_env, container):
    results, calls = run(tmp_path, ansible_env, container, [
        {'name': 'read the cgroup', 'ansible.builtin.command': 'cat /proc/self/cgroup'}])

    # One podman exec, the module on its standard input: no mount, no temporary directory, no chmod.
    assert len(calls) == 1, calls
    assert calls[0].startswith('exec -i {0} '.format(container)), calls
    # The command ran in the container as podman exec runs it: in the container's own cgroup.
    podman_exec = subprocess.run(['podman', 'exec', container, 'cat', '/proc/self/cgroup'], capture_output=True,
                                 text=True, env=PODMAN_ENV, check=True).stdout
    assert results['read the cgroup']['stdout'] == podman_exec.strip()


def test_files_are_copied_in_and_fetched_out_through_the_mount(tmp_path, ansible_env, container):
    source = tmp_path / 'source.txt'
    source.write_text('from the controller\n')
    results, calls = run(tmp_path, ansible_env, container, [
        {'name': 'copy', 'ansible.builtin.copy': {'src': str(source), 'dest': '/root/copied.txt', 'mode': '0644'}},
        {'name': 'fetch', 'ansible.builtin.fetch': {'src': '/root/copied.txt', 'dest': str(tmp_path / 'fetched')}}])

    assert results['copy']['changed'] is True
    assert (tmp_path / 'fetched' / container / 'root/copied.txt').read_text() == 'from the controller\n'
    # A task that copies a file mounts the container (and copies through the mount, not podman cp).
    assert any(call.startswith('mount ') for call in calls), calls
    assert not any(call.startswith('cp ') for call in calls), calls
