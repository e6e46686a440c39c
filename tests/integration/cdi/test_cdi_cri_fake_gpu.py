# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real-GPU end-to-end run (tests/gpu/cri_pod.py) on a build machine, with a fake GPU.

Same steps as on the H200: the node stage playbook (gpu_facts, cdi_spec,
containerd_runtime with enable_cdi) against a real containerd 1.7.24 with runc,
then a pod through the CRI asking for ``nvidia.com/gpu=all``. The GPU is fake:
its device nodes are character devices with /dev/null's numbers, its driver
root holds a real shared library built as libnvidia-ml.so.<version> (SONAME
libnvidia-ml.so.1, symlinks as the driver installs them) and an ``nvidia-smi``
linked against it. The container's image is a bare glibc root with no loader
cache, so the fake nvidia-smi runs only if the spec's hook-free layout works:
device nodes injected and allowed, libraries mounted under their SONAME names,
LD_LIBRARY_PATH set.

Needs root, gcc and ``tests/integration/cdi/prepare.sh`` (run first); it fails,
never skips, when one is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("KUBEGPU_CDI_CACHE", REPO / ".cache" / "cdi-e2e"))
VENV_BIN = Path(sys.executable).parent
VERSION = "555.42.06"
UUID = "GPU-00000000-fake-4000-8000-000000000001"


def _require_tools():
    missing = [str(CACHE / "bin" / n) for n in ("containerd", "containerd-shim-runc-v2", "ctr", "runc")
               if not (CACHE / "bin" / n).exists()]
    if not (CACHE / "rootfs" / "bin" / "sh").exists():
        missing.append(str(CACHE / "rootfs"))
    assert not missing, "run tests/integration/cdi/prepare.sh first; missing: %s" % ", ".join(missing)
    assert shutil.which("gcc"), "gcc is needed to build the fake driver library and nvidia-smi"
    assert os.geteuid() == 0, "containerd and runc need root"


def _fake_driver(base):
    lib, bin_dir, dev = base / "drv" / "lib64", base / "drv" / "bin", base / "devroot" / "dev"
    for directory in (lib, bin_dir, dev):
        directory.mkdir(parents=True)
    for stem in ("libnvidia-ml.so", "libcuda.so"):
        real = "%s.%s" % (stem, VERSION)
        subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,%s.1" % stem, "-o", str(lib / real),
                        str(HERE / "fake_nvml.c")], check=True)
        os.symlink(real, str(lib / (stem + ".1")))
        os.symlink(stem + ".1", str(lib / stem))
    # The other driver version's leftovers must stay out of the spec.
    (lib / "libnvidia-ml.so.535.54.03").write_bytes(b"old driver")
    subprocess.run(["gcc", "-o", str(bin_dir / "nvidia-smi"), str(HERE / "fake_nvidia_smi.c"),
                    "-L", str(lib), "-lnvidia-ml"], check=True)
    null = os.stat("/dev/null").st_rdev
    for name in ("nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"):
        os.mknod(str(dev / name), 0o666 | stat.S_IFCHR, null)
    return base / "drv", base / "devroot"


def test_pod_asking_for_cdi_gpu_all_runs_fake_nvidia_smi_through_the_hook_free_layout(tmp_path):
    _require_tools()
    driver_root, dev_root = _fake_driver(tmp_path)
    gpus = [{"pci_address": "0000:00:06.0", "uuid": UUID, "minor_number": 0}]
    node_result = tmp_path / "node-stage.json"
    stage = " ".join([
        "NODE_STAGE_RESULT=%s" % node_result,
        "ANSIBLE_CONFIG=%s" % (REPO / "ansible.cfg"),
        "ANSIBLE_LOCAL_TEMP=%s" % (tmp_path / "ansible-tmp"),
        "ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_NOCOLOR=1",
        str(VENV_BIN / "ansible-playbook"), str(REPO / "tests" / "gpu" / "node-stage.yml"),
        "-e", "ansible_python_interpreter=%s" % sys.executable,
        "-e", "'%s'" % json.dumps({"cdi_test_gpus": gpus, "cdi_test_driver_version": VERSION,
                                   "cdi_test_driver_root": str(driver_root), "cdi_test_dev_root": str(dev_root)}),
    ])
    summary_path = tmp_path / "summary.json"
    command = ("ls -l /dev/nvidia*; echo LD_LIBRARY_PATH=$LD_LIBRARY_PATH; ls /usr/local/nvidia/lib64; "
               "command -v nvidia-smi; nvidia-smi")
    env = dict(os.environ, PATH="%s:%s" % (VENV_BIN, os.environ.get("PATH", "")))
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / "gpu" / "cri_pod.py"),
         "--bin", str(CACHE / "bin"), "--work", str(tmp_path / "cri"), "--rootfs", str(CACHE / "rootfs"),
         "--device", "nvidia.com/gpu=all", "--command", command, "--node-stage", stage,
         "--expect", r"^GPU 0: Fake NVIDIA GPU \(UUID: %s\)$" % UUID,
         "--expect", r"^opened /dev/nvidia0$", "--expect", r"^opened /dev/nvidiactl$",
         "--expect", r"^/usr/bin/nvidia-smi$",
         "--result", str(summary_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False)
    summary = json.loads(summary_path.read_text())
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert summary["ok"] and summary["exit_code"] == 0

    output = summary["output"]
    # Device nodes: injected from the spec, character devices, allowed by the device cgroup.
    assert any(line.startswith("c") and line.endswith("/dev/nvidia0") for line in output)
    assert "LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64" in output
    # The real files and their SONAME / libcuda.so names; never the other version's file.
    for name in ("libnvidia-ml.so.%s" % VERSION, "libnvidia-ml.so.1", "libcuda.so.%s" % VERSION, "libcuda.so.1",
                 "libcuda.so"):
        assert name in output
    assert "libnvidia-ml.so.535.54.03" not in output

    node = json.loads(node_result.read_text())
    assert node["cdi_spec"]["changed"] is True and node["cdi_spec_again_changed"] is False
    assert node["cdi_spec"]["devices"] == ["0", UUID, "all"]
    assert any("535.54.03" in w for w in node["cdi_spec"]["warnings"])
    assert "enable_cdi = true" in summary["config_after_node_stage"]
    # The runtime itself: first output well under a second after RunPodSandbox.
    assert summary["first_output_s"] is not None and summary["first_output_s"] < 5
