# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which containerd configuration a file is, and where the CRI settings live in it.

Controller side only (needs tomlkit). Pure. A containerd file as the module
reads it (and the marks it leaves on the lines it changes), containerd's rules
for a file's config schema (version 1, 2 or 3), whether the node's containerd
can read that schema, and the key paths of what the module touches (the
runtimes, the default runtime, ``enable_cdi``, the sandbox image) in each
schema. The versions and plugin names themselves are module_utils._runtimes'.
"""

from __future__ import annotations

import dataclasses

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import (
    CONTAINERD_CRI_IMAGES_PLUGIN,
    CONTAINERD_CRI_PLUGINS,
    CONTAINERD_SCHEMA_3_SINCE,
    format_version,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import (
    Marks,
    RuntimeConfigError,
    TomlFile,
    plain,
    type_name,
)

MARK = "kubegpu.nvidia.containerd_runtime"
#: The trailing comments on what the module added or set in a file it does not own whole.
MARKS = Marks(MARK)


class ContainerdConfigError(RuntimeConfigError):
    """A configuration the module must not edit: names the file, the key and the fix."""


class ContainerdFile(TomlFile):
    """One of containerd's files (config.toml or the drop-in), parsed."""

    def __init__(self, text: str | None, name: str):
        super().__init__(text, name, runtime="containerd", error=ContainerdConfigError)


def detect_config_version(file: ContainerdFile) -> int:
    """containerd's rules: no file or no keys = 2 (what is written), no `version` = 1, else the number."""
    if file.empty:
        return 2
    if "version" not in file.doc:
        return 1
    value = plain(file.doc["version"])
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContainerdConfigError(
            file.name,
            "version",
            f"is a {type_name(value)}, but containerd expects an integer (1, 2 or 3)",
            "write the number without quotes, e.g. version = 2",
        )
    if value not in CONTAINERD_CRI_PLUGINS:
        raise ContainerdConfigError(
            file.name,
            "version",
            f"is {value}; this module knows config versions 1, 2 and 3",
            "use a containerd config version this collection supports, or update the collection",
        )
    return value


def check_schema_against_containerd(name: str, schema: int, version: tuple | None) -> None:
    """Refuse a schema the node's containerd cannot read (3 before 2.0) or ignores (1 since 2.0)."""
    if version is None:
        return
    if schema == 3 and version < CONTAINERD_SCHEMA_3_SINCE:
        raise ContainerdConfigError(
            name,
            "version",
            f"is 3, which containerd {format_version(version)} cannot read (version 3 needs containerd >= 2.0)",
            "write a version 2 config for this containerd",
        )
    if schema == 1 and version >= CONTAINERD_SCHEMA_3_SINCE:
        raise ContainerdConfigError(
            name,
            "version",
            f"is missing (a version 1 config), whose CRI section containerd {format_version(version)} ignores",
            "convert it with `containerd config migrate` and set version = 3",
        )


@dataclasses.dataclass(frozen=True)
class CriLayout:
    """Key paths of the CRI settings the module touches, in one config schema, for one runtime name."""

    schema: int
    runtime_name: str

    @property
    def cri(self) -> str:
        """The CRI plugin holding the runtimes."""
        return CONTAINERD_CRI_PLUGINS[self.schema]

    @property
    def cri_path(self) -> tuple:
        return ("plugins", self.cri)

    @property
    def containerd_path(self) -> tuple:
        return (*self.cri_path, "containerd")

    @property
    def runtimes_path(self) -> tuple:
        return (*self.containerd_path, "runtimes")

    @property
    def runtime_path(self) -> tuple:
        """The table of the runtime the module manages."""
        return self.runtime_of(self.runtime_name)

    def runtime_of(self, name: str) -> tuple:
        return (*self.runtimes_path, name)

    def options_of(self, name: str) -> tuple:
        """A runtime's `options` table: the runc shim's settings (BinaryName, SystemdCgroup)."""
        return (*self.runtime_of(name), "options")

    @property
    def default_runtime_key(self) -> tuple:
        return (*self.containerd_path, "default_runtime_name")

    @property
    def cdi_key(self) -> tuple:
        return (*self.cri_path, "enable_cdi")

    @property
    def sandbox_table(self) -> tuple:
        """containerd 2.x moved the sandbox image to the CRI image plugin's pinned images."""
        if self.schema == 3:
            return ("plugins", CONTAINERD_CRI_IMAGES_PLUGIN, "pinned_images")
        return self.cri_path

    @property
    def sandbox_key(self) -> str:
        return "sandbox" if self.schema == 3 else "sandbox_image"
