# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gather_facts against whole fixture roots: one node shape per test."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import collect
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.collect import RootReader, gather_facts


def _ids(facts):
    return {f["id"]: f for f in facts["findings"]}


def _real_xml(h200_xml_path):
    with open(h200_xml_path) as handle:
        return handle.read()


# --- the real H200 host ------------------------------------------------------


def test_real_h200_gpu_identity_matches_the_query_csv_of_the_same_host(h200_root, h200_xml_path, h200_query):
    facts = gather_facts(str(h200_root), nvidia_smi_xml=h200_xml_path)

    assert facts["gpu_count"] == 1
    gpu = facts["gpus"][0]
    # nvidia-smi says 00000000:00:06.0, sysfs 0000:00:06.0: one GPU, not two.
    assert gpu["pci_address"] == "0000:00:06.0"
    assert h200_query["pci.bus_id"].lower().endswith(gpu["pci_address"])
    assert gpu["uuid"] == h200_query["uuid"]
    assert gpu["name"] == h200_query["name"] == "NVIDIA H200"
    assert gpu["memory_total_mib"] == int(h200_query["memory.total [MiB]"].split()[0])
    assert gpu["compute_capability"] == h200_query["compute_cap"]
    assert gpu["mig_mode_current"] == h200_query["mig.mode.current"].lower()
    assert gpu["persistence_mode"] is (h200_query["persistence_mode"] == "Enabled")
    assert gpu["vbios_version"] == h200_query["vbios_version"]
    assert gpu["device_id"] == "0x2335"
    assert gpu["subsystem_device_id"] == "0x18bf"
    assert gpu["driver"] == "nvidia"
    assert gpu["kind"] == "3d"
    assert gpu["numa_node"] is None  # the captured host reports -1
    assert facts["nvidia_smi"]["driver_version"] == h200_query["driver_version"]
    assert facts["nvidia_smi"]["cuda_version"] == "13.0"
    assert facts["nvidia_smi"]["source"] == "file"


def test_real_h200_driver_is_the_loaded_open_kernel_module(h200_root):
    facts = gather_facts(str(h200_root))

    assert facts["driver"]["loaded"] is True
    assert facts["driver"]["version"] == "580.159.04"
    assert facts["driver"]["kernel_module_type"] == "open"
    assert facts["driver"]["source"] == "procfs"


def test_real_h200_without_nvidia_smi_still_has_uuid_and_minor_from_proc(h200_root, h200_query):
    facts = gather_facts(str(h200_root))

    gpu = facts["gpus"][0]
    assert gpu["uuid"] == h200_query["uuid"]
    assert gpu["minor_number"] == int(h200_query["index"])
    assert gpu["product_name"] == "NVIDIA H200"
    assert gpu["firmware_version"] == "580.159.04"
    assert gpu["memory_total_mib"] is None
    assert facts["mig"]["known"] is False


def test_real_h200_has_no_blocker_and_ignores_the_virtio_devices(h200_root, h200_xml_path):
    facts = gather_facts(str(h200_root), nvidia_smi_xml=h200_xml_path)

    assert facts["nvswitch_count"] == 0
    assert [f for f in facts["findings"] if f["severity"] == "blocker"] == []
    assert "gpu_not_bound" not in _ids(facts)
    assert facts["read_errors"] == []


def test_real_h200_driver_root_in_a_non_standard_prefix_is_found_through_ld_so_conf(h200_root):
    h200_root.nvml("/opt/nvidia-driver/lib", "580.159.04")
    h200_root.write("/etc/ld.so.conf.d/nvidia.conf", "# driver\n/opt/nvidia-driver/lib\n")
    h200_root.write("/opt/nvidia-driver/bin/nvidia-smi", "#!/bin/sh\n").chmod(0o755)

    facts = gather_facts(str(h200_root))

    assert facts["driver_root"]["library_dir"] == "/opt/nvidia-driver/lib"
    assert facts["driver_root"]["root"] == "/opt/nvidia-driver"
    assert facts["driver_root"]["source"] == "ld.so.conf.d"
    assert facts["driver_root"]["nvml_version"] == "580.159.04"
    assert facts["nvidia_smi"]["path"] == "/opt/nvidia-driver/bin/nvidia-smi"
    assert facts["nvidia_smi"]["ran"] is False  # never run below another root
    assert "driver_library_mismatch" not in _ids(facts)


# --- no GPU -------------------------------------------------------------------


def test_host_without_nvidia_gpu_reports_zero_gpus_and_only_no_gpu(fake_root):
    fake_root.other_device("0000:00:01.0")
    fake_root.pci_device("0000:00:02.0", "0x8086", "0x0d57", "0x030000", driver="i915")
    fake_root.kernel()
    fake_root.os_release()

    facts = gather_facts(str(fake_root))

    assert facts["gpu_count"] == 0
    assert facts["gpus"] == []
    assert [f["id"] for f in facts["findings"]] == ["no_gpu"]
    assert facts["findings"][0]["severity"] == "info"


def test_empty_root_is_a_normal_answer_not_an_error(fake_root):
    facts = gather_facts(str(fake_root))

    assert facts["gpu_count"] == 0
    assert facts["read_errors"] == []
    assert facts["kernel"]["release"] is None
    assert facts["secure_boot"]["state"] == "unknown"


def test_nvidia_hdmi_audio_function_is_not_counted_as_a_gpu(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", device="0x27b8")
    fake_root.pci_device("0000:01:00.1", "0x10de", "0x22bc", "0x040300", driver="snd_hda_intel")

    facts = gather_facts(str(fake_root))

    assert facts["gpu_count"] == 1
    assert facts["gpus"][0]["name"] == "NVIDIA L4"


# --- nouveau --------------------------------------------------------------------


def test_gpu_bound_to_nouveau_warns_and_names_the_driver(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", device="0x2237", driver="nouveau")
    fake_root.mkdir("/sys/module/nouveau")
    fake_root.kernel()
    fake_root.os_release()

    facts = gather_facts(str(fake_root))
    found = _ids(facts)

    assert facts["nouveau"]["loaded"] is True
    assert found["nouveau_loaded"]["severity"] == "warning"
    assert found["nouveau_loaded"]["message"].startswith("nouveau is loaded: the driver role will blacklist it")
    assert found["gpu_not_bound"]["severity"] == "warning"
    assert "NVIDIA A10G at 0000:01:00.0 (bound to nouveau)" in found["gpu_not_bound"]["message"]
    assert found["nouveau_not_blacklisted"]["severity"] == "info"


def test_nouveau_blacklisted_in_modprobe_d_is_reported_with_its_file(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", driver=None)
    fake_root.write("/etc/modprobe.d/blacklist-nvidia-nouveau.conf", "blacklist nouveau\noptions nouveau modeset=0\n")
    fake_root.write("/lib/modprobe.d/other.conf", "blacklist pcspkr\n")

    facts = gather_facts(str(fake_root))

    assert facts["nouveau"]["blacklisted"] is True
    assert facts["nouveau"]["blacklist_sources"] == ["/etc/modprobe.d/blacklist-nvidia-nouveau.conf"]
    assert "nouveau_not_blacklisted" not in _ids(facts)
    assert "(no driver)" in _ids(facts)["gpu_not_bound"]["message"]


def test_nouveau_blacklisted_on_the_kernel_command_line_counts(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", driver=None)
    fake_root.write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 modprobe.blacklist=nouveau,floppy quiet\n")

    facts = gather_facts(str(fake_root))

    assert facts["nouveau"]["blacklist_sources"] == ["/proc/cmdline"]


# --- HGX: 8 GPUs and 4 NVSwitches ------------------------------------------------


def _hgx(fake_root, fabric_manager):
    for index in range(8):
        address = "0000:%02x:00.0" % (0x18 + index * 0x10)
        fake_root.nvidia_gpu(address, device="0x2330", numa_node=index // 4)
        fake_root.proc_gpu(address, "GPU-0000000%d-1111-2222-3333-444444444444" % index, index)
    for index in range(4):
        fake_root.nvswitch("0000:%02x:00.0" % (0x05 + index))
    fake_root.nvidia_loaded("570.133.20", open_module=True)
    fake_root.nvml(version="570.133.20")
    fake_root.kernel()
    fake_root.os_release("ubuntu", id_like="debian")
    if fabric_manager:
        fake_root.write("/usr/bin/nv-fabricmanager", "#!/bin/sh\n").chmod(0o755)
        fake_root.write("/lib/systemd/system/nvidia-fabricmanager.service", "[Unit]\n")
    return gather_facts(str(fake_root))


def test_hgx_without_fabric_manager_is_a_blocker_naming_the_branch_package(fake_root):
    facts = _hgx(fake_root, fabric_manager=False)

    assert facts["gpu_count"] == 8
    assert facts["nvswitch_count"] == 4
    assert {s["name"] for s in facts["nvswitches"]} == {"NVIDIA NVSwitch (3rd generation, HGX H100/H200)"}
    assert facts["fabric_manager"] == {
        "needed": True,
        "installed": False,
        "binary_path": None,
        "service_path": None,
        "enabled": None,
        "active_state": None,
    }
    blocker = _ids(facts)["nvswitch_fabric_manager_missing"]
    assert blocker["severity"] == "blocker"
    assert "nvidia-fabricmanager-570" in blocker["fix"]


def test_hgx_with_fabric_manager_has_no_blocker_and_joins_uuids_per_gpu(fake_root):
    facts = _hgx(fake_root, fabric_manager=True)

    assert facts["fabric_manager"]["binary_path"] == "/usr/bin/nv-fabricmanager"
    assert facts["fabric_manager"]["service_path"] == "/lib/systemd/system/nvidia-fabricmanager.service"
    assert [f for f in facts["findings"] if f["severity"] == "blocker"] == []
    assert [g["minor_number"] for g in facts["gpus"]] == list(range(8))
    assert facts["gpus"][5]["uuid"] == "GPU-00000005-1111-2222-3333-444444444444"
    assert [g["numa_node"] for g in facts["gpus"]] == [0, 0, 0, 0, 1, 1, 1, 1]


def test_eight_gpu_host_reads_no_file_twice_and_skips_other_vendors_attributes(fake_root, monkeypatch):
    # Speed is measured in benchmarks/; what keeps it fast is that each file is
    # read at most once and non-NVIDIA devices cost one vendor read each.
    for index in range(200):
        fake_root.other_device("0000:%02x:%02x.0" % (0xC0 + index // 32, index % 32))
    _hgx(fake_root, fabric_manager=True)
    reads = []
    real_data = RootReader.data

    def counting_data(self, path):
        reads.append(path)
        return real_data(self, path)

    monkeypatch.setattr(RootReader, "data", counting_data)

    facts = gather_facts(str(fake_root))

    assert facts["gpu_count"] == 8
    assert sorted(p for p in set(reads) if reads.count(p) > 1) == []
    other = [p for p in reads if p.startswith("/sys/bus/pci/devices/0000:c")]
    assert other and all(p.endswith("/vendor") for p in other)


# --- MIG --------------------------------------------------------------------------


def test_mig_enabled_gpu_is_counted(h200_root, tmp_path, h200_xml_path):
    xml = _real_xml(h200_xml_path).replace(
        "<current_mig>Disabled</current_mig>\n\t\t\t<pending_mig>Disabled</pending_mig>",
        "<current_mig>Enabled</current_mig>\n\t\t\t<pending_mig>Enabled</pending_mig>",
    )
    path = tmp_path / "mig.xml"
    path.write_text(xml)

    facts = gather_facts(str(h200_root), nvidia_smi_xml=str(path))

    assert facts["mig"]["enabled_count"] == 1
    assert facts["mig"]["enabled_gpus"] == ["0000:00:06.0"]
    assert facts["mig"]["pending_change_count"] == 0
    assert "mig_pending_change" not in _ids(facts)


def test_mig_pending_change_is_a_warning_naming_the_gpu(h200_root, tmp_path, h200_xml_path):
    xml = _real_xml(h200_xml_path).replace("<pending_mig>Disabled</pending_mig>", "<pending_mig>Enabled</pending_mig>")
    path = tmp_path / "mig-pending.xml"
    path.write_text(xml)

    facts = gather_facts(str(h200_root), nvidia_smi_xml=str(path))

    assert facts["gpus"][0]["mig_mode_current"] == "disabled"
    assert facts["gpus"][0]["mig_mode_pending"] == "enabled"
    finding = _ids(facts)["mig_pending_change"]
    assert finding["severity"] == "warning"
    assert "0000:00:06.0" in finding["message"]
    assert "reboot" in finding["fix"]


# --- driver installed, not loaded; kernel headers; Secure Boot ----------------------


def test_dkms_module_on_disk_but_not_loaded_is_reported(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", driver=None)
    release = fake_root.kernel()
    fake_root.write("/lib/modules/%s/updates/dkms/nvidia.ko.xz" % release, b"\0")

    facts = gather_facts(str(fake_root))

    assert facts["driver"]["loaded"] is False
    assert facts["driver"]["installed_not_loaded"] is True
    assert facts["driver"]["module_path"] == "/lib/modules/%s/updates/dkms/nvidia.ko.xz" % release
    finding = _ids(facts)["driver_installed_not_loaded"]
    assert finding["severity"] == "warning"
    assert "modprobe nvidia" in finding["fix"]


def test_debian_dkms_module_named_nvidia_current_is_reported_as_installed(fake_root):
    # Debian's nvidia-kernel-dkms builds nvidia-current.ko (modprobe.d aliases it to nvidia).
    fake_root.nvidia_gpu("0000:01:00.0", driver=None)
    release = fake_root.kernel("6.12.117+deb13-amd64")
    fake_root.write("/lib/modules/%s/updates/dkms/nvidia-current.ko.xz" % release, b"\0")

    facts = gather_facts(str(fake_root))

    assert facts["driver"]["installed_not_loaded"] is True
    assert facts["driver"]["module_path"] == "/lib/modules/%s/updates/dkms/nvidia-current.ko.xz" % release


def test_ubuntu_precompiled_module_is_found_through_modules_dep(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", driver=None)
    release = fake_root.kernel("6.8.0-45-generic")
    fake_root.write("/lib/modules/%s/kernel/nvidia-550srv/nvidia.ko" % release, b"\0")
    fake_root.write(
        "/lib/modules/%s/modules.dep" % release,
        "kernel/drivers/video/fbdev/core/fb.ko:\nkernel/nvidia-550srv/nvidia.ko:\n"
        "kernel/nvidia-550srv/nvidia-uvm.ko: kernel/nvidia-550srv/nvidia.ko\n",
    )

    facts = gather_facts(str(fake_root))

    assert facts["driver"]["module_path"] == "/lib/modules/6.8.0-45-generic/kernel/nvidia-550srv/nvidia.ko"


def test_loaded_driver_is_not_reported_as_installed_not_loaded(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0")
    release = fake_root.kernel()
    fake_root.write("/lib/modules/%s/updates/dkms/nvidia.ko" % release, b"\0")
    fake_root.nvidia_loaded()

    facts = gather_facts(str(fake_root))

    assert facts["driver"]["installed"] is True
    assert facts["driver"]["installed_not_loaded"] is False
    assert facts["driver"]["source"] == "sysfs"


def test_missing_headers_on_debian_name_linux_headers_package(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", driver=None)
    fake_root.kernel("6.1.0-28-amd64", headers=False)
    fake_root.os_release("debian")

    facts = gather_facts(str(fake_root))

    assert facts["kernel"]["headers_installed"] is False
    finding = _ids(facts)["kernel_headers_missing"]
    assert "linux-headers-6.1.0-28-amd64" in finding["fix"]


def test_missing_headers_on_rocky_name_kernel_devel_package(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", driver=None)
    fake_root.kernel("5.14.0-427.el9.x86_64", headers=False)
    fake_root.os_release("rocky", id_like="rhel centos fedora", version_id="9.4")

    facts = gather_facts(str(fake_root))

    assert facts["os"]["family"] == "redhat"
    assert "kernel-devel-5.14.0-427.el9.x86_64" in _ids(facts)["kernel_headers_missing"]["fix"]


def test_headers_behind_an_absolute_symlink_resolve_inside_the_root(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", driver=None)
    release = fake_root.kernel(headers=True)

    facts = gather_facts(str(fake_root))

    assert facts["kernel"]["headers_installed"] is True
    assert facts["kernel"]["headers_path"] == "/lib/modules/%s/build" % release
    assert "kernel_headers_missing" not in _ids(facts)


def test_rhel_headers_under_usr_src_kernels_count(fake_root):
    fake_root.kernel("5.14.0-427.el9.x86_64", headers=False)
    fake_root.write("/usr/src/kernels/5.14.0-427.el9.x86_64/Makefile", "# kernel\n")

    facts = gather_facts(str(fake_root))

    assert facts["kernel"]["headers_path"] == "/usr/src/kernels/5.14.0-427.el9.x86_64"


def test_secure_boot_enabled_without_driver_is_a_blocker_with_mok_fix(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0", driver=None)
    fake_root.kernel()
    fake_root.efi(secure_boot=True)

    facts = gather_facts(str(fake_root))

    assert facts["secure_boot"] == {"state": "enabled", "enabled": True, "setup_mode": False, "efi": True}
    finding = _ids(facts)["secure_boot_unsigned_modules"]
    assert finding["severity"] == "blocker"
    assert "mokutil --import" in finding["fix"]
    assert "linux-modules-nvidia-" in finding["fix"]


def test_secure_boot_enabled_with_driver_loaded_is_not_a_blocker(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0")
    fake_root.nvidia_loaded()
    fake_root.efi(secure_boot=True)

    facts = gather_facts(str(fake_root))

    assert "secure_boot_unsigned_modules" not in _ids(facts)


def test_secure_boot_disabled_and_legacy_bios_are_told_apart(fake_root, tmp_path):
    fake_root.efi(secure_boot=False, setup_mode=True)
    legacy = type(fake_root)(tmp_path / "legacy")
    legacy.legacy_bios()

    uefi_facts = gather_facts(str(fake_root))
    legacy_facts = gather_facts(str(legacy))

    assert uefi_facts["secure_boot"]["state"] == "disabled"
    assert uefi_facts["secure_boot"]["setup_mode"] is True
    assert legacy_facts["secure_boot"]["state"] == "not_supported"
    assert legacy_facts["secure_boot"]["efi"] is False


# --- library / module mismatch ---------------------------------------------------------


def test_library_newer_than_loaded_module_is_a_mismatch_blocker(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0")
    fake_root.nvidia_loaded("570.133.20")
    fake_root.nvml("/usr/lib/x86_64-linux-gnu", "580.95.05")

    facts = gather_facts(str(fake_root))

    assert facts["driver_root"]["nvml_version"] == "580.95.05"
    assert facts["driver_root"]["root"] == "/"
    finding = _ids(facts)["driver_library_mismatch"]
    assert finding["severity"] == "blocker"
    assert "Driver/library version mismatch" in finding["message"]
    assert "570.133.20" in finding["message"] and "580.95.05" in finding["message"]


def test_proprietary_module_is_reported_as_proprietary(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0")
    fake_root.nvidia_loaded("535.230.02", open_module=False)

    facts = gather_facts(str(fake_root))

    assert facts["driver"]["kernel_module_type"] == "proprietary"
    assert facts["driver"]["version"] == "535.230.02"


# --- runtimes, toolkit, CDI ------------------------------------------------------------


def test_containerd_config_version_3_is_reported_as_containerd_2(fake_root):
    fake_root.write("/usr/bin/containerd", "#!/bin/sh\n").chmod(0o755)
    fake_root.write(
        "/etc/containerd/config.toml",
        'version = 3\n\n[plugins."io.containerd.cri.v1.runtime"]\n  enable_cdi = true\n',
    )

    facts = gather_facts(str(fake_root))
    containerd = facts["runtimes"]["containerd"]

    assert containerd["installed"] is True
    assert containerd["path"] == "/usr/bin/containerd"
    assert containerd["version"] is None  # never run below another root
    assert containerd["config_exists"] is True
    assert containerd["config_version"] == 3
    assert "containerd 2.x" in _ids(facts)["containerd_config_version"]["message"]


def test_containerd_without_config_uses_the_default_version_2(fake_root):
    fake_root.write("/usr/local/bin/containerd", "#!/bin/sh\n").chmod(0o755)

    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["containerd"]["config_exists"] is False
    assert facts["runtimes"]["containerd"]["config_version"] == 2
    assert "built-in defaults" in _ids(facts)["containerd_config_version"]["message"]


def test_crio_and_container_toolkit_binaries_are_found(fake_root):
    fake_root.write("/usr/bin/crio", "#!/bin/sh\n").chmod(0o755)
    fake_root.write("/usr/bin/nvidia-ctk", "#!/bin/sh\n").chmod(0o755)
    fake_root.write("/usr/bin/nvidia-cdi-hook", "#!/bin/sh\n").chmod(0o755)

    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["crio"]["installed"] is True
    assert facts["container_toolkit"]["installed"] is True
    assert facts["container_toolkit"]["binaries"]["nvidia_cdi_hook"] == "/usr/bin/nvidia-cdi-hook"
    assert facts["container_toolkit"]["binaries"]["nvidia_container_runtime"] is None


def test_cdi_specs_are_listed_once_with_their_kind(fake_root):
    fake_root.write("/etc/cdi/nvidia.yaml", '---\ncdiVersion: 0.5.0\nkind: "nvidia.com/gpu"\ndevices: []\n')
    fake_root.write("/run/cdi/vendor.json", '{"cdiVersion": "0.6.0", "kind": "example.com/fpga", "devices": []}')
    fake_root.write("/etc/cdi/README", "not a spec\n")
    fake_root.symlink("/var/run", "../run")

    facts = gather_facts(str(fake_root))

    assert facts["cdi"]["dirs"] == ["/etc/cdi", "/var/run/cdi"]
    assert facts["cdi"]["specs"] == [
        {"path": "/etc/cdi/nvidia.yaml", "kind": "nvidia.com/gpu"},
        {"path": "/var/run/cdi/vendor.json", "kind": "example.com/fpga"},
    ]
    assert facts["cdi"]["kinds"] == ["example.com/fpga", "nvidia.com/gpu"]


# --- malformed and unreadable files ----------------------------------------------------


def test_garbage_nvidia_smi_xml_is_a_read_error_and_a_warning_not_a_traceback(h200_root, tmp_path):
    path = tmp_path / "garbage.xml"
    path.write_text("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n")

    facts = gather_facts(str(h200_root), nvidia_smi_xml=str(path))

    assert facts["read_errors"][0]["path"] == str(path)
    assert "not valid XML" in facts["read_errors"][0]["reason"]
    assert "unusable" in facts["nvidia_smi"]["error"]
    assert _ids(facts)["nvidia_smi_failed"]["severity"] == "warning"
    # The rest still comes from sysfs and /proc.
    assert facts["gpus"][0]["uuid"].startswith("GPU-")


def test_missing_saved_xml_is_reported_with_its_path(h200_root, tmp_path):
    facts = gather_facts(str(h200_root), nvidia_smi_xml=str(tmp_path / "absent.xml"))

    assert facts["read_errors"] == [{"path": str(tmp_path / "absent.xml"), "reason": "No such file or directory"}]
    assert "cannot read" in facts["nvidia_smi"]["error"]


def test_non_hex_vendor_file_skips_that_device_and_says_why(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0")
    fake_root.nvidia_gpu("0000:02:00.0")
    fake_root.write("/sys/devices/pci0000:00/0000:02:00.0/vendor", "zzzz\n")

    facts = gather_facts(str(fake_root))

    assert facts["gpu_count"] == 1
    assert facts["read_errors"] == [
        {
            "path": "/sys/bus/pci/devices/0000:02:00.0/vendor",
            "reason": "expected a hexadecimal PCI vendor id such as 0x10de, found 'zzzz'",
        }
    ]
    finding = _ids(facts)["read_errors"]
    assert finding["severity"] == "warning"
    assert "/sys/bus/pci/devices/0000:02:00.0/vendor" in finding["message"]


def test_directory_where_a_file_is_expected_is_a_read_error(h200_root):
    h200_root.mkdir("/proc/driver/nvidia/gpus/0000:00:07.0/information")

    facts = gather_facts(str(h200_root))

    path = "/proc/driver/nvidia/gpus/0000:00:07.0/information"
    assert {"path": path, "reason": "is a directory, expected a file"} in facts["read_errors"]
    assert facts["gpu_count"] == 1


def test_permission_denied_on_one_file_is_recorded_and_the_rest_gathered(h200_root, monkeypatch):
    # The tests run as root, where file modes deny nothing: refuse the open instead.
    denied = str(h200_root.host("/proc/driver/nvidia/version"))
    real_open = os.open

    def guarded_open(file, *args, **kwargs):
        if str(file) == denied:
            raise PermissionError(13, "Permission denied", file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)

    facts = gather_facts(str(h200_root))

    assert {"path": "/proc/driver/nvidia/version", "reason": "permission denied"} in facts["read_errors"]
    assert facts["driver"]["loaded"] is True  # /sys/module/nvidia still says so
    assert facts["driver"]["kernel_module_type"] is None
    assert facts["gpus"][0]["uuid"].startswith("GPU-")


def test_truncated_efi_variable_leaves_secure_boot_unknown(fake_root):
    fake_root.efi(secure_boot=True)
    fake_root.write("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0a9e5b8cf8c", b"\x06\x00")

    facts = gather_facts(str(fake_root))

    assert facts["secure_boot"]["state"] == "unknown"
    assert facts["secure_boot"]["enabled"] is None
    assert "expected at least 5 bytes" in facts["read_errors"][0]["reason"]


def test_invalid_containerd_toml_is_a_read_error_and_version_still_read_by_line(fake_root):
    fake_root.write("/etc/containerd/config.toml", 'version = 2\n[plugins\nbroken = "\n')

    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["containerd"]["config_version"] == 2
    assert facts["read_errors"][0]["path"] == "/etc/containerd/config.toml"
    assert facts["read_errors"][0]["reason"].startswith("not valid TOML")


def test_malformed_proc_information_and_cdi_json_are_both_listed(fake_root):
    fake_root.nvidia_gpu("0000:01:00.0")
    fake_root.nvidia_loaded()
    fake_root.write("/proc/driver/nvidia/gpus/0000:01:00.0/information", "\x00\x01garbage without separators\n")
    fake_root.write("/etc/cdi/broken.json", "{not json")

    facts = gather_facts(str(fake_root))

    paths = [e["path"] for e in facts["read_errors"]]
    assert paths == ["/proc/driver/nvidia/gpus/0000:01:00.0/information", "/etc/cdi/broken.json"]
    assert facts["cdi"]["specs"] == [{"path": "/etc/cdi/broken.json", "kind": None}]


# --- nvidia-smi on the live system --------------------------------------------------------


def test_failing_nvidia_smi_command_becomes_a_message(monkeypatch):
    calls = []

    def run_command(argv):
        calls.append(argv)
        return 9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", ""

    smi, data = collect.read_nvidia_smi(RootReader("/"), "/usr/bin/nvidia-smi", run_command, True, None)

    assert calls == [["/usr/bin/nvidia-smi", "-q", "-x"]]
    assert data is None
    assert smi["ran"] is True
    assert smi["error"] == (
        "/usr/bin/nvidia-smi -q -x exited with 9: "
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    )


def test_nvidia_smi_that_cannot_be_started_becomes_a_message():
    def run_command(argv):
        raise OSError(8, "Exec format error")

    smi, data = collect.read_nvidia_smi(RootReader("/"), "/usr/bin/nvidia-smi", run_command, True, None)

    assert data is None
    assert "could not be run" in smi["error"]


def test_nvidia_smi_is_run_once_on_the_live_root_and_its_xml_used(h200_xml_path):
    calls = []
    xml = _real_xml(h200_xml_path)

    def run_command(argv):
        calls.append(argv)
        return 0, xml, ""

    smi, data = collect.read_nvidia_smi(RootReader("/"), "/usr/bin/nvidia-smi", run_command, True, None)

    assert len(calls) == 1
    assert smi["error"] is None
    assert smi["driver_version"] == "580.159.04"
    assert data["gpus"][0]["pci_address"] == "0000:00:06.0"


def test_nvidia_smi_disabled_or_other_root_is_never_run():
    def run_command(argv):
        raise AssertionError("must not run %r" % (argv,))

    live_off, dummy = collect.read_nvidia_smi(RootReader("/"), "/usr/bin/nvidia-smi", run_command, False, None)
    other_root, dummy = collect.read_nvidia_smi(RootReader("/mnt"), "/usr/bin/nvidia-smi", run_command, True, None)

    assert live_off["ran"] is False
    assert other_root["ran"] is False


def test_live_runtime_versions_come_from_one_version_call_each(fake_root):
    seen = []

    def run_command(argv):
        seen.append(argv)
        if argv[0].endswith("containerd"):
            return 0, "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811c\n", ""
        return 1, "", "unexpected"

    reader = RootReader("/")
    containerd_path = str(fake_root.write("/usr/bin/containerd", "#!/bin/sh\n"))

    version = collect._runtime_version(reader, containerd_path, run_command)

    assert version == "2.1.4"
    assert seen == [[containerd_path, "--version"]]
