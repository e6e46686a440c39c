# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A wait that times out says what did not come, and nothing else looks like a failure.

ansible-core 2.19 prints an `until` loop that ran out of attempts as
"[ERROR]: Task failed: Action failed." (for k8s_info: "Unknown error."), even
under failed_when: false, before the task that explains the timeout. Every
wait in the roles ends its loop on the last attempt instead, and leaves the
verdict to the task after it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def test_runtime_that_never_answers_fails_once_saying_which_and_how_long(ansible_env, tmp_path):
    playbook = tmp_path / "wait.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Wait for a CRI-O that is not there",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{
            "name": "Wait for the runtime",
            "ansible.builtin.include_role": {"name": "kubegpu.nvidia.container_runtime", "tasks_from": "wait"},
            "vars": {
                "container_runtime_service": "crio",
                "container_runtime_crio_socket": str(tmp_path / "crio.sock"),
                "container_runtime_wait_timeout": 2,
            },
        }],
    }]))

    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(playbook)],
        cwd=REPO, env=ansible_env, capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr

    assert proc.returncode == 2, output
    assert "crio did not answer within 2 s" in output
    # ansible-core 2.19 prints each failure as an [ERROR] line; there must be only the one that explains.
    errors = [line for line in output.splitlines() if line.startswith("[ERROR]")]
    assert all("did not answer" in line for line in errors), errors


def _tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        if "until" in node:
            yield node
        for key in ("block", "rescue", "always"):
            yield from _tasks(node.get(key))


def test_every_wait_in_the_roles_ends_on_its_last_attempt_and_is_judged_after():
    waits = []
    for path in sorted(REPO.glob("roles/*/tasks/*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text())):
            waits.append((str(path.relative_to(REPO)), task))
    assert len(waits) >= 10  # every wait of the roles is found
    for where, task in waits:
        register = task["register"]
        assert "%s.attempts" % register in task["until"], "%s: %s can end as a failed loop" % (where, task["name"])
        assert task.get("failed_when") is False, "%s: %s" % (where, task["name"])
