# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gpu_summary_table filter (documentation in gpu_summary_table.yml)."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate import summary_table


def gpu_summary_table(rows):
    return summary_table(rows)


class FilterModule:
    def filters(self):
        return {'gpu_summary_table': gpu_summary_table}
