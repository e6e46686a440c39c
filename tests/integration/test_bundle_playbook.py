# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubegpu.nvidia.bundle playbook: pinned sources in, a bundle and its SHA256SUMS out.

Local sources in a temporary directory (a plain file, an xz file and a tgz archive, as
the release downloads come); the playbook runs with this checkout as the collection.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def env(ansible_env, tmp_path):
    collections = tmp_path / 'collections' / 'ansible_collections' / 'kubegpu'
    collections.mkdir(parents=True)
    (collections / 'nvidia').symlink_to(REPO)
    return dict(ansible_env, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'collections'))


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def sources(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('kubeadm', 'kubelet', 'kubectl'):
        (src / name).write_bytes(b'#!/bin/sh\necho ' + name.encode() + b'\n')
    (src / 'nvidia-ctk.xz').write_bytes(lzma.compress(b'nvidia-ctk binary'))
    (src / 'bridge').write_bytes(b'bridge plugin')
    (src / 'loopback').write_bytes(b'loopback plugin')
    with tarfile.open(src / 'cni.tgz', 'w:gz') as archive:
        archive.add(src / 'bridge', arcname='./bridge')
        archive.add(src / 'loopback', arcname='./loopback')
    (src / 'pause.tar').write_bytes(b'pause archive')
    return {
        'bundle_kubernetes_files': [{'path': 'bin/' + name, 'src': str(src / name), 'sha256': sha(src / name)}
                                    for name in ('kubeadm', 'kubelet', 'kubectl')],
        'bundle_cni_plugins': [{'path': 'cni', 'src': 'file://{0}'.format(src / 'cni.tgz'),
                                'sha256': sha(src / 'cni.tgz'), 'unpack': 'tgz', 'members': ['bridge', 'loopback']}],
        'bundle_image_files': [{'path': 'images/pause.tar', 'src': str(src / 'pause.tar'),
                                'sha256': sha(src / 'pause.tar')}],
        'bundle_toolkit_files': [{'path': 'toolkit/nvidia-ctk', 'src': str(src / 'nvidia-ctk.xz'),
                                  'sha256': sha(src / 'nvidia-ctk.xz'), 'unpack': 'xz'}],
        'bundle_etcd_tag': '3.5.16-4-debian',
    }


def build(env, tmp_path, variables):
    (tmp_path / 'vars.json').write_text(json.dumps(dict(variables, bundle_dir=str(tmp_path / 'bundle'))))
    return subprocess.run(
        [str(VENV_BIN / 'ansible-playbook'), '-i', 'localhost,', 'kubegpu.nvidia.bundle',
         '-e', 'ansible_python_interpreter=' + sys.executable, '-e', '@' + str(tmp_path / 'vars.json')],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_bundle_holds_each_source_and_a_list_sha256sum_checks_then_a_rerun_changes_nothing(env, tmp_path, sources):
    first = build(env, tmp_path, sources)
    assert first.returncode == 0, first.stdout[-3000:]
    bundle = tmp_path / 'bundle'
    listed = sorted(line.split('  ', 1)[1] for line in (bundle / 'SHA256SUMS').read_text().splitlines())
    assert listed == ['bin/kubeadm', 'bin/kubectl', 'bin/kubelet', 'cni/bridge', 'cni/loopback', 'images/etcd.tag',
                      'images/pause.tar', 'toolkit/nvidia-ctk']
    for directory in (bundle, bundle / 'toolkit'):
        check = subprocess.run(['sha256sum', '-c', '--strict', 'SHA256SUMS'], cwd=directory, capture_output=True,
                               text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    assert (bundle / 'toolkit/nvidia-ctk').read_bytes() == b'nvidia-ctk binary'
    assert (bundle / 'bin/kubeadm').stat().st_mode & 0o777 == 0o755
    assert (bundle / 'images/etcd.tag').read_text() == '3.5.16-4-debian\n'
    second = build(env, tmp_path, sources)
    assert second.returncode == 0, second.stdout[-3000:]
    assert 'changed=0' in second.stdout, second.stdout[-3000:]


def test_a_download_that_does_not_match_its_pin_never_reaches_the_bundle(env, tmp_path, sources):
    kubelet = Path(sources['bundle_kubernetes_files'][1]['src'])
    kubelet.write_bytes(b'#!/bin/sh\necho replaced upstream\n')
    run = build(env, tmp_path, sources)
    assert run.returncode != 0
    assert 'did not match' in run.stdout, run.stdout[-3000:]
    assert not (tmp_path / 'bundle' / 'bin' / 'kubelet').exists()
    assert not (tmp_path / 'bundle' / 'SHA256SUMS').exists()


def test_a_source_without_a_pin_is_refused_naming_its_list_and_entry(env, tmp_path, sources):
    sources['bundle_toolkit_files'][0]['sha256'] = ''
    run = build(env, tmp_path, sources)
    assert run.returncode != 0
    assert 'bundle_toolkit_files entry toolkit/nvidia-ctk: sha256 is empty; pin the sha256 of' in run.stdout, \
        run.stdout[-3000:]
    assert not (tmp_path / 'bundle').exists()
