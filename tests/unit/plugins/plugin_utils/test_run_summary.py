# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table that ends every run: one row per node from what the node stage left in its variables."""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._run_summary import summary_lines, summary_rows

H200_FACTS = {
    "gpu_count": 2,
    "gpus": [{"name": "NVIDIA H200"}, {"name": "NVIDIA H200"}],
    "driver": {"loaded": True, "version": "580.159.04"},
    "runtimes": {"containerd": {"installed": True, "version": "1.7.24"}, "crio": {"installed": False}},
}
SKIPPED = {"skipped": True, "skip_reason": "Conditional result was False", "changed": False}


def gpu_host(**extra):
    host = {
        "inventory_hostname": "gpu-a",
        "ansible_facts": {"nvidia": H200_FACTS},
        "kubegpu_node": {"runtime": "containerd", "runtime_version": "1.7.24", "mode": "cdi"},
        "nvidia_driver_plan": {"action": "skip"},
        "__driver_install": None,
        "container_toolkit_needed": False,
        "container_toolkit_selected_mode": "cdi",
        "container_toolkit_install": SKIPPED,
        "cdi_spec_result": {"changed": True, "path": "/etc/cdi/nvidia.json", "spec": {"kind": "nvidia.com/gpu"}},
        "container_runtime_change": {"changed": False, "path": "/etc/containerd/config.toml"},
    }
    host.update(extra)
    return host


def test_gpu_node_row_says_what_it_has_what_changed_and_what_was_skipped_and_why():
    rows = summary_rows([gpu_host()], [{"node": "gpu-a", "result": "passed"}])

    assert rows == [{
        "node": "gpu-a",
        "gpus": "2x NVIDIA H200",
        "driver": "580.159.04",
        "runtime": "containerd 1.7.24",
        "mode": "cdi",
        "cdi_spec": "/etc/cdi/nvidia.json (written)",
        "validation": "passed",
        "changed": "cdi_spec",
        "skipped": "driver: already loaded; container_toolkit: not needed in cdi mode",
    }]


def test_second_run_reports_nothing_changed_and_an_unchanged_spec():
    host = gpu_host(cdi_spec_result={"changed": False, "path": "/etc/cdi/nvidia.json", "spec": {}})

    row = summary_rows([host])[0]

    assert (row["changed"], row["cdi_spec"], row["validation"]) == ("nothing", "/etc/cdi/nvidia.json (unchanged)", "-")


def test_host_without_gpu_says_the_node_stage_left_it_as_it_was():
    host = {
        "inventory_hostname": "cpu-1",
        "ansible_facts": {"nvidia": {"gpu_count": 0, "gpus": [], "driver": {"loaded": False}, "runtimes": {}}},
        "kubegpu_node_stage_skipped": "no NVIDIA GPU, nothing changed",
    }

    row = summary_rows([host])[0]

    assert (row["gpus"], row["driver"], row["runtime"], row["changed"]) == ("none", "not loaded", "none", "-")
    assert row["skipped"] == "node stage: no NVIDIA GPU, nothing changed"


def test_host_the_node_stage_never_reached_says_so():
    row = summary_rows([{"inventory_hostname": "gpu-b"}])[0]

    assert row["gpus"] == "-" and row["skipped"] == "node stage: not run on this host"


def test_validation_result_is_matched_by_kubernetes_node_name():
    host = gpu_host(kubegpu_node_name="ip-10-0-0-5")

    row = summary_rows([host], [{"node": "ip-10-0-0-5", "result": "insufficient_gpu"}])[0]

    assert row["validation"] == "insufficient_gpu"


def test_lines_are_a_header_a_rule_and_aligned_rows():
    lines = summary_lines(summary_rows([gpu_host(), {"inventory_hostname": "gpu-bbbbbb"}]))

    assert lines[0].split("  ")[0] == "NODE" and lines[0].endswith("SKIPPED")
    assert set(lines[1]) == {"-", " "}
    assert lines[2].startswith("gpu-a ") and lines[3].startswith("gpu-bbbbbb ")
    assert lines[2].index("2x NVIDIA H200") == lines[0].index("GPUS") == lines[3].index("-  ")


def test_an_inventory_without_gpu_nodes_says_so():
    assert summary_lines([])[-1] == "(no GPU node in this run's inventory)"


def test_node_that_did_not_answer_says_unreachable_and_the_connections_message():
    host = {"inventory_hostname": "gpu-c", "kubegpu_node_stopped": {
        "kind": "unreachable",
        "message": "timed out waiting for ping module test: Failed to connect to the host via ssh: "
                   "ssh: connect to host 10.0.0.9 port 22: No route to host"}}

    row = summary_rows([host])[0]

    assert row["skipped"] == ("unreachable: Failed to connect to the host via ssh: "
                              "ssh: connect to host 10.0.0.9 port 22: No route to host")
    assert (row["gpus"], row["changed"]) == ("-", "-")


def test_node_preflight_refused_says_stopped_with_the_first_line_of_the_refusal():
    facts = {"gpu_count": 0, "gpus": [], "driver": {"loaded": False}, "runtimes": {}}
    host = {"inventory_hostname": "gpu-d", "ansible_facts": {"nvidia": facts},
            "kubegpu_node_stopped": {"kind": "refused",
                                     "message": "Preflight failed on gpu-d: gpu_required: no GPU\nmore"}}

    row = summary_rows([host])[0]

    assert row["skipped"] == "stopped: Preflight failed on gpu-d: gpu_required: no GPU"
    assert row["gpus"] == "none"
