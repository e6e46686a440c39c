# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""inventory/sample: a fleet inventory that parses, and whose commented toggles are the real defaults."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SAMPLE = REPO / "inventory" / "sample"
# "# name: value" or "# name: value   # note": a toggle left at its default.
TOGGLE = re.compile(r"^# ([a-z][a-z0-9_]*): (.*?)(?:\s{2,}#.*)?$")
# Collection-wide switches read by the playbooks, not by one role: their defaults there.
PLAYBOOK_DEFAULTS = {
    "kubegpu_provision": False,
    "kubegpu_kubernetes": False,
    "kubegpu_cluster": "auto",
    "kubegpu_kubeconfig": "~/.kube/config",
    "kubegpu_gpu_stack": "device_plugin",
    "kubegpu_runtime_mode": "",
    "kubegpu_gpu_nodes_group": "gpu_nodes",
}


def _role_defaults():
    defaults = {}
    for path in REPO.glob("roles/*/defaults/main.yml"):
        defaults.update(yaml.safe_load(path.read_text()) or {})
    return defaults


def test_sample_inventory_has_the_groups_every_stage_reads(ansible_env):
    proc = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(SAMPLE), "--list"],
                          cwd=REPO, env=ansible_env, capture_output=True, text=True, timeout=120, check=True)
    inventory = json.loads(proc.stdout)

    assert inventory["gpu_nodes"]["hosts"] and inventory["kube_control_plane"]["hosts"]
    assert "[WARNING]" not in proc.stderr, proc.stderr


def test_every_commented_toggle_names_a_real_variable_and_its_real_default():
    role_defaults = _role_defaults()
    toggles = {}
    for path in sorted((SAMPLE / "group_vars").glob("*.yml")):
        for line in path.read_text().splitlines():
            match = TOGGLE.match(line)
            if match:
                toggles[match.group(1)] = yaml.safe_load(match.group(2) or "''")
    # The common choices a fleet makes: runtime, mode, stack, driver branch, and the stage switches.
    assert {"container_runtime_name", "kubegpu_runtime_mode", "kubegpu_gpu_stack", "nvidia_driver_branch",
            "kubegpu_kubernetes", "kubegpu_cluster"} <= set(toggles)
    for name, value in toggles.items():
        if name in PLAYBOOK_DEFAULTS:
            expected = PLAYBOOK_DEFAULTS[name]
        else:
            assert name in role_defaults, "%s is no role's variable" % name
            expected = role_defaults[name]
            if isinstance(expected, str) and "{{" in expected:
                expected = ""  # follows a collection-wide variable whose default is empty
        assert value == expected, "%s: the sample says %r, the default is %r" % (name, value, expected)
    for name in ("kubegpu_provision", "kubegpu_kubernetes", "kubegpu_cluster", "kubegpu_gpu_stack"):
        assert name in (REPO / "playbooks" / "site.yml").read_text() + (REPO / "playbooks" / "cluster.yml").read_text()
