# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight_verdict filter (documentation in preflight_verdict.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._preflight import PreflightInputError, assess


def preflight_verdict(facts, ignore=None, strict=False, require_gpu=False):
    try:
        return assess(facts, ignore=tuple(ignore or ()), strict=bool(strict), require_gpu=bool(require_gpu))
    except PreflightInputError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'preflight_verdict': preflight_verdict}
