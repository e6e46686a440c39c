# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cgroup driver of containerd's runc runtimes: ``options.SystemdCgroup``.

Controller side only (needs tomlkit). Pure, over a `RuntimeEditor`.

One node, one cgroup driver: kubelet's ``cgroupDriver`` must be the one the
CRI's default runtime uses, and pods of runtimes with different drivers break.
So the NVIDIA runtime's ``SystemdCgroup`` follows the default runtime's on
every run, whether the runtime is new or was already there (never invented
where the default runtime says nothing); and with ``systemd_cgroup`` given,
the default runtime, runc and the NVIDIA runtime all get that value. Lines of
tables the module did not write are marked, so ``state=absent`` (with the same
``systemd_cgroup``) gives them back.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import CONTAINERD_DEEP_MERGE_SINCE
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_editor import RUNC_SHIMS, RuntimeEditor
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_schema import ContainerdFile
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import (
    TOMLKIT_IMPORT_ERROR,
    add_key,
    dotted,
    plain,
)

if TOMLKIT_IMPORT_ERROR is None:
    import tomlkit

SYSTEMD_CGROUP = "SystemdCgroup"


class CgroupDriver:
    """The cgroup-driver edits of one configure() call, made with its editor (and its options)."""

    def __init__(self, editor: RuntimeEditor):
        self.editor = editor
        self.o = editor.o
        self.layout = editor.layout

    def wanted(self, sources) -> Any:
        """The managed runtime's SystemdCgroup: systemd_cgroup when given, else the default runtime's; None."""
        if self.o.systemd_cgroup is not None:
            return self.o.systemd_cgroup
        default = self.editor.default_of(sources)
        dummy, default_table = self.editor.defining(default, sources)
        if default == self.o.runtime_name or default_table is None:
            return None
        default_options = default_table.get("options") if "options" in default_table else None
        if default_options is None or SYSTEMD_CGROUP not in default_options:
            return None  # never invented: the default runtime runs with containerd's default driver
        return plain(default_options[SYSTEMD_CGROUP])

    def align_runtime(self, target: ContainerdFile, sources, table: Any, created: bool) -> None:
        """The managed runtime's SystemdCgroup as wanted (RuntimeEditor.ensure_runtime's `align`)."""
        wanted = self.wanted(sources)
        if wanted is None:
            return
        options = table.get("options") if "options" in table else None
        current = plain(options[SYSTEMD_CGROUP]) if options is not None and SYSTEMD_CGROUP in options else None
        if current == wanted:
            return
        options_path = self.layout.options_of(self.o.runtime_name)
        if not created:  # a line of a table this run did not write: marked, as every change there
            self.editor.keys.set(target, options_path, SYSTEMD_CGROUP, wanted)
            return
        options = target.table(options_path, create=True)
        if current is None:
            add_key(options, SYSTEMD_CGROUP, tomlkit.item(wanted))
        else:
            options[SYSTEMD_CGROUP] = wanted

    def set_base(self, config: ContainerdFile, sources) -> None:
        """systemd_cgroup in the default runtime and in runc, in the file that defines each (else config.toml)."""
        default = self.editor.default_of(sources)
        for name in dict.fromkeys((default, "runc")):
            if name == self.o.runtime_name:
                continue  # the managed runtime: align_runtime
            file, table = self.editor.defining(name, sources)
            if file is None and name != default:
                continue  # runc is not defined and not in use: nothing to align
            if file is None:
                file = self._built_in_home(config, name)
                if file is None:
                    continue
            elif self.editor.runtime_type(table) not in RUNC_SHIMS:
                self.editor.warnings.append(
                    f"{file.name}: the default runtime {name!r} runs {self.editor.runtime_type(table)!r}, and "
                    f"{SYSTEMD_CGROUP} is an option of the runc shim only: its cgroup driver is left as it is"
                )
                continue
            self.editor.keys.set(file, self.layout.options_of(name), SYSTEMD_CGROUP, self.o.systemd_cgroup)

    def _built_in_home(self, config: ContainerdFile, name: str) -> ContainerdFile | None:
        """Where the default runtime that no file defines gets its SystemdCgroup: config.toml, or nowhere."""
        key = dotted(self.layout.default_runtime_key)
        if name != "runc":
            self.editor.warnings.append(
                f"{config.name}: {key} is {name!r} but no runtime of that name is defined there; "
                f"{SYSTEMD_CGROUP} was not set for it"
            )
            return None
        version = self.editor.version
        if version is not None and version >= CONTAINERD_DEEP_MERGE_SINCE:
            return config  # merged into the built-in runc key by key (proven on 2.1.9)
        runtimes = self.editor.runtimes(config)
        if runtimes is not None and len(runtimes) > 0:
            self.editor.warnings.append(
                f"{config.name}: {key} is runc (the default) but the file defines other runtimes and not runc, "
                f"so containerd before 2.1 has no runc; {SYSTEMD_CGROUP} was not set"
            )
            return None
        # Before 2.1 a runtimes table replaces the built-in ones: runc goes in whole, not as options alone.
        self.editor.ensure_builtin_runc(config)
        return config

    def restore(self, target: ContainerdFile) -> None:
        """Give back every runtime's SystemdCgroup that a call with this runtime_name and value set."""
        runtimes = self.editor.runtimes(target)
        for name in list(runtimes.keys()) if runtimes is not None else []:
            self.editor.keys.restore(
                target, self.layout.options_of(name), SYSTEMD_CGROUP, self.o.systemd_cgroup, drop_unmarked=False
            )
