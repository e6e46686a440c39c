# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node-wide lock of the runtime configuration flow: only root can take it; it goes when its holder goes.

Two tasks that change the same runtime configuration on one node take turns
(plugin_utils._node_files.RuntimeConfigAction). The lock is an flock(2) on a
file in a directory only root may enter (/run/kubegpu, 0700, emptied at boot),
so no other user can take it or plant a link there. The directory is checked
(a directory, not a link, owned by root, no access for group or others) and
the file opened with O_NOFOLLOW.

The action plugin runs this file on the node with Python (standard library
only): ``take NAME WAIT_S LEASE_S`` waits up to WAIT_S for the lock, then
leaves a detached holder process that keeps it until ``release NAME PID``
ends it, or LEASE_S passes. The kernel lets go of an flock when its holder
exits: a holder killed with the run (kill -9, a reboot) leaves no lock
behind, and one whose controller died ends itself at the lease.
Output: one JSON line; exit 0 (taken or released), 75 (busy), 77 (refused).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import signal
import stat
import sys
import time

LOCK_DIR = "/run/kubegpu"
BUSY = 75
REFUSED = 77


def _say(code, **fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()
    return code


def check_directory(directory):
    """Create the lock directory (0700) where missing; None when it is safe, else why not."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        return "%s: cannot create it (%s); the lock needs root: run the task with become" % (
            directory,
            exc.strerror or exc,
        )
    info = os.lstat(directory)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a directory"
        return "%s: is %s; the lock directory must be a directory only root can enter. Remove it" % (directory, what)
    if info.st_uid != 0 or stat.S_IMODE(info.st_mode) & 0o077:
        return (
            "%s: is owned by uid %d with mode %04o; the lock directory must be root's with mode 0700 (others could "
            "take or block the lock). Remove it, or chown root and chmod 0700 it"
            % (directory, info.st_uid, stat.S_IMODE(info.st_mode))
        )
    return None


def _open_lock(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", path)
    return fd


def _holder_of(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def take(name, wait_s, lease_s, directory=LOCK_DIR):
    if os.geteuid() != 0:
        return _say(REFUSED, msg="%s: only root can take this lock; run the task with become" % directory)
    problem = check_directory(directory)
    if problem:
        return _say(REFUSED, msg=problem)
    path = os.path.join(directory, name)
    try:
        fd = _open_lock(path)
    except OSError as exc:
        return _say(REFUSED, msg="%s: cannot open the lock file (%s); remove it" % (path, exc.strerror or exc))
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            return _say(BUSY, path=path, holder=_holder_of(fd))
        time.sleep(0.2)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:  # the caller: report once the holder has written its record
        os.close(write_end)
        os.read(read_end, 1)
        os.close(fd)  # the holder's copy keeps the lock
        return _say(0, path=path, pid=pid)
    _hold(fd, read_end, write_end, lease_s)
    return 0  # not reached


def _hold(fd, read_end, write_end, lease_s):
    os.close(read_end)
    os.setsid()  # no terminal hangup ends it with the command that started it
    null = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(null, stream)
    record = {"pid": os.getpid(), "since": int(time.time()), "lease_s": lease_s}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(record).encode("utf-8"))
    os.write(write_end, b"1")
    os.close(write_end)
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    end = time.monotonic() + lease_s
    while time.monotonic() < end:
        time.sleep(min(5.0, max(0.0, end - time.monotonic())))
    os._exit(0)


def release(name, pid, directory=LOCK_DIR):
    """End the holder `pid` of the lock `name`, if the lock file still names it (a pid is never guessed)."""
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return _say(0, released=False)
    try:
        holder = _holder_of(fd)
        try:  # free: its holder is gone already, and the pid may be another process's by now
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return _say(0, released=False)
        except OSError:
            pass
    finally:
        os.close(fd)
    if holder.get("pid") != pid:
        return _say(0, released=False)
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return _say(0, released=False)
    return _say(0, released=True)


def main(argv):
    if argv[1] == "take":
        return take(argv[2], float(argv[3]), float(argv[4]), *argv[5:6])
    return release(argv[2], int(argv[3]), *argv[4:5])


if __name__ == "__main__":
    # The detached lock holder is a plain process, not a module: its exit status is all it reports.
    sys.exit(main(sys.argv))  # pylint: disable=ansible-bad-function
