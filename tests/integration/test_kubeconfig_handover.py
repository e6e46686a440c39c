# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubernetes role's hand-over of the admin kubeconfig to the controller (tasks/kubeconfig.yml).

Runs the role's real tasks on localhost, with a stand-in admin.conf in a temporary directory
(kubernetes_state_files.admin_conf), so nothing outside the test's directory is written.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def hand_over(ansible_env, tmp_path, kubeconfig, admin_conf, check=False):
    playbook = tmp_path / 'kubeconfig.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'Hand the admin kubeconfig over', 'hosts': 'localhost', 'gather_facts': False,
        'tasks': [
            {'name': 'Run the role\'s kubeconfig tasks',
             'ansible.builtin.include_role': {'name': 'kubegpu.nvidia.kubernetes', 'tasks_from': 'kubeconfig'}},
            {'name': 'Report the cluster stage\'s kubeconfig',
             'ansible.builtin.debug': {'msg': '{{ hostvars.localhost.kubegpu_kubeconfig }}'}},
        ]}]))
    variables = {
        'ansible_python_interpreter': sys.executable,
        'kubernetes_kubeconfig': str(kubeconfig),
        'kubernetes_node_plan': {'action': 'initialized'},
        'kubernetes_first_control_plane': 'localhost',
        'kubernetes_state_files': {'admin_conf': str(admin_conf)},
    }
    env = dict(ansible_env, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    proc = subprocess.run(
        [str(VENV_BIN / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e', json.dumps(variables),
         *(['--check', '--diff'] if check else []), str(playbook)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.stdout, proc.stderr
    out = json.loads(proc.stdout)
    results = {t['task']['name'].split(' : ')[-1]: t['hosts'].get('localhost', {}) for t in out['plays'][0]['tasks']}
    return proc.returncode, results, out['stats']['localhost']


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_shared_directory_keeps_its_mode_and_the_kubeconfig_is_private(ansible_env, tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(shared, 0o1777)
    admin = tmp_path / 'admin.conf'
    admin.write_text('apiVersion: v1\nkind: Config\nclusters: []\n')
    kubeconfig = shared / 'kubegpu.conf'

    code, results, _stats = hand_over(ansible_env, tmp_path, kubeconfig, admin)

    assert code == 0, results
    assert mode(shared) == 0o1777
    assert mode(kubeconfig) == 0o600
    assert kubeconfig.read_text() == admin.read_text()
    assert results['Report the cluster stage\'s kubeconfig']['msg'] == str(kubeconfig)
    assert sorted(p.name for p in shared.iterdir()) == ['kubegpu.conf']


def test_a_missing_directory_is_made_private(ansible_env, tmp_path):
    admin = tmp_path / 'admin.conf'
    admin.write_text('kind: Config\n')
    kubeconfig = tmp_path / 'new' / 'kubegpu.conf'

    code, results, _stats = hand_over(ansible_env, tmp_path, kubeconfig, admin)

    assert code == 0, results
    assert mode(kubeconfig.parent) == 0o700 and mode(kubeconfig) == 0o600


def test_another_kubeconfig_is_kept_as_a_backup_and_a_rerun_changes_nothing(ansible_env, tmp_path):
    home = tmp_path / 'kube'
    home.mkdir(mode=0o755)
    kubeconfig = home / 'config'
    kubeconfig.write_text('kind: Config\n# the other cluster\n')
    os.chmod(kubeconfig, 0o600)
    admin = tmp_path / 'admin.conf'
    admin.write_text('kind: Config\n# this cluster\n')

    code, results, _stats = hand_over(ansible_env, tmp_path, kubeconfig, admin)
    assert code == 0, results
    backups = [p for p in home.iterdir() if p.name != 'config']
    assert len(backups) == 1 and backups[0].name.startswith('config.')
    assert backups[0].read_text() == 'kind: Config\n# the other cluster\n'
    assert mode(backups[0]) == 0o600
    assert kubeconfig.read_text() == admin.read_text() and mode(kubeconfig) == 0o600
    assert mode(home) == 0o755

    code, results, stats = hand_over(ansible_env, tmp_path, kubeconfig, admin)
    assert code == 0 and stats['changed'] == 0, results
    assert len(list(home.iterdir())) == 2


def test_check_mode_writes_nothing_and_shows_no_credentials(ansible_env, tmp_path):
    admin = tmp_path / 'admin.conf'
    admin.write_text('kind: Config\nusers: [{name: admin, user: {client-key-data: c2VjcmV0LW1hcmtlcg==}}]\n')
    kubeconfig = tmp_path / 'kube' / 'config'
    code, results, _stats = hand_over(ansible_env, tmp_path, kubeconfig, admin, check=True)
    assert code == 0, results
    assert not kubeconfig.parent.exists()

    kubeconfig.parent.mkdir()
    kubeconfig.write_text('kind: Config\n')
    code, results, stats = hand_over(ansible_env, tmp_path, kubeconfig, admin, check=True)
    assert code == 0 and stats['changed'] > 0, results
    assert kubeconfig.read_text() == 'kind: Config\n'
    assert 'c2VjcmV0LW1hcmtlcg' not in json.dumps(results)
