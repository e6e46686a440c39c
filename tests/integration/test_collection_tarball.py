# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Galaxy tarball builds, installs offline, documents and runs its modules."""

from __future__ import annotations

import json
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
