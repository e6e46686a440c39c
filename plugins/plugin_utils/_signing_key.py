# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide whether a downloaded repository key file is exactly the pinned key.

Pure: the output of ``gpg --show-keys --with-colons FILE`` (or the registered
result of the task that ran it) and the pinned fingerprint in, a verdict out.
apt (signed-by) and rpm (``rpm --import``, a repository's ``gpgkey``) trust
every key in a file, so a file passes only when it holds one primary key and
that key's fingerprint is the pin; that key's own subkeys are part of it.
"""

from __future__ import annotations

import re

_HEX = re.compile(r'^(?:[0-9A-F]{40}|[0-9A-F]{64})$')
_PRIMARY = ('pub', 'sec')
_SUBKEY = ('sub', 'ssb')


class SigningKeyInputError(ValueError):
    """The input is not gpg's colon listing or a registered command result."""


def normalize_fingerprint(value):
    """``'de15 b144 ...'`` or ``'0xDE15...'`` -> ``'DE15B144...'`` (no spaces, upper case)."""
    text = re.sub(r'\s+', '', str(value or '')).upper()
    return text[2:] if text.startswith('0X') else text


def _colons(listing):
    if isinstance(listing, dict):
        return str(listing.get('stdout') or ''), str(listing.get('stderr') or '').strip()
    if isinstance(listing, str):
        return listing, ''
    raise SigningKeyInputError(
        'signing_key_verdict needs the output of gpg --show-keys --with-colons (a string) or the registered '
        'result of the command task that ran it, not {0}'.format(type(listing).__name__))


def read_keys(colons):
    """Primary keys of a colon listing, in order: ``[{'fingerprint': ..., 'subkeys': [...]}]``.

    A ``fpr`` record gives the fingerprint of the key record (``pub``/``sec``
    or ``sub``/``ssb``) just before it (gnupg's doc/DETAILS).
    """
    keys = []
    last = None
    for line in colons.splitlines():
        fields = line.strip().split(':')
        record = fields[0]
        if record in _PRIMARY:
            keys.append({'fingerprint': '', 'subkeys': []})
            last = 'primary'
        elif record in _SUBKEY and keys:
            keys[-1]['subkeys'].append('')
            last = 'subkey'
        elif record == 'fpr' and keys and len(fields) > 9:
            fingerprint = fields[9].upper()
            if last == 'primary' and not keys[-1]['fingerprint']:
                keys[-1]['fingerprint'] = fingerprint
            elif last == 'subkey' and not keys[-1]['subkeys'][-1]:
                keys[-1]['subkeys'][-1] = fingerprint
            last = None
    return keys


def verdict(listing, pin):
    """Return ``{ok, pin, found, subkeys, problem}`` for one key file's gpg listing.

    ``found``: the primary keys' fingerprints; ``subkeys``: every subkey's;
    ``problem``: empty when ``ok``, else one sentence that completes
    "The key file at URL ...".
    """
    colons, stderr = _colons(listing)
    wanted = normalize_fingerprint(pin)
    keys = read_keys(colons)
    found = [key['fingerprint'] or 'a key without a fingerprint' for key in keys]
    subkeys = [sub for key in keys for sub in key['subkeys']]

    def result(problem):
        return {'ok': not problem, 'pin': wanted, 'found': found, 'subkeys': subkeys, 'problem': problem}

    if not _HEX.match(wanted):
        return result('was not checked: the pinned fingerprint {0!r} is not a full fingerprint (40 or 64 hexadecimal '
                      'digits; spaces are ignored)'.format(str(pin)))
    if not keys:
        why = ' (gpg: {0})'.format(' '.join(stderr.split())) if stderr else ''
        return result('holds no OpenPGP key{0}; the pinned fingerprint is {1}'.format(why, wanted))
    if len(keys) == 1 and found[0] == wanted:
        return result('')
    if len(keys) == 1:
        inside = ' (it is a subkey of that key: pin the primary key)' if wanted in subkeys else ''
        return result('has fingerprint {0}, not the pinned {1}{2}'.format(found[0], wanted, inside))
    listed = ', '.join(found)
    if wanted in found:
        return result('holds {0} keys ({1}), not only the pinned {2}: apt and rpm would trust every key in the file, '
                      'so a package signed by any of them would verify'.format(len(keys), listed, wanted))
    return result('holds {0} keys ({1}), none of them the pinned {2}'.format(len(keys), listed, wanted))
