# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixture root trees for gpu_facts: a node's /sys, /proc, /etc and /lib in a tmp dir.

FakeRoot builds the files gpu_facts reads, laid out as the kernel lays them out
(PCI device directories under /sys/devices, symlinked from /sys/bus/pci/devices,
a ``driver`` symlink per bound device). ``h200_root`` replays the outputs
captured on the real H200 host (tests/unit/fixtures/nvidia-h200/).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from pathlib import Path

import pytest

H200_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia-h200"
SECURE_BOOT_GUID = "8be4df61-93ca-11d2-aa0d-e0a9e5b8cf8c"
# EFI variable attributes NV|BS|RT, as efivarfs shows them before the value byte.
EFI_ATTRIBUTES = b"\x06\x00\x00\x00"


class FakeRoot:
    def __init__(self, path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def __str__(self):
        return str(self.path)

    def host(self, path):
        return self.path / path.lstrip("/")

    def write(self, path, content=""):
        target = self.host(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        return target

    def mkdir(self, path):
        target = self.host(path)
        target.mkdir(parents=True, exist_ok=True)
        return target

    def symlink(self, path, target):
        link = self.host(path)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, str(link))
        return link

    # --- sysfs -----------------------------------------------------------
    def pci_device(self, address, vendor, device, pci_class, *, driver=None, numa_node=-1, subsystem=("0x10de", "0")):
        device_dir = "/sys/devices/pci0000:00/%s" % address
        self.write(device_dir + "/vendor", vendor + "\n")
        self.write(device_dir + "/device", device + "\n")
        self.write(device_dir + "/class", pci_class + "\n")
        self.write(device_dir + "/subsystem_vendor", subsystem[0] + "\n")
        self.write(device_dir + "/subsystem_device", subsystem[1] + "\n")
        self.write(device_dir + "/numa_node", "%d\n" % numa_node)
        self.symlink("/sys/bus/pci/devices/%s" % address, "../../../devices/pci0000:00/%s" % address)
        if driver:
            self.mkdir("/sys/bus/pci/drivers/%s" % driver)
            self.symlink(device_dir + "/driver", "../../../bus/pci/drivers/%s" % driver)
        return device_dir

    def nvidia_gpu(self, address, device="0x2330", driver="nvidia", numa_node=0):
        return self.pci_device(address, "0x10de", device, "0x030200", driver=driver, numa_node=numa_node)

    def nvswitch(self, address, device="0x22a3", driver="nvidia-nvswitch"):
        return self.pci_device(address, "0x10de", device, "0x068000", driver=driver, numa_node=0)

    def other_device(self, address, vendor="0x1af4", device="0x1042", pci_class="0x018000"):
        return self.pci_device(address, vendor, device, pci_class, driver="virtio-pci")

    # --- the NVIDIA driver -------------------------------------------------
    def nvidia_loaded(self, version="580.159.04", open_module=True, sysfs_version=True):
        self.mkdir("/sys/module/nvidia")
        if sysfs_version:
            self.write("/sys/module/nvidia/version", version + "\n")
        if open_module:
            line = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  %s  Release Build  (b@)  \n" % version
        else:
            line = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  %s  Thu Feb 22 01:44:30 UTC 2024\n" % version
        self.write("/proc/driver/nvidia/version", line + "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14) \n")

    def proc_gpu(self, address, uuid, minor, model="NVIDIA H100 80GB HBM3"):
        text = (
            "Model: \t\t %s\nIRQ:   \t\t 41\nGPU UUID: \t %s\nBus Location: \t %s\nDevice Minor: \t %d\n"
            "GPU Excluded:\t No\n" % (model, uuid, address, minor)
        )
        return self.write("/proc/driver/nvidia/gpus/%s/information" % address, text)

    def nvml(self, directory="/usr/lib/x86_64-linux-gnu", version="580.159.04"):
        self.write("%s/libnvidia-ml.so.%s" % (directory, version), b"\x7fELF")
        self.symlink("%s/libnvidia-ml.so.1" % directory, "libnvidia-ml.so.%s" % version)

    # --- kernel, distribution, firmware -------------------------------------
    def kernel(self, release="6.1.0-28-amd64", headers=True):
        self.write("/proc/sys/kernel/osrelease", release + "\n")
        self.mkdir("/lib/modules/%s/kernel" % release)
        if headers:
            self.write("/usr/src/linux-headers-%s/Makefile" % release, "# kernel Makefile\n")
            # Debian's link is absolute: it must resolve inside the root, not on the host.
            self.symlink("/lib/modules/%s/build" % release, "/usr/src/linux-headers-%s" % release)
        return release

    def os_release(self, os_id="debian", id_like=None, version_id="12"):
        text = 'ID=%s\nVERSION_ID="%s"\n' % (os_id, version_id)
        if id_like:
            text += 'ID_LIKE="%s"\n' % id_like
        self.write("/etc/os-release", text)

    def efi(self, secure_boot=None, setup_mode=False):
        self.mkdir("/sys/firmware/efi/efivars")
        self.write("/sys/firmware/efi/efivars/SetupMode-%s" % SECURE_BOOT_GUID, EFI_ATTRIBUTES + bytes([setup_mode]))
        if secure_boot is not None:
            self.write(
                "/sys/firmware/efi/efivars/SecureBoot-%s" % SECURE_BOOT_GUID, EFI_ATTRIBUTES + bytes([secure_boot])
            )

    def legacy_bios(self):
        self.mkdir("/sys/firmware/acpi")


def build_h200_root(path):
    """A root tree replaying the captured sysfs listing and /proc/driver/nvidia of the H200 host."""
    root = FakeRoot(path)
    for line in (H200_FIXTURES / "sysfs-pci-devices.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        device_path, vendor, device, pci_class, sub_vendor, sub_device, driver = line.split()
        address = device_path.rsplit("/", 1)[1]
        root.pci_device(
            address,
            vendor,
            device,
            pci_class,
            driver=driver.split("=", 1)[1] or None,
            subsystem=(sub_vendor, sub_device),
        )
    # The version file of /sys/module/nvidia was not captured: the version comes from /proc.
    root.mkdir("/sys/module/nvidia")
    root.write("/proc/driver/nvidia/version", (H200_FIXTURES / "proc-driver-nvidia-version.txt").read_text())
    information = (H200_FIXTURES / "proc-driver-nvidia-gpus-information.txt").read_text()
    root.write("/proc/driver/nvidia/gpus/0000:00:06.0/information", information)
    root.kernel("6.18.0-h200", headers=False)
    root.os_release("ubuntu", id_like="debian", version_id="24.04")
    return root


@pytest.fixture
def fake_root(tmp_path):
    return FakeRoot(tmp_path / "root")


@pytest.fixture
def h200_root(tmp_path):
    return build_h200_root(tmp_path / "h200")


@pytest.fixture
def h200_xml_path():
    return str(H200_FIXTURES / "nvidia-smi-q.xml")


@pytest.fixture
def h200_query():
    """The nvidia-smi --query-gpu CSV captured on the same host: an independent source of truth."""
    lines = (H200_FIXTURES / "nvidia-smi-query.csv").read_text().splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    values = [v.strip() for v in lines[1].split(",")]
    return dict(zip(header, values))
