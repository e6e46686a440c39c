# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Galaxy tarball builds, installs offline, documents and runs its modules."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def run(args, env, cwd, timeout=300):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    command = ' '.join(map(str, args))
    assert proc.returncode == 0, '{0}\n{1}\n{2}'.format(command, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout


def test_tarball_installs_offline_and_its_module_runs_from_the_install(ansible_env, tmp_path):
    galaxy = yaml.safe_load((REPO / 'galaxy.yml').read_text())
    run([VENV_BIN / 'ansible-galaxy', 'collection', 'build', '--output-path', tmp_path, str(REPO)],
        ansible_env, tmp_path)
    tarball = tmp_path / 'kubegpu-nvidia-{0}.tar.gz'.format(galaxy['version'])
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert 'plugins/modules/gpu_facts.py' in names
    assert not [n for n in names if n.startswith(('.venv', 'build/', '.git/', 'tests/output'))]
    # What checks the collection stays in the repository (galaxy.yml build_ignore).
    assert [n for n in names if n.split('/')[0] in ('tests', 'molecule', 'scripts', 'benchmarks')] == []
    assert 'roles/driver/tasks/main.yml' in names and 'playbooks/site.yml' in names
    with tarfile.open(tarball) as tar:
        requirements = tar.extractfile('requirements.txt').read().decode()
    assert {line.split('>')[0].split('=')[0].strip() for line in requirements.splitlines()
            if line.strip() and not line.startswith('#')} == {'tomlkit', 'kubernetes'}

    installed = tmp_path / 'collections'
    # Only the installed copy may be found: not this checkout's link.
    env = dict(ansible_env, ANSIBLE_COLLECTIONS_PATH=str(installed))
    env.pop('ANSIBLE_CONFIG')
    # Dependencies (kubernetes.core, community.general) come from the `ansible`
    # package, which Galaxy's resolver cannot see offline.
    run([VENV_BIN / 'ansible-galaxy', 'collection', 'install', '--offline', '--no-deps', '-p', installed, tarball],
        env, tmp_path)
    assert (installed / 'ansible_collections' / 'kubegpu' / 'nvidia' / 'MANIFEST.json').is_file()

    doc = json.loads(run([VENV_BIN / 'ansible-doc', '--json', 'kubegpu.nvidia.gpu_facts'], env, tmp_path))
    entry = doc['kubegpu.nvidia.gpu_facts']
    assert str(installed) in entry['doc']['filename']
    assert 'root' in entry['doc']['options']
    assert 'ansible_facts' in entry['return']

    out = run([VENV_BIN / 'ansible', 'localhost', '-c', 'local', '-m', 'kubegpu.nvidia.gpu_facts',
               '-e', 'ansible_python_interpreter={0}'.format(VENV_BIN / 'python'), '-o'], env, tmp_path)
    result = json.loads(out.split(' => ', 1)[1])
    assert isinstance(result['ansible_facts']['nvidia']['gpu_count'], int)
    assert result['changed'] is False


def test_site_from_the_tarball_runs_without_community_general_when_provisioning_is_off(ansible_env, tmp_path):
    galaxy = yaml.safe_load((REPO / 'galaxy.yml').read_text())
    run([VENV_BIN / 'ansible-galaxy', 'collection', 'build', '--output-path', tmp_path, str(REPO)],
        ansible_env, tmp_path)
    installed = tmp_path / 'collections'
    env = dict(ansible_env, ANSIBLE_COLLECTIONS_PATH=str(installed))
    env.pop('ANSIBLE_CONFIG')
    env.pop('KUBECONFIG', None)
    env.pop('K8S_AUTH_KUBECONFIG', None)
    run([VENV_BIN / 'ansible-galaxy', 'collection', 'install', '--offline', '--no-deps', '-p', installed,
         tmp_path / 'kubegpu-nvidia-{0}.tar.gz'.format(galaxy['version'])], env, tmp_path)
    # Only kubernetes.core beside the collection: the `ansible` package's other collections
    # (community.general among them) are hidden by not scanning Python's path.
    core = importlib.util.find_spec('ansible_collections.kubernetes.core').submodule_search_locations[0]
    (installed / 'ansible_collections' / 'kubernetes').mkdir()
    os.symlink(core, str(installed / 'ansible_collections' / 'kubernetes' / 'core'))
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'gpu_nodes': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': str(VENV_BIN / 'python')}}}}}}))
    env.update(ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false', HOME=str(tmp_path))

    out = run([VENV_BIN / 'ansible-playbook', '-i', inventory, 'kubegpu.nvidia.site'], env, tmp_path)

    assert 'community.general' not in out
    assert 'Summarize the run, one line per node' in out
    assert 'failed=0' in out
