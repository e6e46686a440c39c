#!/usr/bin/python
# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cdi_spec
short_description: Write the CDI spec of a node's NVIDIA GPUs, without the NVIDIA Container Toolkit
version_added: 0.1.0
author: kubegpu.nvidia contributors (@kubegpu)
description:
  - Writes a Container Device Interface (CDI) spec for the node's NVIDIA GPUs, as C(nvidia-ctk cdi generate)
    does, so that containerd 1.7 or later (with C(enable_cdi), see M(kubegpu.nvidia.containerd_runtime)) and
    CRI-O can give GPUs to containers with nothing but the driver installed. Where the toolkit's
    C(nvidia-cdi-hook) is on the node, the spec uses its hooks as NVIDIA's does.
  - Runs on the node with Python's standard library only. Discovery reuses M(kubegpu.nvidia.gpu_facts)'
    readers; pass that module's facts (O(gpus), O(driver_version), O(driver_root)) to skip detecting again.
  - "B(What goes in.) Kind C(nvidia.com/gpu). One device per GPU named by its index (C(0), C(1), ... in PCI
    bus order, the order NVML and nvidia-smi use) and one named by its UUID (C(GPU-...)), each with its
    C(/dev/nvidiaN); and C(all) with every GPU. Common to all devices: C(/dev/nvidiactl),
    C(/dev/nvidia-uvm), C(/dev/nvidia-uvm-tools), C(/dev/nvidia-modeset) when present, and
    C(/dev/nvidia-caps/*) when a GPU has MIG enabled (known from O(gpus)); every library of the running driver
    version in the driver's library directory and its C(vdpau/) (C(lib*.so.<version>): libcuda,
    libnvidia-ml, libnvidia-ptxjitcompiler, libnvidia-nvvm, libnvidia-gpucomp, ...); the binaries
    C(nvidia-smi), C(nvidia-debugdump), C(nvidia-persistenced), C(nvidia-cuda-mps-control) and
    C(nvidia-cuda-mps-server) at C(/usr/bin/<name>); GSP firmware (C(/lib/firmware/nvidia/<version>/*));
    and the IPC sockets of nvidia-persistenced, fabric manager and MPS (C(/tmp/nvidia-mps)) when present.
    Every mount is read-only with C(ro,nosuid,nodev,rbind,rprivate) (sockets also C(noexec)), as NVIDIA's."
  - "B(Layouts.) A container image has its own dynamic loader and loader cache, which know nothing of the
    driver. With O(layout=hooks) the libraries are mounted at their own paths (below the driver root) and the
    toolkit's C(nvidia-cdi-hook) runs at container creation to make the C(libcuda.so) link and rebuild the
    container's loader cache (C(create-symlinks), C(update-ldcache)), exactly as C(nvidia-ctk) specs do."
  - "With O(layout=hook_free) (no toolkit on the node) nothing runs at container creation, so the spec alone
    has to make the loader find the libraries: every library is mounted into one dedicated directory,
    C(/usr/local/nvidia/lib64), and C(LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64) is set
    (the same value NVIDIA's CUDA images set). A program asks the loader for a SONAME such as
    C(libcuda.so.1) or C(libnvidia-ml.so.1), which on the host is a symbolic link; a CDI spec cannot create a
    link, so the real file is bind-mounted a second time under each SONAME (and under C(libcuda.so), which
    frameworks open by name). Bind mounts of one file keep its inode, so the loader never loads it twice.
    Binaries go to C(/usr/bin), which is on every image's C(PATH). This makes C(nvidia-smi) and CUDA work in
    a plain glibc image whose loader cache is empty (proven on a real H200 with a CUDA vector add)."
  - "B(Differences from C(nvidia-ctk cdi generate)), entry by entry. Device names, C(/dev) nodes, the
    C(NVIDIA_VISIBLE_DEVICES=void) env and the mount options are the same. Intended differences: (1) without
    the toolkit, the hook-free layout above instead of no spec at all; (2) C(cdiVersion) is the oldest
    version that allows what the spec uses (C(0.5.0): device names starting with a digit and C(hostPath) of
    device nodes), so containerd 1.7.0's older CDI parser reads it; (3) no MIG instance devices (C(0:1)),
    only whole GPUs; (4) no C(/dev/dri) nodes and no graphics configuration files (Vulkan ICD, EGL vendor,
    X driver): the spec is for compute and monitoring (the graphics libraries themselves are mounted);
    (5) with hooks, only C(create-symlinks) and C(update-ldcache), not C(enable-cuda-compat),
    C(disable-device-node-modification) or C(chmod); (6) the file is JSON (NVIDIA writes YAML by default), so
    no YAML library is needed on the node; (7) a record C(.<name>.owner) next to the spec marks it as this
    module's (see O(force))."
  - "B(Safety.) The spec is checked against the CDI specification (keys, types, name rules, version) before it
    is written; it is written atomically, only when its bytes change (an unchanged driver and unchanged GPUs
    give no change). A spec the module did not write (nvidia-ctk's, a hand-written one), or one edited since,
    is never replaced or removed unless O(force=true)."
  - "B(Nothing half-written.) The spec, its ownership record and the O(backup) copy are all written next to
    their destinations first and moved into place only when all three could be written; a failure after
    that puts back what was there. A full disk, a read-only file system or a directory the user cannot
    write fails the task with the file, the cause and the fix, and leaves the spec directory as it was."
  - "B(Bad input.) No GPU: no file, RV(msg) says why, the task does not fail. A driver root without libraries,
    a missing C(/dev/nvidiactl), user-space libraries of another version than the loaded kernel module, or no
    GPU with a device node: the task fails and says what to do. A single GPU whose C(/dev/nvidiaN) is missing is
    left out with a warning; libraries of a second driver version next to the running one are left out with
    a warning."
options:
  state:
    description:
      - V(present) writes the spec; V(absent) removes it (and its ownership record).
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - The spec file. Must end in C(.json) or C(.yaml) (CDI runtimes read only those) and be in a directory the
        runtime reads (C(/etc/cdi) and C(/var/run/cdi) by default in containerd and CRI-O).
      - The directory is created when missing.
    type: path
    default: /etc/cdi/nvidia.json
  driver_root:
    description:
      - The prefix the driver's user-space files live under (libraries in C(<root>/lib64),
        C(<root>/usr/lib/x86_64-linux-gnu), ...; binaries in C(<root>/bin) or C(<root>/usr/bin)), such as
        C(/), C(/usr/local/nvidia) or C(/run/nvidia/driver).
      - Default, found as M(kubegpu.nvidia.gpu_facts) does (the ldconfig cache, then the usual directories);
        C(ansible_facts.nvidia.driver_root.root) can be passed.
    type: path
  dev_root:
    description:
      - Where C(/dev) (and the C(/run), C(/tmp) IPC sockets) are looked up. In the spec, device nodes keep their
        C(/dev/...) path in the container and get a C(hostPath) when this is not C(/).
    type: path
    default: /
  driver_version:
    description:
      - The running driver version (C(ansible_facts.nvidia.driver.version)). Default, read from
        C(/sys/module/nvidia/version). Only the libraries of this version go into the spec.
    type: str
  gpus:
    description:
      - The GPUs, shaped like C(ansible_facts.nvidia.gpus) (keys C(pci_address), C(uuid), C(minor_number),
        optional C(mig_mode_current)). Default, read from C(/proc/driver/nvidia/gpus).
    type: list
    elements: dict
  kind:
    description:
      - The CDI kind (C(vendor/class)) the spec's devices are named under, C(<kind>=<name>).
      - NVIDIA's device plugin in its CDI strategies names the devices it allocates
        C(k8s.device-plugin.nvidia.com/gpu=<uuid>); a second spec of that kind lets the runtime resolve those names
        with this module's spec (see the M(kubegpu.nvidia.cdi_spec) notes and the cdi role).
    type: str
    default: nvidia.com/gpu
  layout:
    description:
      - How libraries reach the container's loader (see the description).
      - V(auto) uses V(hooks) when C(nvidia-cdi-hook) is on the node, else V(hook_free).
    type: str
    choices: [auto, hooks, hook_free]
    default: auto
  force:
    description:
      - Replace (or, with O(state=absent), remove) a spec at O(path) that this module did not write or that
        was edited since. Without it the task fails (or, for O(state=absent), warns) and leaves the file.
    type: bool
    default: false
  backup:
    description:
      - Keep a timestamped copy of the previous spec before replacing or removing it.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - containerd reads CDI specs only with C(enable_cdi = true) in its CRI plugin (see
    M(kubegpu.nvidia.containerd_runtime) O(kubegpu.nvidia.containerd_runtime#module:enable_cdi)); it rereads
    the spec directories on change, no restart needed for a new spec.
  - "Pods ask for C(nvidia.com/gpu=all), C(nvidia.com/gpu=0) or C(nvidia.com/gpu=GPU-<uuid>) through a device
    plugin that answers with CDI devices, the CRI's C(CDI_devices) field, or the annotation
    C(cdi.k8s.io/<name>: nvidia.com/gpu=all)."
  - In the hook-free layout the spec sets C(LD_LIBRARY_PATH); CDI replaces a variable of the same name from the
    image, so an image that needs its own C(LD_LIBRARY_PATH) must append C(/usr/local/nvidia/lib64) itself
    (NVIDIA's CUDA images already use exactly the value the spec sets).
  - Run it again after a driver upgrade (the library names carry the version); an outdated spec names files
    that no longer exist and containers asking for the GPU fail to start.
seealso:
  - module: kubegpu.nvidia.gpu_facts
  - module: kubegpu.nvidia.containerd_runtime
  - name: Container Device Interface specification
    description: The spec format, versions and validation rules.
    link: https://github.com/cncf-tags/container-device-interface/blob/main/SPEC.md
  - name: NVIDIA Container Toolkit, CDI support
    description: What C(nvidia-ctk cdi generate) writes.
    link: https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/cdi-support.html
"""

EXAMPLES = r"""
- name: Detect GPUs and driver
  kubegpu.nvidia.gpu_facts:

- name: Write /etc/cdi/nvidia.json from those facts
  kubegpu.nvidia.cdi_spec:
    gpus: "{{ ansible_facts.nvidia.gpus }}"
    driver_version: "{{ ansible_facts.nvidia.driver.version }}"
    driver_root: "{{ ansible_facts.nvidia.driver_root.root }}"
  when: ansible_facts.nvidia.gpu_count > 0

- name: Replace a spec nvidia-ctk wrote earlier, keeping a copy
  kubegpu.nvidia.cdi_spec:
    force: true
    backup: true

- name: A driver container's root (GPU Operator layout), spec for CRI-O's directory
  kubegpu.nvidia.cdi_spec:
    driver_root: /run/nvidia/driver
    path: /var/run/cdi/nvidia.json

- name: Remove the spec again
  kubegpu.nvidia.cdi_spec:
    state: absent
"""

RETURN = r"""
path:
  description: The spec file.
  returned: always
  type: str
  sample: /etc/cdi/nvidia.json
state:
  description: The file type at RV(path) (V(file)), added with the other file attributes when the spec exists.
  returned: when the spec exists
  type: str
  sample: file
uid:
  description: "The spec file's owner id (gid, owner, group, mode and size are the other usual file attributes)."
  returned: when the spec exists
  type: int
  sample: 0
gid:
  description: The spec file's group id.
  returned: when the spec exists
  type: int
  sample: 0
owner:
  description: The spec file's owner name.
  returned: when the spec exists
  type: str
  sample: root
group:
  description: The spec file's group name.
  returned: when the spec exists
  type: str
  sample: root
mode:
  description: The spec file's permissions.
  returned: when the spec exists
  type: str
  sample: "0644"
size:
  description: The spec file's size in bytes.
  returned: when the spec exists
  type: int
  sample: 14521
owner_file:
  description: The record next to the spec that marks it as this module's (SHA-256 of the bytes written).
  returned: always
  type: str
  sample: /etc/cdi/.nvidia.json.owner
spec:
  description: The spec as written (or as it would be in check mode); null for O(state=absent) or no GPU.
  returned: always
  type: dict
  sample:
    cdiVersion: 0.5.0
    kind: nvidia.com/gpu
    devices:
      - name: "0"
        containerEdits: {deviceNodes: [{path: /dev/nvidia0}]}
    containerEdits:
      env: [NVIDIA_VISIBLE_DEVICES=void, "LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64"]
cdi_version:
  description: The spec's C(cdiVersion), the oldest that allows what it uses.
  returned: state is present and a GPU was found
  type: str
  sample: 0.5.0
kind:
  description: The CDI kind; devices are named C(<kind>=<name>).
  returned: state is present and a GPU was found
  type: str
  sample: nvidia.com/gpu
layout:
  description: The layout used, V(hooks) or V(hook_free).
  returned: state is present and a GPU was found
  type: str
  sample: hook_free
devices:
  description: The device names in the spec.
  returned: state is present
  type: list
  elements: str
  sample: ["0", GPU-b4a669fd-70c6-8dba-465d-f0db07719f4e, all]
gpu_count:
  description: GPUs in the spec (a GPU without its device node is left out).
  returned: state is present
  type: int
  sample: 1
driver_version:
  description: The driver version whose libraries are in the spec.
  returned: state is present and a GPU was found
  type: str
  sample: 580.159.04
driver_root:
  description: The driver root used.
  returned: state is present and a GPU was found
  type: str
  sample: /usr/local/nvidia
library_dir:
  description: The directory the libraries were taken from.
  returned: state is present and a GPU was found
  type: str
  sample: /usr/local/nvidia/lib64
mount_count:
  description: How many mounts the spec's common container edits hold.
  returned: state is present and a GPU was found
  type: int
  sample: 62
backup_file:
  description: The copy of the previous spec.
  returned: changed and O(backup=true) and a previous spec existed
  type: str
  sample: /etc/cdi/nvidia.json.12345.2026-11-28@19:10:00~
msg:
  description: Why no spec was written (no GPU).
  returned: when no GPU was found
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi.runner import run_module  # noqa: E402
from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi.spec import CdiError  # noqa: E402

ARGUMENT_SPEC = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "path": {"type": "path", "default": "/etc/cdi/nvidia.json"},
    "driver_root": {"type": "path"},
    "dev_root": {"type": "path", "default": "/"},
    "driver_version": {"type": "str"},
    "gpus": {"type": "list", "elements": "dict"},
    "layout": {"type": "str", "default": "auto", "choices": ["auto", "hooks", "hook_free"]},
    "kind": {"type": "str", "default": "nvidia.com/gpu"},
    "force": {"type": "bool", "default": False},
    "backup": {"type": "bool", "default": False},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run_module(module)
    except CdiError as exc:
        module.fail_json(msg=str(exc), changed=False, path=module.params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
