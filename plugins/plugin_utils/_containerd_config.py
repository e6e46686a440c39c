# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd's rules in the runtime flow: the NVIDIA runtime in containerd's configuration, as text.

Controller side only (needs tomlkit). Pure: the action plugin
``kubegpu.nvidia.containerd_runtime`` (plugin_utils._node_files) does the I/O
around the `RUNTIME` defined here. The work is split by concern:

* module_utils._runtimes: containerd's versions, CRI plugin names, paths.
* _containerd_schema: which config schema a file is, where the CRI settings live in it.
* _containerd_imports: config.toml in place or the module's drop-in (by how the
  node's containerd merges ``imports``), and the import line.
* _containerd_editor: the CRI runtimes; adding and removing the NVIDIA runtime.
* _containerd_owned: a key set with its mark, and given back from it.
* _containerd_cgroup: the runc runtimes' cgroup driver (``SystemdCgroup``).
* _containerd_change: `configure()`, the new texts for state present or absent.

What the module changes in a file it does not own whole is marked with a
trailing comment (``# added by kubegpu.nvidia.containerd_runtime (nvidia)`` or
``# set by ... (nvidia), was: <the original value and comment>``), so that
``state=absent`` gives back the original bytes; everything else is left as it
was, comments and formatting included (tomlkit).
"""

from __future__ import annotations

import posixpath

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtime_args import CONTAINERD_ARGUMENT_SPEC
from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import (
    CONFIG_DUMP,
    format_version,
    parse_version,
    version_precision,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_change import RuntimeOptions, configure
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_imports import import_staged
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_schema import ContainerdConfigError
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._runtime_flow import (
    FileChange,
    Plan,
    Runtime,
    StagedFile,
    Validation,
)

# What the action plugin, the benchmark and the tests use, wherever it is defined.
__all__ = [
    "RUNTIME",
    "ContainerdConfigError",
    "RuntimeOptions",
    "compute",
    "configure",
    "decide_version",
    "options_of",
    "validator",
]


def decide_version(given: str | None, node: dict) -> tuple | None:
    """The version the strategy rests on: the node's binary wins; a given one must agree with it, and parse."""
    wanted = None
    if given:
        wanted = parse_version(given)
        if wanted is None:
            raise ContainerdConfigError(
                "(options)",
                "containerd_version",
                f"is {given!r}, which is not a containerd version",
                "give a version such as 1.7.24, or leave it out and the node's containerd is asked",
            )
    found = parse_version(node.get("version")) if node.get("version") else None
    if wanted is not None and found is not None:
        precision = version_precision(given)
        if wanted[:precision] != found[:precision]:
            raise ContainerdConfigError(
                "(options)",
                "containerd_version",
                f"is {given!r}, but the node's containerd ({node.get('path')}) is {format_version(found)}; where "
                "the runtime goes depends on the version, so a wrong one breaks containerd",
                "leave containerd_version out (the node's binary is asked), or correct it",
            )
    return found or wanted


def options_of(args: dict) -> RuntimeOptions:
    return RuntimeOptions(
        path=args["path"],
        drop_in=args["drop_in"] or "",
        runtime_name=args["runtime_name"],
        runtime_path=args["runtime_path"],
        set_as_default=args["set_as_default"],
        enable_cdi=args["enable_cdi"],
        state=args["state"],
        sandbox_image=str(args.get("sandbox_image") or ""),
        systemd_cgroup=args.get("systemd_cgroup"),
    )


def compute(args: dict, node: dict) -> Plan:
    """The module's plan from its arguments and what the node module read (both files, containerd)."""
    options = options_of(args)
    config, drop_in = node["config"], node["drop_in"]
    version = decide_version(args.get("containerd_version"), node["containerd"])
    computed = configure(config["text"] if config else None, drop_in["text"] if drop_in else None, options, version)
    result = {
        "config_version": computed.config_version,
        "cri_plugin": computed.cri_plugin,
        "strategy": computed.strategy,
        "strategy_reason": computed.strategy_reason,
        "containerd_version": computed.containerd_version,
        "runtime": computed.runtime,
        "files": computed.files,
    }
    # The drop-in first: config.toml may import it.
    files = [FileChange(options.drop_in, drop_in, computed.drop_in_text)] if options.drop_in else []
    files.append(FileChange(options.path, config, computed.config_text))
    return Plan(files=files, result=result, warnings=list(computed.warnings))


def validator(args: dict, node: dict, plan: Plan) -> Validation | str:
    """`containerd -c config.toml config dump` on the candidates, config.toml importing the candidate drop-in."""
    binary = node["containerd"]["path"]
    if not binary:
        return (
            f"{args['path']}: not validated: the node has no containerd binary (on its PATH or in an sbin "
            "directory), so containerd's own parser has not read the result (validated: false)"
        )
    config_change, drop_change = plan.files[-1], plan.files[0] if len(plan.files) > 1 else None
    config_text = config_change.after or ""
    files = []
    if drop_change is not None and drop_change.after is not None:
        staged_drop = f"conf.d/{posixpath.basename(drop_change.path)}"
        files.append(StagedFile(drop_change.path, staged_drop, drop_change.after))
        config_text = import_staged(config_text, args["path"], drop_change.path, "{stage}/" + staged_drop)
    files.append(StagedFile(config_change.path, "config.toml", config_text))
    return Validation(
        argv=(binary, "-c", "{stage}/config.toml", *CONFIG_DUMP["containerd"][1:]),
        files=tuple(files),
        fix="fix that value in the file named (containerd refuses it at start too), or remove it",
    )


RUNTIME = Runtime(
    name="containerd",
    module="kubegpu.nvidia.containerd_runtime",
    argument_spec=CONTAINERD_ARGUMENT_SPEC,
    compute=compute,
    validator=validator,
    lock_path=lambda args: args["path"],
)
