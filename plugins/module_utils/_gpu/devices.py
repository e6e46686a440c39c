# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Well-known NVIDIA PCI device ids: readable names and compute capabilities.

Private to this collection. The table is deliberately small: it names the data
centre parts this collection is deployed on, so that a node without a loaded
driver (and so without nvidia-smi) still says what it carries. Unknown ids are
reported as None, never guessed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NVIDIA_VENDOR_ID = "0x10de"

# device id -> (name, compute capability)
GPU_DEVICES = {
    "0x2901": ("NVIDIA B200", "10.0"),
    "0x2335": ("NVIDIA H200", "9.0"),
    "0x2342": ("NVIDIA GH200 480GB", "9.0"),
    "0x2330": ("NVIDIA H100 80GB HBM3", "9.0"),
    "0x2331": ("NVIDIA H100 PCIe", "9.0"),
    "0x2321": ("NVIDIA H100 NVL", "9.0"),
    "0x20b0": ("NVIDIA A100-SXM4-40GB", "8.0"),
    "0x20b2": ("NVIDIA A100-SXM4-80GB", "8.0"),
    "0x20b5": ("NVIDIA A100 80GB PCIe", "8.0"),
    "0x20f1": ("NVIDIA A100-PCIE-40GB", "8.0"),
    "0x20b7": ("NVIDIA A30", "8.0"),
    "0x2235": ("NVIDIA A40", "8.6"),
    "0x2236": ("NVIDIA A10", "8.6"),
    "0x2237": ("NVIDIA A10G", "8.6"),
    "0x25b6": ("NVIDIA A16", "8.6"),
    "0x26b5": ("NVIDIA L40", "8.9"),
    "0x26b9": ("NVIDIA L40S", "8.9"),
    "0x27b8": ("NVIDIA L4", "8.9"),
    "0x1eb8": ("Tesla T4", "7.5"),
    "0x1db1": ("Tesla V100-SXM2-16GB", "7.0"),
    "0x1db4": ("Tesla V100-PCIE-16GB", "7.0"),
    "0x1db5": ("Tesla V100-SXM2-32GB", "7.0"),
    "0x1db6": ("Tesla V100-PCIE-32GB", "7.0"),
}

NVSWITCH_DEVICES = {
    "0x1af1": "NVIDIA NVSwitch (2nd generation, HGX A100)",
    "0x22a3": "NVIDIA NVSwitch (3rd generation, HGX H100/H200)",
}

# PCI class codes, as the 16-bit base class + subclass prefix of sysfs `class`.
PCI_CLASS_VGA = 0x0300
PCI_CLASS_3D = 0x0302
PCI_CLASS_BRIDGE_OTHER = 0x0680


def gpu_name(device_id):
    entry = GPU_DEVICES.get(device_id)
    return entry[0] if entry else None


def gpu_compute_capability(device_id):
    entry = GPU_DEVICES.get(device_id)
    return entry[1] if entry else None


def nvswitch_name(device_id):
    return NVSWITCH_DEVICES.get(device_id)
