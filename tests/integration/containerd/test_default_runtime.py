# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A containerd that cannot start any container is refused by the decision, with the fix.

The owner's systemd snippet, a runc table with only its options
(``SystemdCgroup = true``), replaces containerd's built-in runc whole before 2.1:
its ``runtime_type`` is empty and every pod fails with "container.Runtime.Name
must be set" (kubeadm init then waits for an API server that never starts). Here
the real `containerd -c FILE config dump` of each version is what gpu_facts reads,
and the decision (kubegpu.nvidia.node_decision) reads gpu_facts.

Binaries: $KUBEGPU_CONTAINERD_BIN_DIR/<version>/containerd, or the cache written by
scripts/fetch-containerd.sh (.cache/containerd/<version>/containerd).
"""

from __future__ import annotations

import pathlib
import subprocess

import pytest
from test_config_dump import VERSIONS, containerd

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import runtime_cgroups
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.collect import RootReader
from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import CONTAINERD_CRI_PLUGINS
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_decision import DecisionError, decide_node

pytestmark = pytest.mark.containerd

CONFIG = "/etc/containerd/config.toml"


def owner_config(version: str, runtime_type: bool) -> str:
    """The systemd snippet as an owner writes it, in the schema of the version."""
    schema = 3 if version.startswith("2.") else 2
    table = f'plugins."{CONTAINERD_CRI_PLUGINS[schema]}".containerd.runtimes.runc'
    lines = [f"version = {schema}", f"[{table}]"]
    if runtime_type:
        lines.append('  runtime_type = "io.containerd.runc.v2"')
    lines += [f"[{table}.options]", "  SystemdCgroup = true", ""]
    return "\n".join(lines)


def node_facts(tmp_path: pathlib.Path, version: str, text: str) -> dict:
    """ansible_facts.nvidia of a GPU node whose containerd reads `text`, as gpu_facts reads it on a live root."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    binary = str(containerd(version))

    def run_command(argv):
        assert argv == [binary, "config", "dump"], argv
        proc = subprocess.run([binary, "-c", str(path), "config", "dump"], capture_output=True, text=True,
                              timeout=60, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    reader = RootReader("/")
    found = runtime_cgroups.containerd_cgroup_driver(reader, binary, run_command, CONFIG, text)
    assert reader.errors == []
    return {
        "gpu_count": 1,
        "gpus": [{"name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-01994f95-1b6d-3067-7922-ad1e43f91c8c"}],
        "driver": {"loaded": True, "version": "580.159.04"},
        "driver_root": {"found": True, "root": "/"},
        "runtimes": {
            "containerd": dict({"installed": True, "path": binary, "version": version, "config_path": CONFIG}, **found),
            "crio": {"installed": False, "path": None, "version": None},
        },
        "mig": {"enabled_count": 0},
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_the_systemd_snippet_without_runtime_type_is_refused_before_2_1(tmp_path, version):
    facts = node_facts(tmp_path, version, owner_config(version, runtime_type=False))
    if version.startswith("2."):
        # 2.1 merges the file's runc into the built-in one key by key: it keeps its runtime_type.
        assert facts["runtimes"]["containerd"]["default_runtime"]["runtime_type"] == "io.containerd.runc.v2"
        assert decide_node(facts, host="gpu-a")["cgroup_driver"] == "systemd"
        return
    with pytest.raises(DecisionError) as refused:
        decide_node(facts, host="gpu-a")
    message = str(refused.value)
    assert message.startswith("containerd on gpu-a cannot start any container: its default runtime 'runc' has no "
                              "runtime_type")
    assert ('add runtime_type = "io.containerd.runc.v2" to '
            '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc] there') in message
    assert CONFIG in message


@pytest.mark.parametrize("version", VERSIONS)
def test_the_snippet_with_runtime_type_passes_with_the_systemd_driver(tmp_path, version):
    facts = node_facts(tmp_path, version, owner_config(version, runtime_type=True))
    assert decide_node(facts, host="gpu-a")["cgroup_driver"] == "systemd"


def test_the_controller_refuses_from_the_dump_a_node_without_tomllib_sends(tmp_path):
    facts = node_facts(tmp_path, "1.7.24", owner_config("1.7.24", runtime_type=False))
    binary = facts["runtimes"]["containerd"]["path"]
    dump = subprocess.run([binary, "-c", str(tmp_path / "config.toml"), "config", "dump"], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    # What gpu_facts sends where the node's Python has no tomllib: the dump's text, no driver, no default runtime.
    facts["runtimes"]["containerd"].update(cgroup_driver=None, cgroup_driver_source=None, default_runtime=None,
                                           config_texts=[{"path": runtime_cgroups.CONFIG_DUMP_PATH, "text": dump}])
    with pytest.raises(DecisionError, match="its default runtime 'runc' has no runtime_type"):
        decide_node(facts, host="gpu-a")


def test_a_runtime_this_run_installs_is_not_refused(tmp_path):
    # The collection writes that containerd's configuration itself.
    facts = node_facts(tmp_path, "1.7.24", owner_config("1.7.24", runtime_type=False))
    assert decide_node(facts, {"installed_runtime": "containerd"}, host="gpu-a")["runtime"] == "containerd"
