# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`configure()`: the new texts of config.toml and of the module's drop-in, for state present or absent.

Controller side only (needs tomlkit). Pure: TOML text in, TOML text out, plus a
summary. It reads both files, picks the schema (_containerd_schema) and the
file the runtime goes to (_containerd_imports), lets the editor
(_containerd_editor) make the changes each state asks for, and checks that the
result changed only what the module owns and reads back as written.
"""

from __future__ import annotations

import dataclasses
import posixpath

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import (
    CONFIGS,
    CONTAINERD_CDI_SINCE,
    CONTAINERD_DEEP_MERGE_SINCE,
    format_version,
    parse_version,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_cgroup import CgroupDriver
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_editor import RuntimeEditor
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_imports import (
    STRATEGY_IN_PLACE,
    check_drop_in_conflict,
    choose_strategy,
    ensure_import,
    read_imports,
    remove_import,
    start_drop_in,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_schema import (
    MARKS,
    ContainerdConfigError,
    ContainerdFile,
    CriLayout,
    check_schema_against_containerd,
    detect_config_version,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import (
    TOMLKIT_IMPORT_ERROR,
    check_absolute,
    check_runtime_name,
    check_state,
    dotted,
    finished_text,
)

if TOMLKIT_IMPORT_ERROR is None:
    import tomlkit


@dataclasses.dataclass(frozen=True)
class RuntimeOptions:
    """The module's options that shape the files (see the module's DOCUMENTATION)."""

    path: str = CONFIGS["containerd"]
    drop_in: str = "/etc/containerd/conf.d/99-nvidia.toml"
    runtime_name: str = "nvidia"
    runtime_path: str = "/usr/bin/nvidia-container-runtime"
    set_as_default: bool = False
    enable_cdi: bool = False
    state: str = "present"
    # The CRI's sandbox (pause) image; empty: left as it is.
    sandbox_image: str = ""
    # SystemdCgroup of the default runtime, runc and the runtime; None: left as it is.
    systemd_cgroup: bool | None = None


@dataclasses.dataclass
class ContainerdConfigResult:
    """New texts of the two files and what the change means.

    ``config_text`` / ``drop_in_text`` are None when that file does not exist
    and must not (for the drop-in: must be removed).
    """

    config_text: str | None
    drop_in_text: str | None
    config_version: int
    cri_plugin: str
    strategy: str
    strategy_reason: str
    config_changed: bool
    drop_in_changed: bool
    runtime: dict | None
    containerd_version: str | None
    warnings: list = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.config_changed or self.drop_in_changed

    @property
    def files(self) -> list:
        """Paths of the files whose content changes (or which appear or go away)."""
        return [p for p, c in ((self.config_path, self.config_changed), (self.drop_in_path, self.drop_in_changed)) if c]

    config_path: str = ""
    drop_in_path: str = ""


def _check_options(options: RuntimeOptions) -> None:
    check_state(options.state, ContainerdConfigError)
    if options.runtime_name == "" and options.set_as_default:
        raise ContainerdConfigError(
            "(options)", "runtime_name", "is empty (no runtime) while set_as_default is true", "name the runtime"
        )
    if options.runtime_name != "":
        check_runtime_name(options.runtime_name, ContainerdConfigError)
    check_absolute("path", options.path, error=ContainerdConfigError)
    if options.drop_in and (not posixpath.isabs(options.drop_in) or options.drop_in == options.path):
        raise ContainerdConfigError(
            "(options)", "drop_in", f"is {options.drop_in!r}", "give an absolute path other than path, or ''"
        )
    if options.state == "present" and options.runtime_name:
        fix = "give the absolute path of the binary"
        check_absolute("runtime_path", options.runtime_path, fix, ContainerdConfigError)
    if options.systemd_cgroup is not None and not isinstance(options.systemd_cgroup, bool):
        raise ContainerdConfigError(
            "(options)", "systemd_cgroup", f"is {options.systemd_cgroup!r}", "use true, false, or leave it out"
        )


def _present(options, config: ContainerdFile, drop, editor: RuntimeEditor, strategy: str):
    """Add the runtime (and what was asked for) to the file the strategy names; returns the drop-in."""
    version, layout, name = editor.version, editor.layout, options.runtime_name
    cgroup = CgroupDriver(editor)
    config_was_empty = config.empty
    if options.enable_cdi and version is not None and version < CONTAINERD_CDI_SINCE:
        raise ContainerdConfigError(
            options.path,
            dotted(layout.cdi_key),
            f"containerd {format_version(version)} has no CDI support (it came with containerd 1.7)",
            "upgrade containerd to 1.7 or later, or use enable_cdi: false (runtime mode)",
        )
    if options.enable_cdi and version is None:
        editor.warnings.append("containerd's version is unknown: enable_cdi needs containerd >= 1.7")
    if strategy == STRATEGY_IN_PLACE:
        if options.drop_in:
            check_drop_in_conflict(options, config, drop, version, editor.warnings)
        target, sources = config, [config]
    else:
        if drop is None:
            drop = ContainerdFile(None, options.drop_in)
        if drop.empty:
            start_drop_in(drop, config, layout.schema)
        target, sources = drop, [drop, config]
        ensure_import(config, options.drop_in, options.path)
    if config_was_empty:
        version_item = tomlkit.item(2)
        MARKS.put(version_item, "added", None)
        config.doc.add("version", version_item)
        if "imports" in config.doc:  # keep `version` first, as containerd writes it
            imports = config.doc["imports"]
            del config.doc["imports"]
            config.doc.add("imports", imports)
    # Plain keys before tables, so that new tables come out in containerd's own order.
    if options.enable_cdi:
        editor.keys.set(target, layout.cri_path, "enable_cdi", True)
    if options.sandbox_image:
        editor.keys.set(target, layout.sandbox_table, layout.sandbox_key, options.sandbox_image)
    if options.set_as_default:
        editor.keys.set(target, layout.containerd_path, "default_runtime_name", name)
    if name:  # else no runtime (CDI mode): only the keys above
        runtimes = editor.runtimes(target)
        had_runtimes = runtimes is not None and len(runtimes) > 0
        before_deep_merge = version is None or version < CONTAINERD_DEEP_MERGE_SINCE
        if not had_runtimes and strategy == STRATEGY_IN_PLACE and before_deep_merge:
            editor.ensure_builtin_runc(target)
        editor.ensure_runtime(target, sources, fresh_layout=target is not config, align=cgroup.align_runtime)
    # After the runtime: a new runtime is copied from the default one before that is marked.
    if options.systemd_cgroup is not None:
        cgroup.set_base(config, sources)
    for file in dict.fromkeys(sources):
        file.settle_new_tables()
    if target is drop and not drop.existed and set(drop.doc.keys()) <= {"version"}:
        # Nothing of this call goes to the drop-in (the cgroup driver is config.toml's): no file, no import.
        remove_import(config, options.drop_in)
        return None
    return drop


def _absent(options, config: ContainerdFile, drop, editor: RuntimeEditor):
    """Remove the runtime and give back what the module marked; returns the drop-in (None: it goes)."""
    layout, name = editor.layout, options.runtime_name
    # A call without a runtime and without CDI (the kubernetes stage's sandbox image, the container_runtime
    # role's cgroup driver) owns only the keys it names: its absent takes back those alone.
    owns_keys = bool(options.sandbox_image) or options.systemd_cgroup is not None
    keys_only = owns_keys and not name and not options.enable_cdi
    for file in (config, drop):
        if file is None:
            continue
        if options.systemd_cgroup is not None:
            CgroupDriver(editor).restore(file)
            editor.drop_added_runc(file)
        if not keys_only:
            editor.remove_runtime(file)
            editor.keys.restore(file, layout.containerd_path, "default_runtime_name", name, drop_unmarked=True)
            editor.keys.restore(file, layout.cri_path, "enable_cdi", True, drop_unmarked=False)
        if options.sandbox_image:
            editor.keys.restore(
                file, layout.sandbox_table, layout.sandbox_key, options.sandbox_image, drop_unmarked=False
            )
        for path in (layout.runtime_path, layout.containerd_path, layout.sandbox_table, layout.cri_path):
            file.prune(path, force=file is drop)
    if drop is not None and set(drop.doc.keys()) <= {"version"}:
        drop = None  # nothing left in the module's own file: it goes
    if drop is None and options.drop_in:
        remove_import(config, options.drop_in)
    if set(config.doc.keys()) == {"version"} and (MARKS.read(config.doc["version"]) or {}).get("kind") == "added":
        del config.doc["version"]
    return drop


def _same_ending(before: str | None, after: str) -> str:
    """A file without a final newline keeps having none, so that absent after present gives back its bytes."""
    if before and not before.endswith("\n") and after.strip():
        return after.rstrip("\n")
    return after


def configure(
    config_text: str | None,
    drop_in_text: str | None,
    options: RuntimeOptions,
    containerd_version: str | tuple | None = None,
) -> ContainerdConfigResult:
    """Compute the new texts of config.toml (`options.path`) and of the drop-in.

    config_text / drop_in_text: the files' current content, None when missing.
    containerd_version: ``containerd --version`` output, "1.7.24", a tuple, or None (unknown).
    Raises ContainerdConfigError for input the module must not edit.
    """
    _check_options(options)
    warnings = []
    version = containerd_version if isinstance(containerd_version, tuple) else parse_version(containerd_version)
    config = ContainerdFile(config_text, options.path)
    schema = detect_config_version(config)
    if not config.stable:
        warnings.append(
            f"{options.path}: tomlkit cannot write this file's layout back byte for byte (indented table headers "
            "after a blank first line?); the diff shows whitespace changes outside the module's keys"
        )
    check_schema_against_containerd(options.path, schema, version)
    layout = CriLayout(schema, options.runtime_name)
    editor = RuntimeEditor(options, layout, version)
    editor.warnings.extend(warnings)
    config_runtimes = editor.runtimes(config)  # type checks of what is there, in both states
    editor.default_name(config)
    drop = ContainerdFile(drop_in_text, options.drop_in) if options.drop_in and drop_in_text is not None else None
    if drop is not None and not drop.empty:
        drop_schema = detect_config_version(drop)
        if drop_schema != schema:
            raise ContainerdConfigError(
                options.drop_in,
                "version",
                f"is {drop_schema} while {options.path} has version {schema}",
                "give both files the same config version (or delete the drop-in, which the module rewrites)",
            )
        editor.runtimes(drop)
        editor.default_name(drop)
    if "imports" in config.doc:
        read_imports(config)

    strategy, reason = choose_strategy(options, version, config_runtimes)
    if options.state == "present":
        drop = _present(options, config, drop, editor, strategy)
    else:
        drop = _absent(options, config, drop, editor)

    owned = [
        ("version",),
        ("imports",),
        layout.runtime_path,
        layout.runtime_of("runc"),
        layout.default_runtime_key,
        layout.cdi_key,
        (*layout.sandbox_table, layout.sandbox_key),
        *editor.owned,
    ]
    new_config: str | None = _same_ending(config_text, finished_text(config, owned))
    if not config.existed and not new_config.strip():
        new_config = None
    new_drop = _same_ending(drop_in_text, finished_text(drop, owned)) if drop is not None else None
    wants_runtime = options.state == "present" and bool(options.runtime_name)
    runtime = editor.effective_runtime([config, drop]) if wants_runtime else None
    if wants_runtime and runtime is None:  # pragma: no cover - guarded by the steps above
        raise ContainerdConfigError(options.path, dotted(layout.runtime_path), "was not written", "please report")
    return ContainerdConfigResult(
        config_text=new_config,
        drop_in_text=new_drop,
        config_version=schema,
        cri_plugin=layout.cri,
        strategy=strategy,
        strategy_reason=reason,
        config_changed=new_config != config_text,
        drop_in_changed=bool(options.drop_in) and new_drop != drop_in_text,
        runtime=runtime,
        containerd_version=format_version(version),
        warnings=editor.warnings,
        config_path=options.path,
        drop_in_path=options.drop_in,
    )
