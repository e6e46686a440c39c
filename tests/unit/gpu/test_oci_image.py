# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/gpu/oci_image.py's add_layer on a docker-archive (podman loads the real one in tests/gpu/rehearse.sh)."""
from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import pathlib
import tarfile

import pytest

_PATH = pathlib.Path(__file__).parents[3] / 'tests' / 'gpu' / 'oci_image.py'
_SPEC = importlib.util.spec_from_file_location('oci_image', _PATH)
oci_image = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(oci_image)


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _layer(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as tar:
        for name, data in files.items():
            _add(tar, name, data)
    return buffer.getvalue()


@pytest.fixture
def archive(tmp_path):
    """A one-layer docker-archive, as podman save --format docker-archive lays it out."""
    layer = _layer({'usr/bin/nvidia-validator': b'validator'})
    layer_id = hashlib.sha256(layer).hexdigest()
    config = {'architecture': 'amd64', 'os': 'linux',
              'config': {'Entrypoint': ['/usr/bin/gpu-operator'], 'User': '1000:1000'},
              'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + layer_id]}}
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + '.json'
    path = tmp_path / 'operator.tar'
    with tarfile.open(path, 'w') as tar:
        _add(tar, layer_id + '.tar', layer)
        _add(tar, config_name, config_bytes)
        entry = {'Config': config_name, 'RepoTags': ['nvcr.io/nvidia/gpu-operator:v26.7.0'],
                 'Layers': [layer_id + '.tar']}
        _add(tar, 'manifest.json', json.dumps([entry]).encode())
    return path


def _read(path):
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    manifest = json.loads(members['manifest.json'])
    return members, manifest[0], json.loads(members[manifest[0]['Config']])


def test_the_new_layer_holds_the_file_and_its_directories_on_top_of_the_old(archive, tmp_path):
    program = tmp_path / 'vectoradd'
    program.write_bytes(b'\x7fELF program')
    program.chmod(0o755)
    out = tmp_path / 'out.tar'
    oci_image.add_layer(str(archive), str(out), {'/usr/bin/vectorAdd': str(program)})
    old_members, old_entry, old_config = _read(archive)
    members, entry, config = _read(out)
    assert entry['RepoTags'] == ['nvcr.io/nvidia/gpu-operator:v26.7.0']
    assert entry['Layers'][:-1] == old_entry['Layers']
    new_layer = members[entry['Layers'][-1]]
    new_id = 'sha256:' + hashlib.sha256(new_layer).hexdigest()
    assert config['rootfs']['diff_ids'] == old_config['rootfs']['diff_ids'] + [new_id]
    assert config['config'] == old_config['config']
    with tarfile.open(fileobj=io.BytesIO(new_layer)) as tar:
        names = {m.name: m for m in tar.getmembers()}
        assert names['usr'].isdir() and names['usr/bin'].isdir()
        assert names['usr/bin/vectorAdd'].mode & 0o777 == 0o755
        assert tar.extractfile('usr/bin/vectorAdd').read() == b'\x7fELF program'
    # The config's name is its digest, as the format wants; the old config is gone.
    assert entry['Config'] == hashlib.sha256(members[entry['Config']]).hexdigest() + '.json'
    assert old_entry['Config'] not in members
    assert members[old_entry['Layers'][0]] == old_members[old_entry['Layers'][0]]


def test_an_archive_of_two_images_is_refused(archive, tmp_path):
    two = tmp_path / 'two.tar'
    with tarfile.open(archive) as src, tarfile.open(two, 'w') as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == 'manifest.json':
                data = json.dumps(json.loads(data) * 2).encode()
            _add(dst, member.name, data)
    with pytest.raises(ValueError, match=r'2 images in manifest\.json; expected one'):
        oci_image.add_layer(str(two), str(tmp_path / 'out.tar'), {})
