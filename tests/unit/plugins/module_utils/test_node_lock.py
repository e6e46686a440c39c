# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils._node_lock, run as the action plugin runs it on the node, in a lock directory under tmp_path.

The tests run as root, as the task does with become.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.kubegpu.nvidia.plugins.module_utils import _node_lock

SCRIPT = _node_lock.__file__

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lock is root's")


def lock(*args):
    res = subprocess.run(
        [sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    return res.returncode, json.loads(res.stdout.strip().splitlines()[-1])


def held(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@pytest.fixture
def lock_dir(tmp_path):
    return tmp_path / "kubegpu"


def test_take_makes_a_0700_directory_and_holds_until_released(lock_dir):
    rc, said = lock("take", "a.lock", 5, 60, lock_dir)
    assert rc == 0 and said["path"] == str(lock_dir / "a.lock")
    assert oct(lock_dir.stat().st_mode & 0o777) == "0o700"
    assert held(lock_dir / "a.lock")
    assert lock("take", "a.lock", 1, 60, lock_dir)[0] == _node_lock.BUSY
    rc, said = lock("release", "a.lock", said["pid"], lock_dir)
    assert rc == 0 and said == {"released": True}
    for dummy in range(50):
        if not held(lock_dir / "a.lock"):
            break
        time.sleep(0.1)
    assert not held(lock_dir / "a.lock")


def test_a_busy_answer_names_the_holder(lock_dir):
    said = lock("take", "b.lock", 5, 60, lock_dir)[1]
    try:
        rc, busy = lock("take", "b.lock", 1, 60, lock_dir)
        assert rc == _node_lock.BUSY and busy["holder"]["pid"] == said["pid"] and busy["holder"]["lease_s"] == 60
    finally:
        os.kill(said["pid"], signal.SIGKILL)


def test_a_killed_holder_leaves_the_lock_free(lock_dir):
    said = lock("take", "c.lock", 5, 600, lock_dir)[1]
    os.kill(said["pid"], signal.SIGKILL)
    for dummy in range(50):
        if not held(lock_dir / "c.lock"):
            break
        time.sleep(0.1)
    assert lock("take", "c.lock", 2, 60, lock_dir)[0] == 0


def test_the_lease_ends_a_holder_whose_task_never_released_it(lock_dir):
    assert lock("take", "d.lock", 5, 1, lock_dir)[0] == 0
    time.sleep(2.5)
    assert not held(lock_dir / "d.lock")


def test_release_of_a_free_lock_kills_nothing(lock_dir):
    assert lock("take", "e.lock", 5, 1, lock_dir)[0] == 0
    time.sleep(2.5)  # the holder ended; its pid may be another process's now
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (lock_dir / "e.lock").write_text(json.dumps({"pid": sleeper.pid}))
        assert lock("release", "e.lock", sleeper.pid, lock_dir) == (0, {"released": False})
        assert sleeper.poll() is None
    finally:
        sleeper.kill()


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: os.symlink("/tmp", d), "is a symbolic link"),
        (lambda d: (os.mkdir(d), os.chmod(d, 0o1777)), "with mode 1777; the lock directory must be root's"),
        (lambda d: (os.mkdir(d, 0o700), os.chown(d, 65534, 65534)), "is owned by uid 65534"),
        (lambda d: open(d, "w").close(), "is not a directory"),
    ],
)
def test_a_lock_directory_someone_else_could_use_is_refused(lock_dir, make, words):
    make(str(lock_dir))
    rc, said = lock("take", "f.lock", 1, 60, lock_dir)
    assert rc == _node_lock.REFUSED
    assert said["msg"].startswith(str(lock_dir)) and words in said["msg"]


def test_a_link_at_the_lock_file_is_not_followed(lock_dir, tmp_path):
    lock_dir.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.symlink(victim, lock_dir / "g.lock")
    rc, said = lock("take", "g.lock", 1, 60, lock_dir)
    assert rc == _node_lock.REFUSED and "cannot open the lock file" in said["msg"]
    assert victim.read_text() == "precious\n"


def test_only_root_can_take_it(lock_dir):
    lock_dir.mkdir(mode=0o700)
    res = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, SCRIPT, "take", "h.lock",
         "1", "60", str(lock_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert res.returncode == _node_lock.REFUSED and "only root can take this lock" in res.stdout
