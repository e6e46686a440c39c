# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime flow's order of steps, with the node replaced by a dict of files.

The node I/O (module runs, copy, file, the lock) is what a stand-in replaces here;
containerd's real compute() runs. The integration tests run the same flow through
ansible-playbook against real files and binaries.
"""

from __future__ import annotations

import types

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _containerd_config as containerd

CONFIG = "/etc/containerd/config.toml"
ARGS = {
    "path": CONFIG,
    "drop_in": "",
    "runtime_name": "nvidia",
    "runtime_path": "/usr/bin/nvidia-container-runtime",
    "set_as_default": False,
    "enable_cdi": False,
    "state": "present",
    "backup": False,
    "validate": False,
    "containerd_version": "1.7.24",
}


@pytest.fixture
def fake_node():
    # Imported when the test runs, not when it is collected: importing Ansible's controller side changes how
    # AnsibleModule reports warnings in this process, and tests/unit/plugins/modules run modules in-process.
    from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_files import (  # noqa: PLC0415
        RuntimeConfigAction,
    )

    class FakeNode(RuntimeConfigAction):
        """The flow with a node that is a dict of files; `edits` change it between reads, as another tool would."""

        RUNTIME = containerd.RUNTIME

        def __init__(self, files, check_mode=False, edits=()):
            # ActionBase's own __init__ needs a whole play; the flow only reads these.
            self._task = types.SimpleNamespace(check_mode=check_mode)
            self.files = dict(files)
            self.edits = list(edits)
            self.reads = 0
            self.locked = []

        def validate_argument_spec(self, argument_spec=None):
            return None, dict(ARGS)

        def _lock(self, path, task_vars):
            self.locked.append(path)
            return "/run/lock/test"

        def _unlock(self, lock):
            self.locked.append(None)

        def _read_node(self, module_name, module_args, task_vars):
            if self.reads and self.edits:
                self.files.update(self.edits.pop(0))
            self.reads += 1
            text = self.files.get(CONFIG)
            config = None if text is None else {"text": text, "mode": "0644"}
            return {"config": config, "drop_in": None, "containerd": {"path": None, "version": None}}

        def _write(self, path, before, text, *, backup, validate, task_vars):
            self.files[path] = text

        def _remove(self, path, task_vars):
            self.files.pop(path, None)

    return FakeNode


def test_a_file_changed_between_the_read_and_the_write_is_not_overwritten(fake_node):
    other = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "mine"\n'
    node = fake_node({CONFIG: "version = 2\n"}, edits=[{CONFIG: other}])
    result = node._flow({}, {})
    assert result["failed"] is True
    assert result["changed"] is False
    assert f"{CONFIG}: changed on the node while this task ran" in result["msg"]
    assert node.files[CONFIG] == other
    assert node.locked == [CONFIG, None]


def test_the_lock_is_taken_before_the_read_and_released_after_the_write(fake_node):
    node = fake_node({CONFIG: "version = 2\n"})
    result = node._flow({}, {})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert "nvidia" in node.files[CONFIG]
    assert node.reads == 2
    assert node.locked == [CONFIG, None]


def test_check_mode_takes_no_lock_and_writes_nothing(fake_node):
    node = fake_node({CONFIG: "version = 2\n"}, check_mode=True)
    result = node._flow({}, {})
    assert result["changed"] is True
    assert result["validated"] is False
    assert node.files[CONFIG] == "version = 2\n"
    assert node.locked == []
