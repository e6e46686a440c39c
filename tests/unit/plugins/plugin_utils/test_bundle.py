# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bundle's SHA256SUMS, as the kubernetes and container_toolkit roles check it (plugin_utils._bundle)."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._bundle import (
    BundleError,
    parse_sums,
    verify,
)

FILES = {
    'bin/kubeadm': b'kubeadm binary',
    'bin/kubelet': b'kubelet binary',
    'bin/kubectl': b'kubectl binary',
    'images/pause.tar': b'pause archive',
    'images/etcd.tag': b'3.5.16-4-debian\n',
    'cni/bridge': b'bridge plugin',
}
REQUIRED = ['bin/kubeadm', 'bin/kubelet', 'bin/kubectl']
OPTIONAL = ['cni/*', 'images/*.tar', 'images/etcd.tag']


def _bundle(root, files=None):
    for rel, data in (FILES if files is None else files).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    # The list as sha256sum itself writes it, so the format is the tool's and not this module's.
    names = sorted(FILES if files is None else files)
    listing = subprocess.run(['sha256sum', '--', *names], cwd=root, capture_output=True, text=True, check=True)
    (root / 'SHA256SUMS').write_text(listing.stdout)
    return root


def test_a_bundle_that_matches_returns_every_file_it_checked(tmp_path):
    result = verify(_bundle(tmp_path), REQUIRED, OPTIONAL, variable='kubernetes_offline_dir')
    assert result['files'] == sorted(FILES)
    assert result['sha256']['bin/kubeadm'] == hashlib.sha256(FILES['bin/kubeadm']).hexdigest()


def test_a_tampered_binary_is_named_with_both_sums_and_the_fix(tmp_path):
    root = _bundle(tmp_path)
    (root / 'bin/kubelet').write_bytes(b'something else')
    with pytest.raises(BundleError) as caught:
        verify(root, REQUIRED, OPTIONAL, variable='kubernetes_offline_dir')
    message = str(caught.value)
    assert 'kubernetes_offline_dir ({0})'.format(root) in message
    assert 'bin/kubelet: sha256 is {0}'.format(hashlib.sha256(b'something else').hexdigest()) in message
    assert hashlib.sha256(FILES['bin/kubelet']).hexdigest() in message
    assert 'nothing was copied' in message
    assert 'kubegpu.nvidia.bundle playbook' in message
    assert 'bin/kubeadm' not in message


def test_an_archive_added_after_the_list_was_written_is_refused_not_used(tmp_path):
    root = _bundle(tmp_path)
    (root / 'images/extra.tar').write_bytes(b'unlisted')
    with pytest.raises(BundleError, match=r'images/extra\.tar: not listed in SHA256SUMS'):
        verify(root, REQUIRED, OPTIONAL)


def test_an_appended_line_makes_an_added_archive_usable(tmp_path):
    root = _bundle(tmp_path)
    (root / 'images/extra.tar').write_bytes(b'added by a script')
    line = subprocess.run(['sha256sum', 'images/extra.tar'], cwd=root, capture_output=True, text=True, check=True)
    with open(root / 'SHA256SUMS', 'a', encoding='utf-8') as handle:
        handle.write(line.stdout)
    assert 'images/extra.tar' in verify(root, REQUIRED, OPTIONAL)['files']


def test_every_problem_is_reported_at_once(tmp_path):
    root = _bundle(tmp_path)
    (root / 'bin/kubectl').unlink()
    (root / 'cni/bridge').write_bytes(b'changed')
    with pytest.raises(BundleError) as caught:
        verify(root, REQUIRED, OPTIONAL)
    assert 'bin/kubectl: listed in SHA256SUMS but missing' in str(caught.value)
    assert 'cni/bridge: sha256 is' in str(caught.value)


def test_a_required_file_neither_listed_nor_there(tmp_path):
    files = {rel: data for rel, data in FILES.items() if rel != 'bin/kubectl'}
    with pytest.raises(BundleError, match='bin/kubectl: missing, and not listed in SHA256SUMS'):
        verify(_bundle(tmp_path, files), REQUIRED, OPTIONAL)


def test_a_directory_without_a_list_is_refused_with_the_variable_and_the_fix(tmp_path):
    (tmp_path / 'bin').mkdir()
    with pytest.raises(BundleError) as caught:
        verify(tmp_path, REQUIRED, variable='container_toolkit_binaries_dir')
    assert str(caught.value).startswith('container_toolkit_binaries_dir: {0} has no SHA256SUMS'.format(tmp_path))
    assert 'kubegpu.nvidia.bundle playbook' in str(caught.value)


def test_a_link_out_of_the_bundle_is_refused(tmp_path):
    outside = tmp_path / 'outside'
    outside.write_bytes(FILES['bin/kubeadm'])
    root = tmp_path / 'bundle'
    _bundle(root)
    (root / 'bin/kubeadm').unlink()
    (root / 'bin/kubeadm').symlink_to(outside)
    with pytest.raises(BundleError, match=r'bin/kubeadm: a link to .*outside, outside the bundle'):
        verify(root, REQUIRED)


def test_a_fifo_is_not_opened(tmp_path):
    root = _bundle(tmp_path)
    (root / 'bin/kubeadm').unlink()
    os.mkfifo(root / 'bin/kubeadm')
    with pytest.raises(BundleError, match='bin/kubeadm: cannot be read'):
        verify(root, REQUIRED)


@pytest.mark.parametrize('line, problem', [
    ('not a sum  bin/kubeadm', 'expected "<sha256>  <relative path>"'),
    ('{0}  /usr/bin/kubeadm'.format('0' * 64), 'absolute or leaves the bundle'),
    ('{0}  ../kubeadm'.format('0' * 64), 'absolute or leaves the bundle'),
])
def test_a_bad_line_is_named_by_its_number(line, problem):
    with pytest.raises(BundleError) as caught:
        parse_sums('\n{0}\n'.format(line), 'bundle/SHA256SUMS')
    assert str(caught.value).startswith('bundle/SHA256SUMS line 2 ')
    assert problem in str(caught.value)


def test_the_same_path_twice_with_two_sums_is_refused():
    text = '{0}  bin/x\n{1}  ./bin/x\n'.format('a' * 64, 'b' * 64)
    with pytest.raises(BundleError, match='lists bin/x twice'):
        parse_sums(text)


def test_a_pattern_star_stays_inside_its_directory(tmp_path):
    files = dict(FILES)
    files['images/old/stale.tar'] = b'not for import'
    result = verify(_bundle(tmp_path, files), REQUIRED, OPTIONAL)
    assert 'images/old/stale.tar' not in result['files']
