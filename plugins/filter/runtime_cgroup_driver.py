# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime_cgroup_driver filter (documentation in runtime_cgroup_driver.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubernetes import (
    KubernetesInputError,
    runtime_cgroup_driver,
)


def _runtime_cgroup_driver(config_text, runtime='containerd'):
    try:
        return runtime_cgroup_driver(config_text, runtime)
    except KubernetesInputError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'runtime_cgroup_driver': _runtime_cgroup_driver}
