# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gpu_facts through the real AnsibleModule: argument handling, check mode, the result shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from pathlib import Path

import pytest
import yaml

from ansible_collections.kubegpu.nvidia.plugins.modules import gpu_facts
from ansible_collections.kubegpu.nvidia.tests.unit.deadline import deadline
from ansible_collections.kubegpu.nvidia.tests.unit.plugins.module_utils.conftest import (
    FakeRoot,
    build_h200_root,
)
from ansible_collections.kubegpu.nvidia.tests.unit.plugins.modules.module_run import run_module

H200_XML = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia-h200" / "nvidia-smi-q.xml"


def test_module_returns_the_h200_under_ansible_facts_nvidia_in_check_mode(tmp_path, capsys):
    root = build_h200_root(tmp_path / "h200")

    code, result = run_module(
        gpu_facts, {"root": str(root), "nvidia_smi_xml": str(H200_XML), "_ansible_check_mode": True}, capsys
    )

    assert code == 0
    assert result["changed"] is False
    assert "failed" not in result
    nvidia = result["ansible_facts"]["nvidia"]
    assert nvidia["gpu_count"] == 1
    assert nvidia["gpus"][0]["uuid"] == "GPU-f7c97444-05e0-ca40-86a8-bba4267c92a0"
    assert nvidia["driver"]["kernel_module_type"] == "open"
    assert nvidia["nvidia_smi"]["cuda_version"] == "13.0"


def test_module_on_a_gpu_less_root_succeeds_with_zero_gpus(tmp_path, capsys):
    root = FakeRoot(tmp_path / "empty")
    root.other_device("0000:00:01.0")

    code, result = run_module(gpu_facts, {"root": str(root), "nvidia_smi": False}, capsys)

    assert code == 0
    assert result["ansible_facts"]["nvidia"]["gpu_count"] == 0
    assert [f["id"] for f in result["ansible_facts"]["nvidia"]["findings"]] == ["no_gpu"]


def test_module_reports_garbage_xml_as_a_finding_not_a_failure(tmp_path, capsys):
    root = build_h200_root(tmp_path / "h200")
    garbage = tmp_path / "garbage.xml"
    garbage.write_text("<nvidia_smi_log><gpu>")

    code, result = run_module(gpu_facts, {"root": str(root), "nvidia_smi_xml": str(garbage)}, capsys)

    assert code == 0
    assert "failed" not in result
    ids = [f["id"] for f in result["ansible_facts"]["nvidia"]["findings"]]
    assert "nvidia_smi_failed" in ids and "read_errors" in ids


def test_module_rejects_an_unknown_option(capsys):
    code, result = run_module(gpu_facts, {"roots": "/"}, capsys)

    assert code == 1
    assert result["failed"] is True
    assert "roots" in result["msg"]


def test_module_fails_on_a_root_that_does_not_exist_naming_it(tmp_path, capsys):
    missing = tmp_path / "mnt" / "image"

    code, result = run_module(gpu_facts, {"root": str(missing), "nvidia_smi": False}, capsys)

    assert code == 1
    assert result["failed"] is True
    assert str(missing) in result["msg"] and "does not exist" in result["msg"]
    assert "ansible_facts" not in result


def test_every_returned_key_is_documented_in_return(tmp_path, capsys):
    root = build_h200_root(tmp_path / "h200")
    # Populate every list so its elements are checked too.
    root.nvml()
    root.nvswitch("0000:05:00.0")
    root.write("/etc/cdi/nvidia.yaml", "kind: nvidia.com/gpu\n")
    root.write("/etc/modprobe.d/nouveau.conf", "blacklist nouveau\n")
    root.pci_device("0000:09:00.0", "not-hex", "0x0000", "0x030000")
    dummy, result = run_module(gpu_facts, {"root": str(root), "nvidia_smi_xml": str(H200_XML)}, capsys)
    documented = yaml.safe_load(gpu_facts.RETURN)["ansible_facts"]["contains"]["nvidia"]["contains"]

    def undocumented(value, spec, prefix):
        missing = []
        for key, item in value.items():
            if key not in spec:
                missing.append(prefix + key)
                continue
            children = spec[key].get("contains")
            if children and isinstance(item, dict):
                missing += undocumented(item, children, prefix + key + ".")
            elif children and isinstance(item, list):
                for element in item:
                    missing += undocumented(element, children, prefix + key + "[].")
        return missing

    facts = result["ansible_facts"]["nvidia"]
    assert facts["nvswitches"] and facts["cdi"]["specs"] and facts["read_errors"] and facts["findings"]
    assert undocumented(facts, documented, "") == []
    assert set(documented) == set(facts)


def test_hanging_nvidia_smi_is_stopped_after_command_timeout_and_reported(tmp_path, capsys, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "nvidia-smi"
    fake.write_text("#!/bin/sh\nexec sleep 600\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", "{0}:{1}".format(bin_dir, "/usr/bin:/bin"))

    code, result = run_module(gpu_facts, {"command_timeout": 1}, capsys)

    assert code == 0
    smi = result["ansible_facts"]["nvidia"]["nvidia_smi"]
    assert smi["path"] == str(fake)
    assert smi["error"] == "{0} -q -x did not answer in time and was stopped (command_timeout)".format(fake)
    assert "nvidia_smi_failed" in [f["id"] for f in result["ansible_facts"]["nvidia"]["findings"]]


@pytest.mark.parametrize("limit", [0, -5])
def test_command_timeout_of_zero_or_less_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch, limit):
    # Before: 0 or less ran nvidia-smi with no bound, and a hanging one held the task for ever.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ran = tmp_path / "ran"
    fake = bin_dir / "nvidia-smi"
    fake.write_text("#!/bin/sh\ntouch {0}\nexec sleep 600\n".format(ran))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", "{0}:{1}".format(bin_dir, "/usr/bin:/bin"))

    with deadline(30, "gpu_facts with command_timeout %d" % limit):
        code, result = run_module(gpu_facts, {"command_timeout": limit}, capsys)

    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("command_timeout is %d: it must be at least 1 (seconds)" % limit)
    assert "Leave it out for the default of 60" in result["msg"]
    assert not ran.exists()
