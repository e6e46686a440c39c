# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CDI discovery and spec building against the H200 host's driver layout, and the spec checker."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi import discover as discovery
from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi.spec import (
    CdiError,
    build_spec,
    minimum_version,
    render,
    validate_spec,
)
from ansible_collections.kubegpu.nvidia.tests.unit.fixtures.cdi.driver_tree import (
    H200_UUID,
    H200_VERSION,
    h200_tree,
)


def _spec(tree, layout="hook_free", **extra):
    options = tree.options(**extra)
    options.pop("layout")
    inventory, warnings = discovery.discover(layout=layout, **options)
    return build_spec(inventory, inventory["layout"]), inventory, warnings


def _mounts(spec):
    return {m["containerPath"]: m["hostPath"] for m in spec["containerEdits"]["mounts"]}


def test_h200_hook_free_spec_mounts_each_library_under_its_soname_in_one_directory(tmp_path):
    tree = h200_tree(tmp_path)
    spec, inventory, warnings = _spec(tree)

    assert warnings == []
    assert validate_spec(spec) == []
    assert spec["cdiVersion"] == "0.5.0" and spec["kind"] == "nvidia.com/gpu"
    assert [d["name"] for d in spec["devices"]] == ["0", H200_UUID, "all"]
    mounts = _mounts(spec)
    real = str(tree.lib_dir / ("libcuda.so." + H200_VERSION))
    for name in ("libcuda.so." + H200_VERSION, "libcuda.so.1", "libcuda.so"):
        assert mounts["/usr/local/nvidia/lib64/" + name] == real
    nvml = str(tree.lib_dir / ("libnvidia-ml.so." + H200_VERSION))
    assert mounts["/usr/local/nvidia/lib64/libnvidia-ml.so.1"] == nvml
    assert "/usr/local/nvidia/lib64/libnvidia-nvvm.so.4" in mounts
    # libnvidia-gpucomp has no SONAME link on the host: mounted under its own name only.
    assert [p for p in mounts if "gpucomp" in p] == ["/usr/local/nvidia/lib64/libnvidia-gpucomp.so." + H200_VERSION]
    assert mounts["/usr/bin/nvidia-smi"] == str(tree.bin_dir / "nvidia-smi")
    assert "LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64" in spec["containerEdits"]["env"]
    assert "hooks" not in spec["containerEdits"]
    nodes = [n["path"] for n in spec["containerEdits"]["deviceNodes"]]
    assert nodes == ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"]  # no caps: MIG is off
    options = [m["options"][:5] for m in spec["containerEdits"]["mounts"]]
    assert all(o == ["ro", "nosuid", "nodev", "rbind", "rprivate"] for o in options)
    assert inventory["library_dir"] == str(tree.lib_dir)


def test_unchanged_node_renders_the_same_bytes(tmp_path):
    tree = h200_tree(tmp_path)
    assert render(_spec(tree)[0]) == render(_spec(tree)[0])


def test_hooks_layout_uses_nvidia_cdi_hook_and_paths_below_the_driver_root(tmp_path):
    tree = h200_tree(tmp_path)
    hook = tree.binary("nvidia-cdi-hook")
    spec, inventory, dummy = _spec(tree, layout="auto")

    assert inventory["layout"] == "hooks"
    assert validate_spec(spec) == []
    mounts = _mounts(spec)
    assert mounts["/lib64/libcuda.so." + H200_VERSION] == str(tree.lib_dir / ("libcuda.so." + H200_VERSION))
    assert not any(p.endswith("libcuda.so.1") for p in mounts)
    hooks = spec["containerEdits"]["hooks"]
    assert [h["args"][1] for h in hooks] == ["create-symlinks", "update-ldcache"]
    assert hooks[0]["args"][2:] == ["--link", "libcuda.so.1::/lib64/libcuda.so"]
    assert hooks[1]["args"][2:] == ["--folder", "/lib64"]
    assert all(h["path"] == str(hook) and h["hookName"] == "createContainer" for h in hooks)
    assert not any(e.startswith("LD_LIBRARY_PATH=") for e in spec["containerEdits"]["env"])


def test_hooks_layout_without_the_toolkit_fails_and_says_what_to_do(tmp_path):
    tree = h200_tree(tmp_path)
    with pytest.raises(CdiError, match=r"nvidia-cdi-hook.*layout=hook_free"):
        _spec(tree, layout="hooks")


def test_driver_root_without_libraries_fails_naming_the_root(tmp_path):
    tree = h200_tree(tmp_path)
    empty = tmp_path / "empty-root"
    empty.mkdir()
    with pytest.raises(CdiError, match=re.escape("driver_root %s has no NVIDIA libraries" % empty)):
        _spec(tree, driver_root=str(empty))


def test_gpu_without_its_device_node_is_left_out_with_a_warning(tmp_path):
    tree = h200_tree(tmp_path)
    second = {"pci_address": "0000:00:07.0", "uuid": "GPU-22222222-0000-0000-0000-000000000002", "minor_number": 1}
    spec, dummy, warnings = _spec(tree, gpus=[tree.options()["gpus"][0], second])

    assert [d["name"] for d in spec["devices"]] == ["0", H200_UUID, "all"]
    assert len(warnings) == 1 and "nvidia1 is missing" in warnings[0] and "nvidia-modprobe -c 1" in warnings[0]


def test_no_gpu_device_node_at_all_fails(tmp_path):
    tree = h200_tree(tmp_path)
    (tree.dev_root / "dev" / "nvidia0").unlink()
    with pytest.raises(CdiError, match="none of the 1 GPU"):
        _spec(tree)


def test_no_gpu_gives_no_inventory_and_says_why(tmp_path):
    tree = h200_tree(tmp_path)
    options = tree.options(gpus=[])
    options.pop("layout")
    inventory, warnings = discovery.discover(**options)
    assert inventory is None and "no NVIDIA GPU" in warnings[0]


def test_libraries_of_a_second_driver_version_are_left_out_with_a_warning(tmp_path):
    tree = h200_tree(tmp_path)
    tree.lib("libcuda.so.535.54.03")
    tree.lib("libnvidia-ml.so.535.54.03")
    spec, dummy, warnings = _spec(tree)

    assert not any("535.54.03" in p for p in _mounts(spec))
    assert len(warnings) == 1 and "535.54.03 (2 files)" in warnings[0]


def test_only_libraries_of_another_version_than_the_loaded_module_fails(tmp_path):
    tree = h200_tree(tmp_path)
    with pytest.raises(CdiError, match=r"holds NVIDIA libraries of driver 580\.159\.04.*running driver is 590\.1\.2"):
        _spec(tree, driver_version="590.1.2")


def test_mig_enabled_gpu_brings_the_nvidia_caps_nodes(tmp_path):
    tree = h200_tree(tmp_path)
    gpu = dict(tree.options()["gpus"][0], mig_mode_current="enabled")
    spec = _spec(tree, gpus=[gpu])[0]
    nodes = [n["path"] for n in spec["containerEdits"]["deviceNodes"]]
    assert nodes[-2:] == ["/dev/nvidia-caps/nvidia-cap1", "/dev/nvidia-caps/nvidia-cap2"]


def test_missing_nvidiactl_fails(tmp_path):
    tree = h200_tree(tmp_path)
    (tree.dev_root / "dev" / "nvidiactl").unlink()
    with pytest.raises(CdiError, match="nvidiactl is missing"):
        _spec(tree)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda s: s["devices"][0].update(name="-bad"), "not a valid CDI device name"),
        (lambda s: s["devices"].append(dict(s["devices"][0])), "used twice"),
        (lambda s: s.update(cdiVersion="0.4.0"), "too old"),
        (lambda s: s.update(cdiVersion="0.5.1"), "not a released CDI version"),
        (lambda s: s["containerEdits"]["mounts"][0].update(readonly=True), "unknown key(s) readonly"),
        (lambda s: s["containerEdits"]["env"].append("1BAD"), "expected NAME=VALUE"),
        (lambda s: s.update(kind="nvidia.com"), "expected vendor/class"),
        (lambda s: s["devices"][0].update(containerEdits={}), "at least one edit"),
        (lambda s: s["containerEdits"]["mounts"][0].update(containerPath="lib"), "absolute path"),
    ],
)
def test_validate_spec_names_what_a_cdi_parser_would_reject(tmp_path, change, expected):
    spec = _spec(h200_tree(tmp_path))[0]
    change(spec)
    assert any(expected in e for e in validate_spec(spec)), validate_spec(spec)


def test_minimum_version_follows_the_cdi_changelog():
    base = {"kind": "nvidia.com/gpu", "devices": [{"name": "gpu0", "containerEdits": {"env": ["A=1"]}}]}
    assert minimum_version(base) == "0.3.0"
    base["containerEdits"] = {"mounts": [{"hostPath": "/a", "containerPath": "/a", "type": "bind"}]}
    assert minimum_version(base) == "0.4.0"
    base["devices"][0]["name"] = "0"
    assert minimum_version(base) == "0.5.0"
    base["annotations"] = {"a": "b"}
    assert minimum_version(base) == "0.6.0"
    base["containerEdits"]["additionalGids"] = [44]
    assert minimum_version(base) == "0.7.0"
