# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""crio_runtime validated by the real CRI-O parser (`crio --config FILE --config-dir DIR config`, v1.36.3).

The binary is the shared one: $KUBEGPU_SHARED_BIN/crio.xz (default: ../shared/bin next to the
checkout), unpacked once per session. It needs Debian's libseccomp2 and libsqlite3-0.
"""

from __future__ import annotations

import concurrent.futures
import lzma
import os
import pathlib
import subprocess
import sys

import pytest
import tomllib
from ansible_run import one_task_playbook, run_first_task
from test_crio_runtime_playbook import PACKAGED_10_CRIO, Tree, handler

ROOT = pathlib.Path(__file__).resolve().parents[3]

PLAYBOOK = one_task_playbook(
    "kubegpu.nvidia.crio_runtime",
    {
        "config": "{{ config }}",
        "drop_in": "{{ drop_in }}",
        "runtime_path": "{{ runtime_path }}",
        "runtime_name": "{{ runtime_name | default(omit) }}",
        "state": "{{ state | default(omit) }}",
    },
)
# A key the module does not read, of a type CRI-O refuses (an integer is expected).
REFUSED = '[crio.runtime]\nlog_size_max = "big"\n'


@pytest.fixture(scope="session")
def crio_bin_dir(tmp_path_factory):
    shared = pathlib.Path(os.environ.get("KUBEGPU_SHARED_BIN") or ROOT.parent / "shared" / "bin")
    packed = shared / "crio.xz"
    if not packed.is_file():
        pytest.fail(f"CRI-O not found at {packed}: set KUBEGPU_SHARED_BIN to the directory holding crio.xz")
    bin_dir = tmp_path_factory.mktemp("crio-bin")
    binary = bin_dir / "crio"
    binary.write_bytes(lzma.decompress(packed.read_bytes()))
    binary.chmod(0o755)
    proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{binary} --version failed (apt-get install libseccomp2 libsqlite3-0?): {proc.stderr}")
    assert "1.36.3" in proc.stdout
    return bin_dir


def run(tree: Tree, bin_dir: pathlib.Path, check: bool = False, **extra) -> dict:
    playbook = tree.tmp / "crio-play.yml"
    if not playbook.exists():
        playbook.write_text(PLAYBOOK)
    variables = {
        "bin_dir": str(bin_dir),
        "config": str(tree.config),
        "drop_in": str(tree.drop_in),
        "runtime_path": str(tree.runtime_path),
        "ansible_python_interpreter": sys.executable,
        **extra,
    }
    return run_first_task(playbook, variables, check=check, local_temp=tree.tmp / f"local-{extra.get('runtime_name')}")


def effective(bin_dir: pathlib.Path, tree: Tree) -> dict:
    """The configuration CRI-O would run with, as it prints it."""
    proc = subprocess.run(
        [str(bin_dir / "crio"), "--config", str(tree.config), "--config-dir", str(tree.drop_dir), "config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return tomllib.loads(proc.stdout)


@pytest.fixture
def tree(tmp_path):
    tree = Tree(tmp_path)
    tree.packaged()
    (tree.drop_dir / "zz-late.conf").unlink()  # its nvidia table would replace the module's
    tree.runtime_path.parent.mkdir(parents=True)
    tree.runtime_path.write_text("#!/bin/sh\n")
    tree.runtime_path.chmod(0o755)
    return tree


def test_the_result_is_validated_by_crio_and_crio_reads_the_handler(tree, crio_bin_dir):
    checked = run(tree, crio_bin_dir, check=True)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["validated"] is True
    assert not tree.drop_in.exists()

    applied = run(tree, crio_bin_dir)
    assert not applied.get("failed"), applied.get("msg")
    assert applied["changed"] is True
    assert applied["validated"] is True
    assert not any("not validated" in w for w in applied.get("warnings", []))
    written = handler(tree.drop_in.read_text())
    assert written["runtime_path"] == str(tree.runtime_path)
    # CRI-O itself reads the handler, copied from the packaged runc one.
    runtimes = effective(crio_bin_dir, tree)["crio"]["runtime"]["runtimes"]
    assert runtimes["nvidia"]["runtime_path"] == str(tree.runtime_path)
    runc = tomllib.loads(PACKAGED_10_CRIO)["crio"]["runtime"]["runtimes"]["runc"]
    assert runtimes["nvidia"]["runtime_root"] == runc["runtime_root"]

    assert run(tree, crio_bin_dir)["changed"] is False
    removed = run(tree, crio_bin_dir, state="absent")
    assert not removed.get("failed"), removed.get("msg")
    assert removed["validated"] is True
    assert not tree.drop_in.exists()


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_a_drop_in_crio_refuses_fails_the_task_and_nothing_is_written(tree, crio_bin_dir, check):
    bad = tree.drop_dir / "20-bad.conf"
    bad.write_text(REFUSED)
    before = tree.snapshot()
    outcome = run(tree, crio_bin_dir, check=check)
    assert outcome["failed"] is True
    assert outcome["changed"] is False
    assert "unchanged" in outcome["msg"]
    assert f"configuration {bad}" in outcome["msg"]
    assert "crio.runtime.log_size_max" in outcome["msg"]
    assert "/validate/" not in outcome["msg"]
    assert tree.snapshot() == before
    assert not tree.drop_in.exists()


def test_without_a_crio_binary_the_result_says_not_validated(tree):
    empty = tree.tmp / "no-crio"
    empty.mkdir()
    outcome = run(tree, empty)
    assert not outcome.get("failed"), outcome.get("msg")
    assert outcome["changed"] is True
    assert outcome["validated"] is False
    assert any("not validated" in w and "no crio binary" in w for w in outcome["warnings"])
    assert tree.drop_in.exists()


def test_two_tasks_on_one_drop_in_at_once_keep_both_handlers(tree, crio_bin_dir):
    (tree.tmp / "crio-play.yml").write_text(PLAYBOOK)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda name: run(tree, crio_bin_dir, runtime_name=name), ["nvidia", "nvidia-cdi"]))
    for outcome in outcomes:
        assert not outcome.get("failed"), outcome.get("msg")
        assert outcome["changed"] is True
    runtimes = effective(crio_bin_dir, tree)["crio"]["runtime"]["runtimes"]
    assert {"nvidia", "nvidia-cdi"} <= set(runtimes)
