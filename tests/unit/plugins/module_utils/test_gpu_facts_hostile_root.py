# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gather_facts on a root a hostile user prepared: FIFOs, devices, huge files, a missing root.

Each case once hung the module, exhausted the node's memory, or answered "no GPU"
for a root that was not there. Each test runs the gathering in a thread with a
deadline, so a regression fails the test instead of hanging the suite.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import stat
import threading

import pytest

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import collect
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.collect import GatherError, gather_facts

DEADLINE_S = 20


def _gather_within_deadline(root, **kwargs):
    outcome = {}

    def target():
        try:
            outcome["facts"] = gather_facts(str(root), **kwargs)
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(DEADLINE_S)
    if worker.is_alive():
        _unblock_fifos(root)
        pytest.fail("gather_facts did not return within %d s (blocked on a FIFO?)" % DEADLINE_S)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["facts"]


def _unblock_fifos(root):
    # Open every FIFO for writing once, so a reader blocked in open() returns.
    for top, _dirs, files in os.walk(str(root)):
        for name in files:
            path = os.path.join(top, name)
            if stat.S_ISFIFO(os.lstat(path).st_mode):
                with contextlib.suppress(OSError):  # ENXIO: nobody is waiting on this one
                    os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def _reason(facts, path):
    return {e["path"]: e["reason"] for e in facts["read_errors"]}.get(path)


def test_fifo_where_a_file_is_expected_is_a_read_error_not_a_hang(h200_root):
    version = h200_root.host("/proc/driver/nvidia/version")
    version.unlink()
    os.mkfifo(str(version))
    h200_root.mkdir("/etc/cdi")
    os.mkfifo(str(h200_root.host("/etc/cdi/hostile.json")))

    facts = _gather_within_deadline(h200_root)

    assert "FIFO" in _reason(facts, "/proc/driver/nvidia/version")
    assert "FIFO" in _reason(facts, "/etc/cdi/hostile.json")
    assert facts["gpu_count"] == 1  # the rest is still gathered


def test_fifo_as_the_saved_nvidia_smi_xml_is_reported_not_waited_on(h200_root, tmp_path):
    fifo = tmp_path / "smi.xml"
    os.mkfifo(str(fifo))

    facts = _gather_within_deadline(h200_root, nvidia_smi_xml=str(fifo))

    assert "FIFO" in facts["nvidia_smi"]["error"]
    assert str(fifo) in facts["nvidia_smi"]["error"]


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a character device needs root (CAP_MKNOD)")
def test_link_to_a_character_device_is_not_read(h200_root):
    # A device node inside the root (the link resolves inside the root, as chroot
    # would). /dev/null's numbers, so that a regression reads nothing instead of
    # /dev/zero's endless bytes; a device is refused before it is opened either way.
    device = h200_root.host("/dev/zero")
    device.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(str(device), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    release = h200_root.host("/proc/sys/kernel/osrelease")
    release.unlink()
    os.symlink("/dev/zero", str(release))

    facts = _gather_within_deadline(h200_root)

    assert "character device" in _reason(facts, "/proc/sys/kernel/osrelease")
    assert facts["kernel"]["release"] is None


def test_file_larger_than_the_bound_is_refused_without_reading_it(h200_root, monkeypatch):
    calls = []
    real_read = os.read

    def counting_read(fd, size):
        calls.append(size)
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", counting_read)
    huge = h200_root.host("/etc/os-release")
    with open(str(huge), "r+b") as handle:
        handle.truncate(collect.MAX_FILE_BYTES * 64)  # sparse: 512 MiB that take no disk

    facts = _gather_within_deadline(h200_root)

    assert "larger than" in _reason(facts, "/etc/os-release")
    assert sum(calls) < collect.MAX_FILE_BYTES * 4  # everything else is small


def test_proc_file_that_reports_size_zero_is_still_bounded_by_what_is_read(tmp_path):
    # /proc files say st_size 0 and then produce bytes: the bound holds on what is read.
    maps = "/proc/self/maps"
    assert os.stat(maps).st_size == 0

    with pytest.raises(collect.FileRefused, match="larger than the 16 bytes"):
        collect.read_regular_file(maps, limit=16)
    path = tmp_path / "small"
    path.write_bytes(b"x" * 4096)
    assert collect.read_regular_file(str(path), limit=4096) == b"x" * 4096


def test_root_that_does_not_exist_is_refused_not_reported_as_no_gpu(tmp_path):
    missing = tmp_path / "not-mounted"

    with pytest.raises(GatherError) as error:
        gather_facts(str(missing))

    assert str(missing) in str(error.value)
    assert "does not exist" in str(error.value)


def test_root_that_is_a_file_is_refused(tmp_path):
    regular = tmp_path / "image.raw"
    regular.write_bytes(b"")

    with pytest.raises(GatherError, match="not a directory"):
        gather_facts(str(regular))


def test_pci_tree_with_more_entries_than_any_node_is_bounded_and_reported_once(h200_root, monkeypatch):
    # Before: every entry was read, and each one that could not be became a read error of its own.
    assert collect.MAX_PCI_DEVICES >= 4096  # the real bound; a smaller one keeps this test fast
    monkeypatch.setattr(collect, "MAX_PCI_DEVICES", 600)
    devices = h200_root.host("/sys/bus/pci/devices")
    for index in range(collect.MAX_PCI_DEVICES + 500):
        (devices / ("0001:%02x:%02x.%x" % (index // 256, (index // 8) % 32, index % 8))).write_bytes(b"")

    facts = _gather_within_deadline(h200_root)

    assert len(facts["read_errors"]) == collect.MAX_READ_ERRORS + 1
    bound = [e for e in facts["read_errors"] if e["path"] == "/sys/bus/pci/devices"]
    assert bound == [
        {
            "path": "/sys/bus/pci/devices",
            "reason": "has more than %d entries, more than any real node has there; only %d were read"
            % (collect.MAX_PCI_DEVICES, collect.MAX_PCI_DEVICES),
        }
    ]
    last = facts["read_errors"][-1]["reason"]
    assert last.startswith("and ") and "only the first %d are listed" % collect.MAX_READ_ERRORS in last
    finding = [f for f in facts["findings"] if f["id"] == "read_errors"]
    assert len(finding) == 1


def test_command_timeout_below_one_is_refused():
    for value in (0, -1):
        with pytest.raises(GatherError, match="command_timeout is %d: it must be at least 1" % value):
            collect.check_command_timeout(value)
    collect.check_command_timeout(1)
