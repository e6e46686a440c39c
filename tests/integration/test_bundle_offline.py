# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubernetes role's offline install verifies the bundle against its SHA256SUMS before it copies anything.

The role's own install-offline.yml runs through ansible-playbook (local connection) against
a bundle in a temporary directory, with kubernetes_bin_dir and kubernetes_cni_bin_dir in
another one. A tampered binary, an archive the list does not name, and a bundle without
a list each stop the run at the verification, with the file named, and the destination
stays empty. The run happens in a mount namespace of its own with a tmpfs over
/etc/systemd/system, so that a role that did go on (the old one) writes its kubelet unit
there and not into this machine's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
VERIFY = 'kubegpu.nvidia.kubernetes : Verify the offline bundle against its SHA256SUMS on the controller'
FILES = {
    'bin/kubeadm': b'#!/bin/sh\nexit 0\n',
    'bin/kubelet': b'#!/bin/sh\nexit 1\n',
    'bin/kubectl': b'#!/bin/sh\nexit 2\n',
    'cni/bridge': b'bridge',
    'images/pause.tar': b'pause archive',
}
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the facts the kubelet unit's template uses
      ansible.builtin.setup:
        gather_subset: [min]

    - name: Run the kubernetes role's offline install
      ansible.builtin.include_role:
        name: kubegpu.nvidia.kubernetes
        tasks_from: install-offline
"""


@pytest.fixture
def env(ansible_env, tmp_path):
    collections = tmp_path / 'collections' / 'ansible_collections' / 'kubegpu'
    collections.mkdir(parents=True)
    (collections / 'nvidia').symlink_to(REPO)
    return dict(ansible_env, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'collections'),
                ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')


def bundle(root):
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    listing = subprocess.run(['sha256sum', *sorted(FILES)], cwd=root, capture_output=True, text=True, check=True)
    (root / 'SHA256SUMS').write_text(listing.stdout)
    return root


def run(env, tmp_path, offline_dir, *args):
    dest = tmp_path / 'node'
    (dest / 'bin').mkdir(parents=True, exist_ok=True)
    (dest / 'cni').mkdir(exist_ok=True)
    (tmp_path / 'play.yml').write_text(PLAYBOOK)
    variables = {'kubernetes_offline_dir': str(offline_dir), 'kubernetes_bin_dir': str(dest / 'bin'),
                 'kubernetes_cni_bin_dir': str(dest / 'cni'), 'ansible_python_interpreter': sys.executable}
    command = ('mount -t tmpfs kubegpu-test /etc/systemd/system && exec "$@"')
    proc = subprocess.run(
        ['unshare', '--mount', 'sh', '-c', command, 'sh', str(VENV_BIN / 'ansible-playbook'), '-i', 'localhost,',
         '-c', 'local', '-e', json.dumps(variables), str(tmp_path / 'play.yml'), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        output = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:]) from None
    tasks = [(entry['task']['name'], entry['hosts'].get('localhost', {})) for entry in output['plays'][0]['tasks']]
    return proc.returncode, tasks, dest


def failed_at_verify(tasks):
    """The verification's failure message, after checking that it is the last task that ran."""
    name, result = tasks[-1]
    assert name == VERIFY, [task for task, dummy in tasks]
    assert result.get('failed'), result
    return result['msg']


def copied(dest):
    return sorted(str(path.relative_to(dest)) for path in dest.rglob('*') if path.is_file())


def test_a_tampered_binary_stops_the_install_before_anything_is_copied(env, tmp_path):
    offline = bundle(tmp_path / 'bundle')
    (offline / 'bin/kubelet').write_bytes(b'#!/bin/sh\nrm -rf /\n')
    rc, tasks, dest = run(env, tmp_path, offline)
    assert rc != 0
    message = failed_at_verify(tasks)
    assert 'bin/kubelet: sha256 is' in message
    assert 'kubernetes_offline_dir ({0})'.format(offline) in message
    assert 'kubegpu.nvidia.bundle playbook' in message
    assert copied(dest) == []


def test_an_archive_the_list_does_not_name_is_refused(env, tmp_path):
    offline = bundle(tmp_path / 'bundle')
    (offline / 'images/added-later.tar').write_bytes(b'unverified')
    rc, tasks, dest = run(env, tmp_path, offline)
    assert rc != 0
    assert 'images/added-later.tar: not listed in SHA256SUMS' in failed_at_verify(tasks)
    assert copied(dest) == []


def test_a_bundle_without_a_list_is_refused(env, tmp_path):
    offline = bundle(tmp_path / 'bundle')
    (offline / 'SHA256SUMS').unlink()
    rc, tasks, dest = run(env, tmp_path, offline)
    assert rc != 0
    assert 'has no SHA256SUMS' in failed_at_verify(tasks)
    assert copied(dest) == []


def test_a_bundle_that_matches_copies_its_binaries_and_plugins(env, tmp_path):
    offline = bundle(tmp_path / 'bundle')
    # Check mode: the kubelet unit and the systemd calls after the copies stay off this machine.
    rc, tasks, dummy = run(env, tmp_path, offline, '--check')
    results = dict(tasks)
    assert rc == 0, tasks
    assert results[VERIFY]['files'] == sorted(FILES)
    binaries = results['kubegpu.nvidia.kubernetes : Install kubeadm, kubelet and kubectl v1.36.2']['results']
    assert [one['item'] for one in binaries if one['changed']] == ['kubeadm', 'kubelet', 'kubectl']
    plugins = results['kubegpu.nvidia.kubernetes : Install the CNI plugins of the bundle']['results']
    assert [one['item'] for one in plugins] == ['cni/bridge']
