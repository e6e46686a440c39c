# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime flow around containerd_runtime, through ansible-playbook and the real containerd binaries.

What a hostile run does to it: two tasks on one file at once, a wrong containerd_version, a
config.toml containerd refuses (on a real run and in check mode), no containerd on the node, a
write that fails after another one succeeded (read-only directory), a full disk.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import pathlib
import signal
import stat
import subprocess
import sys
import time

import pytest
from ansible_run import one_task_playbook, run_first_task
from test_config_dump import FIXTURES, containerd, dump, effective_cri

pytestmark = pytest.mark.containerd

PLAYBOOK = one_task_playbook(
    "kubegpu.nvidia.containerd_runtime",
    {
        "path": "{{ config }}",
        "drop_in": "{{ drop_in }}",
        **{
            name: f"{{{{ {name} | default(omit) }}}}"
            for name in ("runtime_name", "containerd_version", "backup", "state")
        },
    },
)
# containerd refuses it (a string expected): a key the module does not own.
REFUSED = {
    "1.7.24": 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = 5\n',
    "2.1.9": 'version = 3\n[plugins."io.containerd.cri.v1.runtime"]\n  enable_selinux = "x"\n',
}


class Node:
    def __init__(self, tmp_path: pathlib.Path, version: str | None, drop_dir: pathlib.Path | None = None):
        self.tmp = tmp_path
        self.version = version
        self.etc = tmp_path / "etc"
        self.etc.mkdir(exist_ok=True)
        self.config = self.etc / "config.toml"
        self.drop_in = (drop_dir or self.etc / "conf.d") / "99-nvidia.toml"
        self.bin_dir = containerd(version).parent if version else tmp_path / "no-containerd"
        self.bin_dir.mkdir(exist_ok=True)

    def run(self, check=False, local_temp=None, **extra):
        playbook = self.tmp / "play.yml"
        if not playbook.exists():
            playbook.write_text(PLAYBOOK)
        variables = {
            "bin_dir": str(self.bin_dir),
            "config": str(self.config),
            "drop_in": str(self.drop_in),
            "ansible_python_interpreter": sys.executable,
            **extra,
        }
        return run_first_task(playbook, variables, check=check, local_temp=local_temp)


def test_two_tasks_on_one_config_at_once_keep_both_runtimes(tmp_path):
    node = Node(tmp_path, "1.7.24")
    node.config.write_text((FIXTURES / "config-default-1.7.24.toml").read_text())
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(node.run, runtime_name=name, local_temp=tmp_path / f"local-{name}")
            for name in ("nvidia", "nvidia-cdi")
        ]
        outcomes = [run.result() for run in runs]
    for outcome in outcomes:
        assert not outcome.get("failed"), outcome.get("msg")
        assert outcome["changed"] is True
    runtimes = effective_cri("1.7.24", dump("1.7.24", node.config))["containerd"]["runtimes"]
    assert {"runc", "nvidia", "nvidia-cdi"} <= set(runtimes)


@pytest.mark.parametrize(
    ("given", "words"),
    [("2.1.9", "the node's containerd"), ("1.6", "the node's containerd"), ("banana", "not a containerd version")],
)
def test_the_node_binary_version_wins_and_a_wrong_or_unparsable_one_fails(tmp_path, given, words):
    node = Node(tmp_path, "1.7.24")
    original = (FIXTURES / "config-default-1.7.24.toml").read_text()
    node.config.write_text(original)
    outcome = node.run(containerd_version=given)
    assert outcome["failed"] is True
    assert outcome["changed"] is False
    assert "containerd_version" in outcome["msg"]
    assert words in outcome["msg"]
    if given != "banana":
        assert "1.7.24" in outcome["msg"]
    assert node.config.read_text() == original
    assert not node.drop_in.exists()


def test_a_given_version_that_agrees_with_the_node_is_used(tmp_path):
    node = Node(tmp_path, "2.1.9")
    node.config.write_text((FIXTURES / "config-default-2.1.9.toml").read_text())
    outcome = node.run(containerd_version="2.1")
    assert not outcome.get("failed"), outcome.get("msg")
    assert outcome["containerd_version"] == "2.1.9"
    assert outcome["strategy"] == "drop_in"


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
@pytest.mark.parametrize("version", sorted(REFUSED))
def test_a_config_containerd_refuses_is_refused_before_any_file_is_written(tmp_path, version, check):
    """On 2.1 the drop-in used to be written before config.toml was refused; check mode promised a change."""
    node = Node(tmp_path, version)
    node.config.write_text(REFUSED[version])
    outcome = node.run(check=check)
    assert outcome.get("failed") is True, outcome
    assert outcome["changed"] is False
    assert "unchanged" in outcome["msg"]
    assert str(node.config) in outcome["msg"]
    assert "refuses the result" in outcome["msg"]
    assert node.config.read_text() == REFUSED[version]
    assert not node.drop_in.exists()
    assert not node.drop_in.parent.exists()


def test_without_a_containerd_binary_the_result_says_not_validated(tmp_path):
    node = Node(tmp_path, None)
    outcome = node.run(containerd_version="1.7.24")
    assert not outcome.get("failed"), outcome.get("msg")
    assert outcome["changed"] is True
    assert outcome["validated"] is False
    assert any("not validated" in w and str(node.config) in w for w in outcome["warnings"])
    assert node.config.exists()


def test_with_a_containerd_binary_the_result_says_validated(tmp_path):
    node = Node(tmp_path, "1.7.24")
    outcome = node.run()
    assert not outcome.get("failed"), outcome.get("msg")
    assert outcome["validated"] is True


def _mount(*args):
    proc = subprocess.run(["mount", *map(str, args)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"needs mount (root with CAP_SYS_ADMIN): {proc.stderr.strip()}")


@pytest.fixture
def mounts():
    made = []
    yield lambda *args: (_mount(*args), made.append(args[-1]))
    for point in reversed(made):
        subprocess.run(["umount", str(point)], check=False)


def test_a_failed_write_after_a_written_one_puts_the_first_back(tmp_path, mounts):
    """2.1: the drop-in is written, then config.toml cannot be (read-only): the drop-in goes again."""
    node = Node(tmp_path, "2.1.9", drop_dir=tmp_path / "conf.d")
    original = (FIXTURES / "config-default-2.1.9.toml").read_text()
    node.config.write_text(original)
    mounts("--bind", node.etc, node.etc)
    mounts("-o", "remount,bind,ro", node.etc)
    outcome = node.run()
    assert outcome["failed"] is True
    assert outcome["changed"] is False
    assert str(node.config) in outcome["msg"]
    assert "not writable" in outcome["msg"] or "read-only" in outcome["msg"]
    assert f"put back as they were: {node.drop_in}" in outcome["msg"]
    assert not node.drop_in.exists()
    assert node.config.read_text() == original


@pytest.mark.parametrize("backup", [True, False])
def test_a_full_disk_names_the_file_and_the_cause_and_leaves_no_backup(tmp_path, mounts, backup):
    node = Node(tmp_path, "1.7.24")
    mounts("-t", "tmpfs", "-o", "size=256k,nr_inodes=64", "tmpfs", node.etc)
    original = (FIXTURES / "config-default-1.7.24.toml").read_text()
    node.config.write_text(original)
    with open(node.etc / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 1024)
                filler.flush()
        except OSError:
            pass
    outcome = node.run(backup=backup)
    assert outcome["failed"] is True
    assert outcome["changed"] is False
    assert str(node.config) in outcome["msg"]
    assert "the file system is full" in outcome["msg"]
    assert "free space" in outcome["msg"]
    assert "None" not in outcome["msg"]
    assert node.config.read_text() == original
    assert sorted(p.name for p in node.etc.iterdir()) == ["config.toml", "filler"]


def test_absent_after_present_gives_back_a_file_without_a_final_newline(tmp_path):
    node = Node(tmp_path, "1.7.24")
    original = (FIXTURES / "config-default-1.7.24.toml").read_text().rstrip("\n")
    node.config.write_text(original)
    assert not node.run().get("failed")
    assert node.run()["changed"] is False
    removed = node.run(state="absent")
    assert not removed.get("failed"), removed.get("msg")
    assert node.config.read_bytes() == original.encode()


LOCK_DIR = pathlib.Path("/run/kubegpu")
NODE_LOCK = pathlib.Path(__file__).resolve().parents[3] / "plugins" / "module_utils" / "_node_lock.py"


def _lock_name(config):
    return "runtime-config-" + hashlib.sha256(str(config).encode()).hexdigest()[:16] + ".lock"


def _lock_is_free(config):
    fd = os.open(LOCK_DIR / _lock_name(config), os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_no_lock_is_left_behind_and_its_directory_is_roots_alone(tmp_path):
    node = Node(tmp_path, "1.7.24")
    assert not node.run().get("failed")
    assert _lock_is_free(node.config)
    info = LOCK_DIR.lstat()
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o700


def _as_nobody(*argv):
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv],
                          capture_output=True, text=True, check=False)


def test_another_local_user_cannot_block_the_task(tmp_path):
    # Before: the lock was a predictable directory in world-writable /run/lock; any user could make it,
    # and the task waited 120 s and failed.
    node = Node(tmp_path, "1.7.24")
    old_name = "kubegpu.nvidia-" + hashlib.sha256(str(node.config).encode()).hexdigest()[:16] + ".lock"
    planted = _as_nobody("mkdir", f"/run/lock/{old_name}")
    try:
        assert not node.run().get("failed")  # the first real run makes /run/kubegpu
        node.config.unlink()
        opened = _as_nobody("sh", "-c", f"exec 9>>{LOCK_DIR}/{_lock_name(node.config)}")
        assert opened.returncode != 0 and "Permission denied" in opened.stderr
        start = time.monotonic()
        outcome = node.run()
        assert not outcome.get("failed"), outcome.get("msg")
        assert time.monotonic() - start < 60
    finally:
        if planted.returncode == 0:
            os.rmdir(f"/run/lock/{old_name}")


def test_a_lock_whose_holder_was_killed_does_not_hold_the_next_task(tmp_path):
    node = Node(tmp_path, "1.7.24")
    taken = subprocess.run([sys.executable, str(NODE_LOCK), "take", _lock_name(node.config), "5", "900"],
                           capture_output=True, text=True, check=True)
    holder = json.loads(taken.stdout)["pid"]
    assert not _lock_is_free(node.config)
    os.kill(holder, signal.SIGKILL)  # a run killed while it held the lock
    for dummy in range(50):
        if _lock_is_free(node.config):
            break
        time.sleep(0.1)
    start = time.monotonic()
    outcome = node.run()
    assert not outcome.get("failed"), outcome.get("msg")
    assert time.monotonic() - start < 60


def test_a_held_lock_makes_the_task_wait_and_names_the_holder(tmp_path, monkeypatch):
    node = Node(tmp_path, "1.7.24")
    taken = subprocess.run([sys.executable, str(NODE_LOCK), "take", _lock_name(node.config), "5", "30"],
                           capture_output=True, text=True, check=True)
    holder = json.loads(taken.stdout)["pid"]
    try:
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(node.run)
            time.sleep(8)
            assert not pending.done()  # waiting for the lock
            subprocess.run([sys.executable, str(NODE_LOCK), "release", _lock_name(node.config), str(holder)],
                           check=True, capture_output=True)
            outcome = pending.result(timeout=120)
        assert not outcome.get("failed"), outcome.get("msg")
        assert time.monotonic() - started < 60
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(holder, signal.SIGKILL)


def test_a_link_planted_at_the_backup_name_is_not_written_through(tmp_path):
    # Before: cp -p wrote the backup through the link, into the file it pointed to.
    node = Node(tmp_path, "1.7.24")
    original = (FIXTURES / "config-default-1.7.24.toml").read_text()
    node.config.write_text(original)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    now = time.time()
    planted = []
    for delta in range(0, 40):
        stamp = time.strftime("%Y-%m-%d@%H:%M:%S", time.localtime(now + delta))
        link = pathlib.Path(f"{node.config}.{stamp}~")
        link.symlink_to(victim)
        planted.append(link)
    outcome = node.run(backup=True)
    assert not outcome.get("failed"), outcome.get("msg")
    assert victim.read_text() == "precious\n"
    assert all(link.is_symlink() and os.readlink(link) == str(victim) for link in planted)
    backup = pathlib.Path(outcome["backup_file"])
    assert backup not in planted and not backup.is_symlink()
    assert backup.read_text() == original


def test_a_new_drop_in_leaves_its_existing_directory_mode_alone(tmp_path):
    # Before: ansible.builtin.file with mode 0755 widened a 0700 drop-in directory.
    node = Node(tmp_path, "2.1.9", drop_dir=tmp_path / "conf.d")
    node.config.write_text((FIXTURES / "config-default-2.1.9.toml").read_text())
    node.drop_in.parent.mkdir(mode=0o700)
    node.drop_in.parent.chmod(0o700)
    outcome = node.run()
    assert not outcome.get("failed"), outcome.get("msg")
    assert node.drop_in.exists()
    assert stat.S_IMODE(node.drop_in.parent.stat().st_mode) == 0o700


def test_a_new_drop_in_directory_is_made_0755(tmp_path):
    node = Node(tmp_path, "2.1.9", drop_dir=tmp_path / "new" / "conf.d")
    node.config.write_text((FIXTURES / "config-default-2.1.9.toml").read_text())
    outcome = node.run()
    assert not outcome.get("failed"), outcome.get("msg")
    for directory in (node.drop_in.parent, node.drop_in.parent.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o755
