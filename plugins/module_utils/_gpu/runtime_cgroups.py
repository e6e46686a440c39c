# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cgroup driver of each container runtime, and whether systemd is the node's init.

Private to this collection. kubelet's cgroupDriver must be the one its
runtime uses, and ``systemd`` only works where systemd is the running init;
the decision stage reads both from the facts of one gpu_facts run.

Every answer is "what the runtime itself would use", or None where that
cannot be known from here; why it cannot is recorded through the reader, as
for any file that exists but cannot be read or understood.

The runtimes' configurations are TOML, and the node reads them with tomllib,
which came with Python 3.11. On an older node Python nothing is parsed: the
driver is None and the texts go back to the controller (``config_texts``),
which parses them with its own tomllib and applies the same ``*_from_data``
functions below. Those take parsed data only, so both sides share them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import parsers
from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import (
    CONFIG_DUMP,
    CONTAINERD_CRI_PLUGINS,
    DEFAULT_CGROUP_DRIVERS,
)

CGROUP_DRIVERS = ("systemd", "cgroupfs")
CRIO_DROP_IN_DIR = "/etc/crio/crio.conf.d"
# Bounds for a hostile root: a link loop under crio.conf.d, or a directory of a million files.
MAX_DROP_IN_DEPTH = 8
MAX_DROP_INS = 256
# The path of the config_texts entry that holds containerd's dump rather than a file.
CONFIG_DUMP_PATH = " ".join(CONFIG_DUMP["containerd"])
# Bounds on what goes back to the controller in config_texts: containerd's dump
# is under 10 KiB and CRI-O's crio.conf about 20 KiB, so these only stop a hostile
# root from sending megabytes through every fact cache.
MAX_CONFIG_TEXT = 256 * 1024
MAX_CONFIG_TEXTS = 1024 * 1024


def init_is_systemd(reader):
    """sd_booted(3): systemd is the running init when /run/systemd/system is a directory.

    systemd creates that directory early at boot; other inits and containers
    without systemd do not have it. Below another root this reports what that
    tree holds (an image's /run is usually empty, so False).
    """
    return reader.isdir("/run/systemd/system")


# --- which key holds the driver: parsed data in, so the controller can run it too ---------


def containerd_cgroup_driver_from_data(data, dump=False):
    """The cgroup driver of containerd's CRI default runtime, from a parsed config.toml or ``config dump``.

    The config's schema version picks the CRI plugin (``cri`` for 1,
    ``io.containerd.grpc.v1.cri`` for 2, ``io.containerd.cri.v1.runtime`` for
    3; a file without a top-level ``version`` is version 1); its
    ``containerd.default_runtime_name`` (``runc`` when unset) names the
    runtime, and that runtime's ``options.SystemdCgroup = true`` means
    ``systemd``, anything else ``cgroupfs``.

    ``dump``: ``data`` is ``containerd config dump`` output, whose imports are
    already merged. A file that imports others is not decided (ParseError),
    since how containerd merges imports depends on its version. ParseError
    also for a value containerd would refuse; its message names the key.
    """
    plugin = _cri_plugin(data)
    imports = data.get("imports", [])
    if not isinstance(imports, list) or not all(isinstance(item, str) for item in imports):
        raise parsers.ParseError("expected an array of file names at imports, found %s" % _kind(imports))
    containerd = _table(data, ("plugins", plugin, "containerd"))
    name = containerd.get("default_runtime_name", "")
    if not isinstance(name, str):
        raise parsers.ParseError(
            "expected a string at %s, found %s"
            % (_dotted(("plugins", plugin, "containerd", "default_runtime_name")), _kind(name))
        )
    options_path = ("plugins", plugin, "containerd", "runtimes", name or "runc", "options")
    systemd_cgroup = _table(data, options_path).get("SystemdCgroup", False)
    if not isinstance(systemd_cgroup, bool):
        raise parsers.ParseError(
            "expected true or false at %s, found %s"
            % (_dotted(options_path + ("SystemdCgroup",)), _kind(systemd_cgroup))
        )
    if imports and not dump:
        raise parsers.ParseError(
            "imports %s; how containerd merges imports depends on its version, so the cgroup driver is read only "
            "from containerd config dump, which runs on the node itself (root /)" % ", ".join(imports)
        )
    return "systemd" if systemd_cgroup else DEFAULT_CGROUP_DRIVERS["containerd"]


def _cri_plugin(data):
    """The CRI plugin of a containerd config's schema version (a file without ``version`` is 1); ParseError else."""
    version = data.get("version", 1)
    plugin = None if isinstance(version, bool) else CONTAINERD_CRI_PLUGINS.get(version)
    if plugin is None:
        raise parsers.ParseError(
            "expected a top-level 'version' of %s, found %s"
            % (", ".join(str(v) for v in sorted(CONTAINERD_CRI_PLUGINS)), _kind(version))
        )
    return plugin


def containerd_default_runtime_from_data(data):
    """``{name, runtime_type, table}`` of the CRI plugin's default runtime, from ``containerd config dump`` output.

    The dump holds the runtimes containerd would run with, its built-in runc
    included. Before 2.1 a ``runtimes.runc`` table in config.toml replaces that
    built-in runc whole, so a table with only ``options`` (the ``SystemdCgroup``
    snippet) leaves ``runtime_type`` empty and containerd refuses every
    container ("container.Runtime.Name must be set"); the decision stage stops
    on it. ``table``: the dotted key of the runtime's table. ParseError for data
    that is not a dump of a known schema.
    """
    plugin = _cri_plugin(data)
    name = _table(data, ("plugins", plugin, "containerd")).get("default_runtime_name", "")
    keys = ("plugins", plugin, "containerd", "runtimes", (name if isinstance(name, str) else "") or "runc")
    runtime_type = _table(data, keys).get("runtime_type", "")
    if not isinstance(runtime_type, str):
        raise parsers.ParseError(
            "expected a string at %s, found %s" % (_dotted(keys + ("runtime_type",)), _kind(runtime_type))
        )
    return {"name": keys[-1], "runtime_type": runtime_type, "table": _dotted(keys)}


def crio_cgroup_manager_from_data(data):
    """``crio.runtime.cgroup_manager`` of one parsed CRI-O file; None when the file does not set it.

    CRI-O accepts ``systemd`` and ``cgroupfs`` only and refuses to start on
    anything else, so any other value is a ParseError.
    """
    value = _table(data, ("crio", "runtime")).get("cgroup_manager")
    if value is None:
        return None
    if not isinstance(value, str) or value not in CGROUP_DRIVERS:
        raise parsers.ParseError(
            'expected "systemd" or "cgroupfs" at crio.runtime.cgroup_manager, found %s' % _kind(value)
        )
    return value


def crio_cgroup_driver_from_data(files):
    """CRI-O's cgroup driver from its files' parsed data, in the order CRI-O reads them.

    The last file that sets ``cgroup_manager`` wins; none at all means
    CRI-O's default, systemd. ParseError for the first value CRI-O refuses.
    """
    driver = DEFAULT_CGROUP_DRIVERS["crio"]
    for data in files:
        value = crio_cgroup_manager_from_data(data)
        if value is not None:
            driver = value
    return driver


def _table(data, keys):
    """The table at ``keys`` below ``data``; {} when a part is missing, ParseError when one is not a table."""
    for index, key in enumerate(keys):
        data = data.get(key, {})
        if not isinstance(data, dict):
            raise parsers.ParseError("expected a table at %s, found %s" % (_dotted(keys[: index + 1]), _kind(data)))
    return data


def _dotted(keys):
    return ".".join(key if re.match(r"^[A-Za-z0-9_-]+$", key) else '"%s"' % key for key in keys)


def _kind(value):
    if isinstance(value, bool):
        return "the boolean %s" % ("true" if value else "false")
    if isinstance(value, str):
        return "the string %r" % value[:40]
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return "the value %r" % (value,)


# --- the node: read, then parse here or send the texts on --------------------------------


def _result(driver=None, source=None, texts=None):
    return {"cgroup_driver": driver, "cgroup_driver_source": source, "config_texts": texts or []}


def _record(reader, path, reason):
    # The config's version was parsed from the same text: its TOML error is recorded once.
    if {"path": path, "reason": reason} not in reader.errors:
        reader.error(path, reason)


def config_texts(reader, entries):
    """``[{path, text}]`` for the controller to parse, from ``(path, text, error_path, prefix)`` entries.

    All or nothing: the controller must not decide from part of what the
    runtime reads, so one text over MAX_CONFIG_TEXT bytes, or all of them over
    MAX_CONFIG_TEXTS, sends none and records why against that entry's
    ``error_path`` (``prefix`` and the size start the reason).
    """
    why = (
        "that gpu_facts sends the controller to parse, since this node's Python has no tomllib (3.11+); "
        "the cgroup driver is unknown"
    )
    total = 0
    for dummy, text, error_path, prefix in entries:
        size = len(text.encode("utf-8"))
        total += size
        if size > MAX_CONFIG_TEXT:
            reader.error(error_path, "%s%d bytes, more than the %d %s" % (prefix, size, MAX_CONFIG_TEXT, why))
            return []
        if total > MAX_CONFIG_TEXTS:
            reader.error(
                error_path,
                "%s%d bytes, which brings the configuration to %d bytes, more than the %d in all %s"
                % (prefix, size, total, MAX_CONFIG_TEXTS, why),
            )
            return []
    return [{"path": entry[0], "text": entry[1]} for entry in entries]


def containerd_cgroup_driver(reader, binary, run_command, config_path, config_text):
    """``{cgroup_driver, cgroup_driver_source, config_texts, default_runtime}`` of containerd's CRI default runtime.

    ``default_runtime`` (containerd_default_runtime_from_data) only from the
    dump, the one place containerd's own runtimes are merged in; else None.
    """
    result = _containerd_cgroup_driver(reader, binary, run_command, config_path, config_text)
    result.setdefault("default_runtime", None)
    return result


def _containerd_cgroup_driver(reader, binary, run_command, config_path, config_text):
    """The driver, as containerd_cgroup_driver returns it.

    On the live root the effective configuration comes from one
    ``containerd config dump`` (config.toml with its imports merged and
    containerd's defaults filled in). Below another root, or without a way to
    run commands, it comes from ``config_text`` (the file's text, None when it
    is absent or unreadable): a missing or blank file means containerd's
    defaults. The driver is None when it cannot be known, or when this Python
    has no tomllib: then ``config_texts`` holds the dump or the file for the
    controller.
    """
    if binary is None:
        return _result()
    if reader.is_live and run_command is not None:
        argv = [binary] + list(CONFIG_DUMP["containerd"][1:])
        command = " ".join(argv)
        dump = _config_dump(reader, argv, run_command, config_path)
        if dump is None:
            return _result()
        if parsers.tomllib is None:
            return _result(texts=config_texts(reader, [(CONFIG_DUMP_PATH, dump, config_path, command + " printed ")]))
        try:
            data = parsers.toml(dump)
            result = _result(containerd_cgroup_driver_from_data(data, dump=True), "config dump")
            result["default_runtime"] = containerd_default_runtime_from_data(data)
            return result
        except parsers.ParseError as exc:
            reader.error(config_path, "%s printed output that is unusable: %s" % (command, exc))
            return _result()
    if config_text is None and reader.exists(config_path):
        return _result()  # exists but unreadable: the reader has recorded why
    if not (config_text or "").strip():
        return _result(DEFAULT_CGROUP_DRIVERS["containerd"], "config file")
    if parsers.tomllib is None:
        return _result(texts=config_texts(reader, [(config_path, config_text, config_path, "is ")]))
    try:
        return _result(containerd_cgroup_driver_from_data(parsers.toml(config_text)), "config file")
    except parsers.ParseError as exc:
        _record(reader, config_path, str(exc))
        return _result()


def _config_dump(reader, argv, run_command, config_path):
    """The output of ``containerd config dump``; None, with the reason recorded, when there is none to read."""
    command = " ".join(argv)
    try:
        rc, out, err = run_command(argv)
    except OSError as exc:
        reader.error(config_path, "%s could not be run: %s" % (command, exc))
        return None
    if rc == 124:
        reader.error(config_path, "%s did not answer in time and was stopped (command_timeout)" % command)
        return None
    if rc != 0:
        reader.error(config_path, "%s exited with %d: %s" % (command, rc, parsers.first_line(err, out) or "no output"))
        return None
    if not (out or "").strip():
        reader.error(config_path, "%s printed nothing; expected the effective configuration as TOML" % command)
        return None
    return out


def crio_cgroup_driver(reader, config_path, drop_in_dir=CRIO_DROP_IN_DIR):
    """``{cgroup_driver, config_texts}``: CRI-O's cgroup_manager as CRI-O reads it.

    crio.conf first, then every file below crio.conf.d whatever its name
    (CRI-O walks the directory, subdirectories included, in lexical order);
    a later file's value wins, and none at all means CRI-O's default, systemd.
    CRI-O refuses to start on a file it cannot read or parse, so such a file
    leaves the driver None. Without tomllib the driver is None and
    ``config_texts`` holds the files for the controller, in that order.
    """
    errors = len(reader.errors)
    texts = []
    for path in [config_path] + crio_drop_ins(reader, drop_in_dir):
        text = reader.text(path)
        if text is not None and text.strip():  # a blank file sets nothing
            texts.append((path, text))
    if len(reader.errors) != errors:
        return {"cgroup_driver": None, "config_texts": []}
    if not texts:
        return {"cgroup_driver": DEFAULT_CGROUP_DRIVERS["crio"], "config_texts": []}
    if parsers.tomllib is None:
        entries = [(path, text, path, "is ") for path, text in texts]
        return {"cgroup_driver": None, "config_texts": config_texts(reader, entries)}
    files = [reader.parse(path, _crio_file, text) for path, text in texts]
    if len(reader.errors) != errors:
        return {"cgroup_driver": None, "config_texts": []}
    return {"cgroup_driver": crio_cgroup_driver_from_data(files), "config_texts": []}


def _crio_file(text):
    data = parsers.toml(text)
    crio_cgroup_manager_from_data(data)  # a value CRI-O refuses is recorded against this file
    return data


def crio_drop_ins(reader, directory=CRIO_DROP_IN_DIR):
    """The files below crio.conf.d in the order CRI-O applies them (a walk, names sorted in each directory)."""
    found = []

    def walk(current, depth):
        for name in reader.listdir(current) or []:
            path = posixpath.join(current, name)
            if reader.isdir(path):
                if depth < MAX_DROP_IN_DEPTH:
                    walk(path, depth + 1)
                else:
                    reader.error(path, "is more than %d directories below %s; not read" % (depth, directory))
            elif not reader.exists(path):
                reader.error(path, "is a link to nothing; CRI-O fails to start on it")
            elif len(found) == MAX_DROP_INS:
                raise _TooMany()
            else:
                found.append(path)

    try:
        walk(directory, 1)
    except _TooMany:
        reader.error(directory, "holds more than %d files; only the first %d are read" % (MAX_DROP_INS, MAX_DROP_INS))
    return found


class _TooMany(Exception):
    pass
