# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cdi_spec through the real AnsibleModule: idempotence, check mode, diff, ownership, absent."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
import yaml

from ansible_collections.kubegpu.nvidia.plugins.modules import cdi_spec
from ansible_collections.kubegpu.nvidia.tests.unit.fixtures.cdi.driver_tree import H200_UUID, h200_tree
from ansible_collections.kubegpu.nvidia.tests.unit.plugins.modules.module_run import run_module


@pytest.fixture
def node(tmp_path):
    tree = h200_tree(tmp_path / "node")
    path = tmp_path / "cdi" / "nvidia.json"
    return tree, path, dict(tree.options(), path=str(path))


def test_writes_a_valid_spec_then_changes_nothing_on_the_same_node(node, capsys):
    dummy, path, args = node
    code, first = run_module(cdi_spec, args, capsys)
    assert code == 0 and first["changed"] is True
    written = json.loads(path.read_text())
    assert written == first["spec"]
    assert first["devices"] == ["0", H200_UUID, "all"] and first["cdi_version"] == "0.5.0"
    assert (path.parent / ".nvidia.json.owner").exists()
    assert oct(path.stat().st_mode & 0o777) == "0o644"

    code, second = run_module(cdi_spec, args, capsys)
    assert code == 0 and second["changed"] is False


def test_check_mode_with_diff_reports_the_spec_and_writes_nothing(node, capsys):
    dummy, path, args = node
    code, result = run_module(cdi_spec, dict(args, _ansible_check_mode=True, _ansible_diff=True), capsys)
    assert code == 0 and result["changed"] is True
    assert not path.exists()
    assert result["diff"]["before"] == "" and '"kind": "nvidia.com/gpu"' in result["diff"]["after"]


def test_refuses_to_replace_a_spec_it_did_not_write_unless_forced(node, capsys):
    dummy, path, args = node
    path.parent.mkdir(parents=True)
    path.write_text('{"cdiVersion": "0.5.0", "kind": "nvidia.com/gpu", "devices": []}\n')

    code, result = run_module(cdi_spec, args, capsys)
    assert code == 1 and "not written by kubegpu.nvidia.cdi_spec" in result["msg"] and "force: true" in result["msg"]
    assert '"devices": []' in path.read_text()

    code, result = run_module(cdi_spec, dict(args, force=True, backup=True), capsys)
    assert code == 0 and result["changed"] is True
    with open(result["backup_file"]) as backup:
        assert '"devices": []' in backup.read()
    run_module(cdi_spec, args, capsys)  # now it is the module's own
    assert run_module(cdi_spec, args, capsys)[1]["changed"] is False


def test_a_hand_edit_of_its_own_spec_is_not_overwritten(node, capsys):
    dummy, path, args = node
    run_module(cdi_spec, args, capsys)
    path.write_text(path.read_text().replace("NVIDIA_VISIBLE_DEVICES=void", "NVIDIA_VISIBLE_DEVICES=all"))
    code, result = run_module(cdi_spec, args, capsys)
    assert code == 1 and "edited since" in result["msg"]


def test_absent_after_present_leaves_no_file(node, capsys):
    dummy, path, args = node
    run_module(cdi_spec, args, capsys)
    code, result = run_module(cdi_spec, {"path": args["path"], "state": "absent"}, capsys)
    assert code == 0 and result["changed"] is True
    assert not path.exists() and not (path.parent / ".nvidia.json.owner").exists()
    assert run_module(cdi_spec, {"path": args["path"], "state": "absent"}, capsys)[1]["changed"] is False


def test_absent_leaves_a_foreign_spec_and_warns(node, capsys):
    dummy, path, args = node
    path.parent.mkdir(parents=True)
    path.write_text("{}\n")
    code, result = run_module(cdi_spec, {"path": args["path"], "state": "absent"}, capsys)
    assert code == 0 and result["changed"] is False and path.exists()
    assert "Not removing it" in json.dumps(result["warnings"])  # plain strings before ansible-core 2.19


def test_no_gpu_writes_no_file_and_does_not_fail(node, capsys):
    dummy, path, args = node
    code, result = run_module(cdi_spec, dict(args, gpus=[]), capsys)
    assert code == 0 and result["changed"] is False and "failed" not in result
    assert "no NVIDIA GPU" in result["msg"] and not path.exists()


def test_a_path_runtimes_would_ignore_is_refused(node, capsys):
    dummy, path, args = node
    code, result = run_module(cdi_spec, dict(args, path=str(path.with_suffix(".conf"))), capsys)
    assert code == 1 and "must end in .json" in result["msg"]


def test_every_returned_key_is_documented_in_return(node, capsys):
    dummy, path, args = node
    path.parent.mkdir(parents=True)
    path.write_text("{}\n")
    result = run_module(cdi_spec, dict(args, force=True, backup=True), capsys)[1]
    documented = set(yaml.safe_load(cdi_spec.RETURN)) | {"changed", "warnings", "diff", "invocation", "failed"}
    assert sorted(set(result) - documented) == []


def test_the_device_plugins_kind_names_the_same_devices_and_a_bad_kind_is_refused(node, capsys):
    dummy, path, args = node
    code, plain = run_module(cdi_spec, args, capsys)
    assert code == 0
    other = path.parent / "kubegpu-device-plugin.json"
    code, named = run_module(cdi_spec, dict(args, path=str(other), kind="k8s.device-plugin.nvidia.com/gpu"), capsys)
    assert code == 0 and named["changed"] is True
    written = json.loads(other.read_text())
    assert written["kind"] == "k8s.device-plugin.nvidia.com/gpu" == named["kind"]
    # What the device plugin hands kubelet (k8s.device-plugin.nvidia.com/gpu=<uuid>) resolves to the same edits.
    assert [d["name"] for d in written["devices"]] == plain["devices"] == ["0", H200_UUID, "all"]
    assert written["containerEdits"] == plain["spec"]["containerEdits"]
    assert (
        run_module(cdi_spec, dict(args, path=str(other), kind="k8s.device-plugin.nvidia.com/gpu"), capsys)[1]["changed"]
        is False
    )

    code, refused = run_module(cdi_spec, dict(args, path=str(path.parent / "bad.json"), kind="gpu"), capsys)
    assert code == 1 and "kind" in refused["msg"] and not (path.parent / "bad.json").exists()
