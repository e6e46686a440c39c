# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The repository key check, on key files gpg makes here (throwaway keys, one-day expiry)."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import tempfile

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._signing_key import (
    SigningKeyInputError,
    normalize_fingerprint,
    verdict,
)


def gpg(home, *args, stdin=None):
    return subprocess.run(['gpg', '--batch', '--homedir', str(home), *args], input=stdin, capture_output=True,
                          check=False, timeout=60)


class Keys:
    """A gpg home with throwaway keys, and the listing `gpg --show-keys` gives for a file of some of them."""

    def __init__(self, root):
        # gpg-agent's socket lives in the home: a unix socket path has at most 107 bytes, which the deep
        # temporary directories of ansible-test units exceed ("No agent running"). Short homes under /tmp.
        self.short = pathlib.Path(tempfile.mkdtemp(prefix='kg-gpg-', dir='/tmp'))
        self.home = self.short / 'g'
        self.home.mkdir(mode=0o700)
        self.reader = self.short / 'r'
        self.reader.mkdir(mode=0o700)
        self.root = root

    def make(self, name, subkey=False):
        proc = gpg(self.home, '--passphrase', '', '--quick-gen-key', '{0} <{0}@example.org>'.format(name),
                   'ed25519', 'sign', '1d')
        assert proc.returncode == 0, proc.stderr
        listing = gpg(self.home, '--with-colons', '--list-keys', '{0}@example.org'.format(name)).stdout.decode()
        fingerprint = next(line.split(':')[9] for line in listing.splitlines() if line.startswith('fpr:'))
        if subkey:
            proc = gpg(self.home, '--passphrase', '', '--quick-add-key', fingerprint, 'cv25519', 'encr', '1d')
            assert proc.returncode == 0, proc.stderr
        return fingerprint

    def file(self, *fingerprints, armor=True):
        path = self.root / ('-'.join(f[-8:] for f in fingerprints) + ('.asc' if armor else '.gpg'))
        path.write_bytes(b''.join(gpg(self.home, *(['--armor'] if armor else []), '--export', f).stdout
                                  for f in fingerprints))
        return path

    def show(self, path):
        """What the roles' task runs: gpg --show-keys --with-colons in a throwaway home, as a registered result."""
        proc = gpg(self.reader, '--no-default-keyring', '--show-keys', '--with-colons', str(path))
        return {'stdout': proc.stdout.decode(), 'stderr': proc.stderr.decode(), 'rc': proc.returncode}

    def close(self):
        for home in (self.home, self.reader):
            subprocess.run(['gpgconf', '--homedir', str(home), '--kill', 'all'], capture_output=True, check=False)
        # Each agent left running holds two of the machine's 128 inotify instances (a leak of dozens starved
        # the kubelets of the kubernetes test): whatever gpgconf missed is ended by its home's path.
        subprocess.run(['pkill', '-f', '--', str(self.short)], capture_output=True, check=False)
        shutil.rmtree(self.short, ignore_errors=True)


# Per test: ansible-test units runs each test in a forked process, where a module's fixture is set up
# again and never torn down, and every gpg-agent it started would outlive the run.
@pytest.fixture
def keys(tmp_path_factory):
    made = Keys(tmp_path_factory.mktemp('keys'))
    made.pinned = made.make('pinned', subkey=True)
    made.other = made.make('other')
    yield made
    made.close()


def test_a_file_with_only_the_pinned_key_and_its_subkey_passes(keys):
    result = verdict(keys.show(keys.file(keys.pinned)), keys.pinned)
    assert result['ok'] is True and result['problem'] == ''
    assert result['found'] == [keys.pinned]
    assert len(result['subkeys']) == 1 and result['subkeys'][0] != keys.pinned


def test_a_binary_keyring_with_only_the_pinned_key_passes(keys):
    assert verdict(keys.show(keys.file(keys.pinned, armor=False)), keys.pinned)['ok'] is True


def test_the_pin_is_read_with_spaces_lower_case_and_0x(keys):
    spaced = '0x' + ' '.join(keys.pinned[i:i + 4] for i in range(0, 40, 4)).lower()
    assert normalize_fingerprint(spaced) == keys.pinned
    assert verdict(keys.show(keys.file(keys.pinned)), spaced)['ok'] is True


@pytest.mark.parametrize('order', ['pinned first', 'extra first'])
def test_a_file_with_the_pinned_key_and_an_extra_one_is_refused(keys, order):
    pair = (keys.pinned, keys.other) if order == 'pinned first' else (keys.other, keys.pinned)
    result = verdict(keys.show(keys.file(*pair)), keys.pinned)
    assert result['ok'] is False
    assert result['found'] == list(pair)
    assert 'holds 2 keys ({0}, {1}), not only the pinned {2}'.format(pair[0], pair[1], keys.pinned) in result['problem']
    assert 'trust every key in the file' in result['problem']


def test_an_armored_file_of_two_blocks_is_refused(keys):
    path = keys.root / 'two-blocks.asc'
    path.write_bytes(keys.file(keys.pinned).read_bytes() + b'\n' + keys.file(keys.other).read_bytes())
    result = verdict(keys.show(path), keys.pinned)
    assert result['ok'] is False and result['found'] == [keys.pinned, keys.other]


def test_another_key_is_refused_naming_both_fingerprints(keys):
    result = verdict(keys.show(keys.file(keys.other)), keys.pinned)
    assert result['ok'] is False
    assert result['problem'] == 'has fingerprint {0}, not the pinned {1}'.format(keys.other, keys.pinned)


def test_a_pinned_subkey_is_not_a_pinned_key(keys):
    listing = keys.show(keys.file(keys.pinned))
    subkey = verdict(listing, keys.pinned)['subkeys'][0]
    result = verdict(listing, subkey)
    assert result['ok'] is False and 'it is a subkey of that key' in result['problem']


def test_a_file_that_is_no_key_is_refused_with_what_gpg_said(keys):
    path = keys.root / 'page.html'
    path.write_text('<html>Not found</html>\n')
    listing = keys.show(path)
    result = verdict(listing, keys.pinned)
    assert result['ok'] is False and result['found'] == []
    assert result['problem'].startswith('holds no OpenPGP key (gpg: ')
    assert keys.pinned in result['problem']


def test_a_short_pin_is_refused_before_the_file_is_read(keys):
    result = verdict(keys.show(keys.file(keys.pinned)), keys.pinned[-16:])
    assert result['ok'] is False
    assert 'is not a full fingerprint' in result['problem'] and keys.pinned[-16:] in result['problem']


def test_the_listing_may_be_a_string(keys):
    assert verdict(keys.show(keys.file(keys.pinned))['stdout'], keys.pinned)['ok'] is True


def test_anything_else_is_a_clear_error():
    with pytest.raises(SigningKeyInputError, match='gpg --show-keys --with-colons'):
        verdict(['pub'], 'DE15B14486CD377B9E876E1A234654DA9A296436')
