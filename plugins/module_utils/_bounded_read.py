# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the node-side modules read a file: regular files only, never blocking, never without bound.

gpu_facts, cdi_spec and the runtime modules' node read all go through
read_regular_file. A FIFO at a path would make open() wait for a writer for
ever; a link to /dev/zero or a sparse 100 GiB file would grow the module until
the kernel ends it. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

# The largest file read: nvidia-smi -q -x of an 8-GPU HGX is about 150 KiB, a CDI
# spec a few KiB, a runtime's TOML a few KiB. A bound keeps a hostile file (a
# 10 GiB file, a link to /dev/zero) from exhausting the node's memory.
MAX_FILE_BYTES = 8 * 1024 * 1024

_FILE_TYPES = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class FileRefused(Exception):
    """A path that exists but is not read: not a regular file (or a link where none is allowed), or too large.

    The message is a predicate ("is a FIFO (named pipe), not a regular file; not read"): the caller
    puts the path, and what the file is for, before it.
    """


def file_type(mode):
    """'a FIFO (named pipe)', 'a directory', ... for an st_mode that is not a regular file's."""
    for test, name in _FILE_TYPES:
        if test(mode):
            return name
    return "not a regular file"


def _refuse_type(path, mode):
    if stat.S_ISLNK(mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise FileRefused("is a symbolic link (to %s); links are not followed here, not read" % target)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    raise FileRefused("is %s, not a regular file; not read" % file_type(mode))


def read_regular_file(path, limit=MAX_FILE_BYTES, follow=True):
    """Bytes of a regular file of at most ``limit`` bytes; None when it does not exist.

    Never blocks and never reads without bound: a FIFO, device or socket is
    refused before it is opened (opening a FIFO waits for a writer), the open
    itself is non-blocking, and the file is checked again on the open handle.
    /proc and sysfs files are regular files whose size is 0 until read, so the
    bound is enforced on what is read, not on st_size alone.

    ``follow``: a symbolic link at ``path`` is followed (a dangling one reads as
    missing); else it is refused, and the open uses O_NOFOLLOW so that a link
    put there after the check is refused too. A directory raises
    IsADirectoryError; other OS errors (EACCES, ...) propagate.
    """
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        _refuse_type(path, info.st_mode)
    if info.st_size > limit:
        raise FileRefused("is %d bytes, larger than the %d bytes this module reads; not read" % (info.st_size, limit))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:  # replaced by a link between the lstat and the open
            raise FileRefused("is a symbolic link; links are not followed here, not read") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced between the stat and the open
            raise FileRefused("is %s, not a regular file; not read" % file_type(info.st_mode))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileRefused("is larger than the %d bytes this module reads; not read" % limit)
        return b"".join(chunks)
    finally:
        os.close(fd)
