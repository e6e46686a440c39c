# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The signing_key_verdict filter (documentation in signing_key_verdict.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._signing_key import SigningKeyInputError, verdict


def signing_key_verdict(listing, fingerprint):
    try:
        return verdict(listing, fingerprint)
    except SigningKeyInputError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'signing_key_verdict': signing_key_verdict}
