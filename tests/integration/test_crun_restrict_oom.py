"""The crun wrapper of the kubernetes test's CRI-O worker
(tests/integration/kubernetes/node/crun-restrict-oom.py): what it leaves of a
container's spec on a node that may not lower oom_score_adj nor hold
CAP_SYS_RESOURCE, as containerd's restrict_oom_score_adj does."""

import importlib.machinery
import importlib.util
import json
from pathlib import Path

import pytest

WRAPPER = Path(__file__).parent / "kubernetes" / "node" / "crun-restrict-oom.py"


@pytest.fixture
def wrapper(monkeypatch):
    loader = importlib.machinery.SourceFileLoader("crun_restrict_oom", str(WRAPPER))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    # The build machine's containers: oom_score_adj 0, every capability but SYS_RESOURCE (bit 24).
    bounding = (1 << 41) - 1 & ~(1 << 24)
    held = {"CAP_" + name for number, name in enumerate(module.CAPABILITIES) if bounding >> number & 1}
    monkeypatch.setattr(module, "own_limits", lambda: (0, held))
    return module


def _bundle(tmp_path, process):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ociVersion": "1.0.2", "process": process}))
    return config


def test_a_privileged_node_critical_container_gets_what_the_node_holds(wrapper, tmp_path):
    caps = ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE", "CAP_BPF"]
    config = _bundle(tmp_path, {"args": ["kube-proxy"], "oomScoreAdj": -997,
                                "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}})

    wrapper.restrict(str(config), ["process"])

    process = json.loads(config.read_text())["process"]
    assert process["oomScoreAdj"] == 0
    for kind in ("bounding", "effective", "permitted"):
        assert process["capabilities"][kind] == ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_BPF"]
    assert process["args"] == ["kube-proxy"]


def test_a_spec_within_the_limits_is_left_byte_for_byte(wrapper, tmp_path):
    config = _bundle(tmp_path, {"oomScoreAdj": 1000, "capabilities": {"bounding": ["CAP_KILL"]}})
    before = config.read_bytes()

    wrapper.restrict(str(config), ["process"])

    assert config.read_bytes() == before


def test_exec_s_process_file_is_restricted_too(wrapper, tmp_path, monkeypatch):
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["sh"], "oomScoreAdj": -998,
                                   "capabilities": {"effective": ["CAP_SYS_RESOURCE", "CAP_NET_ADMIN"]}}))
    calls = []
    monkeypatch.setattr(wrapper.os, "execv", lambda path, argv: calls.append((path, argv)))
    monkeypatch.setattr(wrapper.sys, "argv", ["crun", "--root", "/run/crun", "exec", "--process", str(process), "abc"])

    wrapper.main()

    restricted = json.loads(process.read_text())
    assert restricted["oomScoreAdj"] == 0 and restricted["capabilities"]["effective"] == ["CAP_NET_ADMIN"]
    # crun itself runs with the caller's arguments, unchanged.
    assert calls == [(wrapper.CRUN, [wrapper.CRUN, "--root", "/run/crun", "exec", "--process", str(process), "abc"])]


def test_create_finds_the_bundle_as_conmon_passes_it(wrapper, tmp_path, monkeypatch):
    config = _bundle(tmp_path, {"oomScoreAdj": -997})
    monkeypatch.setattr(wrapper.os, "execv", lambda path, argv: None)
    monkeypatch.setattr(wrapper.sys, "argv", ["crun", "--systemd-cgroup", "create", "--bundle", str(tmp_path),
                                              "--pid-file", str(tmp_path / "pid"), "abc"])

    wrapper.main()

    assert json.loads(config.read_text())["process"]["oomScoreAdj"] == 0
