# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/setup.sh and scripts/venv.sh: shared virtualenvs per set of requirements, and one clean last line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Writes its first line, waits until a reader that wanted only that line is gone, then
# writes the rest, as ansible --version does on a slow machine (config file, paths, ...).
SLOW_ANSIBLE = textwrap.dedent('''\
    #!{python}
    import sys, time
    print("ansible [core 9.99.0]", flush=True)
    time.sleep(0.5)
    for n in range(2000):
        print("  config file = /etc/ansible/ansible.cfg line %d" % n)
    ''')


def _checkout(tmp_path, name="checkout", requirements="# nothing to install\n"):
    top = tmp_path / name
    (top / "scripts").mkdir(parents=True)
    for script in ("setup.sh", "venv.sh"):
        shutil.copy2(REPO / "scripts" / script, top / "scripts" / script)
    (top / "requirements").mkdir()
    (top / "requirements" / "run.txt").write_text(requirements)
    return top


def _setup(top, cache, *args):
    return subprocess.run(
        ["bash", str(top / "scripts" / "setup.sh"), *args],
        env=dict(os.environ, KUBEGPU_PYTHON=sys.executable, KUBEGPU_VENV_CACHE=str(cache)),
        capture_output=True, text=True, timeout=300, check=False)


def test_checkouts_share_a_virtualenv_per_set_of_requirements(tmp_path):
    cache = tmp_path / "venvs"
    one, two = _checkout(tmp_path, "one"), _checkout(tmp_path, "two")
    other = _checkout(tmp_path, "other", requirements="# another set of requirements\n")
    for top in (one, two, other):
        proc = _setup(top, cache)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (top / ".venv").is_symlink()
        assert (top / ".venv" / "bin" / "python").exists()
        # The collection resolves from the checkout itself, not from the shared virtualenv.
        assert (top / ".cache/collections/ansible_collections/kubegpu/nvidia").resolve() == top.resolve()
    assert (one / ".venv").resolve() == (two / ".venv").resolve()
    assert (other / ".venv").resolve() != (one / ".venv").resolve()
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == sorted(
        {(one / ".venv").resolve().name, (other / ".venv").resolve().name})

    # A virtualenv whose pip install did not finish (no stamp) is built again, in the same place.
    target = (one / ".venv").resolve()
    for stamp in target.glob(".kubegpu-requirements-*"):
        stamp.unlink()
    (target / "bin" / "python").unlink()
    proc = _setup(one, cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "installing" in proc.stdout
    assert (one / ".venv").resolve() == target and (target / "bin" / "python").exists()
    assert list(target.glob(".kubegpu-requirements-*"))

    # The last line: ansible's version, also when its ansible --version behaves as on a slow machine.
    ansible = one / ".venv" / "bin" / "ansible"
    ansible.write_text(SLOW_ANSIBLE.format(python=sys.executable))
    ansible.chmod(0o755)
    proc = _setup(one, cache)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "setup: ready (run) with ansible [core 9.99.0]", proc.stdout
    assert "Broken pipe" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_a_directory_that_is_not_a_virtualenv_is_left_alone(tmp_path):
    top = _checkout(tmp_path)
    mine = top / ".venv" / "notes.txt"
    mine.parent.mkdir()
    mine.write_text("not a virtualenv\n")

    proc = _setup(top, tmp_path / "venvs")

    assert proc.returncode != 0
    assert ".venv exists and is not a virtualenv: move it away" in proc.stderr
    assert mine.read_text() == "not a virtualenv\n" and not (top / ".venv").is_symlink()
    # Refused before anything was built.
    assert not (tmp_path / "venvs").exists()
