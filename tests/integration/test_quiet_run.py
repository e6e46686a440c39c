# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The project's virtualenv (requirements/run.txt) starts ansible-playbook without a Python warning.

ansible-core 2.19 imports cryptography's DSA classes on every start; cryptography 51
deprecates them, and each run printed a CryptographyDeprecationWarning before its first play.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def test_ansible_playbook_starts_without_a_python_warning(ansible_env):
    env = dict(ansible_env)
    env.pop('PYTHONWARNINGS', None)
    proc = subprocess.run([str(VENV_BIN / 'ansible-playbook'), '--version'], env=env, capture_output=True, text=True,
                          timeout=120, check=False)

    assert proc.returncode == 0, proc.stderr
    assert 'Warning' not in proc.stderr, proc.stderr
