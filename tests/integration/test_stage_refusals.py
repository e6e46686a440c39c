# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stage playbooks refuse before they touch a node: one decision, one home for the inputs.

A node with both containerd and CRI-O and no container_runtime_name: the node stage
(playbooks/nodes.yml), the kubernetes stage (playbooks/kubernetes.yml) and the cluster
stage's planning (playbooks/cluster.yml) each stop with the one refusal the node's
decision (kubegpu.nvidia.node_decision) makes, in check mode, changing nothing.

How the node is emulated: the playbooks run unmodified, on an inventory host `gpu-node`
(a second name for this machine, `ansible_connection: local`) in the gpu_nodes and
kube_control_plane groups. Setting its facts beforehand (the emulated_facts modules of
tests/integration/*/library) would not do here: the node stage's preflight play runs
gpu_facts unconditionally and replaces them. Instead gpu_facts itself runs, as every
stage runs it, with the preflight role's `preflight_root` (a host variable) pointing at
a root file system built from the recorded H200 (tests/unit/fixtures/nvidia-h200, the
tree the gpu_facts unit tests use) plus a containerd and a crio binary. So the
detection, the preflight verdict and the decision are the real ones; gpu_facts runs no
command below a root that is not `/`, and the binaries are never executed.

A wrong collection input: `ansible-playbook site.yml -e ...` stops in its first play
(role kubegpu.nvidia.inputs, on localhost) naming the variable and what it accepts, and
no task runs on the GPU node (again a second name for this machine, so a task that did
run would show in the ansible.posix.json callback's results).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DECIDE = 'kubegpu.nvidia.preflight : Decide what this node needs'
BOTH_RUNTIMES = ("Both containerd and CRI-O are installed on gpu-node: set container_runtime_name to the one "
                 "kubelet uses (containerd or crio), in the host's or its group's variables")


def _h200_root_builder():
    spec = importlib.util.spec_from_file_location(
        'kubegpu_h200_root_tree', REPO / 'tests' / 'unit' / 'plugins' / 'module_utils' / 'conftest.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_h200_root


@pytest.fixture
def env(ansible_env, tmp_path):
    """This checkout as the collection kubegpu.nvidia (whatever .cache/collections holds), JSON results."""
    collections = tmp_path / 'collections' / 'ansible_collections' / 'kubegpu'
    collections.mkdir(parents=True)
    (collections / 'nvidia').symlink_to(REPO)
    environ = dict(ansible_env, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / 'collections'),
                   ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    # No cluster to reach: a cluster-stage task that did run would fail on this, not on a real cluster.
    environ.update(K8S_AUTH_KUBECONFIG=str(tmp_path / 'no-kubeconfig'), KUBECONFIG=str(tmp_path / 'no-kubeconfig'))
    return environ


@pytest.fixture
def both_runtimes_root(tmp_path):
    root = _h200_root_builder()(tmp_path / 'h200')
    for binary in ('usr/bin/containerd', 'usr/bin/crio'):
        path = root.write('/' + binary, '#!/bin/sh\necho "{0} must not run below another root" >&2\nexit 1\n'.format(
            binary))
        path.chmod(0o755)
    root.write('/etc/containerd/config.toml', 'version = 2\n')
    return root.path


def inventory(tmp_path, **node_vars):
    """localhost (the controller, the cluster host) and gpu-node (this machine again), a GPU and control-plane node."""
    local = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    path = tmp_path / 'inventory.yml'
    path.write_text(yaml.safe_dump({'all': {
        'hosts': {'localhost': local},
        'children': {
            'gpu_nodes': {'hosts': {'gpu-node': dict(local, **node_vars)}},
            'kube_control_plane': {'hosts': {'gpu-node': None}},
        }}}))
    return path


def playbook(env, hosts, path, *args):
    proc = subprocess.run(
        [str(VENV_BIN / 'ansible-playbook'), '-i', str(hosts), str(path), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:]) from None


def results(run):
    """(play, task, host, result) of every task result of the run."""
    return [(one['play']['name'], entry['task']['name'], host, result)
            for one in run['plays'] for entry in one['tasks'] for host, result in entry['hosts'].items()]


def tree_digest(root):
    digest = hashlib.sha256()
    for path in sorted(root.rglob('*')):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize('stage', ['nodes', 'kubernetes', 'cluster'])
def test_both_runtimes_and_none_chosen_stops_each_stage_with_the_one_refusal(env, tmp_path, both_runtimes_root, stage):
    before = tree_digest(both_runtimes_root)
    code, run = playbook(env, inventory(tmp_path, preflight_root=str(both_runtimes_root)),
                         REPO / 'playbooks' / '{0}.yml'.format(stage), '--check', '--diff')
    assert code == 2

    failed = [(task, host, result['msg']) for dummy, task, host, result in results(run) if result.get('failed')]
    assert len(failed) == 1, json.dumps(failed, indent=1)
    task, host, message = failed[0]
    # The decision refuses, wherever the stage asks for it (the runtime install step of the node and
    # kubernetes stages, the cluster stage's decision play), with the variable to set and where.
    assert (task, host) == (DECIDE, 'gpu-node')
    assert message.endswith(BOTH_RUNTIMES), message
    assert run['stats']['gpu-node']['failures'] == 1
    # The refusal is the run's last task: nothing was installed, configured or planned after it; nothing changed.
    assert results(run)[-1][1:3] == (DECIDE, 'gpu-node')
    assert {name: stats['changed'] for name, stats in run['stats'].items()} == dict.fromkeys(run['stats'], 0)
    assert tree_digest(both_runtimes_root) == before
    if stage == 'nodes':
        # gpu_facts ran for real, below the root, and saw both runtimes (no version: no command runs there).
        facts = next(result['ansible_facts']['nvidia'] for dummy, task, host, result in results(run)
                     if task.endswith('Detect GPUs, driver, runtimes and blockers') and host == 'gpu-node')
        assert facts['root'] == str(both_runtimes_root)
        assert (facts['gpu_count'], facts['gpus'][0]['name']) == (1, 'NVIDIA H200')
        assert [facts['runtimes'][name]['path'] for name in ('containerd', 'crio')] == [
            '/usr/bin/containerd', '/usr/bin/crio']


def test_both_runtimes_stop_every_stage_with_the_same_words(env, tmp_path, both_runtimes_root):
    hosts = inventory(tmp_path, preflight_root=str(both_runtimes_root))
    messages = set()
    for stage in ('nodes', 'kubernetes', 'cluster'):
        code, run = playbook(env, hosts, REPO / 'playbooks' / '{0}.yml'.format(stage), '--check')
        assert code == 2, stage
        messages |= {result['msg'] for dummy, task, dummy, result in results(run) if result.get('failed')}
    assert len(messages) == 1, messages


def test_the_fix_the_refusal_names_gets_the_node_stage_past_the_decision(env, tmp_path, both_runtimes_root):
    # container_runtime_name in the host's variables, as the refusal says; the preflight tag keeps the run to
    # the checks and the decision (which always runs), so nothing is installed on this machine.
    hosts = inventory(tmp_path, preflight_root=str(both_runtimes_root), container_runtime_name='crio')
    code, run = playbook(env, hosts, REPO / 'playbooks' / 'nodes.yml', '--check', '--tags', 'preflight')
    failed = [(task, result['msg']) for dummy, task, dummy, result in results(run) if result.get('failed')]
    assert (code, failed) == (0, []), failed
    record = next(result['ansible_facts']['kubegpu_node'] for dummy, task, host, result in results(run)
                  if task == DECIDE and host == 'gpu-node' and 'ansible_facts' in result)
    assert (record['runtime'], record['runtime_present'], record['runtime_install']) == ('crio', True, False)
    assert record['mode'] == 'cdi'
    assert all(stats['changed'] == 0 for stats in run['stats'].values())


def test_the_toolkit_step_reads_the_decision_with_no_mode_of_its_own(env, tmp_path, both_runtimes_root):
    # container_toolkit_mode left empty (its default): the role takes the node's mode from the record. Pure CDI
    # (no hooks) needs no toolkit, so --check installs and plans nothing on this machine.
    hosts = inventory(tmp_path, preflight_root=str(both_runtimes_root), container_runtime_name='crio',
                      container_toolkit_cdi_hooks=False)
    code, run = playbook(env, hosts, REPO / 'playbooks' / 'nodes.yml', '--check', '--tags', 'container_toolkit')
    failed = [(task, result['msg']) for dummy, task, dummy, result in results(run) if result.get('failed')]
    assert (code, failed) == (0, []), failed
    decided = [result['ansible_facts'] for dummy, task, host, result in results(run)
               if task.endswith('Decide whether this node needs the toolkit') and host == 'gpu-node']
    assert decided and decided[-1]['container_toolkit_selected_mode'] == 'cdi'
    assert decided[-1]['container_toolkit_needed'] is False
    assert all(stats['changed'] == 0 for stats in run['stats'].values())


@pytest.mark.parametrize(('extra', 'expected'), [
    ('kubegpu_gpu_stack=gpu_operaor',
     'value of kubegpu_gpu_stack must be one of: device_plugin, gpu_operator, dra, got: gpu_operaor'),
    ('kubegpu_runtime_mode=cid', 'value of kubegpu_runtime_mode must be one of: , cdi, runtime, cdi_handler, got: cid'),
    ('kubegpu_manage_driver=maybe',
     "argument 'kubegpu_manage_driver' is of type str and we were unable to convert to bool: The value 'maybe'"),
    ('kubegpu_cluster=sometimes', 'kubegpu_cluster is sometimes; expected auto, true or false'),
], ids=['stack-misspelt', 'mode-misspelt', 'switch-not-a-bool', 'stage-switch-not-auto-or-bool'])
def test_a_wrong_input_stops_site_in_its_first_play_before_any_node_task(env, tmp_path, extra, expected):
    code, run = playbook(env, inventory(tmp_path), REPO / 'site.yml', '-e', extra)
    assert code == 2
    first = run['plays'][0]
    assert first['play']['name'] == "Check the collection's inputs, and decide which stages run"
    failed = [(entry['task']['name'], result['msg']) for entry in first['tasks']
              for host, result in entry['hosts'].items() if result.get('failed')]
    assert len(failed) == 1, failed
    task, message = failed[0]
    assert task.startswith('kubegpu.nvidia.inputs : ')
    assert expected in message, message
    # No play but the first has a host result, and the GPU node is in no host's stats.
    assert [one['play']['name'] for one in run['plays'][1:] if any(e['hosts'] for e in one['tasks'])] == []
    assert {host for dummy, dummy, host, dummy in results(run)} == {'localhost'}
    assert set(run['stats']) == {'localhost'}
