# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make molecule SCENARIO=...` runs one scenario through the wrapper that sets up its environment;
`scripts/molecule.sh list` says what each scenario proves, how long it takes and what it installs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))


def _make(*args):
    return subprocess.run(["make", "-s", "molecule", *args], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, KUBEGPU_MOLECULE_DRY_RUN="1"), timeout=60, check=False)


def _script(*args):
    return subprocess.run(["scripts/molecule.sh", *args], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, KUBEGPU_MOLECULE_DRY_RUN="1"), timeout=60, check=False)


def _image(scenario):
    return yaml.safe_load((REPO / "molecule" / scenario / "molecule.yml").read_text())["platforms"][0]["image"]


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


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_either_runs_here_or_says_the_true_reason_it_cannot(scenario):
    proc = _script(scenario)
    image = _image(scenario)

    if image.startswith("localhost/"):
        # An image built here (scripts/podman-image.sh): the scenario runs here, through its wrapper.
        assert proc.returncode == 0, proc.stderr
        wrapper = proc.stdout.strip().split(" ")[1]
        assert (REPO / wrapper).is_file()
        assert scenario in (REPO / wrapper).read_text() or scenario.split("-")[-1] in (REPO / wrapper).read_text()
    else:
        # A public image: it cannot be pulled here, and that is what the refusal says.
        assert image.startswith("docker.io/"), image
        assert proc.returncode == 2
        assert "docker.io" in proc.stderr and "molecule test -s {0}".format(scenario) in proc.stderr


@pytest.mark.parametrize("word", ["list", "--help", "-h"])
def test_list_and_help_are_not_scenario_names_and_describe_every_scenario(word):
    proc = _script(word)

    assert proc.returncode == 0, proc.stderr
    assert "no scenario" not in proc.stdout + proc.stderr
    for scenario in SCENARIOS:
        assert "  {0}  ".format(scenario) in proc.stdout, scenario
    # Each scenario that runs here says what it proves, how long it takes and what it installs.
    here = [s for s in SCENARIOS if _image(s).startswith("localhost/")]
    assert proc.stdout.count("    proves:   ") == len(here)
    assert proc.stdout.count("    installs: ") == len(here)
    for scenario in here:
        header = next(line for line in proc.stdout.splitlines() if line.startswith("  {0}  ".format(scenario)))
        assert header.endswith(" min)") or " min, " in header, header


def test_without_a_scenario_or_with_an_unknown_one_the_scenarios_are_listed():
    for args in ((), ("SCENARIO=nope",)):
        proc = _make(*args)
        assert proc.returncode != 0
        assert "toolkit-debian13" in proc.stderr and "crio-runtime-debian13" in proc.stderr
    assert "usage: make molecule SCENARIO=<name>" in _make().stderr
    assert "no scenario 'nope'" in _make("SCENARIO=nope").stderr


def test_a_scenario_of_a_public_image_says_where_it_can_run():
    proc = _make("SCENARIO=driver-rocky9")

    assert proc.returncode != 0 and "molecule test -s driver-rocky9" in proc.stderr


def test_the_crio_scenario_refuses_a_single_step_its_wrapper_cannot_take():
    wrapper = (REPO / "tests/integration/crio_runtime/run.sh").read_text()
    assert "KUBEGPU_MOLECULE_COMMAND" not in wrapper  # the reason given below is still the true one

    proc = _make("SCENARIO=crio-runtime-debian13", "MOLECULE_COMMAND=converge")

    assert proc.returncode == 2
    assert "runs only as a whole" in proc.stderr and "tests/integration/crio_runtime/run.sh" in proc.stderr
    assert _make("SCENARIO=crio-runtime-debian13").stdout.strip() == \
        "KUBEGPU_MOLECULE_COMMAND=test tests/integration/crio_runtime/run.sh"


@pytest.mark.parametrize(("step", "argv"), [("lint", "lint"), ("'lint unit'", "lint unit"), ("", "")])
def test_make_test_step_runs_the_named_steps_of_the_test_script(step, argv):
    # Under `make test` (CI) this runs as a nested make: its "Entering directory" lines are not the command.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    proc = subprocess.run("make --no-print-directory -n test STEP={0}".format(step), shell=True, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False, env=env)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["scripts/test.sh", *argv.split()]
