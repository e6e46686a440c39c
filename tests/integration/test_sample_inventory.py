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
        # The collection-wide kubegpu_* have their defaults in the inputs role like any role's variable.
        assert name in role_defaults, "%s is no role's variable" % name
        expected = role_defaults[name]
        if isinstance(expected, str) and "{{" in expected:
            expected = ""  # follows a collection-wide variable whose default is empty
        assert value == expected, "%s: the sample says %r, the default is %r" % (name, value, expected)
    # Each of them is declared, typed, in the inputs role's argument specs.
    specs = yaml.safe_load((REPO / "roles" / "inputs" / "meta" / "argument_specs.yml").read_text())
    declared = specs["argument_specs"]["main"]["options"]
    for name in (n for n in toggles if n.startswith("kubegpu_")):
        assert name in declared, "%s is not declared in roles/inputs/meta/argument_specs.yml" % name


def test_the_inputs_role_declares_every_default_it_sets_with_the_same_value():
    role = REPO / "roles" / "inputs"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    assert all(name.startswith(("kubegpu_", "inputs_")) for name in defaults)
    for name, spec in options.items():
        assert spec.get("default") == defaults[name], name
    # No other role sets a default for a collection-wide input: there is one home.
    others = {name for path in REPO.glob("roles/*/defaults/main.yml") if path.parent.parent != role
              for name in (yaml.safe_load(path.read_text()) or {})}
    assert not others & set(defaults)
