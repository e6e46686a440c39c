# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parsers of gpu_facts, fed with literal text and the real H200 outputs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import parsers
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.parsers import ParseError

H200_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia-h200"


def test_open_kernel_module_detected_from_nvrm_line():
    text = (H200_FIXTURES / "proc-driver-nvidia-version.txt").read_text()

    assert parsers.parse_nvrm_version(text) == ("580.159.04", "open")


def test_proprietary_kernel_module_detected_from_nvrm_line():
    text = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n"

    assert parsers.parse_nvrm_version(text) == ("550.54.14", "proprietary")


def test_aarch64_open_module_version_is_not_confused_with_the_arch():
    text = "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  570.86.15  Release Build  (dvs-builder@U16)\n"

    assert parsers.parse_nvrm_version(text) == ("570.86.15", "open")


def test_version_file_without_nvrm_line_is_rejected_with_reason():
    with pytest.raises(ParseError, match="NVRM version"):
        parsers.parse_nvrm_version("GCC version: 12\n")


def test_gpu_information_of_the_real_h200_gives_uuid_minor_and_bus():
    text = (H200_FIXTURES / "proc-driver-nvidia-gpus-information.txt").read_text()
    uuid_line = next(line for line in text.splitlines() if line.startswith("GPU UUID"))

    info = parsers.parse_gpu_information(text)

    assert info["uuid"] == uuid_line.split(":", 1)[1].strip()
    assert info["bus_location"] == "0000:00:06.0"
    assert info["minor_number"] == 0
    assert info["model"] == "NVIDIA H200"
    assert info["excluded"] is False


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("00000000:18:00.0", "0000:18:00.0"),
        ("0000:18:00.0", "0000:18:00.0"),
        ("0000:AF:00.0", "0000:af:00.0"),
        ("00000001:3B:1F.7", "0001:3b:1f.7"),
        ("18:00.0", None),
        ("not-an-address", None),
    ],
)
def test_pci_addresses_join_across_domain_widths_and_case(address, expected):
    assert parsers.normalize_pci_address(address) == expected


@given(
    st.integers(0, 0xFFFF), st.integers(0, 0xFF), st.integers(0, 0x1F), st.integers(0, 7), st.sampled_from([4, 8])
)
def test_pci_address_normalization_is_independent_of_domain_width(domain, bus, device, function, width):
    wide = "%0*X:%02X:%02X.%d" % (width, domain, bus, device, function)
    sysfs = "%04x:%02x:%02x.%d" % (domain, bus, device, function)

    assert parsers.normalize_pci_address(wide) == sysfs
    assert parsers.normalize_pci_address(parsers.normalize_pci_address(wide)) == sysfs


def test_hex_attribute_parses_and_non_hex_says_what_was_expected():
    assert parsers.parse_hex("0x10de\n") == 0x10DE
    with pytest.raises(ParseError, match="expected a hexadecimal PCI vendor id such as 0x10de, found 'zzzz'"):
        parsers.parse_hex("zzzz\n", "PCI vendor id")


def test_numa_node_minus_one_means_none():
    assert parsers.parse_numa_node("-1\n") is None
    assert parsers.parse_numa_node("1\n") == 1
    with pytest.raises(ParseError):
        parsers.parse_numa_node("one")


def test_efivar_value_is_the_fifth_byte():
    assert parsers.parse_efivar_bool(b"\x06\x00\x00\x00\x01") is True
    assert parsers.parse_efivar_bool(b"\x06\x00\x00\x00\x00") is False
    with pytest.raises(ParseError, match="at least 5 bytes"):
        parsers.parse_efivar_bool(b"\x06\x00\x00\x00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("blacklist nouveau\n", True),
        ("  blacklist   nouveau  # keep it off\n", True),
        ("install nouveau /bin/false\n", True),
        ("# blacklist nouveau\n", False),
        ("blacklist nouveau_extra\n", False),
        ("options nouveau modeset=0\n", False),
    ],
)
def test_modprobe_d_blacklist_lines(text, expected):
    assert parsers.modprobe_blacklists_nouveau(text) is expected


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        ("root=/dev/sda1 modprobe.blacklist=nouveau quiet", True),
        ("root=/dev/sda1 modprobe.blacklist=floppy,nouveau", True),
        ("rd.driver.blacklist=nouveau", True),
        ("nouveau.modeset=0", True),
        ("nouveau.modeset=1", False),
        ("modprobe.blacklist=nouveaux", False),
    ],
)
def test_kernel_cmdline_blacklist(cmdline, expected):
    assert parsers.cmdline_blacklists_nouveau(cmdline) is expected


def test_ldconfig_cache_prefers_the_64_bit_library_directory():
    text = (
        "1234 libs found in cache `/etc/ld.so.cache'\n"
        "\tlibnvidia-ml.so.1 (libc6) => /usr/lib/i386-linux-gnu/libnvidia-ml.so.1\n"
        "\tlibnvidia-ml.so.1 (libc6,x86-64) => /opt/driver/lib/libnvidia-ml.so.1\n"
        "\tlibnvidia-ml.so (libc6,x86-64) => /opt/driver/lib/libnvidia-ml.so\n"
        "\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6\n"
    )

    assert parsers.parse_ldconfig_nvml(text) == ["/opt/driver/lib", "/usr/lib/i386-linux-gnu"]


def test_nvml_version_is_read_from_the_versioned_file_name():
    names = ["libnvidia-ml.so", "libnvidia-ml.so.1", "libnvidia-ml.so.580.159.04", "libc.so.6"]

    assert parsers.nvml_version_from_names(names) == "580.159.04"
    assert parsers.nvml_version_from_names(["libnvidia-ml.so.1"]) is None


@pytest.mark.parametrize(
    ("library_dir", "root"),
    [
        ("/usr/lib/x86_64-linux-gnu", "/"),
        ("/usr/lib64", "/"),
        ("/usr/local/nvidia/lib64", "/usr/local/nvidia"),
        ("/run/nvidia/driver/usr/lib/x86_64-linux-gnu", "/run/nvidia/driver"),
        ("/nix/store/abc-nvidia-x11-580.159.04/lib", "/nix/store/abc-nvidia-x11-580.159.04"),
    ],
)
def test_driver_root_is_the_prefix_above_the_library_directory(library_dir, root):
    assert parsers.driver_root_of(library_dir) == root


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490\n", "2.1.4"),
        ("containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-5\n", "1.7.24"),
        ("containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da\n", "1.7.27"),
        ("crio version 1.30.4\n", "1.30.4"),
        ("Version:        1.31.1\nGitCommit:      abc\n", "1.31.1"),
        ("", None),
    ],
)
def test_runtime_version_output(output, version):
    assert parsers.parse_runtime_version(output) == version


@pytest.mark.parametrize(
    ("text", "version"),
    [
        (None, 2),
        ("", 2),
        ("  \n", 2),
        ('root = "/var/lib/containerd"\n[plugins.cri]\n', 1),
        ("version = 2\n[plugins]\n", 2),
        ('version = 3\n[plugins."io.containerd.cri.v1.runtime"]\n', 3),
        ('[plugins.x]\nversion = 3\n', 1),
    ],
)
def test_containerd_config_schema_version(text, version):
    assert parsers.containerd_config_version(text) == version
    assert parsers.containerd_config_version_by_regex(text) == version


def test_containerd_config_with_non_integer_version_is_rejected():
    with pytest.raises(ParseError, match="integer top-level 'version'"):
        parsers.containerd_config_version('version = "3"\n')


def test_cdi_kind_from_json_and_yaml():
    assert parsers.cdi_spec_kind('{"kind": "nvidia.com/gpu"}', True) == "nvidia.com/gpu"
    assert parsers.cdi_spec_kind("cdiVersion: 0.5.0\nkind: nvidia.com/gpu\n", False) == "nvidia.com/gpu"
    assert parsers.cdi_spec_kind("cdiVersion: 0.5.0\n", False) is None
    with pytest.raises(ParseError, match="not valid JSON"):
        parsers.cdi_spec_kind("{", True)


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n', "debian"),
        ("ID=debian\n", "debian"),
        ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', "redhat"),
        ("ID=amzn\nID_LIKE=\"centos rhel fedora\"\n", "redhat"),
        ('ID="opensuse-leap"\nID_LIKE="suse opensuse"\n', "suse"),
        ("ID=arch\n", None),
    ],
)
def test_os_family_from_os_release(text, family):
    assert parsers.parse_os_release(text)["family"] == family


def test_real_h200_xml_values_match_the_text_report_of_the_same_host():
    text_report = (H200_FIXTURES / "nvidia-smi-q.xml").read_text()
    xml = parsers.parse_nvidia_smi_xml(text_report)

    gpu = xml["gpus"][0]
    assert xml["driver_version"] == "580.159.04"
    assert xml["cuda_version"] == "13.0"
    assert gpu["pci_address"] == "0000:00:06.0"
    assert gpu["uuid"] == "GPU-f7c97444-05e0-ca40-86a8-bba4267c92a0"
    assert gpu["memory_total_mib"] == 143771
    assert gpu["architecture"] == "Hopper"
    assert gpu["mig_mode_current"] == "disabled"
    assert gpu["mig_mode_pending"] == "disabled"
    assert gpu["mig_device_count"] == 0
    assert gpu["persistence_mode"] is True
    assert gpu["compute_capability"] is None  # the 580 XML does not carry it


def test_nvidia_smi_xml_mig_devices_and_compute_cap_are_read_when_present():
    text = (
        "<nvidia_smi_log><driver_version>570.1</driver_version><gpu id=\"00000000:3B:00.0\">"
        "<compute_cap>8.0</compute_cap><mig_mode><current_mig>Enabled</current_mig>"
        "<pending_mig>Enabled</pending_mig></mig_mode>"
        "<mig_devices><mig_device/><mig_device/></mig_devices></gpu></nvidia_smi_log>"
    )

    gpu = parsers.parse_nvidia_smi_xml(text)["gpus"][0]

    assert gpu["pci_address"] == "0000:3b:00.0"
    assert gpu["compute_capability"] == "8.0"
    assert gpu["mig_mode_current"] == "enabled"
    assert gpu["mig_device_count"] == 2
    assert gpu["memory_total_mib"] is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "found nothing"),
        ("NVIDIA-SMI has failed", "not valid XML"),
        ("<other/>", "expected a <nvidia_smi_log> document"),
    ],
)
def test_unusable_nvidia_smi_xml_says_why(text, reason):
    with pytest.raises(ParseError, match=reason):
        parsers.parse_nvidia_smi_xml(text)


def test_first_line_skips_blank_output():
    assert parsers.first_line("\n\n", "  Failed to initialize NVML: Driver/library version mismatch\n") == (
        "Failed to initialize NVML: Driver/library version mismatch"
    )
    assert parsers.first_line("", None) is None
