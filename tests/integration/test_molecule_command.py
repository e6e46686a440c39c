# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make molecule SCENARIO=...` runs one scenario through the wrapper that sets up its environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _make(*args):
    return subprocess.run(["make", "-s", "molecule", *args], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, KUBEGPU_MOLECULE_DRY_RUN="1"), timeout=60, check=False)


@pytest.mark.parametrize(("scenario", "wrapper"), [
    ("toolkit-debian13", "tests/integration/driver/run.sh toolkit"),
    ("driver-debian13", "tests/integration/driver/run.sh dkms"),
    ("container-runtime-debian12", "tests/integration/container_runtime/run.sh debian12"),
    ("container-runtime-debian-sid", "tests/integration/container_runtime/run.sh debian-sid"),
])
def test_a_scenario_runs_through_the_wrapper_that_sets_up_its_environment(scenario, wrapper):
    proc = _make("SCENARIO=" + scenario, "MOLECULE_COMMAND=converge")

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "KUBEGPU_MOLECULE_COMMAND=converge " + wrapper
    assert (REPO / "molecule" / scenario / "molecule.yml").is_file()
    script = wrapper.split(" ")[0]
    # The wrapper runs the command it is given, not always `molecule test`.
    assert 'molecule "${KUBEGPU_MOLECULE_COMMAND:-test}"' in (REPO / script).read_text()


def test_without_a_scenario_or_with_an_unknown_one_the_usage_lists_the_scenarios():
    for args in ((), ("SCENARIO=nope",)):
        proc = _make(*args)
        assert proc.returncode != 0
        assert "usage: make molecule SCENARIO=<name>" in proc.stderr and "toolkit-debian13" in proc.stderr


def test_a_scenario_of_a_public_image_says_where_it_can_run():
    proc = _make("SCENARIO=driver-rocky9")

    assert proc.returncode != 0 and "molecule test -s driver-rocky9" in proc.stderr
