# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node side of the configuration action plugins: read every file a task needs in one module run.

containerd_runtime and crio_runtime compute on the controller (tomlkit) and
write with ansible.builtin.copy. What they read from the node comes from one
run of their own module, which calls these functions, instead of a stat and
a slurp per file: on a fleet each module run costs about as much as a ping.
Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.kubegpu.nvidia.plugins.module_utils._bounded_read import (
    FileRefused,
    file_type,
    read_regular_file,
)

# The most entries list_files walks: a drop-in directory holds a handful.
MAX_LISTED = 4096


class NodeReadError(Exception):
    """A file the task cannot use as it is; the message names it and says what to do."""


def read_text_file(path, what, links=False):
    """{'text', 'mode'} of a regular UTF-8 file; None when it does not exist.

    `links`: follow a symbolic link (for files only read); else a link is refused,
    so that the file a task changes is the one it names. A dangling link reads as
    missing when followed.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NodeReadError("%s: cannot stat it: %s" % (path, exc.strerror or exc)) from exc
    if stat.S_ISLNK(info.st_mode):
        if not links:
            raise NodeReadError(
                "%s: is a symbolic link (to %s); this module does not edit through links, so that the file that "
                "changes is the one named. Pass the link's target as the path" % (path, _link_target(path))
            )
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return None  # a dangling link: nothing is read from it
        except OSError as exc:
            raise NodeReadError("%s: cannot stat it: %s" % (path, exc.strerror or exc)) from exc
    if not stat.S_ISREG(info.st_mode):
        raise NodeReadError(
            "%s: is not a regular file (it is %s). Pass the path of %s" % (path, file_type(info.st_mode), what)
        )
    message = None
    try:
        data = read_regular_file(path, follow=links)
    except FileRefused as exc:  # too large, or replaced since the stat (a FIFO now, say)
        message = "%s: %s. Pass the path of %s" % (path, exc, what)
    except OSError as exc:
        message = "%s: cannot be read (%s). Run the task with become, or fix the file's permissions" % (
            path,
            exc.strerror or exc,
        )
    if message is not None:
        raise NodeReadError(message)
    if data is None:
        return None  # removed since the stat
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NodeReadError("%s: is not UTF-8 text (%s); %s must be UTF-8 TOML" % (path, exc, what)) from exc
    return {"text": text, "mode": "%04o" % stat.S_IMODE(info.st_mode)}


def _link_target(path):
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def list_files(directory, limit=MAX_LISTED):
    """Paths of the non-directory entries below directory, sorted; None when it does not exist.

    Walks as CRI-O walks its drop-in directory (Go's filepath.Walk): real
    subdirectories are entered, a link to a file is listed (and read through),
    a link to a directory is not entered. CRI-O refuses such a link, and the
    directory itself being a link, with "read <path>: is a directory", so they
    are refused here, with that reason, before anything is written: a link loop
    or a link to / cannot make the walk endless. Past ``limit`` entries the walk
    stops with an error.
    """
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NodeReadError("%s: cannot stat it: %s" % (directory, exc.strerror or exc)) from exc
    if stat.S_ISLNK(info.st_mode) and os.path.isdir(directory):
        raise NodeReadError(
            "%s: is a symbolic link to a directory (%s); CRI-O does not read a drop-in directory through a link "
            "(it fails with 'read %s: is a directory'). Make it a directory"
            % (directory, _link_target(directory), directory)
        )
    if not stat.S_ISDIR(info.st_mode):
        raise NodeReadError("%s: is not a directory" % directory)
    errors = []
    found = []
    seen = 0
    for top, dirs, files in os.walk(directory, followlinks=False, onerror=errors.append):
        seen += len(dirs) + len(files)
        if seen > limit:
            raise NodeReadError(
                "%s: holds more than %d entries; CRI-O reads every file below it, and a drop-in directory has a "
                "handful. Move what is not CRI-O configuration out of it" % (directory, limit)
            )
        for name in dirs:
            path = os.path.join(top, name)
            if os.path.islink(path):
                raise NodeReadError(
                    "%s: is a symbolic link to a directory (%s), below %s; CRI-O fails on it ('read %s: is a "
                    "directory'). Remove the link, or put the files it points to there"
                    % (path, _link_target(path), directory, path)
                )
        dirs.sort()
        found.extend(os.path.join(top, name) for name in files)
    if errors:
        raise NodeReadError("%s: cannot list it: %s" % (directory, errors[0]))
    return sorted(found)
