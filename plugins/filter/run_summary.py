# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run_summary filter (documentation in run_summary.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._run_summary import summary_lines, summary_rows


def run_summary(hosts_vars, validation_rows=None):
    return summary_lines(summary_rows(hosts_vars, validation_rows))


class FilterModule:
    def filters(self):
        return {"run_summary": run_summary}
