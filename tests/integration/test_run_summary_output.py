# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table that ends `ansible-playbook site.yml`, as a user's own project prints it.

The playbook runs the way it does outside this checkout: an empty ansible.cfg (Ansible's
default callback and result format), the collection found on a collections path, the
inventory given with -i. The table must read as a table there: one row per printed line,
not one escaped string. A run whose only node does not answer (an SSH host on a closed
port), or that preflight refuses, still ends with the table, which says why, and fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HEADER = ['NODE', 'GPUS', 'DRIVER', 'RUNTIME', 'MODE', 'CDI', 'SPEC', 'VALIDATION', 'CHANGED', 'SKIPPED']


@pytest.fixture
def user_env(ansible_env, tmp_path):
    """Ansible's defaults: an empty ansible.cfg, no callback or format settings, this checkout as the collection."""
    collections = tmp_path / 'collections' / 'ansible_collections' / 'kubegpu'
    collections.mkdir(parents=True)
    (collections / 'nvidia').symlink_to(REPO)
    config = tmp_path / 'ansible.cfg'
    config.write_text('')
    env = {k: v for k, v in ansible_env.items()
           if not k.startswith('ANSIBLE_') or k in ('ANSIBLE_LOCAL_TEMP', 'ANSIBLE_NOCOLOR', 'ANSIBLE_FORCE_COLOR')}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'collections'),
               ANSIBLE_HOST_KEY_CHECKING='false')
    return env


def run_site(env, inventory, *args):
    proc = subprocess.run(
        # No cluster: the stages on it are not what these tests look at.
        [str(VENV_BIN / 'ansible-playbook'), '-i', str(inventory), str(REPO / 'site.yml'),
         '-e', 'kubegpu_cluster=false', *args],
        cwd=env['ANSIBLE_LOCAL_TEMP'].rpartition(os.sep)[0], env=env, capture_output=True, text=True,
        timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def table(output):
    """The table's printed lines, each as its cells' text: from the line that is the header to the list's end."""
    lines = [line.strip().rstrip(',').strip('"') for line in output.splitlines()]
    starts = [i for i, line in enumerate(lines) if line.split() == HEADER]
    assert starts, 'no line of the output is the table header:\n' + output[-6000:]
    rows = []
    for line in lines[starts[-1]:]:
        if line in (']', '}', ''):
            break
        rows.append(line)
    return rows


def localhost_inventory(tmp_path, **host_vars):
    path = tmp_path / 'inventory.yml'
    lines = ['all:', '  children:', '    gpu_nodes:', '      hosts:', '        localhost:',
             '          ansible_connection: local',
             '          ansible_python_interpreter: "{0}"'.format(VENV_BIN / 'python')]
    lines += ['          {0}: "{1}"'.format(name, value) for name, value in host_vars.items()]
    path.write_text('\n'.join(lines) + '\n')
    return path


def test_the_table_prints_one_row_per_line_with_ansibles_default_output(user_env, tmp_path):
    rc, output = run_site(user_env, localhost_inventory(tmp_path))

    rows = table(output)
    assert rc == 0, output[-6000:]
    assert set(rows[1]) == {'-', ' '}
    assert [row.split()[0] for row in rows[2:]] == ['localhost']
    assert '\\n' not in ''.join(rows)


def test_a_run_whose_only_node_does_not_answer_ends_with_the_table_and_fails(user_env, tmp_path):
    inventory = tmp_path / 'unreachable.yml'
    inventory.write_text('all:\n  children:\n    gpu_nodes:\n      hosts:\n        gpu-down:\n'
                         '          ansible_host: 127.0.0.1\n          ansible_port: 1\n'
                         '          ansible_user: nobody\n')

    rc, output = run_site(user_env, inventory)

    rows = table(output)
    assert rc == 2, output[-6000:]
    assert [row.split()[0] for row in rows[2:]] == ['gpu-down']
    assert 'unreachable: ' in rows[2] and 'port 1: Connection refused' in rows[2], rows
    assert 'not run on this host' not in rows[2]
    assert 'The run stopped after the node stage on gpu-down' in output.split(rows[-1])[-1]


def test_a_run_that_preflight_refuses_ends_with_the_table_and_fails(user_env, tmp_path):
    # A root without a PCI bus has no GPU: preflight_require_gpu refuses it, on any machine.
    (tmp_path / 'empty-root').mkdir()
    inventory = localhost_inventory(tmp_path, preflight_root=tmp_path / 'empty-root', preflight_require_gpu='true')

    rc, output = run_site(user_env, inventory)

    rows = table(output)
    assert rc == 2, output[-6000:]
    assert rows[2].split()[0] == 'localhost'
    assert 'stopped: Preflight failed on localhost: gpu_required:' in rows[2], rows
    assert 'TASK [kubegpu.nvidia.driver' not in output and 'TASK [kubegpu.nvidia.container_runtime' not in output
