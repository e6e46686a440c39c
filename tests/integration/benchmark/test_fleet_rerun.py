# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node stage changes nothing when it runs again, on a small synthetic fleet.

Three hosts built by benchmarks/fleet.py (local connection, each with its own
root tree: the H200's sysfs and /proc, the driver files, containerd 1.7.24's
or 2.1.9's default config). The counts come from the ansible.posix.json
callback's stats; nothing here is timed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FLEET_HOSTS = 3


def _fleet_module():
    spec = importlib.util.spec_from_file_location("fleet_benchmark", str(REPO / "benchmarks" / "fleet.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def node_stage_runs(tmp_path_factory):
    fleet = _fleet_module()
    return fleet.node_stage_twice(tmp_path_factory.mktemp("fleet"), FLEET_HOSTS, forks=FLEET_HOSTS, baseline=False)


def test_first_run_writes_the_spec_and_containerd_config_on_every_host(node_stage_runs):
    first = node_stage_runs["first"]
    assert sorted(first.stats) == ["node001", "node002", "node003"]
    # Per host: the CDI spec, and containerd's config (in place on 1.7.24, drop-in on 2.1.9).
    assert {host: stats["changed"] for host, stats in first.stats.items()} == {
        "node001": 2,
        "node002": 2,
        "node003": 2,
    }


def test_rerun_changes_nothing(node_stage_runs):
    rerun = node_stage_runs["rerun"]
    assert rerun.failed == 0
    assert len(rerun.stats) == FLEET_HOSTS
    assert rerun.changed == 0, rerun.changed_tasks()
