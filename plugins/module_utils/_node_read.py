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
        raise NodeReadError("%s: is not a regular file. Pass the path of %s" % (path, what))
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise NodeReadError(
            "%s: cannot be read (%s). Run the task with become, or fix the file's permissions"
            % (path, exc.strerror or exc)
        ) from exc
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


def list_files(directory):
    """Paths of the non-directory entries below directory, links followed, sorted; None when it does not exist."""
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NodeReadError("%s: cannot stat it: %s" % (directory, exc.strerror or exc)) from exc
    if not stat.S_ISDIR(info.st_mode):
        raise NodeReadError("%s: is not a directory" % directory)
    errors = []
    found = []
    for top, dirs, files in os.walk(directory, followlinks=True, onerror=errors.append):
        dirs.sort()
        found.extend(os.path.join(top, name) for name in files)
    if errors:
        raise NodeReadError("%s: cannot list it: %s" % (directory, errors[0]))
    return sorted(found)
