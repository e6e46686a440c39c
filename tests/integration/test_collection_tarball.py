# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Galaxy tarball builds, installs offline, documents and runs its modules."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# The oldest `ansible` package the collection supports (requirements/ansible-oldest.txt),
# installed by scripts/setup.sh test.
OLDEST_BIN = REPO / '.venv-oldest' / 'bin'
# What the development of the collection needs and its user cannot run: never in the tarball.
DEVELOPMENT = ('tests/', 'scripts/', 'molecule/', '.config/', 'benchmarks/', '.ci/', 'Makefile', 'site.yml',
               'ansible.cfg', 'requirements/', 'pyproject.toml', 'changelogs/fragments/', 'docs/development.md',
               'docs/validation/')
# Shipped text a user reads: no command of the repository's tests/, scripts/ or Makefile in it.
DEVELOPER_WORDS = re.compile(r'(?<![\w./-])(tests|scripts|benchmarks|molecule)/|\bmake (run|test|molecule|setup)\b')
# README.md is also the repository's front page (`make run`, `make test`); its section for a user's
# own automation needs none of them.
FRONT_PAGE = {'README.md'}


def run(args, env, cwd, timeout=300):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    command = ' '.join(map(str, args))
    assert proc.returncode == 0, '{0}\n{1}\n{2}'.format(command, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout


def _gitignore_samples():
    """A path for each .gitignore entry, at the top and one level down where the entry is not anchored."""
    samples = []
    for line in map(str.strip, (REPO / '.gitignore').read_text().splitlines()):
        if not line or line.startswith('#'):
            continue
        name = line.strip('/').replace('*', 'x')
        path = name + '/sample' if line.endswith('/') else name
        samples.append(path)
        if not line.startswith('/'):
            samples.append('roles/driver/' + path)
    return samples


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """The tarball of a copy of this checkout holding a file for every .gitignore entry."""
    tmp = tmp_path_factory.mktemp('tarball')
    listed = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split('\0')
    source = tmp / 'source'
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    samples = _gitignore_samples()
    for name in samples:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text('ignored by git\n')
    env = dict(os.environ, ANSIBLE_NOCOLOR='1')
    env.pop('ANSIBLE_CONFIG', None)
    run([VENV_BIN / 'ansible-galaxy', 'collection', 'build', '--output-path', tmp, source], env, tmp)
    galaxy = yaml.safe_load((REPO / 'galaxy.yml').read_text())
    tarball = tmp / 'kubegpu-nvidia-{0}.tar.gz'.format(galaxy['version'])
    with tarfile.open(tarball) as tar:
        names = [member.name for member in tar.getmembers() if member.isfile()]
    return tarball, names, samples


def test_every_gitignore_entry_has_its_sample_ignored_by_git(built):
    dummy, dummy, samples = built
    proc = subprocess.run(['git', 'check-ignore', '--stdin'], cwd=REPO, input='\n'.join(samples), text=True,
                          capture_output=True, check=False)
    # Each sample stands for its entry: git itself ignores every one of them.
    assert sorted(proc.stdout.split()) == sorted(samples)


def test_the_tarball_holds_no_path_git_ignores_and_nothing_of_the_development(built):
    dummy, names, samples = built
    assert 'plugins/modules/gpu_facts.py' in names and 'roles/driver/tasks/main.yml' in names
    assert 'playbooks/site.yml' in names and 'inventory/sample/hosts.yml' in names
    assert 'execution-environment.yml' in names and 'meta/execution-environment.yml' in names
    assert 'bindep.txt' in names and 'requirements.txt' in names
    assert not set(samples) & set(names)
    proc = subprocess.run(['git', 'check-ignore', '--stdin'], cwd=REPO, input='\n'.join(names), text=True,
                          capture_output=True, check=False)
    assert proc.stdout.split() == []
    assert [n for n in names if n.startswith(DEVELOPMENT) or n in DEVELOPMENT] == []


def _ships_beside(doc, folder, names):
    here = os.path.dirname(doc)
    return bool(here) and any(n.startswith('{0}/{1}'.format(here, folder)) for n in names)


def test_shipped_docs_speak_to_the_user_of_the_installed_collection(built):
    tarball, names, dummy = built
    readable = [n for n in names if n.endswith(('.md', '.txt', '.yml', '.yaml')) or n.startswith('plugins/modules/')]
    offending = {}
    with tarfile.open(tarball) as tar:
        for name in readable:
            # A folder of the doc's own folder that ships (terraform/aws/tests/ beside its README) is the user's.
            found = [m.group(0) for m in DEVELOPER_WORDS.finditer(tar.extractfile(name).read().decode())
                     if not _ships_beside(name, m.group(0), names)]
            if found:
                offending[name] = found
    assert set(offending) - FRONT_PAGE == set(), offending


def test_tarball_installs_offline_and_its_module_runs_from_the_install(ansible_env, tmp_path):
    galaxy = yaml.safe_load((REPO / 'galaxy.yml').read_text())
    run([VENV_BIN / 'ansible-galaxy', 'collection', 'build', '--output-path', tmp_path, str(REPO)],
        ansible_env, tmp_path)
    tarball = tmp_path / 'kubegpu-nvidia-{0}.tar.gz'.format(galaxy['version'])
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert 'plugins/modules/gpu_facts.py' in names
    assert 'roles/driver/tasks/main.yml' in names and 'playbooks/site.yml' in names
    with tarfile.open(tarball) as tar:
        requirements = tar.extractfile('requirements.txt').read().decode()
    assert {line.split('>')[0].split('=')[0].strip() for line in requirements.splitlines()
            if line.strip() and not line.startswith('#')} == {'tomlkit', 'kubernetes'}

    installed = tmp_path / 'collections'
    # Only the installed copy may be found: not this checkout's link.
    env = dict(ansible_env, ANSIBLE_COLLECTIONS_PATH=str(installed))
    env.pop('ANSIBLE_CONFIG')
    # Dependencies (kubernetes.core, community.general, ansible.posix) are resolved against those the
    # `ansible` package brings, offline: no --no-deps.
    out = run([VENV_BIN / 'ansible-galaxy', 'collection', 'install', '--offline', '-p', installed, tarball],
              env, tmp_path)
    assert 'kubegpu.nvidia:{0} was installed successfully'.format(galaxy['version']) in out
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
    run([VENV_BIN / 'ansible-galaxy', 'collection', 'install', '--offline', '-p', installed,
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


def _bundled(bin_dir, collection):
    """The version of a collection the `ansible` package of a virtualenv brings."""
    code = ('import json, ansible_collections.{0} as c, pathlib; '
            'print(json.loads((pathlib.Path(c.__path__[0]) / "MANIFEST.json").read_text())'
            '["collection_info"]["version"])').format(collection)
    return subprocess.run([bin_dir / 'python', '-c', code], capture_output=True, text=True, check=True).stdout.strip()


def _at_least(version, minimum):
    return tuple(int(p) for p in version.split('.')[:3]) >= tuple(int(p) for p in minimum.split('.')[:3])


def test_the_oldest_supported_ansible_installs_the_tarball_offline_with_its_dependencies(built, tmp_path):
    tarball, dummy, dummy = built
    galaxy = yaml.safe_load((REPO / 'galaxy.yml').read_text())
    runtime = yaml.safe_load((REPO / 'meta' / 'runtime.yml').read_text())
    oldest_core = subprocess.run([OLDEST_BIN / 'python', '-c', 'import ansible.release as r; print(r.__version__)'],
                                 capture_output=True, text=True, check=True).stdout.strip()
    # The oldest ansible-core tested is the oldest requires_ansible allows.
    assert runtime['requires_ansible'] == '>={0}.0'.format('.'.join(oldest_core.split('.')[:2]))
    # Every role says the same.
    for meta in sorted(REPO.glob('roles/*/meta/main.yml')):
        minimum = yaml.safe_load(meta.read_text())['galaxy_info']['min_ansible_version']
        assert '>={0}.0'.format(minimum) == runtime['requires_ansible'], (str(meta), minimum)
    for collection, spec in galaxy['dependencies'].items():
        # Each dependency's range is met by what the oldest supported `ansible` package brings.
        assert spec.startswith('>=') and _at_least(_bundled(OLDEST_BIN, collection), spec[2:]), (collection, spec)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'collections'), ANSIBLE_NOCOLOR='1')
    env.pop('ANSIBLE_CONFIG', None)

    out = run([OLDEST_BIN / 'ansible-galaxy', 'collection', 'install', '--offline', '-p', tmp_path / 'collections',
               tarball], env, tmp_path)

    assert 'kubegpu.nvidia:{0} was installed successfully'.format(galaxy['version']) in out
    for collection in galaxy['dependencies']:
        assert "'{0}:{1}' is already installed".format(collection, _bundled(OLDEST_BIN, collection)) in out
    syntax = run([OLDEST_BIN / 'ansible-playbook', '--syntax-check', '-i', 'localhost,', 'kubegpu.nvidia.site'],
                 env, tmp_path)
    # ansible-core 2.17 names the installed file, 2.19 the playbook's name.
    named = r'^playbook: (kubegpu\.nvidia\.site|\S+/kubegpu/nvidia/playbooks/site\.yml)$'
    assert re.search(named, syntax, re.M), syntax
    # Every module's and filter's documentation loads there too (the oldest ansible-doc is stricter:
    # a description line holding ': ' is a mapping, and it refuses the whole page).
    installed = tmp_path / 'collections' / 'ansible_collections' / 'kubegpu' / 'nvidia' / 'plugins'
    for plugin_type, folder, suffix in (('module', 'modules', '.py'), ('filter', 'filter', '.yml')):
        names = sorted('kubegpu.nvidia.' + f.stem for f in (installed / folder).glob('*' + suffix))
        assert names, folder
        docs = json.loads(run([OLDEST_BIN / 'ansible-doc', '--json', '-t', plugin_type] + names, env, tmp_path))
        assert sorted(docs) == names
        assert all(isinstance(line, str) for name in names for option in docs[name]['doc'].get('options', {}).values()
                   for line in option.get('description', [])), plugin_type
