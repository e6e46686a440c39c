# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cdi_spec against hostile files at its paths: a FIFO, a link to a device, a link planted at a backup's name.

Every case is a real FIFO, link or file in tmp_path. The promise: the module neither hangs nor
reads without bound nor writes through a link, and its message names the file that is wrong.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import pytest

from ansible_collections.kubegpu.nvidia.plugins.module_utils._cdi import runner
from ansible_collections.kubegpu.nvidia.plugins.modules import cdi_spec
from ansible_collections.kubegpu.nvidia.tests.unit.deadline import deadline
from ansible_collections.kubegpu.nvidia.tests.unit.plugins.modules.module_run import run_module
from ansible_collections.kubegpu.nvidia.tests.unit.plugins.modules.test_cdi_spec_failures import node  # noqa: F401  # pylint: disable=unused-import


def _owner(path):
    return path.parent / ("." + path.name + ".owner")


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_fifo_at_the_spec_path_is_refused_at_once_naming_it(node, capsys, state):  # noqa: F811
    # Before: open() waited for a writer for ever.
    _tree, path, args = node
    path.parent.mkdir()
    os.mkfifo(path)
    with deadline(20, "cdi_spec on a FIFO"):
        code, result = run_module(cdi_spec, dict(args, state=state), capsys)
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("%s (the CDI spec) is a FIFO (named pipe), not a regular file" % path)
    assert "remove %s" % path in result["msg"]


def test_an_owner_record_linked_to_a_device_is_not_read(node, capsys):  # noqa: F811
    # Before: the record was read through the link; /dev/zero grew the module until the OOM killer came.
    _tree, path, args = node
    assert run_module(cdi_spec, args, capsys)[0] == 0
    record = _owner(path)
    record.unlink()
    record.symlink_to("/dev/zero")
    with deadline(20, "cdi_spec with its record linked to /dev/zero"):
        code, result = run_module(cdi_spec, dict(args, force=True), capsys)
    assert code == 1
    assert result["msg"].startswith(
        "%s (the ownership record of %s) is a symbolic link (to /dev/zero); links are not followed" % (record, path)
    )
    assert os.readlink(record) == "/dev/zero"


def test_a_spec_larger_than_the_bound_is_refused_unread(node, capsys, monkeypatch):  # noqa: F811
    _tree, path, args = node
    path.parent.mkdir()
    with open(path, "wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse
    code, result = run_module(cdi_spec, args, capsys)
    assert code == 1
    assert "%s (the CDI spec) is 67108864 bytes, larger than the 8388608 bytes" % path in result["msg"]


def _plant_backup_links(path, victim, seconds=40):
    """Links at every name the module's backup of path can take in the next `seconds` seconds."""
    now = time.time()
    planted = []
    for delta in range(seconds):
        name = "%s.%s.%s" % (path, os.getpid(), time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime(now + delta)))
        os.symlink(str(victim), name)
        planted.append(name)
    return planted


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_link_planted_at_the_backup_name_is_left_alone_and_named(node, capsys, tmp_path, state):  # noqa: F811
    # Before (present): the backup replaced whatever had that name.
    tree, path, args = node
    assert run_module(cdi_spec, args, capsys)[0] == 0
    (tree.bin_dir / "nvidia-debugdump").unlink()  # the node changed: the spec will too
    before = path.read_bytes()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    planted = _plant_backup_links(str(path), victim)

    code, result = run_module(cdi_spec, dict(args, backup=True, state=state), capsys)

    assert code == 1
    assert "the backup %s.%s." % (path, os.getpid()) in result["msg"]
    assert "already exists (a symbolic link)" in result["msg"] and "Nothing was changed" in result["msg"]
    assert victim.read_text() == "precious\n"
    assert all(os.path.islink(name) for name in planted)
    assert path.read_bytes() == before


def test_a_backup_that_appears_while_the_task_runs_is_not_replaced(tmp_path, monkeypatch):
    # The exclusive create itself, for a link planted between the check and the write.
    path = tmp_path / "nvidia.json"
    path.write_bytes(b"{}")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    transaction = runner._Transaction(None, str(path))
    late = str(path) + ".late~"
    os.symlink(str(victim), late)
    with pytest.raises(FileExistsError):
        transaction.create_exclusive(late, b"copy", 0o644)
    assert victim.read_text() == "precious\n" and os.path.islink(late)
    assert transaction.roll_back() is True and os.path.islink(late)
