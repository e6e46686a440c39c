# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transformation and the module, proven with the real `containerd -c FILE config dump`.

Binaries: $KUBEGPU_CONTAINERD_BIN_DIR/<version>/containerd, or the cache written by
scripts/fetch-containerd.sh (.cache/containerd/<version>/containerd).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest
import tomlkit
import tomllib
from ansible_run import one_task_playbook, run_first_task

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import CONTAINERD_CRI_PLUGINS as CRI_PLUGINS
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_config import (
    RuntimeOptions,
    configure,
)

pytestmark = pytest.mark.containerd

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "containerd"
VERSIONS = ["1.6.20", "1.7.24", "2.1.9"]
RUNTIME_PATH = "/usr/bin/nvidia-container-runtime"


def containerd(version: str) -> pathlib.Path:
    base = pathlib.Path(os.environ.get("KUBEGPU_CONTAINERD_BIN_DIR") or ROOT / ".cache" / "containerd")
    binary = base / version / "containerd"
    if not os.access(binary, os.X_OK):
        pytest.fail(
            f"containerd {version} not found at {binary}: run scripts/fetch-containerd.sh "
            "(or point KUBEGPU_CONTAINERD_BIN_DIR at a directory holding <version>/containerd)"
        )
    return binary


def dump(version: str, config: pathlib.Path) -> dict:
    """The merged configuration containerd would run with."""
    proc = subprocess.run(
        [str(containerd(version)), "-c", str(config), "config", "dump"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return tomllib.loads(proc.stdout)


def effective_cri(version: str, merged: dict) -> dict:
    """containerd 2.x reports the CRI runtime settings under its version 3 plugin name."""
    return merged["plugins"][CRI_PLUGINS[3] if version.startswith("2.") else CRI_PLUGINS[2]]


def sandbox_image(version: str, merged: dict) -> str:
    if version.startswith("2."):
        return merged["plugins"]["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"]
    return merged["plugins"][CRI_PLUGINS[2]]["sandbox_image"]


def registry_config_path(version: str, merged: dict) -> str:
    if version.startswith("2."):
        return merged["plugins"]["io.containerd.cri.v1.images"]["registry"]["config_path"]
    return merged["plugins"][CRI_PLUGINS[2]]["registry"]["config_path"]


def edit_later(version: str, path: pathlib.Path, image: str, certs: str) -> None:
    """What an admin (or another tool) does to config.toml after the module ran."""
    doc = tomlkit.parse(path.read_text())
    if doc.get("version") == 3:
        images = doc.setdefault("plugins", {}).setdefault("io.containerd.cri.v1.images", {})
        images.setdefault("pinned_images", {})["sandbox"] = image
        images.setdefault("registry", {})["config_path"] = certs
    else:
        cri = doc.setdefault("plugins", {}).setdefault(CRI_PLUGINS[2], {})
        cri["sandbox_image"] = image
        cri.setdefault("registry", {})["config_path"] = certs
    path.write_text(doc.as_string())


def apply(tmp_path: pathlib.Path, start: str | None, version: str, **options) -> tuple:
    config = tmp_path / "config.toml"
    drop_in = tmp_path / "conf.d" / "99-nvidia.toml"
    if start is not None:
        config.write_text(start)
    opts = RuntimeOptions(path=str(config), drop_in=str(drop_in), **options)
    result = configure(start, None, opts, version)
    config.write_text(result.config_text)
    if result.drop_in_text is not None:
        drop_in.parent.mkdir(exist_ok=True)
        drop_in.write_text(result.drop_in_text)
    return config, drop_in, opts, result


STARTS = {
    "default": lambda v: (FIXTURES / f"config-default-{v}.toml").read_text(),
    "empty": lambda v: "",
    "missing": lambda v: None,
}


@pytest.mark.parametrize("start", sorted(STARTS))
@pytest.mark.parametrize("version", VERSIONS)
def test_runtime_is_effective_and_later_config_toml_edits_still_win(tmp_path, version, start):
    config, _drop_in, _opts, result = apply(tmp_path, STARTS[start](version), version)
    merged = dump(version, config)
    cri = effective_cri(version, merged)
    runtimes = cri["containerd"]["runtimes"]
    # (a) the runtime is in the effective config, and the default runtime is still there
    assert runtimes["nvidia"]["options"]["BinaryName"] == RUNTIME_PATH
    assert runtimes["nvidia"]["runtime_type"] == "io.containerd.runc.v2"
    assert cri["containerd"]["default_runtime_name"] in runtimes
    assert "runc" in runtimes
    # (b) a later edit of config.toml takes effect, and the runtime stays
    image, certs = "registry.example.org/pause:9.9", "/etc/containerd/certs.d"
    edit_later(version, config, image, certs)
    merged = dump(version, config)
    assert sandbox_image(version, merged) == image
    assert registry_config_path(version, merged) == certs
    assert effective_cri(version, merged)["containerd"]["runtimes"]["nvidia"]["options"]["BinaryName"] == RUNTIME_PATH
    assert result.strategy == ("drop_in" if version == "2.1.9" else "in_place")


@pytest.mark.parametrize("version", ["1.6.20", "1.7.24"])
def test_drop_in_with_only_the_runtime_loses_runc_and_config_toml_cri_settings_before_2_1(tmp_path, version):
    """Why the module edits in place there: NVIDIA's drop-in layout, fed to the same containerd."""
    config = tmp_path / "config.toml"
    drop_in = tmp_path / "99-nvidia.toml"
    image = "registry.example.org/pause:9.9"
    config.write_text(
        f'version = 2\nimports = ["{drop_in}"]\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "{image}"\n'
    )
    drop_in.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]\n'
        '  runtime_type = "io.containerd.runc.v2"\n'
    )
    cri = effective_cri(version, dump(version, config))
    assert "runc" not in cri["containerd"]["runtimes"]
    assert cri["containerd"]["default_runtime_name"] == "runc"
    assert cri["sandbox_image"] != image


def test_drop_in_with_only_the_runtime_merges_key_by_key_on_2_1(tmp_path):
    """Why the module uses its drop-in there."""
    config, drop_in, _opts, outcome = apply(tmp_path, "version = 3\n", "2.1.9")
    assert outcome.strategy == "drop_in"
    assert "runtimes" not in config.read_text()
    merged = dump("2.1.9", config)
    runtimes = effective_cri("2.1.9", merged)["containerd"]["runtimes"]
    assert {"runc", "nvidia"} <= set(runtimes)
    assert runtimes["runc"]["sandboxer"] == "podsandbox"
    assert drop_in.exists()


@pytest.mark.parametrize("version", VERSIONS)
def test_set_as_default_and_enable_cdi_are_effective(tmp_path, version):
    cdi = version != "1.6.20"
    config, *dummy = apply(tmp_path, STARTS["default"](version), version, set_as_default=True, enable_cdi=cdi)
    cri = effective_cri(version, dump(version, config))
    assert cri["containerd"]["default_runtime_name"] == "nvidia"
    if cdi:
        assert cri["enable_cdi"] is True
        assert {"/etc/cdi", "/var/run/cdi"} <= set(cri["cdi_spec_dirs"])


@pytest.mark.parametrize("version", VERSIONS)
def test_absent_gives_back_the_effective_config_of_before(tmp_path, version):
    start = STARTS["default"](version)
    original = tmp_path / "original.toml"
    original.write_text(start)
    config, _drop_in, opts, result = apply(tmp_path, start, version, set_as_default=True)
    back = configure(result.config_text, result.drop_in_text, dataclasses.replace(opts, state="absent"), version)
    config.write_text(back.config_text)
    assert back.drop_in_text is None
    assert dump(version, config) | {"imports": []} == dump(version, original) | {"imports": []}


# ----------------------------------------------------------------------------- through ansible-playbook

PLAYBOOK = textwrap.dedent(
    """\
    - hosts: localhost
      gather_facts: false
      environment:
        PATH: "{{ bin_dir }}:{{ lookup('env', 'PATH') }}"
      tasks:
        - name: Configure the runtime
          kubegpu.nvidia.containerd_runtime:
            path: "{{ config }}"
            drop_in: "{{ drop_in }}"
            state: "{{ state }}"
            set_as_default: true
            backup: "{{ backup | default(false) | bool }}"
          register: outcome
          ignore_errors: true
        - name: Hand the result to the test
          ansible.builtin.debug:
            var: outcome
    """
)


def run_playbook(tmp_path, version, state="present", check=False, extra=None):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    args = {
        "bin_dir": str(containerd(version).parent),
        "config": str(tmp_path / "etc" / "config.toml"),
        "drop_in": str(tmp_path / "etc" / "conf.d" / "99-nvidia.toml"),
        "state": state,
        "ansible_python_interpreter": sys.executable,
        **(extra or {}),
    }
    return run_first_task(playbook, args, check=check)


@pytest.mark.parametrize("version", ["1.7.24", "2.1.9"])
def test_playbook_check_apply_idempotent_absent_restores(tmp_path, version):
    etc = tmp_path / "etc"
    etc.mkdir()
    config = etc / "config.toml"
    original = (FIXTURES / f"config-default-{version}.toml").read_text()
    config.write_text(original)
    config.chmod(0o600)
    drop_in = etc / "conf.d" / "99-nvidia.toml"

    checked = run_playbook(tmp_path, version, check=True)
    assert checked["changed"] is True
    assert checked["containerd_version"] == version
    assert config.read_text() == original
    assert not drop_in.exists()
    touched = {d["after_header"] for d in checked["diff"]}
    assert touched == set(checked["files"])

    applied = run_playbook(tmp_path, version)
    assert applied["changed"] is True
    assert applied["restart_required"] is True
    assert [d["after"] for d in applied["diff"]] == [d["after"] for d in checked["diff"]]
    assert applied["runtime"]["options"]["BinaryName"] == RUNTIME_PATH
    assert oct(config.stat().st_mode & 0o777) == oct(0o600)
    cri = effective_cri(version, dump(version, config))
    assert cri["containerd"]["default_runtime_name"] == "nvidia"
    assert drop_in.exists() == (version == "2.1.9")

    again = run_playbook(tmp_path, version)
    assert again["changed"] is False

    removed = run_playbook(tmp_path, version, state="absent")
    assert removed["changed"] is True
    assert config.read_bytes() == original.encode()
    assert not drop_in.exists()


def test_playbook_bad_input_leaves_the_file_byte_identical(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    config = etc / "config.toml"
    bad = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  runtimes = "x"\n'
    config.write_text(bad)
    outcome = run_playbook(tmp_path, "1.7.24")
    assert outcome["failed"] is True
    assert str(config) in outcome["msg"]
    assert 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes' in outcome["msg"]
    assert config.read_text() == bad


def test_playbook_refuses_a_config_that_is_a_symlink(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    target = tmp_path / "real.toml"
    target.write_text("version = 2\n")
    (etc / "config.toml").symlink_to(target)
    outcome = run_playbook(tmp_path, "1.7.24")
    assert outcome["failed"] is True
    assert "symbolic link" in outcome["msg"]
    assert target.read_text() == "version = 2\n"


def test_playbook_value_containerd_rejects_is_not_written(tmp_path):
    """validate: the node's containerd parser sees the candidate first (a type error it refuses)."""
    etc = tmp_path / "etc"
    etc.mkdir()
    config = etc / "config.toml"
    bad = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = 5\n'
    config.write_text(bad)
    outcome = run_playbook(tmp_path, "1.7.24")
    assert outcome["failed"] is True
    assert "unchanged" in outcome["msg"]
    assert config.read_text() == bad


# ----------------------------------------------------------------------------- the cgroup driver


def default_driver(version: str, config: pathlib.Path) -> str:
    """The cgroup driver of the CRI's default runtime, the one kubelet's cgroupDriver must match."""
    containerd_section = effective_cri(version, dump(version, config))["containerd"]
    default = containerd_section["runtimes"][containerd_section["default_runtime_name"]]
    return "systemd" if default.get("options", {}).get("SystemdCgroup") is True else "cgroupfs"


def cgroups(version: str, config: pathlib.Path) -> dict:
    """SystemdCgroup of every runtime containerd runs with (False where it says nothing)."""
    runtimes = effective_cri(version, dump(version, config))["containerd"]["runtimes"]
    return {name: table.get("options", {}).get("SystemdCgroup", False) for name, table in runtimes.items()}


@pytest.mark.parametrize("version", ["1.7.24", "2.1.9"])
def test_an_existing_runtime_follows_the_default_runtime_cgroup_driver(tmp_path, version):
    """Bug: a runtime already there kept cgroupfs while runc had moved to systemd."""
    start = STARTS["default"](version)
    config, drop_in, opts, first = apply(tmp_path, start, version)
    assert cgroups(version, config)["nvidia"] is False
    # runc moves to the systemd driver afterwards (an admin, another tool).
    doc = tomlkit.parse(first.config_text)
    doc["plugins"][CRI_PLUGINS[3 if version.startswith("2.") else 2]]["containerd"]["runtimes"]["runc"]["options"][
        "SystemdCgroup"
    ] = True
    moved = doc.as_string()
    config.write_text(moved)
    assert cgroups(version, config) == {"runc": True, "nvidia": False}
    second = configure(moved, drop_in.read_text() if drop_in.exists() else None, opts, version)
    config.write_text(second.config_text)
    if second.drop_in_text is not None:
        drop_in.write_text(second.drop_in_text)
    assert cgroups(version, config) == {"runc": True, "nvidia": True}


@pytest.mark.parametrize("start", sorted(STARTS))
@pytest.mark.parametrize("version", VERSIONS)
def test_systemd_cgroup_makes_containerd_report_the_systemd_driver(tmp_path, version, start):
    original = STARTS[start](version)
    config, _drop_in, opts, result = apply(tmp_path, original, version, systemd_cgroup=True)
    assert cgroups(version, config) == {"runc": True, "nvidia": True}
    runc = effective_cri(version, dump(version, config))["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"  # the built-in runc kept whole
    assert default_driver(version, config) == "systemd"
    back = configure(result.config_text, result.drop_in_text, dataclasses.replace(opts, state="absent"), version)
    assert back.config_text == (original or "")
    assert back.drop_in_text is None


@pytest.mark.parametrize("start", sorted(STARTS))
@pytest.mark.parametrize("version", VERSIONS)
def test_systemd_cgroup_alone_changes_only_the_driver_of_runc(tmp_path, version, start):
    """The container_runtime role's call (no runtime): runc as containerd ran it, with the systemd driver."""
    original = STARTS[start](version)
    before = tmp_path / "before.toml"
    before.write_text(original or "")
    config, _drop_in, _opts, result = apply(tmp_path, original, version, runtime_name="", systemd_cgroup=True)
    assert result.drop_in_text is None
    runc = effective_cri(version, dump(version, config))["containerd"]["runtimes"]["runc"]
    expected = effective_cri(version, dump(version, before))["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == expected["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is True
    if version == "2.1.9" or start == "default":
        # Merged key by key into the built-in runc (2.1), or set in the runc table of the file: nothing else moves.
        expected["options"] = {**expected["options"], "SystemdCgroup": True}
        assert runc == expected
    # Before 2.1 a file without runc gets a runc of its own (runtime_type and the option), as for a new runtime.
    assert default_driver(version, config) == "systemd"


CGROUP_PLAYBOOK = one_task_playbook(
    "kubegpu.nvidia.containerd_runtime",
    {
        "path": "{{ config }}",
        "drop_in": "{{ drop_in }}",
        "state": "{{ state }}",
        "systemd_cgroup": "{{ systemd_cgroup }}",
    },
)


@pytest.mark.parametrize("version", ["1.7.24", "2.1.9"])
def test_playbook_systemd_cgroup_check_apply_idempotent_absent_restores(tmp_path, version):
    etc = tmp_path / "etc"
    etc.mkdir()
    config = etc / "config.toml"
    original = (FIXTURES / f"config-default-{version}.toml").read_text()
    config.write_text(original)
    playbook = tmp_path / "play.yml"
    playbook.write_text(CGROUP_PLAYBOOK)
    args = {
        "bin_dir": str(containerd(version).parent),
        "config": str(config),
        "drop_in": str(etc / "conf.d" / "99-nvidia.toml"),
        "state": "present",
        "systemd_cgroup": True,
        "ansible_python_interpreter": sys.executable,
    }

    checked = run_first_task(playbook, args, check=True)
    assert checked["changed"] is True, checked
    assert config.read_text() == original
    assert any("SystemdCgroup = true" in d["after"] for d in checked["diff"])

    applied = run_first_task(playbook, args)
    assert applied["changed"] is True
    assert applied["validated"] is True
    assert applied["runtime"]["options"]["SystemdCgroup"] is True
    assert default_driver(version, config) == "systemd"

    assert run_first_task(playbook, args)["changed"] is False

    removed = run_first_task(playbook, {**args, "state": "absent"})
    assert removed["changed"] is True
    assert config.read_bytes() == original.encode()
    assert not (etc / "conf.d" / "99-nvidia.toml").exists()
