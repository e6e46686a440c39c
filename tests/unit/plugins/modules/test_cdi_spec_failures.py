# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cdi_spec when the node refuses a write: full disk, read-only, no permission, a failure half-way.

The promise: a failed task names the file, the cause and the fix, raises no
traceback, and leaves the spec directory as it was, so that the next run (once
the cause is fixed) takes the spec as its own and finishes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import shutil
import subprocess
import tempfile

import pytest

from ansible_collections.kubegpu.nvidia.plugins.modules import cdi_spec
from ansible_collections.kubegpu.nvidia.tests.unit.fixtures.cdi.driver_tree import h200_tree
from ansible_collections.kubegpu.nvidia.tests.unit.plugins.modules.module_run import run_module


def _snapshot(directory):
    """{name: bytes} of everything in directory (None when it does not exist)."""
    if not directory.exists():
        return None
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _assert_clean_failure(result, path, cause):
    assert result["failed"] is True and result["changed"] is False
    assert "exception" not in result and "Traceback" not in result["msg"]
    assert str(path) in result["msg"], result["msg"]
    assert cause in result["msg"], result["msg"]
    assert "Fix: " in result["msg"]


def _fail_mkstemp_for(monkeypatch, prefix, error):
    real = tempfile.mkstemp

    def failing(*args, **kwargs):
        if prefix in kwargs.get("prefix", ""):
            raise OSError(error, os.strerror(error), os.path.join(kwargs.get("dir", ""), prefix + "XXXX"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", failing)


@pytest.fixture
def node(tmp_path):
    tree = h200_tree(tmp_path / "node")
    path = tmp_path / "cdi" / "nvidia.json"
    return tree, path, dict(tree.options(), path=str(path))


def test_owner_record_that_cannot_be_written_leaves_no_spec_and_the_next_run_takes_it(node, capsys, monkeypatch):
    # Before: the spec landed, the record did not, and every later run refused the spec as foreign.
    _tree, path, args = node
    with monkeypatch.context() as patched:
        _fail_mkstemp_for(patched, ".nvidia.json.owner.", errno.ENOSPC)
        code, result = run_module(cdi_spec, args, capsys)

    assert code == 1
    _assert_clean_failure(result, path, "no space left on the file system")
    assert "Nothing was changed" in result["msg"]
    assert _snapshot(path.parent) is None  # not even the directory it created

    code, result = run_module(cdi_spec, args, capsys)
    assert code == 0 and result["changed"] is True
    assert run_module(cdi_spec, args, capsys)[1]["changed"] is False


def test_failure_after_the_spec_landed_puts_the_previous_spec_back(node, capsys, monkeypatch):
    tree, path, args = node
    assert run_module(cdi_spec, args, capsys)[0] == 0
    before = _snapshot(path.parent)
    (tree.bin_dir / "nvidia-debugdump").unlink()  # the node changed: the spec will too
    real_replace = os.replace

    def replace_failing_for_the_record(src, dst, *rest, **kwargs):
        if str(dst).endswith(".owner"):
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        return real_replace(src, dst, *rest, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", replace_failing_for_the_record)
        code, result = run_module(cdi_spec, args, capsys)

    assert code == 1
    _assert_clean_failure(result, path, "Input/output error")
    assert "moving the new files into place in %s" % path.parent in result["msg"]
    assert _snapshot(path.parent) == before  # the old spec and its record, nothing staged left
    code, result = run_module(cdi_spec, args, capsys)
    assert code == 0 and result["changed"] is True and "nvidia-debugdump" not in path.read_text()
    assert run_module(cdi_spec, args, capsys)[1]["changed"] is False


def test_unwritable_spec_directory_says_permission_denied_and_become(node, capsys, monkeypatch):
    # The tests run as root, where modes deny nothing: refuse the first file the module creates.
    _tree, path, args = node
    path.parent.mkdir()
    _fail_mkstemp_for(monkeypatch, ".", errno.EACCES)

    code, result = run_module(cdi_spec, args, capsys)

    assert code == 1
    _assert_clean_failure(result, path.parent, "permission denied")
    assert "become: true" in result["msg"]
    assert _snapshot(path.parent) == {}


def _mount_tmpfs(directory, size):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.fail("mounting a tmpfs needs root and mount(8): run the unit tests as root, as CI does")
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "kubegpu-test", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail("cannot mount a tmpfs here: %s" % done.stderr.strip())


@pytest.fixture
def small_fs(tmp_path):
    """A real 1 MiB file system, so full and read-only are the kernel's answers, not a mock's."""
    mount_point = tmp_path / "fs"
    _mount_tmpfs(mount_point, "1m")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory):
    with open(str(directory / "filler"), "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_full_disk_names_the_file_and_df_and_leaves_no_empty_backup(tmp_path, small_fs, capsys):
    tree = h200_tree(tmp_path / "node")
    path = small_fs / "cdi" / "nvidia.json"
    args = dict(tree.options(), path=str(path))
    assert run_module(cdi_spec, args, capsys)[0] == 0
    (tree.bin_dir / "nvidia-debugdump").unlink()
    _fill(small_fs)
    before = _snapshot(path.parent)

    code, result = run_module(cdi_spec, dict(args, backup=True), capsys)

    assert code == 1
    _assert_clean_failure(result, path, "no space left on the file system")
    assert "df -h %s" % path.parent in result["msg"]
    assert _snapshot(path.parent) == before  # no 0-byte backup, no staged file

    (small_fs / "filler").unlink()
    code, result = run_module(cdi_spec, dict(args, backup=True), capsys)
    assert code == 0 and result["changed"] is True and os.path.getsize(result["backup_file"]) > 0


def test_read_only_spec_directory_names_the_file_and_remount(tmp_path, small_fs, capsys):
    tree = h200_tree(tmp_path / "node")
    path = small_fs / "cdi" / "nvidia.json"
    args = dict(tree.options(), path=str(path))
    assert run_module(cdi_spec, args, capsys)[0] == 0
    (tree.bin_dir / "nvidia-debugdump").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    before = _snapshot(path.parent)

    code, result = run_module(cdi_spec, args, capsys)
    assert code == 1
    _assert_clean_failure(result, path, "read-only file system")
    assert "remount" in result["msg"]

    code, result = run_module(cdi_spec, {"path": str(path), "state": "absent"}, capsys)
    assert code == 1
    _assert_clean_failure(result, path, "read-only file system")
    assert _snapshot(path.parent) == before


def test_spec_directory_that_cannot_be_created_on_a_read_only_file_system(tmp_path, small_fs, capsys):
    tree = h200_tree(tmp_path / "node")
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    path = small_fs / "etc" / "cdi" / "nvidia.json"

    code, result = run_module(cdi_spec, dict(tree.options(), path=str(path)), capsys)

    assert code == 1
    _assert_clean_failure(result, small_fs / "etc", "read-only file system")
    assert sorted(os.listdir(str(small_fs))) == []
