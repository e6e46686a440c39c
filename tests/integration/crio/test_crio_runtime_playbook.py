# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubegpu.nvidia.crio_runtime through a real ansible-playbook (local connection), on a CRI-O tree in tmp_path.

CRI-O itself is not installed on the machines these tests run on, and cannot be
(it is not packaged there). So this proves the action plugin, its one node-side
read (the module's read_node: crio.conf, every file under the drop-in's
directory, the runtime binary) and the write path (copy, file, backup), not
CRI-O's reading of the result: the drop-in written is checked with tomllib
against the tables the inputs hold, in the shapes CRI-O documents and ships
(the same inputs as tests/unit/plugins/plugin_utils/test_crio_config.py).
"""

from __future__ import annotations

import os
import pathlib
import sys
import textwrap

import tomllib
from ansible_run import run_first_task

ROOT = pathlib.Path(__file__).resolve().parents[3]

# The drop-in CRI-O's packages (1.28 and later) install (crun as default, runc next to it), and a
# crio.conf as `crio config` prints it: the unit tests' fixtures.
CRIO_FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "crio"
PACKAGED_10_CRIO = (CRIO_FIXTURES / "10-crio.conf").read_text()
CRIO_CONF = (CRIO_FIXTURES / "crio.conf").read_text()

RUNC_DEFAULT = '[crio.runtime]\ndefault_runtime = "runc"\n'

# Sorted after the module's drop-in and defining the same handler: CRI-O uses this table, the module warns.
LATE_OVERRIDE = '[crio.runtime.runtimes.nvidia]\nruntime_path = "/opt/late/nvidia-container-runtime"\n'

PLAYBOOK = textwrap.dedent(
    """\
    - hosts: localhost
      gather_facts: false
      tasks:
        - name: Configure CRI-O
          kubegpu.nvidia.crio_runtime:
            config: "{{ config }}"
            drop_in: "{{ drop_in }}"
            runtime_name: "{{ runtime_name | default(omit) }}"
            runtime_path: "{{ runtime_path | default(omit) }}"
            set_as_default: "{{ set_as_default | default(omit) }}"
            state: "{{ state | default(omit) }}"
            backup: "{{ backup | default(omit) }}"
            backup_dir: "{{ backup_dir | default(omit) }}"
          register: outcome
          ignore_errors: true
    """
)


class Tree:
    """A node's /etc/crio, /usr/share/crio and /usr/bin under tmp_path."""

    def __init__(self, tmp_path: pathlib.Path):
        self.tmp = tmp_path
        self.etc = tmp_path / "etc" / "crio"
        self.config = self.etc / "crio.conf"
        self.drop_dir = self.etc / "crio.conf.d"
        self.drop_in = self.drop_dir / "99-nvidia.toml"
        self.runtime_path = tmp_path / "usr" / "bin" / "nvidia-container-runtime"
        self.backup_dir = tmp_path / "var" / "backup"

    def packaged(self) -> None:
        """crio.conf, the packaged 10-crio.conf linked from /usr/share, a subfolder default, a late override."""
        self.drop_dir.mkdir(parents=True)
        self.config.write_text(CRIO_CONF)
        self.config.chmod(0o600)
        shipped = self.tmp / "usr" / "share" / "crio" / "10-crio.conf"
        shipped.parent.mkdir(parents=True)
        shipped.write_text(PACKAGED_10_CRIO)
        (self.drop_dir / "10-crio.conf").symlink_to(shipped)
        (self.drop_dir / "50.d").mkdir()
        (self.drop_dir / "50.d" / "runc-default").write_text(RUNC_DEFAULT)
        (self.drop_dir / "zz-late.conf").write_text(LATE_OVERRIDE)

    def snapshot(self) -> dict:
        """Every entry under tmp_path's etc and usr: file bytes and modes, link targets, directories."""
        out = {}
        for base in (self.tmp / "etc", self.tmp / "usr"):
            for top, dirs, files in os.walk(base):
                for name in dirs + files:
                    path = pathlib.Path(top, name)
                    if path.is_symlink():
                        out[str(path)] = ("link", os.readlink(path))
                    elif path.is_dir():
                        out[str(path)] = ("dir", path.stat().st_mode)
                    else:
                        out[str(path)] = ("file", path.read_bytes(), path.stat().st_mode)
        return out

    def run(self, check: bool = False, **extra) -> dict:
        """The task's registered result, from the ansible.posix.json callback."""
        playbook = self.tmp / "play.yml"
        playbook.write_text(PLAYBOOK)
        variables = {
            "config": str(self.config),
            "drop_in": str(self.drop_in),
            "ansible_python_interpreter": sys.executable,
            **extra,
        }
        return run_first_task(playbook, variables, check=check, local_temp=self.tmp / "ansible-local")


def handler(text: str, name: str = "nvidia") -> dict:
    return tomllib.loads(text)["crio"]["runtime"]["runtimes"][name]


def assert_applied(tree: Tree, applied: dict, checked_after: str, expected: dict) -> str:
    """The apply run: what it wrote, and what it read from every file under crio.conf.d; the drop-in text."""
    assert not applied.get("failed"), applied.get("msg")
    assert applied["changed"] is True
    assert applied["runtime_path_exists"] is True
    assert not any("does not exist" in w for w in applied.get("warnings", []))
    assert [d["after"] for d in applied["diff"]] == [checked_after]
    written = tree.drop_in.read_text()
    assert written == checked_after
    assert handler(written) == expected
    # only the handler table; CRI-O's default is left alone
    assert list(tomllib.loads(written)["crio"]["runtime"]) == ["runtimes"]
    assert tree.drop_in.stat().st_mode & 0o777 == 0o644
    # The symlinked 10-crio.conf was read (runc is copied from it, not from crio.conf), and so was the
    # subfolder 50.d (it made runc the default, else crun would have been copied).
    assert applied["copied_from"] == f"runc ({tree.drop_dir / '10-crio.conf'})"
    assert applied["default_runtime"] == "runc"
    # zz-late.conf, read after the module's drop-in, wins for the handler: reported in result and warning.
    assert applied["runtime"] == handler(LATE_OVERRIDE)
    assert any(str(tree.drop_dir / "zz-late.conf") in w and "uses that table" in w for w in applied["warnings"])
    return written


def test_check_apply_rerun_absent_on_a_packaged_tree(tmp_path):
    tree = Tree(tmp_path)
    tree.packaged()
    args = {"runtime_path": str(tree.runtime_path)}
    before = tree.snapshot()
    runc = tomllib.loads(PACKAGED_10_CRIO)["crio"]["runtime"]["runtimes"]["runc"]
    expected = {**runc, "runtime_path": str(tree.runtime_path), "runtime_type": "oci"}

    # --check --diff: the binary is not there yet; everything is reported, nothing written.
    checked = tree.run(check=True, **args)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] is True
    assert checked["restart_required"] is True
    assert checked["runtime_path_exists"] is False
    assert any(str(tree.runtime_path) in w and "does not exist" in w for w in checked["warnings"])
    assert checked["files"] == [str(tree.drop_in)]
    [diff] = checked["diff"]
    assert diff["before"] == ""
    assert diff["before_header"] == f"{tree.drop_in} (absent)"
    assert handler(diff["after"]) == expected
    assert tree.snapshot() == before
    assert not tree.drop_in.exists()

    # apply, now that the binary exists
    tree.runtime_path.parent.mkdir(parents=True)
    tree.runtime_path.write_text("#!/bin/sh\n")
    tree.runtime_path.chmod(0o755)
    before_apply = tree.snapshot()
    applied = tree.run(**args)
    written = assert_applied(tree, applied, diff["after"], expected)
    after_apply = tree.snapshot()
    assert {p: v for p, v in after_apply.items() if p != str(tree.drop_in)} == before_apply

    again = tree.run(**args)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False
    assert again["files"] == []
    assert "diff" not in again
    assert tree.snapshot() == after_apply
    # The same drop-in named with a doubled slash is still the module's own file, not one more drop-in.
    unnormalised = tree.run(drop_in=f"{tree.drop_dir}//{tree.drop_in.name}", **args)
    assert not unnormalised.get("failed"), unnormalised.get("msg")
    assert unnormalised["changed"] is False
    assert unnormalised["warnings"] == again["warnings"]
    assert tree.snapshot() == after_apply

    # absent, with a backup kept outside crio.conf.d
    removed = tree.run(state="absent", backup=True, backup_dir=str(tree.backup_dir), **args)
    assert not removed.get("failed"), removed.get("msg")
    assert removed["changed"] is True
    assert removed["files"] == [str(tree.drop_in)]
    assert removed["runtime"] is None
    assert not tree.drop_in.exists()
    assert tree.snapshot() == before_apply
    backup = pathlib.Path(removed["backup_file"])
    assert backup.parent == tree.backup_dir
    assert backup.read_text() == written


def test_own_drop_in_that_is_a_symlink_is_refused_and_nothing_changes(tmp_path):
    tree = Tree(tmp_path)
    tree.packaged()
    target = tmp_path / "usr" / "share" / "crio" / "99-nvidia.toml"
    handler_text = '[crio.runtime.runtimes.nvidia]\nruntime_path = "/x"\n'
    target.write_text(handler_text)
    tree.drop_in.symlink_to(target)
    before = tree.snapshot()
    outcome = tree.run()
    assert outcome["failed"] is True
    assert outcome.get("changed") is False
    assert str(tree.drop_in) in outcome["msg"]
    assert "symbolic link" in outcome["msg"]
    assert str(target) in outcome["msg"]
    assert tree.snapshot() == before
    assert target.read_text() == handler_text


def test_backup_dir_inside_the_drop_in_directory_is_refused(tmp_path):
    tree = Tree(tmp_path)
    tree.packaged()
    before = tree.snapshot()
    inside = tree.drop_dir / "backup"
    outcome = tree.run(backup=True, backup_dir=str(inside))
    assert outcome["failed"] is True
    assert outcome.get("changed") is False
    assert f"backup_dir {inside} is inside {tree.drop_dir}" in outcome["msg"]
    assert tree.snapshot() == before
    assert not inside.exists()
    assert not tree.drop_in.exists()
