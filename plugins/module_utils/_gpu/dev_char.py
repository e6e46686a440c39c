# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Links under /dev/char to the NVIDIA device nodes (standard library only).

With the systemd cgroup driver, runc hands a container's device rules to
systemd, which finds a character device by its ``/dev/char/MAJOR:MINOR`` link.
udev makes those links for the devices it creates; the NVIDIA driver's nodes
(``/dev/nvidia*``, made by nvidia-modprobe) have none. systemd then leaves those
devices out of the unit, and the next ``systemctl daemon-reload`` takes them
away from every running GPU container ("Failed to initialize NVML: Unknown
Error": NVIDIA/nvidia-container-toolkit issue 48, NVIDIA's notice in
nvidia-docker issue 1730). A link per device node prevents it.

``plan`` is pure: what to do, from the device nodes and the directory's entries.
``scan`` and ``apply`` do the reading and the writing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import fnmatch
import os
import stat

DEFAULT_PATTERNS = ("nvidia*", "nvidia-caps/*")
# A bounded listing: a node has a few dozen NVIDIA device nodes at most.
MAX_ENTRIES = 4096


class DevCharError(Exception):
    """A state the module will not change, with the path and the fix."""


def _listing(directory):
    names = []
    with os.scandir(directory) as entries:
        for entry in entries:
            names.append(entry.name)
            if len(names) > MAX_ENTRIES:
                raise DevCharError("{0} has more than {1} entries; not read".format(directory, MAX_ENTRIES))
    return sorted(names)


def device_nodes(dev_dir, patterns=DEFAULT_PATTERNS):
    """``[(path, "MAJOR:MINOR")]`` of the character device nodes under ``dev_dir`` matching ``patterns``.

    A pattern is relative to ``dev_dir`` and may name one subdirectory (``nvidia-caps/*``).
    Links and anything but a character device are left out.
    """
    found = {}
    for pattern in patterns:
        sub, leaf = os.path.split(pattern)
        directory = os.path.join(dev_dir, sub) if sub else dev_dir
        try:
            info = os.lstat(directory)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(info.st_mode):
            continue
        for name in _listing(directory):
            if not fnmatch.fnmatchcase(name, leaf):
                continue
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISCHR(info.st_mode):
                found[path] = "{0}:{1}".format(os.major(info.st_rdev), os.minor(info.st_rdev))
    return sorted(found.items())


def _entry(char_dir, name):
    """What ``char_dir/name`` is: None (nothing), ("link", target, rdev or None) or ("other", kind)."""
    path = os.path.join(char_dir, name)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISLNK(info.st_mode):
        return ("other", "a directory" if stat.S_ISDIR(info.st_mode) else "not a link")
    target = os.readlink(path)
    try:
        resolved = os.stat(path)
    except OSError:
        return ("link", target, None)
    number = None
    if stat.S_ISCHR(resolved.st_mode):
        number = "{0}:{1}".format(os.major(resolved.st_rdev), os.minor(resolved.st_rdev))
    return ("link", target, number)


def scan(dev_dir, char_dir, patterns=DEFAULT_PATTERNS):
    """The device nodes and what ``char_dir`` holds under their numbers (and links to them by other numbers)."""
    info = None
    with contextlib.suppress(FileNotFoundError):
        info = os.lstat(char_dir)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise DevCharError(
            "{0} is not a directory ({1}); the links are not written through it. Fix: make {0} a directory "
            "(udev does at boot), then run again".format(
                char_dir, "a link to {0}".format(os.readlink(char_dir)) if stat.S_ISLNK(info.st_mode) else "a file"))
    nodes = device_nodes(dev_dir, patterns)
    entries = {}
    if info is not None:
        paths = {path for path, dummy in nodes}
        for name in _listing(char_dir):
            entry = _entry(char_dir, name)
            # This device's number, or a link of ours to a device node whose number has changed (a reloaded module).
            if any(name == number for dummy, number in nodes) or (
                    entry and entry[0] == "link" and _points_at(char_dir, entry[1], paths)):
                entries[name] = entry
    return nodes, entries, info is not None


def _points_at(char_dir, target, paths):
    return os.path.normpath(os.path.join(char_dir, target)) in paths


def relative_target(char_dir, path):
    """The link text for ``path`` from ``char_dir``, relative as udev writes it (``../nvidia0``)."""
    return os.path.relpath(path, char_dir)


def plan(nodes, entries, char_dir, state="present"):
    """The actions: ``[{"link", "target", "action"}]``, action one of create, replace, remove, keep.

    ``present``: each node gets ``char_dir/MAJOR:MINOR`` pointing at it. A link there that already reaches the
    same device (udev's, or ours) is kept; a link that reaches nothing or another device is replaced; an entry
    that is not a link is refused. A link of ours whose number is no longer its device's is removed.
    ``absent``: the links that point at the device nodes are removed (udev's own stay: they point elsewhere).
    """
    actions = []
    numbers = {}
    for path, number in nodes:
        numbers.setdefault(number, path)
    wanted = {number: relative_target(char_dir, path) for number, path in numbers.items()}
    paths = {path for path, dummy in nodes}
    for name in sorted(set(wanted) | set(entries)):
        link = os.path.join(char_dir, name)
        entry = entries.get(name)
        if state == "absent":
            if entry and entry[0] == "link" and _points_at(char_dir, entry[1], paths):
                actions.append({"link": link, "target": entry[1], "action": "remove"})
            continue
        if name not in wanted:
            # Only links of ours reach here (scan keeps no others): stale, their device has another number now.
            actions.append({"link": link, "target": entry[1], "action": "remove"})
            continue
        if entry is None:
            actions.append({"link": link, "target": wanted[name], "action": "create"})
        elif entry[0] == "other":
            raise DevCharError(
                "{0} is {1}, where the link to {2} belongs; it is left as it is. Fix: remove {0} if nothing on "
                "this node needs it, then run again".format(link, entry[1], numbers[name]))
        elif entry[2] == name:
            actions.append({"link": link, "target": entry[1], "action": "keep"})
        else:
            actions.append({"link": link, "target": wanted[name], "action": "replace", "was": entry[1]})
    return actions


def render(actions, after):
    """The links as a diff side: one ``link -> target`` line each."""
    lines = []
    for action in actions:
        if after and action["action"] in ("create", "replace", "keep"):
            lines.append("{0} -> {1}".format(action["link"], action["target"]))
        elif not after and action["action"] != "create":
            lines.append("{0} -> {1}".format(action["link"], action.get("was", action["target"])))
    return "".join(line + "\n" for line in lines)


def apply(actions, char_dir, char_dir_exists):
    """Carry ``actions`` out: a new link is made under a temporary name and renamed over its place."""
    if not char_dir_exists and any(a["action"] in ("create", "replace") for a in actions):
        os.mkdir(char_dir, 0o755)
    for action in actions:
        link = action["link"]
        if action["action"] in ("create", "replace"):
            temporary = os.path.join(char_dir, ".kubegpu-{0}.tmp".format(os.path.basename(link)))
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            os.symlink(action["target"], temporary)
            os.replace(temporary, link)
        elif action["action"] == "remove":
            os.unlink(link)
