# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Add (or remove) an NVIDIA runtime handler in CRI-O's configuration, as text.

Controller side only (needs tomlkit). Pure: TOML texts in, the new text of the
module's drop-in out, plus a summary; no file system, no node. The action
plugin ``kubegpu.nvidia.crio_runtime`` does the I/O around it.

How CRI-O reads its configuration, and what follows for this module:

* crio.conf first, then every file under crio.conf.d in lexical order of the
  path, whatever its extension, subfolders included. A later file overrides a
  key of an earlier one; a handler table ``[crio.runtime.runtimes.<name>]``
  in a later file replaces that handler's table whole. So the module writes
  a complete handler table (copied from the runtime it stands in for), and
  never writes anything else into crio.conf.d (backups go elsewhere).
* ``crio config`` checks TOML syntax and types only; a handler whose binary is
  missing is dropped with a warning at start, unless it is the default one,
  which stops CRI-O from starting. So the module never makes a runtime the
  default unless its binary exists on the node (the caller says whether it does).

The module owns its drop-in whole: it is rendered from the handler tables and
``default_runtime`` it holds, the same way every time, so a second run changes
nothing and removing the last handler removes the file. A file at that path
that holds other settings is refused, never rewritten.
"""

from __future__ import annotations

import copy
import dataclasses
import posixpath
import re
from typing import Any

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtime_args import CRIO_ARGUMENT_SPEC
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _runtime_flow as flow
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import (
    TOMLKIT_IMPORT_ERROR,
    RuntimeConfigError,
    check_absolute,
    check_runtime_name,
    check_state,
    dotted,
    parse_plain,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import type_name as _type_name

if TOMLKIT_IMPORT_ERROR is None:
    import tomlkit

MARK = "kubegpu.nvidia.crio_runtime"
DROP_IN_HEADER = (
    f"Managed by {MARK}: container runtime handlers for NVIDIA GPUs.",
    "CRI-O reads every file in this directory after crio.conf, in lexical order;",
    "a handler table here replaces the table of the same name read before it, whole.",
)
RUNTIMES_PATH = ("crio", "runtime", "runtimes")
DEFAULT_PATH = ("crio", "runtime", "default_runtime")
OCI = "oci"
#: Keys written first in a handler table, in this order; the rest keep the copied table's order.
LEADING_KEYS = ("runtime_path", "runtime_type")


class CrioConfigError(RuntimeConfigError):
    """A configuration the module must not edit: names the file, the key and the fix."""


@dataclasses.dataclass(frozen=True)
class CrioRuntimeOptions:
    """The module's options that shape the drop-in (see the module's DOCUMENTATION)."""

    drop_in: str = "/etc/crio/crio.conf.d/99-nvidia.toml"
    config: str = "/etc/crio/crio.conf"
    runtime_name: str = "nvidia"
    runtime_path: str = "/usr/bin/nvidia-container-runtime"
    set_as_default: bool = False
    state: str = "present"


@dataclasses.dataclass
class CrioConfigResult:
    """The new text of the drop-in (None: it does not exist, or must be removed) and what it means."""

    drop_in_text: str | None
    changed: bool
    runtime: dict | None
    default_runtime: str | None
    copied_from: str | None
    drop_in_dir: str
    warnings: list = dataclasses.field(default_factory=list)

    @property
    def restart_required(self) -> bool:
        return self.changed


# --------------------------------------------------------------------------- reading


def _parse(text: str | None, name: str) -> dict:
    return parse_plain(text, name, "CRI-O", CrioConfigError)


def _lookup(data: dict, path, name: str) -> Any:
    """data at path; None when a part is missing; an error naming the key when a parent is not a table."""
    node: Any = data
    for i, part in enumerate(path):
        if not isinstance(node, dict):
            raise _not_a_table(name, path[:i], node)
        if part not in node:
            return None
        node = node[part]
    return node


def _not_a_table(name: str, path, value) -> CrioConfigError:
    return CrioConfigError(
        name,
        dotted(path),
        f"is a {_type_name(value)}, but CRI-O expects a table here",
        f"write it as a table ([{dotted(path)}]) or remove it",
    )


class _Layer:
    """One configuration file as CRI-O reads it: crio.conf or a file under crio.conf.d."""

    def __init__(self, name: str, text: str | None):
        self.name = name
        self.data = _parse(text, name)
        runtimes = _lookup(self.data, RUNTIMES_PATH, name)
        if runtimes is not None and not isinstance(runtimes, dict):
            raise _not_a_table(name, RUNTIMES_PATH, runtimes)
        self.runtimes = runtimes or {}
        for handler, table in self.runtimes.items():
            if not isinstance(table, dict):
                raise _not_a_table(name, (*RUNTIMES_PATH, handler), table)
            for key in ("runtime_path", "runtime_type", "runtime_root", "monitor_path"):
                if key in table and not isinstance(table[key], str):
                    raise CrioConfigError(
                        name,
                        dotted((*RUNTIMES_PATH, handler, key)),
                        f"is a {_type_name(table[key])}, but CRI-O expects a string",
                        "set it to a string or remove it",
                    )
        default = _lookup(self.data, DEFAULT_PATH, name)
        if default is not None and not isinstance(default, str):
            raise CrioConfigError(
                name,
                dotted(DEFAULT_PATH),
                f"is a {_type_name(default)}, but CRI-O expects a string (a handler name)",
                'write it as a string, e.g. default_runtime = "crun"',
            )
        self.default = default


def _path_key(path: str) -> tuple:
    """Lexical order of a walk through the directory (a folder's files sort among its siblings by name)."""
    return tuple(path.split("/"))


def _is_nvidia(name: str, table: dict) -> bool:
    binary = posixpath.basename(str(table.get("runtime_path", "")))
    return name.startswith("nvidia") or binary.startswith("nvidia-container-runtime")


def _is_oci(table: dict) -> bool:
    return table.get("runtime_type", OCI) == OCI


# --------------------------------------------------------------------------- the module's drop-in


def _own_drop_in(text: str | None, name: str, options: CrioRuntimeOptions) -> tuple:
    """(runtimes, default, adopted) held by the module's drop-in; refuses a file with other settings."""
    layer = _Layer(name, text)
    data = copy.deepcopy(layer.data)
    runtime = _lookup(data, ("crio", "runtime"), name) or {}
    runtime.pop("runtimes", None)
    runtime.pop("default_runtime", None)
    if runtime:
        data["crio"]["runtime"] = runtime
    else:
        (data.get("crio") or {}).pop("runtime", None)
    if not data.get("crio"):
        data.pop("crio", None)
    if data:
        other = sorted(_leaves(data))
        raise CrioConfigError(
            name,
            other[0],
            "this file holds settings other than runtime handlers and default_runtime, and the module owns "
            "the file whole",
            "move those settings to another file under crio.conf.d, or pass another drop_in",
        )
    header = "\n".join(f"# {line}" for line in DROP_IN_HEADER)
    adopted = bool(text and text.strip()) and not text.startswith(header)
    return dict(layer.runtimes), layer.default, adopted


def _leaves(data: dict, prefix=()) -> list:
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.extend(_leaves(value, (*prefix, key)))
        else:
            out.append(dotted((*prefix, key)))
    return out


def render_drop_in(runtimes: dict, default: str | None) -> str | None:
    """The module's drop-in for these handler tables and default; None when there is nothing to hold."""
    if not runtimes and default is None:
        return None
    doc = tomlkit.document()
    for line in DROP_IN_HEADER:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    crio = tomlkit.table(is_super_table=True)
    runtime = tomlkit.table(is_super_table=default is None)
    if default is not None:
        runtime.add("default_runtime", default)
    handlers = tomlkit.table(is_super_table=True)
    for name in sorted(runtimes):
        table = _handler_table(runtimes[name])
        handlers.add(name, table)
    if runtimes:
        runtime.add("runtimes", handlers)
    crio.add("runtime", runtime)
    doc.add("crio", crio)
    text = doc.as_string()
    if not text.endswith("\n"):
        text += "\n"
    # One blank line between tables and none at the end, whatever tomlkit chose.
    text = re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"
    return text


def _handler_table(data: dict) -> Any:
    table = tomlkit.table()
    ordered = [k for k in LEADING_KEYS if k in data] + [k for k in data if k not in LEADING_KEYS]
    for key in ordered:
        if not isinstance(data[key], dict):
            table.add(key, _value(data[key]))
    for key in ordered:
        if isinstance(data[key], dict):
            table.add(key, _sub_table(data[key]))
    return table


def _sub_table(data: dict) -> Any:
    table = tomlkit.table()
    for key, value in data.items():
        if not isinstance(value, dict):
            table.add(key, _value(value))
    for key, value in data.items():
        if isinstance(value, dict):
            table.add(key, _sub_table(value))
    return table


def _value(value: Any) -> Any:
    if isinstance(value, list) and len(value) > 1 and all(isinstance(v, str) for v in value):
        array = tomlkit.array()
        array.extend(value)
        return array.multiline(True)
    return tomlkit.item(value)


# --------------------------------------------------------------------------- entry point


def _check_options(options: CrioRuntimeOptions) -> None:
    check_state(options.state, CrioConfigError)
    check_runtime_name(options.runtime_name, CrioConfigError)
    if not posixpath.isabs(options.drop_in or "") or posixpath.dirname(options.drop_in) in ("", "/"):
        raise CrioConfigError(
            "(options)", "drop_in", f"is {options.drop_in!r}", "give the absolute path of a file under crio.conf.d"
        )
    if options.config:
        check_absolute("config", options.config, error=CrioConfigError)
    if options.state == "present":
        check_absolute("runtime_path", options.runtime_path, "give the absolute path of the binary", CrioConfigError)


def _effective(layers) -> tuple:
    """(runtimes, default) as CRI-O merges the layers: later tables replace earlier ones whole."""
    runtimes: dict = {}
    origin: dict = {}
    default = None
    for layer in layers:
        for name, table in layer.runtimes.items():
            runtimes[name] = table
            origin[name] = layer.name
        if layer.default is not None:
            default = layer.default
    return runtimes, origin, default


def configure(
    config_text: str | None,
    drop_in_texts: dict | None,
    options: CrioRuntimeOptions,
    runtime_path_exists: bool | None = None,
) -> CrioConfigResult:
    """Compute the new text of the module's drop-in.

    config_text: crio.conf (`options.config`), None when missing.
    drop_in_texts: {path: text} of every file under the drop-in's directory (the drop-in itself included
        when it exists), as CRI-O would read them.
    runtime_path_exists: whether `options.runtime_path` exists on the node (None: not known). A runtime is
        never made the default unless this is True.
    Raises CrioConfigError for input the module must not edit.
    """
    _check_options(options)
    drop_in_texts = dict(drop_in_texts or {})
    drop_dir = posixpath.dirname(options.drop_in)
    warnings: list = []
    if posixpath.basename(drop_dir) != "crio.conf.d":
        warnings.append(
            f"{options.drop_in}: CRI-O reads drop-ins from the directory given by its --config-dir "
            f"(/etc/crio/crio.conf.d by default), not from {drop_dir} unless it is configured so"
        )
    own_text = drop_in_texts.pop(options.drop_in, None)
    main = _Layer(options.config, config_text) if options.config else None
    others = sorted(drop_in_texts, key=_path_key)
    before = [_Layer(p, drop_in_texts[p]) for p in others if _path_key(p) < _path_key(options.drop_in)]
    after = [_Layer(p, drop_in_texts[p]) for p in others if _path_key(p) > _path_key(options.drop_in)]
    own_runtimes, own_default, adopted = _own_drop_in(own_text, options.drop_in, options)
    if adopted:
        warnings.append(
            f"{options.drop_in}: was not written by this module (by nvidia-ctk?); it is rewritten in the "
            "module's layout, with the same handler tables and default (its comments are not kept)"
        )
    lower = [x for x in [main, *before] if x is not None]
    name = options.runtime_name

    copied_from = None
    if options.state == "present":
        own_default, copied_from = _present(
            options, lower, own_runtimes, own_default, runtime_path_exists=runtime_path_exists, warnings=warnings
        )
    else:
        own_runtimes.pop(name, None)
        if own_default == name:
            own_default = None

    new_text = render_drop_in(own_runtimes, own_default)
    own_layer = _Layer(options.drop_in, new_text) if new_text is not None else None
    layers = [x for x in [*lower, own_layer, *after] if x is not None]
    runtimes, origin, default = _effective(layers)
    for layer in after:
        if name in layer.runtimes and options.state == "present":
            warnings.append(
                f"{layer.name}: defines [{dotted((*RUNTIMES_PATH, name))}] too and is read after {options.drop_in}, "
                "so CRI-O uses that table, not the module's"
            )
        if layer.default is not None and options.set_as_default and layer.default != name:
            warnings.append(
                f"{layer.name}: sets {dotted(DEFAULT_PATH)} = {layer.default!r} and is read after "
                f"{options.drop_in}, so CRI-O's default stays {layer.default!r}"
            )
    if options.state == "absent" and name in runtimes:
        warnings.append(f"{origin[name]}: still defines the {name!r} handler; the module only removes its own")
    if default == name and name not in runtimes:
        warnings.append(
            f"{dotted(DEFAULT_PATH)} is {name!r} ({_default_origin(layers)}) but no such handler is left: "
            "CRI-O will not start; set another default"
        )
    return CrioConfigResult(
        drop_in_text=new_text,
        changed=new_text != own_text,
        runtime=copy.deepcopy(runtimes.get(name)) if options.state == "present" else None,
        default_runtime=default,
        copied_from=copied_from,
        drop_in_dir=drop_dir,
        warnings=warnings,
    )


def _present(options, lower, own_runtimes: dict, own_default, *, runtime_path_exists, warnings: list) -> tuple:
    """Put the complete handler table into own_runtimes; returns (the drop-in's default, what was copied)."""
    name = options.runtime_name
    base_runtimes, base_origin, base_default = _effective(lower)
    copied_from = None
    if name in own_runtimes:
        table = copy.deepcopy(own_runtimes[name])
    elif name in base_runtimes:
        table = copy.deepcopy(base_runtimes[name])
        copied_from = f"{name} ({base_origin[name]})"
    else:
        source = _copy_source(base_runtimes, (own_default, base_default), name)
        table = copy.deepcopy(base_runtimes[source]) if source else {}
        copied_from = f"{source} ({base_origin[source]})" if source else None
        if source is None:
            warnings.append(
                "no runc or crun handler table found to copy (CRI-O's built-in ones are not in a file): "
                "the handler gets runtime_path and runtime_type only, and CRI-O's defaults for the rest"
            )
    table.pop("inherit_default_runtime", None)  # it would replace runtime_path with the default's
    table["runtime_path"] = options.runtime_path
    table["runtime_type"] = OCI
    own_runtimes[name] = table
    if options.set_as_default:
        if runtime_path_exists is not True:
            raise CrioConfigError(
                options.drop_in,
                dotted(DEFAULT_PATH),
                f"would be {name!r}, whose runtime_path {options.runtime_path} "
                + ("does not exist on the node" if runtime_path_exists is False else "was not checked")
                + "; CRI-O does not start when its default handler's binary is missing",
                "install the runtime first (the NVIDIA Container Toolkit), or use set_as_default: false",
            )
        own_default = name
    if runtime_path_exists is False:
        warnings.append(
            f"{options.runtime_path} does not exist on the node: CRI-O drops the {name!r} handler with a "
            "warning at start until it is installed (the NVIDIA Container Toolkit)"
        )
    return own_default, copied_from


def _copy_source(runtimes: dict, defaults: tuple, name: str) -> str | None:
    """The handler to copy: the default unless it is NVIDIA's or not an OCI one, else runc, else crun.

    `defaults`: the default set by the module's drop-in, then the one the files read before it set.
    """
    for candidate in (*defaults, "runc", "crun"):
        if not candidate or candidate == name or candidate not in runtimes:
            continue
        table = runtimes[candidate]
        if _is_oci(table) and not _is_nvidia(candidate, table):
            return candidate
    return None


def _default_origin(layers) -> str:
    for layer in reversed(layers):
        if layer.default is not None:
            return layer.name
    return "CRI-O's built-in default"


# --------------------------------------------------------------------------- hooks of plugin_utils._runtime_flow


def prepare(args: dict) -> dict:
    """Normalised paths (the node lists the drop-in directory so), and a backup_dir CRI-O would not read."""
    args = dict(args, drop_in=posixpath.normpath(args["drop_in"]), config=posixpath.normpath(args["config"]))
    drop_dir = posixpath.dirname(args["drop_in"])
    backup_dir = posixpath.normpath(args["backup_dir"] or "")
    if args["backup"] and (backup_dir == drop_dir or backup_dir.startswith(drop_dir.rstrip("/") + "/")):
        raise CrioConfigError(
            "(options)",
            "backup_dir",
            f"backup_dir {backup_dir} is inside {drop_dir}, which CRI-O reads whole (every file, whatever its "
            "name): a backup there would be applied as configuration",
            "Choose a directory outside it",
        )
    return args


def compute(args: dict, node: dict) -> flow.Plan:
    """The module's plan from its arguments and what the node module read (crio.conf, every drop-in)."""
    options = CrioRuntimeOptions(
        drop_in=args["drop_in"],
        config=args["config"],
        runtime_name=args["runtime_name"],
        runtime_path=args["runtime_path"],
        set_as_default=args["set_as_default"],
        state=args["state"],
    )
    config, drop_ins = node["config"], node["drop_ins"]
    computed = configure(
        config["text"] if config else None,
        {path: file["text"] for path, file in drop_ins.items()},
        options,
        node["runtime_path_exists"],
    )
    result = {
        "drop_in": options.drop_in,
        "runtime": computed.runtime,
        "default_runtime": computed.default_runtime,
        "copied_from": computed.copied_from,
        "files": [options.drop_in] if computed.changed else [],
    }
    if options.state == "present":
        result["runtime_path_exists"] = node["runtime_path_exists"]
    change = flow.FileChange(options.drop_in, drop_ins.get(options.drop_in), computed.drop_in_text)
    return flow.Plan(files=[change], result=result, warnings=list(computed.warnings))


def validator(args: dict, node: dict, plan: flow.Plan) -> flow.Validation | str:
    """`crio --config crio.conf --config-dir crio.conf.d config` on crio.conf and every drop-in, the new one too."""
    binary = (node.get("crio") or {}).get("path")
    if not binary:
        return (
            f"{args['drop_in']}: not validated: the node has no crio binary (on its PATH or in an sbin directory), "
            "so CRI-O's own parser has not read the result (validated: false)"
        )
    drop_dir = posixpath.dirname(args["drop_in"])
    config = node["config"]
    files = [flow.StagedFile(args["config"], "crio.conf", config["text"] if config else "")]
    texts = {path: file["text"] for path, file in node["drop_ins"].items()}
    texts.pop(args["drop_in"], None)
    own = plan.files[0]
    if own.after is not None:
        texts[own.path] = own.after
    for path in sorted(texts):
        files.append(flow.StagedFile(path, "crio.conf.d/" + posixpath.relpath(path, drop_dir), texts[path]))
    return flow.Validation(
        argv=(binary, "--config", "{stage}/crio.conf", "--config-dir", "{stage}/crio.conf.d", "config"),
        files=tuple(files),
        fix="fix that value in the file named (CRI-O refuses it at start too), or remove it",
    )


#: CRI-O in the runtime flow. Two tasks on one drop-in directory take turns: each reads every file in it.
RUNTIME = flow.Runtime(
    "CRI-O",
    "kubegpu.nvidia.crio_runtime",
    CRIO_ARGUMENT_SPEC,
    compute,
    validator,
    lock_path=lambda args: posixpath.dirname(args["drop_in"]),
    prepare=prepare,
    backup_dir=lambda args: args["backup_dir"],
)
