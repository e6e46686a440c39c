# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The multi-GPU checks rehearsed on a fixture host: 4 A100 GPUs and 6 NVSwitches (tests/unit/fixtures/hgx_a100).

What a run on a real multi-GPU host checks, on the build machine: every GPU's
UUID, minor number and PCI address agree between gpu_facts and the CDI spec
made from its facts, and NVSwitches and Fabric Manager are reported. The
expected values come from the fixture files (nvidia-smi XML, /proc, /dev),
read here with the standard library, not from the code under test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi import discover as discovery
from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi.spec import build_spec, validate_spec
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import collect
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.findings import compute_findings
from ansible_collections.kubegpu.nvidia.tests.unit.fixtures.hgx_a100 import tree as hgx

NVSWITCH_CLASS = "0x068000"


def _from_xml():
    """{pci address (4-digit domain): (uuid, minor)} as nvidia-smi -q -x of the host lists them."""
    result = {}
    for gpu in ET.parse(str(hgx.XML)).getroot().findall("gpu"):
        bus_id = gpu.findtext("pci/pci_bus_id").lower()
        address = bus_id[4:] if len(bus_id.split(":")[0]) == 8 else bus_id
        result[address] = (gpu.findtext("uuid"), int(gpu.findtext("minor_number")))
    return result


def _from_proc():
    """The same, from /proc/driver/nvidia/gpus/*/information of the host."""
    result = {}
    for path, text in hgx.sections().items():
        if not path.startswith("/proc/driver/nvidia/gpus/"):
            continue
        fields = {k.strip(): v.strip() for k, dummy, v in (line.partition(":") for line in text.splitlines())}
        result[fields["Bus Location"]] = (fields["GPU UUID"], int(fields["Device Minor"]))
    return result


def _switch_addresses():
    lines = (hgx.FIXTURES / "sysfs-pci-devices.txt").read_text().splitlines()
    return sorted(line.split()[0].rsplit("/", 1)[1] for line in lines if line.split()[3:4] == [NVSWITCH_CLASS])


@pytest.fixture
def facts(tmp_path):
    root = hgx.build_root(tmp_path / "hgx")
    return collect.gather_facts(str(root), nvidia_smi_xml=str(hgx.XML))


def test_fixture_sources_agree_with_each_other_and_hold_four_gpus_out_of_minor_order():
    expected = _from_xml()

    assert expected == _from_proc()
    assert len(expected) == 4
    # Minor numbers not in PCI order: a join on position instead of address would show.
    minors_in_pci_order = [expected[address][1] for address in sorted(expected)]
    assert minors_in_pci_order != sorted(minors_in_pci_order)


def test_gpu_facts_reports_every_gpu_with_the_uuid_and_minor_of_its_pci_address(facts):
    expected = _from_xml()

    got = {g["pci_address"]: (g["uuid"], g["minor_number"]) for g in facts["gpus"]}

    assert got == expected
    assert facts["gpu_count"] == len(expected)
    assert {g["product_name"] for g in facts["gpus"]} == {"NVIDIA A100-SXM4-80GB"}
    assert [f["id"] for f in facts["findings"] if f["severity"] == "blocker"] == []


def test_cdi_spec_from_the_facts_gives_each_gpu_its_own_node_by_uuid_and_by_pci_order_index(facts, tmp_path):
    expected = _from_xml()
    driver = hgx.driver_tree(tmp_path / "cdi")

    inventory, warnings = discovery.discover(
        driver_root=str(driver.driver_root),
        dev_root=str(driver.dev_root),
        driver_version=hgx.VERSION,
        gpus=facts["gpus"],
        layout="hook_free",
    )
    spec = build_spec(inventory, "hook_free")
    validate_spec(spec)

    nodes = {d["name"]: [n["path"] for n in d["containerEdits"]["deviceNodes"]] for d in spec["devices"]}
    assert warnings == []
    assert len(spec["devices"]) == 2 * len(expected) + 1
    for index, address in enumerate(sorted(expected)):
        uuid, minor = expected[address]
        assert nodes[uuid] == ["/dev/nvidia%d" % minor], address
        # Index names follow PCI order, as NVML numbers GPUs by default.
        assert nodes[str(index)] == ["/dev/nvidia%d" % minor], address
    assert sorted(nodes["all"]) == sorted("/dev/nvidia%d" % minor for dummy, minor in expected.values())


def test_gpu_missing_its_device_node_is_left_out_of_the_cdi_spec_by_name(facts, tmp_path):
    expected = _from_xml()
    driver = hgx.driver_tree(tmp_path / "cdi")
    lost_uuid, lost_minor = expected["0000:0f:00.0"]
    (driver.dev_root / "dev" / ("nvidia%d" % lost_minor)).unlink()

    inventory, warnings = discovery.discover(
        driver_root=str(driver.driver_root),
        dev_root=str(driver.dev_root),
        driver_version=hgx.VERSION,
        gpus=facts["gpus"],
        layout="hook_free",
    )
    names = {d["name"] for d in build_spec(inventory, "hook_free")["devices"]}

    assert lost_uuid not in names
    assert {uuid for address, (uuid, dummy) in expected.items() if address != "0000:0f:00.0"} <= names
    assert len(warnings) == 1 and lost_uuid in warnings[0] and "nvidia-modprobe -c %d" % lost_minor in warnings[0]


def test_nvswitches_are_reported_with_their_driver_registration_and_device_nodes(facts):
    addresses = _switch_addresses()
    proc = hgx.sections()
    bios = {a: re.search(r"BIOS Version: (\S+)", proc["/proc/driver/nvidia-nvswitch/devices/%s/information" % a])
            .group(1) for a in addresses}

    assert facts["nvswitch_count"] == len(addresses) == 6
    assert [s["pci_address"] for s in facts["nvswitches"]] == addresses
    assert {s["name"] for s in facts["nvswitches"]} == {"NVIDIA NVSwitch (2nd generation, HGX A100)"}
    assert all(s["registered"] and s["driver"] == "nvidia-nvswitch" for s in facts["nvswitches"])
    assert {s["pci_address"]: s["bios_version"] for s in facts["nvswitches"]} == bios
    assert facts["nvswitch_device_nodes"] == sorted(n for n in hgx.dev_nodes() if n.startswith("nvidia-nvswitch"))


def test_nvswitch_the_driver_did_not_register_is_told_apart(tmp_path):
    root = hgx.build_root(tmp_path / "hgx")
    shutil.rmtree(str(root.host("/proc/driver/nvidia-nvswitch/devices/0000:c3:00.0")))

    facts = collect.gather_facts(str(root), nvidia_smi_xml=str(hgx.XML))

    unregistered = [s["pci_address"] for s in facts["nvswitches"] if not s["registered"]]
    assert unregistered == ["0000:c3:00.0"]
    assert [s["bios_version"] for s in facts["nvswitches"] if not s["registered"]] == [None]


def test_fabric_manager_is_reported_installed_and_enabled_and_its_state_is_not_asked_of_a_root(facts):
    assert facts["fabric_manager"] == {
        "needed": True,
        "installed": True,
        "binary_path": "/usr/bin/nv-fabricmanager",
        "service_path": "/lib/systemd/system/nvidia-fabricmanager.service",
        "enabled": True,
        # Only the node itself can answer systemctl: a root tree has no running systemd.
        "active_state": None,
    }


def test_fabric_manager_unit_not_enabled_is_reported(tmp_path):
    root = hgx.build_root(tmp_path / "hgx")
    root.host("/etc/systemd/system/multi-user.target.wants/nvidia-fabricmanager.service").unlink()

    facts = collect.gather_facts(str(root), nvidia_smi_xml=str(hgx.XML))

    assert facts["fabric_manager"]["enabled"] is False


def test_host_without_nvswitch_does_not_look_at_dev_for_switch_nodes(fake_root):
    fake_root.nvidia_gpu("0000:18:00.0")
    fake_root.write("/dev/nvidia-nvswitchctl", "")

    facts = collect.gather_facts(str(fake_root), nvidia_smi=False)

    assert facts["nvswitch_count"] == 0
    assert facts["nvswitch_device_nodes"] == []


class _Live:
    """A reader of the node itself, for the systemctl question (the unit's presence is given)."""

    is_live = True


@pytest.mark.parametrize(
    "answer, state",
    [
        ((0, "active\n", ""), "active"),
        ((3, "failed\n", ""), "failed"),
        ((3, "inactive\n", ""), "inactive"),
        ((124, "", ""), None),  # stopped by command_timeout
        ((1, "Failed to connect to bus: No such file or directory\n", ""), None),
    ],
)
def test_fabric_manager_state_is_the_word_systemctl_printed(answer, state):
    calls = []

    def run_command(argv):
        calls.append(argv)
        return answer

    got = collect._fabric_manager_state(_Live(), "/lib/systemd/system/nvidia-fabricmanager.service", run_command)

    assert got == state
    assert calls == [["systemctl", "is-active", "nvidia-fabricmanager.service"]]


def test_fabric_manager_state_is_not_asked_without_the_unit_or_when_systemctl_cannot_run():
    def refuse(argv):
        raise AssertionError("ran %s" % argv)

    def missing(argv):
        raise OSError(2, "No such file or directory")

    assert collect._fabric_manager_state(_Live(), None, refuse) is None
    assert collect._fabric_manager_state(_Live(), "/lib/systemd/system/nvidia-fabricmanager.service", missing) is None


def test_fabric_manager_not_running_on_an_nvswitch_host_is_a_blocker_naming_the_unit(facts):
    facts["fabric_manager"]["active_state"] = "failed"

    found = {f["id"]: f for f in compute_findings(facts)}

    assert found["nvswitch_fabric_manager_inactive"]["severity"] == "blocker"
    assert "6 NVSwitch devices" in found["nvswitch_fabric_manager_inactive"]["message"]
    assert "systemctl enable --now nvidia-fabricmanager.service" in found["nvswitch_fabric_manager_inactive"]["fix"]
    assert "nvswitch_fabric_manager_missing" not in found


def test_fabric_manager_active_is_no_finding(facts):
    facts["fabric_manager"]["active_state"] = "active"

    assert "nvswitch_fabric_manager_inactive" not in {f["id"] for f in compute_findings(facts)}
