# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/setup.sh ends with one clean line, whatever `ansible --version` does with its pipe."""

from __future__ import annotations

import hashlib
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


def _checkout_with_a_ready_venv(tmp_path):
    top = tmp_path / "checkout"
    (top / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "setup.sh", top / "scripts" / "setup.sh")
    (top / "requirements").mkdir()
    run_txt = top / "requirements" / "run.txt"
    run_txt.write_text("ansible\n")
    # The stamp setup.sh writes after a successful pip install: the venv counts as ready.
    digest = hashlib.sha256(run_txt.read_bytes()).hexdigest()
    line = "%s  requirements/run.txt\n%s  requirements/run.txt\n" % (digest, digest)
    stamp = hashlib.sha256(line.encode()).hexdigest()[:16]
    venv_bin = top / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (top / ".venv" / (".requirements." + stamp)).touch()
    ansible = venv_bin / "ansible"
    ansible.write_text(SLOW_ANSIBLE.format(python=sys.executable))
    ansible.chmod(0o755)
    return top


def test_setup_prints_the_ansible_version_without_a_broken_pipe(tmp_path):
    top = _checkout_with_a_ready_venv(tmp_path)

    proc = subprocess.run(
        ["bash", str(top / "scripts" / "setup.sh")],
        env=dict(os.environ, KUBEGPU_PYTHON=sys.executable),
        capture_output=True, text=True, timeout=120, check=False)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "setup: ready (run) with ansible [core 9.99.0]", proc.stdout
    assert "Broken pipe" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
