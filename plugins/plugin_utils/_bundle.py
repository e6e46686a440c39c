# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checksum list of an air-gapped bundle, read and checked on the controller.

A bundle directory (the kubernetes role's ``kubernetes_offline_dir``, the
container_toolkit role's ``container_toolkit_binaries_dir``) carries
``SHA256SUMS`` in the format ``sha256sum`` writes and ``sha256sum -c`` reads:
one ``<64 hex digits>  <path relative to the directory>`` a line. The
``kubegpu.nvidia.bundle`` playbook writes it; the roles verify every file they
use against it before they copy anything to a node (action plugin
``kubegpu.nvidia.bundle_verify``). This module is the only place that knows the
format and the rules:

* a file the role needs must be listed and match;
* a file the role would take from a pattern (``images/*.tar``) must be listed
  too: a file put into the directory after the list was written is refused,
  not copied;
* a listed file that is missing, a path that leaves the directory, and a path
  that is not a regular file are refused.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import re
import stat

SUMS = 'SHA256SUMS'
REBUILD = ('rebuild the bundle with the kubegpu.nvidia.bundle playbook (it verifies each source against its pinned '
           'sha256 and writes {0}), or, for a file you added yourself, append its line: '
           '`cd DIR && sha256sum PATH >> {0}`'.format(SUMS))
_LINE = re.compile(r'^([0-9a-fA-F]{64}) [ *](.+)$')
_CHUNK = 1 << 20


class BundleError(ValueError):
    """The bundle cannot be used; the message names the directory, the files and the fix."""


def _clean(rel):
    """A listed path in one spelling (``./bin/x`` and ``bin/x`` are the same), or None where it leaves the directory."""
    rel = rel.strip()
    while rel.startswith('./'):
        rel = rel[2:]
    parts = rel.split('/')
    if not rel or rel.startswith('/') or any(part in ('', '.', '..') for part in parts):
        return None
    return rel


def parse_sums(text, source=SUMS):
    """{relative path: sha256 (lower case)} from the text of a checksum list; BundleError naming the line."""
    sums = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line.rstrip('\r'))
        if not match:
            raise BundleError('{0} line {1} is {2!r}; expected "<sha256>  <relative path>", as sha256sum writes '
                              'it'.format(source, number, line[:120]))
        digest, rel = match.group(1).lower(), _clean(match.group(2))
        if rel is None:
            raise BundleError('{0} line {1} names {2!r}, a path that is absolute or leaves the bundle; expected a '
                              'path relative to the bundle, such as bin/kubeadm'.format(source, number, match.group(2)))
        if sums.get(rel, digest) != digest:
            raise BundleError('{0} lists {1} twice with different sums (line {2})'.format(source, rel, number))
        sums[rel] = digest
    return sums


def file_sha256(path):
    """The sha256 of a regular file (a FIFO or device is not opened), read in chunks."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError('not a regular file')
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def read_sums(directory, sums_name=SUMS):
    """The checksum list of ``directory``; BundleError when it is missing or unreadable."""
    path = os.path.join(directory, sums_name)
    if not os.path.isdir(directory):
        raise BundleError('{0} is not a directory on the controller'.format(directory))
    if not os.path.isfile(path):
        raise BundleError('{0} has no {1}, so its files cannot be verified and nothing was copied: '
                          '{2}'.format(directory, sums_name, REBUILD.format(sums_name)))
    try:
        with open(path, 'rb') as handle:
            text = handle.read(16 << 20).decode('utf-8')
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError('{0} cannot be read: {1}'.format(path, exc)) from exc
    return parse_sums(text, path)


def _on_disk(directory, pattern):
    """Relative paths of the files under ``directory`` that match ``pattern`` (as Ansible's fileglob finds them)."""
    found = glob.glob(os.path.join(glob.escape(directory), pattern))
    return {os.path.relpath(path, directory).replace(os.sep, '/') for path in found if not os.path.isdir(path)}


def _matches(rel, pattern):
    """fnmatch, with ``*`` kept inside one directory as glob keeps it."""
    return rel.count('/') == pattern.count('/') and fnmatch.fnmatchcase(rel, pattern)


def verify(directory, required=(), optional=(), sums_name=SUMS, variable=''):
    """Check the files a role uses; return ``{'files': [relative paths], 'sha256': {path: digest}}``.

    ``required``: paths that must be listed, present and match. ``optional``:
    glob patterns (``images/*.tar``); every file on disk that matches must be
    listed and match, and every listed path that matches must be on disk. All
    problems are gathered into one BundleError, which names ``variable`` (the
    role variable that names the directory) and the fix.
    """
    directory = os.path.abspath(os.path.expanduser(str(directory)))
    label = '{0} ({1})'.format(variable, directory) if variable else directory
    try:
        sums = read_sums(directory, sums_name)
    except BundleError as exc:
        raise BundleError('{0}: {1}'.format(variable, exc) if variable else str(exc)) from exc
    wanted, problems = set(), []
    for rel in required:
        clean = _clean(rel)
        if clean is None:
            raise BundleError('{0!r} is not a path relative to the bundle'.format(rel))
        wanted.add(clean)
    for pattern in optional:
        # A checksum list (the bundle's toolkit/SHA256SUMS) is not a file a role uses.
        wanted |= {rel for rel in _on_disk(directory, pattern) | {rel for rel in sums if _matches(rel, pattern)}
                   if rel.rpartition('/')[2] != sums_name}
    for rel in sorted(wanted):
        path = os.path.join(directory, rel)
        listed = sums.get(rel)
        exists = os.path.lexists(path)
        if listed is None:
            problems.append('{0}: {1}'.format(rel, 'not listed in {0}'.format(sums_name) if exists
                                              else 'missing, and not listed in {0}'.format(sums_name)))
            continue
        if not exists:
            problems.append('{0}: listed in {1} but missing'.format(rel, sums_name))
            continue
        real = os.path.realpath(path)
        if os.path.commonpath([real, os.path.realpath(directory)]) != os.path.realpath(directory):
            problems.append('{0}: a link to {1}, outside the bundle'.format(rel, real))
            continue
        try:
            digest = file_sha256(path)
        except OSError as exc:
            problems.append('{0}: cannot be read ({1})'.format(rel, exc.strerror or exc))
            continue
        if digest != listed:
            problems.append('{0}: sha256 is {1}, {2} lists {3}'.format(rel, digest, sums_name, listed))
    if problems:
        raise BundleError('{0} fails its checksum list {1}, so nothing was copied: {2}. Fix: {3}'.format(
            label, sums_name, '; '.join(problems), REBUILD.format(sums_name)))
    return {'files': sorted(wanted), 'sha256': {rel: sums[rel] for rel in sorted(wanted)}}
