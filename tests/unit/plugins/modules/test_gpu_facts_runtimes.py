# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gpu_facts on the live root with a containerd on PATH: its cgroup driver from one real `config dump` call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from pathlib import Path

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import parsers
from ansible_collections.kubegpu.nvidia.plugins.modules import gpu_facts
from ansible_collections.kubegpu.nvidia.tests.unit.plugins.modules.module_run import run_module

DUMP_2_1_9 = Path(__file__).resolve().parents[2] / "fixtures" / "containerd" / "config-default-2.1.9.toml"

# Answers as containerd does; every call is logged, one line each.
FAKE_CONTAINERD = """#!/bin/sh
echo "$*" >> "{log}"
case "$*" in
  --version) echo "containerd github.com/containerd/containerd/v2 v2.1.9 0123456789abcdef" ;;
  "config dump") {dump} ;;
  *) echo "containerd: unexpected arguments: $*" >&2; exit 3 ;;
esac
"""


def _fake_containerd(tmp_path, monkeypatch, dump_command):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    fake = bin_dir / "containerd"
    fake.write_text(FAKE_CONTAINERD.format(log=log, dump=dump_command))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", "{0}:{1}".format(bin_dir, "/usr/bin:/bin"))
    return fake, log


def test_live_containerd_cgroup_driver_comes_from_its_config_dump(tmp_path, monkeypatch, capsys):
    dump = tmp_path / "dump.toml"
    text = DUMP_2_1_9.read_text()
    assert text.count("SystemdCgroup = false") == 1
    dump.write_text(text.replace("SystemdCgroup = false", "SystemdCgroup = true"))
    fake, log = _fake_containerd(tmp_path, monkeypatch, 'cat "{0}"'.format(dump))

    code, result = run_module(gpu_facts, {"nvidia_smi": False}, capsys)

    assert code == 0
    nvidia = result["ansible_facts"]["nvidia"]
    containerd = nvidia["runtimes"]["containerd"]
    assert containerd["path"] == str(fake)
    assert containerd["version"] == "2.1.9"
    assert containerd["cgroup_driver"] == "systemd"
    assert containerd["cgroup_driver_source"] == "config dump"
    assert log.read_text().splitlines() == ["--version", "config dump"]
    assert nvidia["init_systemd"] is os.path.isdir("/run/systemd/system")


def test_hanging_config_dump_is_stopped_after_command_timeout_and_reported(tmp_path, monkeypatch, capsys):
    fake, dummy = _fake_containerd(tmp_path, monkeypatch, "exec sleep 600")

    code, result = run_module(gpu_facts, {"nvidia_smi": False, "command_timeout": 1}, capsys)

    assert code == 0
    nvidia = result["ansible_facts"]["nvidia"]
    assert nvidia["runtimes"]["containerd"]["cgroup_driver"] is None
    assert nvidia["runtimes"]["containerd"]["cgroup_driver_source"] is None
    assert {
        "path": "/etc/containerd/config.toml",
        "reason": "{0} config dump did not answer in time and was stopped (command_timeout)".format(fake),
    } in nvidia["read_errors"]


def test_without_tomllib_the_config_dump_is_sent_to_the_controller_not_parsed(tmp_path, monkeypatch, capsys):
    # The node's Python before 3.11: the module parses no TOML and returns the dump's text instead.
    monkeypatch.setattr(parsers, "tomllib", None)
    dump = tmp_path / "dump.toml"
    dump.write_text(DUMP_2_1_9.read_text())
    _fake_containerd(tmp_path, monkeypatch, 'cat "{0}"'.format(dump))

    code, result = run_module(gpu_facts, {"nvidia_smi": False}, capsys)

    assert code == 0
    containerd = result["ansible_facts"]["nvidia"]["runtimes"]["containerd"]
    assert (containerd["cgroup_driver"], containerd["cgroup_driver_source"]) == (None, None)
    assert containerd["config_texts"] == [{"path": "containerd config dump", "text": DUMP_2_1_9.read_text()}]


def test_with_tomllib_no_text_is_sent(tmp_path, monkeypatch, capsys):
    _fake_containerd(tmp_path, monkeypatch, 'cat "{0}"'.format(DUMP_2_1_9))

    code, result = run_module(gpu_facts, {"nvidia_smi": False}, capsys)

    assert code == 0
    containerd = result["ansible_facts"]["nvidia"]["runtimes"]["containerd"]
    assert (containerd["cgroup_driver"], containerd["config_texts"]) == ("cgroupfs", [])
