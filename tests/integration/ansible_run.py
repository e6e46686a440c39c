# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a task of this checkout through a real ansible-playbook, for the integration tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def run_first_task(playbook, variables, check=False, local_temp=None):
    """Run a one-task playbook on localhost (local connection) with this checkout; that task's result.

    `variables` go in with -e (JSON); `check` adds --check --diff. The result comes from the
    ansible.posix.json callback, so a failed task (registered with ignore_errors) is returned too.
    """
    cmd = [str(VENV_BIN / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', json.dumps(variables), str(playbook)]
    if check:
        cmd += ['--check', '--diff']
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / 'ansible.cfg'),
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1')
    if local_temp is not None:
        env['ANSIBLE_LOCAL_TEMP'] = str(local_temp)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False, timeout=300)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']


def one_task_playbook(module, options):
    """A one-task playbook on localhost running `module` with `options` ({name: Jinja expression}).

    The task's PATH starts with the variable bin_dir (where the runtime binaries are, or an empty
    directory for a node without them); its result is registered, failures included.
    """
    lines = [
        '- hosts: localhost',
        '  gather_facts: false',
        '  environment:',
        '    PATH: "{{ bin_dir }}:{{ lookup(\'env\', \'PATH\') }}"',
        '  tasks:',
        '    - name: Run {0}'.format(module),
        '      {0}:'.format(module),
    ]
    lines += ['        {0}: "{1}"'.format(name, value) for name, value in options.items()]
    lines += ['      register: outcome', '      ignore_errors: true']
    return '\n'.join(lines) + '\n'
