# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_findings: a pure function from a facts dict to {id, severity, message, fix}."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.findings import (
    FINDING_IDS,
    SEVERITIES,
    compute_findings,
)

HEALTHY = {
    "gpus": [
        {"pci_address": "0000:18:00.0", "name": "NVIDIA H100 80GB HBM3", "device_id": "0x2330", "driver": "nvidia"},
    ],
    "nvswitch_count": 0,
    "driver": {"loaded": True, "version": "570.133.20", "installed": True, "installed_not_loaded": False},
    "driver_root": {"library_dir": "/usr/lib/x86_64-linux-gnu", "nvml_version": "570.133.20"},
    "kernel": {"release": "6.8.0-45-generic", "headers_installed": True},
    "os": {"family": "debian"},
    "nouveau": {"loaded": False, "blacklisted": True},
    "secure_boot": {"enabled": True},
    "fabric_manager": {"installed": False},
    "runtimes": {"containerd": {"installed": False, "config_exists": False}},
    "mig": {"pending_change_gpus": []},
    "nvidia_smi": {"error": None},
    "read_errors": [],
}

# Facts of a node before the driver role ran: nothing loaded, nothing blacklisted.
FRESH = {
    "gpus": [{"pci_address": "0000:18:00.0", "name": "NVIDIA H100 80GB HBM3", "device_id": "0x2330", "driver": None}],
    "driver": {"loaded": False, "version": None, "installed": False, "installed_not_loaded": False},
    "kernel": {"release": "6.1.0-28-amd64", "headers_installed": True},
    "os": {"family": "debian"},
    "nouveau": {"loaded": False, "blacklisted": False},
    "secure_boot": {"enabled": False},
}


def _with(base, **changes):
    facts = copy.deepcopy(base)
    for dotted, value in changes.items():
        target = facts
        keys = dotted.split("__")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return facts


def _by_id(facts):
    return {f["id"]: f for f in compute_findings(facts)}


def test_healthy_node_with_secure_boot_and_loaded_driver_has_no_findings():
    assert compute_findings(HEALTHY) == []


def test_no_gpu_is_the_only_finding_for_a_gpu_less_node():
    facts = {"gpus": [], "nouveau": {"loaded": False, "blacklisted": False}, "driver": {"loaded": False}}

    assert [(f["id"], f["severity"]) for f in compute_findings(facts)] == [("no_gpu", "info")]


def test_fresh_node_only_hints_that_nouveau_is_not_blacklisted_and_gpu_unbound():
    assert {i: f["severity"] for i, f in _by_id(FRESH).items()} == {
        "nouveau_not_blacklisted": "info",
        "gpu_not_bound": "warning",
    }


def test_nouveau_not_blacklisted_is_silent_once_nvidia_is_loaded():
    facts = _with(HEALTHY, nouveau__blacklisted=False)

    assert "nouveau_not_blacklisted" not in _by_id(facts)


def test_nouveau_loaded_warns_that_the_driver_role_will_reboot():
    finding = _by_id(_with(FRESH, nouveau__loaded=True))["nouveau_loaded"]

    assert finding["severity"] == "warning"
    assert finding["message"] == "nouveau is loaded: the driver role will blacklist it and reboot."


def test_secure_boot_blocks_only_while_the_driver_is_not_loaded():
    blocked = _by_id(_with(FRESH, secure_boot__enabled=True))
    unknown = _by_id(_with(FRESH, secure_boot__enabled=None))

    assert blocked["secure_boot_unsigned_modules"]["severity"] == "blocker"
    assert "mokutil --import" in blocked["secure_boot_unsigned_modules"]["fix"]
    assert "secure_boot_unsigned_modules" not in unknown
    assert "secure_boot_unsigned_modules" not in _by_id(HEALTHY)


@pytest.mark.parametrize(
    ("family", "package"),
    [
        ("debian", "linux-headers-6.1.0-28-amd64"),
        ("redhat", "kernel-devel-6.1.0-28-amd64"),
        (None, "linux-headers-6.1.0-28-amd64 (Debian/Ubuntu) or kernel-devel-6.1.0-28-amd64 (RHEL family)"),
    ],
)
def test_kernel_headers_missing_fix_names_the_distribution_package(family, package):
    facts = _with(FRESH, kernel__headers_installed=False, os__family=family)

    finding = _by_id(facts)["kernel_headers_missing"]

    assert finding["severity"] == "warning"
    assert "Install %s " % package in finding["fix"]


def test_kernel_headers_are_irrelevant_once_the_driver_is_loaded():
    assert "kernel_headers_missing" not in _by_id(_with(HEALTHY, kernel__headers_installed=False))


def test_gpu_not_bound_names_each_gpu_and_its_driver():
    facts = _with(HEALTHY)
    facts["gpus"].append({"pci_address": "0000:2a:00.0", "name": None, "device_id": "0x9999", "driver": "vfio-pci"})

    finding = _by_id(facts)["gpu_not_bound"]

    assert finding["message"] == (
        "1 of 2 GPUs are not bound to the nvidia driver: 0x9999 at 0000:2a:00.0 (bound to vfio-pci)."
    )


def test_installed_not_loaded_names_the_module_path():
    facts = _with(FRESH, driver__installed_not_loaded=True, driver__module_path="/lib/modules/x/updates/dkms/nvidia.ko")

    finding = _by_id(facts)["driver_installed_not_loaded"]

    assert "/lib/modules/x/updates/dkms/nvidia.ko" in finding["message"]
    assert finding["severity"] == "warning"


def test_library_mismatch_is_a_blocker_and_same_versions_are_not():
    mismatch = _by_id(_with(HEALTHY, driver_root__nvml_version="580.95.05"))

    assert mismatch["driver_library_mismatch"]["severity"] == "blocker"
    assert "driver_library_mismatch" not in _by_id(HEALTHY)
    assert "driver_library_mismatch" not in _by_id(_with(HEALTHY, driver_root__nvml_version=None))


def test_fabric_manager_missing_blocks_only_with_nvswitches_and_a_loaded_driver():
    with_switches = _with(HEALTHY, nvswitch_count=4)
    driver_not_loaded = _with(with_switches, driver__loaded=False)
    installed = _with(with_switches, fabric_manager__installed=True)

    assert _by_id(with_switches)["nvswitch_fabric_manager_missing"]["severity"] == "blocker"
    assert "nvidia-fabricmanager-570" in _by_id(with_switches)["nvswitch_fabric_manager_missing"]["fix"]
    assert "nvswitch_fabric_manager_missing" not in _by_id(driver_not_loaded)
    assert "nvswitch_fabric_manager_missing" not in _by_id(installed)


@pytest.mark.parametrize(
    ("version", "words"),
    [(1, "legacy format"), (2, "containerd 1.x"), (3, "containerd 2.x")],
)
def test_containerd_config_version_is_an_info_naming_the_generation(version, words):
    facts = _with(
        HEALTHY,
        runtimes__containerd={
            "installed": True,
            "config_exists": True,
            "config_path": "/etc/containerd/config.toml",
            "config_version": version,
        },
    )

    finding = _by_id(facts)["containerd_config_version"]

    assert finding["severity"] == "info"
    assert finding["message"].startswith("containerd config /etc/containerd/config.toml is version %d (" % version)
    assert words in finding["message"]


def test_mig_pending_change_and_nvidia_smi_failure_are_warnings():
    facts = _with(
        HEALTHY,
        mig__pending_change_gpus=["0000:18:00.0"],
        nvidia_smi__error="Failed to initialize NVML: Driver/library version mismatch",
    )

    found = _by_id(facts)

    assert found["mig_pending_change"]["severity"] == "warning"
    assert found["nvidia_smi_failed"]["message"] == (
        "nvidia-smi failed: Failed to initialize NVML: Driver/library version mismatch."
    )


def test_read_errors_list_each_path_and_reason():
    facts = _with(HEALTHY, read_errors=[{"path": "/etc/cdi/x.json", "reason": "not valid JSON"}])

    finding = _by_id(facts)["read_errors"]

    assert finding["severity"] == "warning"
    assert "/etc/cdi/x.json: not valid JSON" in finding["message"]


def test_every_finding_is_a_complete_sentence_with_a_fix_and_a_known_id():
    everything = _with(
        FRESH,
        nouveau__loaded=True,
        secure_boot__enabled=True,
        kernel__headers_installed=False,
        driver__installed_not_loaded=True,
        mig={"pending_change_gpus": ["0000:18:00.0"]},
        nvidia_smi={"error": "boom"},
        read_errors=[{"path": "/x", "reason": "y"}],
        runtimes={"containerd": {"installed": True, "config_exists": False, "config_path": "/etc/c.toml"}},
    )
    loaded_side = _with(HEALTHY, nvswitch_count=2, driver_root__nvml_version="1.0")

    fabric_manager_down = _with(
        HEALTHY, nvswitch_count=2, fabric_manager={"installed": True, "active_state": "failed"}
    )

    findings = compute_findings(everything) + compute_findings(loaded_side) + compute_findings({"gpus": []})
    findings += compute_findings(fabric_manager_down)

    assert {f["id"] for f in findings} == set(FINDING_IDS)
    for finding in findings:
        assert set(finding) == {"id", "severity", "message", "fix"}
        assert finding["severity"] in SEVERITIES
        assert finding["message"].endswith(".") and finding["fix"].endswith(".")
        # Sentences start with a capital, a count or a lower-case tool name.
        message = finding["message"]
        assert not message[0].islower() or message.startswith(("nouveau", "nvidia-smi", "containerd"))


def test_findings_do_not_modify_the_facts():
    facts = _with(FRESH, secure_boot__enabled=True)
    before = copy.deepcopy(facts)

    compute_findings(facts)

    assert facts == before
