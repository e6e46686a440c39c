#!/usr/bin/python
# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gpu_facts
short_description: Detect NVIDIA GPUs, driver, container runtimes and blockers on a node
version_added: 0.1.0
author: kubegpu.nvidia contributors (@kubegpu)
description:
  - Reads what a node carries and returns it under C(ansible_facts.nvidia), the single source of truth
    that every later stage of this collection (preflight, driver, container toolkit, runtime, validation) reads.
  - GPUs and NVSwitches come from sysfs PCI (C(/sys/bus/pci/devices)), so they are found without a
    driver and without C(nvidia-smi). The loaded kernel module comes from C(/sys/module/nvidia) and
    C(/proc/driver/nvidia); per-GPU UUIDs and minor numbers from C(/proc/driver/nvidia/gpus/*/information).
  - When C(nvidia-smi) is found (on E(PATH), or in the driver root's C(bin) directory) and O(root=/),
    it runs once (C(nvidia-smi -q -x)) to add memory, MIG and persistence modes and the CUDA version.
    A failing C(nvidia-smi) is reported in RV(ansible_facts.nvidia.nvidia_smi.error) and as a finding,
    never as a module failure.
  - Also reports the driver library directory (C(libnvidia-ml)), nouveau, Secure Boot, kernel headers,
    Fabric Manager, the NVIDIA container toolkit, CDI specs, containerd and CRI-O.
  - A host without an NVIDIA GPU is a normal answer (RV(ansible_facts.nvidia.gpu_count=0)).
  - RV(ansible_facts.nvidia.findings) turns the facts into blockers, warnings and hints with a fix each.
  - Files that exist but cannot be read or parsed are listed in RV(ansible_facts.nvidia.read_errors);
    the module carries on with the rest.
  - Only regular files are read, each up to 8 MiB, without blocking. A FIFO, a device, a socket or a
    larger file where a file is expected (a link to C(/dev/zero), say) is listed in
    RV(ansible_facts.nvidia.read_errors) and not opened.
  - The module changes nothing. Only C(nvidia-smi -q -x), C(ldconfig -p), C(containerd --version),
    C(containerd config dump) and C(crio --version) are run, and only when O(root=/).
  - Reports the cgroup driver of containerd and CRI-O and whether systemd is the running init, which
    kubelet's C(cgroupDriver) must agree with.
options:
  root:
    description:
      - The root of the file system to inspect.
      - Set it to inspect a mounted image or a chroot, or to run against a prepared directory tree.
        Symlinks below it are resolved inside it, as C(chroot) would.
      - When it is not C(/), no command is run (C(nvidia-smi), C(ldconfig), runtime versions), and
        the kernel release is read only from C(<root>/proc/sys/kernel/osrelease).
      - Paths in the returned facts are as seen on the inspected system, without this prefix.
      - A root that does not exist, or is not a directory, fails the task (read as it is, it would
        look like a host without a GPU).
    type: path
    default: /
  nvidia_smi:
    description:
      - Run C(nvidia-smi -q -x) once when it is found and O(root=/).
      - Set to V(false) on nodes where C(nvidia-smi) hangs (a GPU that fell off the bus); everything
        else is still detected from sysfs and C(/proc).
    type: bool
    default: true
  command_timeout:
    description:
      - Seconds each command the module runs (C(nvidia-smi), C(ldconfig -p), C(containerd --version),
        C(containerd config dump), C(systemctl is-active nvidia-fabricmanager.service)) may take before it is
        stopped and reported as failed. A GPU that fell off the bus can make C(nvidia-smi) hang; the rest of the
        facts are still returned.
      - At least C(1); C(0) or less is refused, since a hanging command would then hold the task for ever.
      - Needs C(timeout) from coreutils on the node; without it commands run unbounded.
    type: int
    default: 60
    version_added: 0.1.0
  nvidia_smi_xml:
    description:
      - Path to a saved C(nvidia-smi -q -x) output to use instead of running C(nvidia-smi).
      - For inspecting another O(root) offline, and for tests. The path is on the node, not below O(root).
      - An unreadable or malformed file is reported in RV(ansible_facts.nvidia.read_errors) and
        RV(ansible_facts.nvidia.nvidia_smi.error).
    type: path
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads; check mode returns the same facts.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
    details: The module changes nothing.
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
notes:
  - Runs on the node, with the Python standard library only. Where that has no C(tomllib) (Python before
    3.11), the runtimes' TOML configurations are not parsed on the node but sent to the controller
    (RV(ansible_facts.nvidia.runtimes.containerd.config_texts), RV(ansible_facts.nvidia.runtimes.crio.config_texts)).
    Reading C(/proc/driver/nvidia) and the
    EFI variables works for any user, but some sysfs attributes need root; run it with privilege
    escalation (C(become)).
  - Compute capability comes from C(nvidia-smi) when its XML carries it, else from a table of
    well-known data centre GPUs; it is V(null) for other GPUs.
  - The ids and severities of RV(ansible_facts.nvidia.findings) and every key below are a public
    contract; changing one is a breaking change.
seealso:
  - name: NVIDIA driver installation guide
    description: Pre-installation checks that these facts automate.
    link: https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/
  - name: Container Device Interface
    description: The CDI specs reported under RV(ansible_facts.nvidia.cdi).
    link: https://github.com/cncf-tags/container-device-interface
"""

EXAMPLES = r"""
- name: Gather NVIDIA facts
  kubegpu.nvidia.gpu_facts:

- name: Stop on blockers
  vars:
    blockers: "{{ ansible_facts.nvidia.findings | selectattr('severity', 'equalto', 'blocker') | list }}"
  ansible.builtin.assert:
    that: blockers | length == 0
    fail_msg: "{{ blockers | map(attribute='message') | list }}"

- name: Install the driver only where a GPU is present and no driver is loaded
  ansible.builtin.include_role:
    name: kubegpu.nvidia.driver
  when:
    - ansible_facts.nvidia.gpu_count > 0
    - not ansible_facts.nvidia.driver.loaded

- name: Gather facts without running nvidia-smi (a node where it hangs)
  kubegpu.nvidia.gpu_facts:
    nvidia_smi: false

- name: Inspect a mounted image offline, with a saved nvidia-smi output
  kubegpu.nvidia.gpu_facts:
    root: /mnt/image
    nvidia_smi_xml: /var/tmp/nvidia-smi-q.xml

- name: Show the UUIDs of the GPUs
  ansible.builtin.debug:
    msg: "{{ ansible_facts.nvidia.gpus | map(attribute='uuid') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: complex
  contains:
    nvidia:
      description: Everything known about the node's NVIDIA GPUs, driver and container runtimes.
      returned: always
      type: complex
      contains:
        root:
          description: The root file system that was inspected (O(root), made absolute).
          returned: always
          type: str
          sample: /
        gpu_count:
          description: Number of NVIDIA GPUs (PCI class VGA or 3D controller), 0 on a host without one.
          returned: always
          type: int
          sample: 1
        gpus:
          description:
            - One entry per GPU, sorted by PCI address. Keys whose source was not available are V(null).
            - A GPU seen by the driver or C(nvidia-smi) but absent from sysfs is listed too.
          returned: always
          type: list
          elements: dict
          contains:
            pci_address:
              description: PCI address in sysfs form (4-digit domain, lower case).
              type: str
              sample: "0000:00:06.0"
            vendor_id:
              description: PCI vendor id, always NVIDIA's.
              type: str
              sample: "0x10de"
            device_id:
              description: PCI device id.
              type: str
              sample: "0x2335"
            subsystem_vendor_id:
              description: PCI subsystem vendor id.
              type: str
              sample: "0x10de"
            subsystem_device_id:
              description: PCI subsystem device id.
              type: str
              sample: "0x18bf"
            class_code:
              description: PCI class code (C(0x0300xx) VGA, C(0x0302xx) 3D controller).
              type: str
              sample: "0x030200"
            kind:
              description: V(vga) or V(3d), from the class code.
              type: str
              sample: 3d
            name:
              description:
                - Readable name from a table of well-known device ids; when the id is not in it,
                  the product name reported by the driver; else V(null).
              type: str
              sample: NVIDIA H200
            product_name:
              description: Product name from C(nvidia-smi), else the C(Model) line of C(/proc/driver/nvidia).
              type: str
              sample: NVIDIA H200
            architecture:
              description: Architecture from C(nvidia-smi).
              type: str
              sample: Hopper
            driver:
              description:
                - Kernel driver bound to the device (basename of its C(driver) link), V(null) when none.
                - V(nvidia) when bound to the NVIDIA driver; V(nouveau) or V(vfio-pci) otherwise.
              type: str
              sample: nvidia
            numa_node:
              description: NUMA node of the device; V(null) when the platform reports none (-1).
              type: int
              sample: 0
            uuid:
              description: GPU UUID, from C(nvidia-smi) or C(/proc/driver/nvidia/gpus/*/information).
              type: str
              sample: GPU-f7c97444-05e0-ca40-86a8-bba4267c92a0
            minor_number:
              description: Device minor number (C(/dev/nvidia<minor>)).
              type: int
              sample: 0
            vbios_version:
              description: Video BIOS version from C(nvidia-smi).
              type: str
              sample: 96.00.A5.00.1A
            firmware_version:
              description: GSP firmware version from C(/proc/driver/nvidia).
              type: str
              sample: 580.159.04
            memory_total_mib:
              description: Frame buffer memory in MiB, from C(nvidia-smi).
              type: int
              sample: 143771
            compute_capability:
              description: CUDA compute capability, from C(nvidia-smi) when it reports it, else the device table.
              type: str
              sample: "9.0"
            mig_mode_current:
              description: Current MIG mode, V(enabled) or V(disabled); V(null) when unknown or not supported.
              type: str
              sample: disabled
            mig_mode_pending:
              description: MIG mode after the next GPU reset, V(enabled) or V(disabled); V(null) when unknown.
              type: str
              sample: disabled
            mig_device_count:
              description: Number of MIG devices, from C(nvidia-smi).
              type: int
              sample: 0
            persistence_mode:
              description: Whether persistence mode is on, from C(nvidia-smi).
              type: bool
              sample: true
        nvswitch_count:
          description: Number of NVIDIA NVSwitch devices (PCI class C(0x0680xx)).
          returned: always
          type: int
          sample: 0
        nvswitches:
          description: One entry per NVSwitch, sorted by PCI address.
          returned: always
          type: list
          elements: dict
          contains:
            pci_address:
              description: PCI address in sysfs form.
              type: str
              sample: "0000:05:00.0"
            device_id:
              description: PCI device id.
              type: str
              sample: "0x22a3"
            name:
              description: Readable name for well-known ids, else V(null).
              type: str
              sample: NVIDIA NVSwitch (3rd generation, HGX H100/H200)
            driver:
              description: Kernel driver bound to the device, V(null) when none.
              type: str
              sample: nvidia-nvswitch
            numa_node:
              description: NUMA node, V(null) when none.
              type: int
              sample: 0
            registered:
              description: Whether the C(nvidia-nvswitch) driver lists the switch in
                C(/proc/driver/nvidia-nvswitch/devices).
              type: bool
              sample: true
            bios_version:
              description: The switch's BIOS version from its
                C(/proc/driver/nvidia-nvswitch/devices/<address>/information), V(null) when not registered or not known.
              type: str
              sample: 96.10.6d.00.01
        nvswitch_device_nodes:
          description:
            - Names of the C(/dev/nvidia-nvswitch*) nodes (C(nvidia-nvswitchctl) and one C(nvidia-nvswitch<N>) per
              switch), sorted; empty on a host without NVSwitches, where C(/dev) is not read for them.
          returned: always
          type: list
          elements: str
          sample: [nvidia-nvswitch0, nvidia-nvswitch1, nvidia-nvswitchctl]
        driver:
          description: The NVIDIA kernel module.
          returned: always
          type: complex
          contains:
            loaded:
              description:
                - Whether the module is loaded (C(/sys/module/nvidia) or C(/proc/driver/nvidia/version) exists).
              type: bool
              sample: true
            version:
              description: Version of the loaded module; V(null) when not loaded.
              type: str
              sample: 580.159.04
            kernel_module_type:
              description: V(open) or V(proprietary), from the C(NVRM version) line; V(null) when unknown.
              type: str
              sample: open
            source:
              description: Where the version was read, V(sysfs), V(procfs) or V(nvidia-smi); V(null) when not loaded.
              type: str
              sample: sysfs
            installed:
              description: Whether an C(nvidia.ko) for the running kernel is on disk.
              type: bool
              sample: true
            installed_not_loaded:
              description: The module is on disk for the running kernel but not loaded.
              type: bool
              sample: false
            module_path:
              description: Path of the C(nvidia.ko*) file found under C(/lib/modules/<release>), else V(null).
              type: str
              sample: /lib/modules/6.1.0-28-amd64/updates/dkms/nvidia.ko
        driver_root:
          description: Where the driver's user-space libraries are (the directory holding C(libnvidia-ml.so.*)).
          returned: always
          type: complex
          contains:
            found:
              description: Whether C(libnvidia-ml) was found.
              type: bool
              sample: true
            library_dir:
              description: Directory holding C(libnvidia-ml.so.*).
              type: str
              sample: /usr/lib/x86_64-linux-gnu
            root:
              description:
                - The driver root, the prefix above the library directory
                  (V(/) for C(/usr/lib64), V(/usr/local/nvidia) for C(/usr/local/nvidia/lib64)).
                - What C(nvidia-ctk) calls C(--driver-root).
              type: str
              sample: /
            nvml_version:
              description:
                - Version of C(libnvidia-ml) from its file name.
                - Compare with RV(ansible_facts.nvidia.driver.version); a difference means NVML cannot initialize.
              type: str
              sample: 580.159.04
            source:
              description: How it was found, V(ldconfig), V(search) (the usual directories) or V(ld.so.conf.d).
              type: str
              sample: ldconfig
        nvidia_smi:
          description: What C(nvidia-smi) said.
          returned: always
          type: complex
          contains:
            path:
              description: Path of the C(nvidia-smi) binary, V(null) when not found.
              type: str
              sample: /usr/bin/nvidia-smi
            ran:
              description: Whether C(nvidia-smi -q -x) was run.
              type: bool
              sample: true
            source:
              description: V(command) (run now), V(file) (O(nvidia_smi_xml)) or V(null) (not used).
              type: str
              sample: command
            error:
              description: Why C(nvidia-smi) gave no data (its first line of output when it failed), else V(null).
              type: str
              sample: >-
                /usr/bin/nvidia-smi -q -x exited with 9: NVIDIA-SMI has failed because it couldn't communicate
                with the NVIDIA driver.
            driver_version:
              description: Driver version reported by C(nvidia-smi).
              type: str
              sample: 580.159.04
            cuda_version:
              description: Highest CUDA version the driver supports, from C(nvidia-smi).
              type: str
              sample: "13.0"
        kernel:
          description: The running kernel.
          returned: always
          type: complex
          contains:
            release:
              description: Kernel release (C(/proc/sys/kernel/osrelease)).
              type: str
              sample: 6.1.0-28-amd64
            headers_installed:
              description:
                - Whether headers to build modules for this release are installed
                  (C(/lib/modules/<release>/build/Makefile) or C(/usr/src/kernels/<release>/Makefile)).
                - V(null) when the release is unknown.
              type: bool
              sample: true
            headers_path:
              description: The header directory found, else V(null).
              type: str
              sample: /lib/modules/6.1.0-28-amd64/build
        os:
          description: The distribution, from C(/etc/os-release).
          returned: always
          type: complex
          contains:
            id:
              description: C(ID).
              type: str
              sample: ubuntu
            id_like:
              description: C(ID_LIKE), split.
              type: list
              elements: str
              sample: [debian]
            version_id:
              description: C(VERSION_ID).
              type: str
              sample: "24.04"
            family:
              description: V(debian), V(redhat), V(suse) or V(null); decides package names in fixes.
              type: str
              sample: debian
        init_systemd:
          description:
            - Whether systemd is the running init, tested as C(sd_booted) does (C(/run/systemd/system) is a directory).
            - Where O(root) is not C(/), what that tree holds; an image's C(/run) is usually empty, so V(false).
          returned: always
          type: bool
          sample: true
        nouveau:
          description: The open-source nouveau driver, which must not hold the GPU.
          returned: always
          type: complex
          contains:
            loaded:
              description: Whether nouveau is loaded or bound to a GPU.
              type: bool
              sample: false
            blacklisted:
              description: Whether modprobe.d or the kernel command line keeps nouveau from loading.
              type: bool
              sample: true
            blacklist_sources:
              description: The files (and C(/proc/cmdline)) that blacklist it.
              type: list
              elements: str
              sample: [/etc/modprobe.d/blacklist-nouveau.conf]
        secure_boot:
          description: UEFI Secure Boot, from the EFI variables.
          returned: always
          type: complex
          contains:
            state:
              description:
                - V(enabled), V(disabled), V(not_supported) (legacy BIOS boot or no Secure Boot variable)
                  or V(unknown) (firmware information not visible).
              type: str
              sample: disabled
            enabled:
              description: Whether Secure Boot is enforced; V(null) when unknown.
              type: bool
              sample: false
            setup_mode:
              description: Whether the firmware is in setup mode (keys can be enrolled); V(null) when unknown.
              type: bool
              sample: false
            efi:
              description: Whether the system booted with EFI; V(null) when unknown.
              type: bool
              sample: true
        fabric_manager:
          description: NVIDIA Fabric Manager, needed on NVSwitch systems.
          returned: always
          type: complex
          contains:
            needed:
              description: Whether NVSwitches are present.
              type: bool
              sample: false
            installed:
              description: Whether C(nv-fabricmanager) or its systemd unit is installed.
              type: bool
              sample: false
            binary_path:
              description: Path of C(nv-fabricmanager), else V(null).
              type: str
              sample: /usr/bin/nv-fabricmanager
            service_path:
              description: Path of C(nvidia-fabricmanager.service), else V(null).
              type: str
              sample: /lib/systemd/system/nvidia-fabricmanager.service
            enabled:
              description: Whether the unit is enabled (linked into C(multi-user.target.wants) or
                C(default.target.wants) under C(/etc/systemd/system)); V(null) when the unit is not installed.
              type: bool
              sample: true
            active_state:
              description:
                - What C(systemctl is-active nvidia-fabricmanager.service) printed (V(active), V(inactive),
                  V(failed), ...).
                - Asked only on the node itself (root V(/)) where the unit is installed, under O(command_timeout);
                  V(null) otherwise or when the answer is not a systemd state.
              type: str
              sample: active
        container_toolkit:
          description: The NVIDIA container toolkit.
          returned: always
          type: complex
          contains:
            installed:
              description: Whether C(nvidia-ctk) or C(nvidia-container-runtime) is installed.
              type: bool
              sample: true
            binaries:
              description: Path of each toolkit binary, V(null) when absent.
              type: complex
              contains:
                nvidia_ctk:
                  description: Path of C(nvidia-ctk).
                  type: str
                  sample: /usr/bin/nvidia-ctk
                nvidia_container_runtime:
                  description: Path of C(nvidia-container-runtime).
                  type: str
                  sample: /usr/bin/nvidia-container-runtime
                nvidia_cdi_hook:
                  description: Path of C(nvidia-cdi-hook).
                  type: str
                  sample: /usr/bin/nvidia-cdi-hook
                nvidia_container_cli:
                  description: Path of C(nvidia-container-cli).
                  type: str
                  sample: /usr/bin/nvidia-container-cli
        cdi:
          description: Container Device Interface specs in C(/etc/cdi), C(/var/run/cdi) and C(/run/cdi).
          returned: always
          type: complex
          contains:
            dirs:
              description: The CDI directories that exist (C(/var/run/cdi) is skipped when it is C(/run/cdi)).
              type: list
              elements: str
              sample: [/etc/cdi, /var/run/cdi]
            spec_count:
              description: Number of C(*.json), C(*.yaml) and C(*.yml) files found.
              type: int
              sample: 1
            specs:
              description: One entry per spec file.
              type: list
              elements: dict
              contains:
                path:
                  description: Path of the spec.
                  type: str
                  sample: /etc/cdi/nvidia.yaml
                kind:
                  description: Its C(kind) (JSON parsed, YAML from a top-level C(kind:) line), else V(null).
                  type: str
                  sample: nvidia.com/gpu
            kinds:
              description: The distinct kinds found, sorted.
              type: list
              elements: str
              sample: [nvidia.com/gpu]
        runtimes:
          description: Container runtimes installed on the node.
          returned: always
          type: complex
          contains:
            containerd:
              description: containerd.
              type: complex
              contains:
                installed:
                  description: Whether the C(containerd) binary exists.
                  type: bool
                  sample: true
                path:
                  description: Path of the binary, else V(null).
                  type: str
                  sample: /usr/bin/containerd
                version:
                  description: Version from C(containerd --version); V(null) when not installed or O(root) is not C(/).
                  type: str
                  sample: 1.7.24
                config_path:
                  description: The config file looked at.
                  type: str
                  sample: /etc/containerd/config.toml
                config_exists:
                  description: Whether it exists.
                  type: bool
                  sample: true
                config_version:
                  description:
                    - Schema version of the config; 2 when the file is missing or empty (containerd's default),
                      1 when it has no top-level C(version), else that integer (3 is containerd 2.x).
                  type: int
                  sample: 2
                cgroup_driver:
                  description:
                    - The cgroup driver of the CRI plugin's default runtime (C(default_runtime_name), V(runc) when
                      unset), V(systemd) when its C(options.SystemdCgroup) is V(true), else V(cgroupfs).
                    - The CRI plugin is the one of the config's schema version (C(cri) for 1,
                      C(io.containerd.grpc.v1.cri) for 2, C(io.containerd.cri.v1.runtime) for 3).
                    - Read from C(containerd config dump) when O(root=/), else from
                      RV(ansible_facts.nvidia.runtimes.containerd.config_path) (containerd's defaults, V(cgroupfs),
                      when that file does not exist).
                    - V(null) when containerd is not installed, or when the driver cannot be known (the command
                      failed, its output or the file is not valid, or, below another O(root), the file imports
                      others with C(imports)); RV(ansible_facts.nvidia.read_errors) then says why, under the config
                      path.
                    - V(null) also where the node's Python has no C(tomllib) (before 3.11); the text is then in
                      RV(ansible_facts.nvidia.runtimes.containerd.config_texts) for the controller to parse.
                  type: str
                  sample: systemd
                cgroup_driver_source:
                  description:
                    - Where RV(ansible_facts.nvidia.runtimes.containerd.cgroup_driver) was read, V(config dump)
                      (C(containerd config dump), the effective configuration) or V(config file) (the file alone);
                      V(null) when the driver is V(null).
                  type: str
                  sample: config dump
                default_runtime:
                  description:
                    - The CRI plugin's default runtime as C(containerd config dump) reports it (O(root=/) only), with
                      C(name) (V(runc) where C(default_runtime_name) is unset), C(runtime_type), and C(table), the
                      dotted key of its table.
                    - An empty C(runtime_type) means containerd starts no container (a C(runtimes.runc) table in
                      the config file replaces the built-in runc whole before containerd 2.1); the decision stage
                      (C(kubegpu.nvidia.node_decision)) stops on it with the fix.
                    - V(null) where the dump was not read or not parsed here (below another O(root), no
                      C(tomllib); the decision stage then reads it from
                      RV(ansible_facts.nvidia.runtimes.containerd.config_texts)).
                  type: dict
                  sample:
                    name: runc
                    runtime_type: io.containerd.runc.v2
                    table: plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc
                config_texts:
                  description:
                    - What the cgroup driver is read from, sent where the node's Python has no C(tomllib) (before
                      3.11) and so this module parses no TOML; the decision stage (C(kubegpu.nvidia.node_decision))
                      parses it on the controller. Empty wherever this module parsed it itself, and wherever the
                      driver cannot be known anyway (containerd not installed, the command failed, the file is
                      unreadable).
                    - One entry, C(containerd config dump)'s output when O(root=/), else the text of
                      RV(ansible_facts.nvidia.runtimes.containerd.config_path) (none when that file is missing or
                      blank; the driver is then containerd's default, V(cgroupfs), without parsing).
                    - A text over 256 KiB is not sent; RV(ansible_facts.nvidia.read_errors) says so and the list
                      is empty.
                  type: list
                  elements: dict
                  contains:
                    path:
                      description: The file, or V(containerd config dump) for the command's output.
                      type: str
                      sample: containerd config dump
                    text:
                      description: Its text, as read (undecodable bytes replaced).
                      type: str
                      sample: "version = 2\n..."
            crio:
              description: CRI-O.
              type: complex
              contains:
                installed:
                  description: Whether the C(crio) binary exists.
                  type: bool
                  sample: false
                path:
                  description: Path of the binary, else V(null).
                  type: str
                  sample: /usr/bin/crio
                version:
                  description: Version from C(crio --version); V(null) when not installed or O(root) is not C(/).
                  type: str
                  sample: 1.30.4
                config_path:
                  description: The main config file, read before the files below C(/etc/crio/crio.conf.d).
                  type: str
                  sample: /etc/crio/crio.conf
                cgroup_driver:
                  description:
                    - CRI-O's C(cgroup_manager) (in C([crio.runtime])), V(systemd) or V(cgroupfs), read as CRI-O
                      reads it, from RV(ansible_facts.nvidia.runtimes.crio.config_path), then every file below
                      C(/etc/crio/crio.conf.d) whatever its name, subdirectories included, in lexical order;
                      the last file that sets it wins, and V(systemd) (CRI-O's default) when none does.
                    - V(null) when CRI-O is not installed, or when one of those files cannot be read or parsed or
                      sets another value (CRI-O would not start); RV(ansible_facts.nvidia.read_errors) names it.
                    - V(null) also where the node's Python has no C(tomllib) (before 3.11) and a file is not blank;
                      the texts are then in RV(ansible_facts.nvidia.runtimes.crio.config_texts) for the controller
                      to parse.
                    - A C(--cgroup-manager) option on CRI-O's command line is not seen.
                  type: str
                  sample: systemd
                config_texts:
                  description:
                    - The files RV(ansible_facts.nvidia.runtimes.crio.cgroup_driver) is read from, in the order
                      CRI-O applies them (RV(ansible_facts.nvidia.runtimes.crio.config_path), then the drop-ins),
                      blank and missing ones left out, sent where the node's Python has no C(tomllib) (before 3.11)
                      and so this module parses no TOML; the decision stage (C(kubegpu.nvidia.node_decision)) parses
                      them on the controller. Empty wherever this module parsed them itself, and wherever the driver
                      cannot be known anyway (CRI-O not installed, a file unreadable).
                    - All or none; a text over 256 KiB, or more than 1 MiB in all, sends none;
                      RV(ansible_facts.nvidia.read_errors) names the file.
                  type: list
                  elements: dict
                  contains:
                    path:
                      description: The file.
                      type: str
                      sample: /etc/crio/crio.conf.d/10-crio.conf
                    text:
                      description: Its text, as read (undecodable bytes replaced).
                      type: str
                      sample: "[crio.runtime]\n..."
        mig:
          description: Multi-Instance GPU summary (needs C(nvidia-smi) data).
          returned: always
          type: complex
          contains:
            known:
              description: Whether MIG state was available (C(nvidia-smi) ran or O(nvidia_smi_xml) was read).
              type: bool
              sample: true
            capable_count:
              description: GPUs that report a MIG mode (MIG-capable).
              type: int
              sample: 1
            enabled_count:
              description: GPUs whose current MIG mode is enabled.
              type: int
              sample: 0
            enabled_gpus:
              description: PCI addresses of those GPUs.
              type: list
              elements: str
              sample: []
            pending_change_count:
              description: GPUs whose pending MIG mode differs from the current one.
              type: int
              sample: 0
            pending_change_gpus:
              description: PCI addresses of those GPUs.
              type: list
              elements: str
              sample: []
        findings:
          description:
            - What the facts mean, computed from them alone; ids and severities are stable.
            - "Ids: V(no_gpu), V(nouveau_loaded), V(nouveau_not_blacklisted), V(secure_boot_unsigned_modules),
              V(kernel_headers_missing), V(gpu_not_bound), V(driver_installed_not_loaded), V(driver_library_mismatch),
              V(nvswitch_fabric_manager_missing), V(nvswitch_fabric_manager_inactive), V(containerd_config_version),
              V(mig_pending_change), V(nvidia_smi_failed), V(read_errors)."
          returned: always
          type: list
          elements: dict
          contains:
            id:
              description: Stable identifier of the finding.
              type: str
              sample: secure_boot_unsigned_modules
            severity:
              description:
                - V(blocker) (the GPU stack cannot work until someone acts), V(warning) (degraded, or the
                  roles will change something such as a reboot) or V(info).
              type: str
              sample: blocker
            message:
              description: What was found, as a sentence.
              type: str
              sample: Secure Boot is enabled and the NVIDIA kernel module is not loaded.
            fix:
              description: What to do about it, as a sentence.
              type: str
              sample: Enroll a Machine Owner Key (mokutil --import <key.der>) ...
        read_errors:
          description:
            - Files that exist but could not be read or understood; the other facts are still valid.
            - At most 100 are listed; past that, one more entry says how many more there were. A directory with
              more entries than the module reads (a hostile root with a million PCI devices, say) is one entry
              naming the directory and the bound.
          returned: always
          type: list
          elements: dict
          contains:
            path:
              description:
                - The file (on the inspected system, or the O(nvidia_smi_xml) path).
                - For a failed C(containerd config dump), the containerd config file; the reason names the command.
              type: str
              sample: /sys/bus/pci/devices/0000:00:06.0/vendor
            reason:
              description: Why, naming what was expected.
              type: str
              sample: "expected a hexadecimal PCI vendor id such as 0x10de, found 'zzzz'"
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.collect import (  # noqa: E402
    GatherError,
    check_command_timeout,
    gather_facts,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "default": "/"},
            "nvidia_smi": {"type": "bool", "default": True},
            "nvidia_smi_xml": {"type": "path"},
            "command_timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )

    timeout = module.get_bin_path("timeout")
    limit = module.params["command_timeout"]

    def run_command(argv):
        if timeout:
            # rc 124: the command did not finish within the limit (coreutils timeout).
            argv = [timeout, "--kill-after=5", str(limit)] + list(argv)
        return module.run_command(argv, environ_update={"LC_ALL": "C"}, handle_exceptions=False)

    try:
        check_command_timeout(limit)
        facts = gather_facts(
            root=module.params["root"],
            run_command=run_command,
            nvidia_smi=module.params["nvidia_smi"],
            nvidia_smi_xml=module.params["nvidia_smi_xml"],
        )
    except GatherError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, ansible_facts={"nvidia": facts})


if __name__ == "__main__":
    main()
