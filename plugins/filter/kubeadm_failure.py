# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubeadm_failure filter (documentation in kubeadm_failure.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubeadm import KubeadmInputError, classify


def kubeadm_failure(result, command='init'):
    try:
        return classify(result, command=command)
    except KubeadmInputError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {'kubeadm_failure': kubeadm_failure}
