# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of the runtime modules, shared by each module (node side) and its action plugin (controller).

The options both runtimes have are one dict (their documentation is the doc
fragment kubegpu.nvidia.runtime_config); each runtime adds its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import CONFIGS

COMMON = {
    "runtime_name": {"type": "str", "default": "nvidia"},
    "runtime_path": {"type": "str", "default": "/usr/bin/nvidia-container-runtime"},
    "set_as_default": {"type": "bool", "default": False},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "backup": {"type": "bool", "default": False},
    "validate": {"type": "bool", "default": True},
}

CONTAINERD_ARGUMENT_SPEC = dict(
    COMMON,
    path={"type": "path", "default": CONFIGS["containerd"]},
    drop_in={"type": "str", "default": "/etc/containerd/conf.d/99-nvidia.toml"},
    enable_cdi={"type": "bool", "default": False},
    sandbox_image={"type": "str", "default": ""},
    systemd_cgroup={"type": "bool"},
    containerd_version={"type": "str"},
)

CRIO_ARGUMENT_SPEC = dict(
    COMMON,
    drop_in={"type": "path", "default": "/etc/crio/crio.conf.d/99-nvidia.toml"},
    config={"type": "path", "default": CONFIGS["crio"]},
    backup_dir={"type": "path", "default": "/var/lib/kubegpu/backup/crio"},
)
