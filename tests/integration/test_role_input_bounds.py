# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Out-of-bounds role inputs stop the role at its input check, naming the variable and the fix.

Each case runs the role itself (include_role, as the stage playbooks do) with one
bad value, and no kubeconfig: the run must fail in the role's check task, before
any task that would talk to the cluster or change a node. The last part renders
the validate pod and the device plugin with hostile node names and checks the
YAML keeps them as data.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
NODE = {'host': 'gpu-a', 'node': 'gpu-a', 'gpu_count': 1, 'uuids': [], 'mode': 'cdi', 'driver_root': '/',
        'driver_version': '580.159.04', 'runtime': 'containerd 1.7.24', 'stack': 'device_plugin', 'mig_enabled': False}
PLAN = {'stack': 'device_plugin', 'mode': 'cdi', 'cdi': True, 'handler': False, 'runtime': 'containerd',
        'driver_root': '/', 'manage_driver': True, 'manage_runtime': True, 'nodes': [NODE]}
CHECK = {
    'device_plugin': "kubegpu.nvidia.device_plugin : Check the device plugin's settings",
    'gpu_operator': "kubegpu.nvidia.gpu_operator : Check the operator's inputs",
    'validate': "kubegpu.nvidia.validate : Check the test pods' settings",
    'kubernetes': "kubegpu.nvidia.kubernetes : Check the cluster's networks and wait",
    'container_toolkit': "kubegpu.nvidia.container_toolkit : Check the toolkit's inputs",
}
# The toolkit's role on this machine (no GPU): a mode named and an install without a GPU, so its check runs.
TOOLKIT = {'container_toolkit_mode': 'runtime', 'container_toolkit_install_without_gpu': True}


def run_role(env, tmp_path, role, variables):
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump({'all': {
        'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}},
        'children': {'kube_control_plane': {'hosts': {'localhost': None}},
                     'gpu_nodes': {'hosts': {'localhost': None}}}}}))
    (tmp_path / 'play.yml').write_text(yaml.safe_dump([{
        'name': 'Run one role with one bad input', 'hosts': 'localhost', 'gather_facts': False,
        'tasks': [{'name': 'Run the role', 'ansible.builtin.include_role': {'name': 'kubegpu.nvidia.' + role}}]}]))
    extra = dict({'kubegpu_cluster_plan': PLAN}, **variables)
    proc = subprocess.run(
        [str(VENV_BIN / 'ansible-playbook'), '-i', str(tmp_path / 'inventory.yml'), str(tmp_path / 'play.yml'),
         '-e', json.dumps(extra)],
        env=dict(env, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', KUBECONFIG=str(tmp_path / 'no-kubeconfig'),
                 K8S_AUTH_KUBECONFIG=str(tmp_path / 'no-kubeconfig')),
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode != 0, proc.stdout[-3000:]
    report = json.loads(proc.stdout)
    tasks = [task for play in report['plays'] for task in play['tasks']]
    failed = [(task['task']['name'], result) for task in tasks for result in task['hosts'].values()
              if result.get('failed') and not result.get('ignore_errors')]
    assert len(failed) == 1, failed
    # Nothing after the failed check ran (the report ends with it).
    assert tasks[-1]['task']['name'] == failed[0][0]
    return failed[0]


@pytest.mark.parametrize('role, variables, message', [
    ('device_plugin', {'device_plugin_sharing': 'time-slicing', 'device_plugin_sharing_replicas': -2},
     'device_plugin_sharing_replicas is -2: give the pods per shared GPU, at least 1'),
    ('device_plugin', {'device_plugin_sharing_replicas': 0}, 'device_plugin_sharing_replicas is 0'),
    ('device_plugin', {'device_plugin_wait_delay': 0}, 'device_plugin_wait_delay is 0'),
    ('device_plugin', {'device_plugin_cdi_spec_dir': '/'},
     "device_plugin_cdi_spec_dir is '/', which is the node's root file system"),
    ('device_plugin', {'device_plugin_cdi_spec_dir': '/var/run/cdi/../../../etc'},
     "device_plugin_cdi_spec_dir is '/var/run/cdi/../../../etc', which is a top-level system directory (/etc)"),
    ('device_plugin', {'device_plugin_cdi_spec_dir': '/var/lib/kubelet/pki'},
     'which is in the system directory /var/lib/kubelet'),
    ('gpu_operator', {'gpu_operator_sharing': 'time-slicing', 'gpu_operator_sharing_replicas': -1},
     'gpu_operator_sharing_replicas is -1: give the pods per shared GPU, at least 1'),
    ('validate', {'validate_poll_delay': 0}, 'validate_poll_delay is 0: give the seconds between looks'),
    ('validate', {'validate_run_as_user': 0}, 'validate_run_as_user is 0: the test pods run as non-root'),
    ('validate', {'validate_timeout': -5}, 'validate_timeout is -5'),
    ('kubernetes', {'kubernetes_ready_timeout': -10}, 'kubernetes_ready_timeout is -10: give the seconds'),
    ('kubernetes', {'kubernetes_pod_subnet': '10.96.0.0/16'},
     'kubernetes_pod_subnet (10.96.0.0/16) lies inside kubernetes_service_subnet (10.96.0.0/12)'),
    ('kubernetes', {'kubernetes_pod_subnet': '10.0.0.0/8'},
     'kubernetes_service_subnet (10.96.0.0/12) lies inside kubernetes_pod_subnet (10.0.0.0/8)'),
    ('container_toolkit', dict(TOOLKIT, container_toolkit_driver_root='run/nvidia/driver'),
     'container_toolkit_driver_root is "run/nvidia/driver"; expected an absolute path'),
    ('container_toolkit', dict(TOOLKIT, container_toolkit_source='binaries', container_toolkit_binaries_dir=''),
     'container_toolkit_source is binaries but container_toolkit_binaries_dir is empty'),
])
def test_bad_input_stops_the_role_at_its_check(ansible_env, tmp_path, role, variables, message):
    name, result = run_role(ansible_env, tmp_path, role, variables)
    assert name == CHECK[role]
    assert message in result['msg'], result['msg']


def test_a_dedicated_cdi_directory_passes_the_check(ansible_env, tmp_path):
    # The check passes; the role then stops where it first needs the cluster (no kubeconfig here).
    name, result = run_role(ansible_env, tmp_path, 'device_plugin',
                            {'device_plugin_cdi_spec_dir': '/var/lib/kubegpu/device-plugin-cdi',
                             'device_plugin_sharing': 'time-slicing', 'device_plugin_sharing_replicas': 1})
    assert name not in (CHECK['device_plugin'], "kubegpu.nvidia.device_plugin : Check the device plugin's inputs")
    assert 'device_plugin_' not in str(result.get('msg')), result


HOSTILE_NODES = ['GPU Node 1', 'gpü-ñode "2": {x}', 'n' * 80, "it's #3"]


def test_hostile_node_names_render_as_data_with_valid_pod_names(ansible_env, tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    nodes = [dict(NODE, node=name, host='h{0}'.format(i)) for i, name in enumerate(HOSTILE_NODES)]
    (tmp_path / 'render.yml').write_text(yaml.safe_dump([{
        'name': 'Render the test pods and the device plugin', 'hosts': 'localhost', 'gather_facts': False,
        'vars_files': [str(REPO / 'roles' / 'validate' / 'defaults' / 'main.yml'),
                       str(REPO / 'roles' / 'device_plugin' / 'defaults' / 'main.yml'),
                       str(REPO / 'roles' / 'device_plugin' / 'vars' / 'main.yml')],
        'tasks': [
            {'name': 'Render the pods', 'ansible.builtin.copy': {
                'content': "{{ lookup('ansible.builtin.template', '" + str(REPO / 'roles' / 'validate' / 'templates'
                                                                           / 'pods.yml.j2') + "') }}",
                'dest': str(out / 'pods.yml'), 'mode': '0600'},
             'vars': {'validate_nodes': nodes, 'validate_stack': 'device_plugin',
                      'validate_pod_names': "{{ validate_nodes | map(attribute='node') "
                                            "| map('kubegpu.nvidia.gpu_pod_name') | list }}"}},
            {'name': 'Render the device plugin in cdi mode', 'ansible.builtin.template': {
                'src': str(REPO / 'roles' / 'device_plugin' / 'templates' / 'daemonset.yml.j2'),
                'dest': str(out / 'daemonset.yml'), 'mode': '0600'},
             'vars': {'device_plugin_runtime_mode': 'cdi', 'device_plugin_driver_root': '/',
                      'device_plugin_cdi_spec_dir': '/var/lib/kubegpu/device-plugin-cdi'}},
        ]}]))
    extra = {'kubegpu_cluster_plan': PLAN, 'ansible_python_interpreter': sys.executable}
    proc = subprocess.run([str(VENV_BIN / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           str(tmp_path / 'render.yml'), '-e', json.dumps(extra)],
                          env=ansible_env, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pods = [d for d in yaml.safe_load_all((out / 'pods.yml').read_text()) if d]
    assert [p['metadata']['annotations']['kubegpu.nvidia/node'] for p in pods] == HOSTILE_NODES
    terms = [p['spec']['affinity']['nodeAffinity']['requiredDuringSchedulingIgnoredDuringExecution']
             ['nodeSelectorTerms'][0]['matchFields'][0]['values'] for p in pods]
    assert terms == [[name] for name in HOSTILE_NODES]
    names = [p['metadata']['name'] for p in pods]
    assert len(set(names)) == len(names)
    for name in names:
        assert len(name) <= 63 and name == name.lower() and name[0].isalnum() and name[-1].isalnum(), name
        assert set(name) <= set('abcdefghijklmnopqrstuvwxyz0123456789-.'), name

    daemonset = yaml.safe_load((out / 'daemonset.yml').read_text())
    container = daemonset['spec']['template']['spec']['containers'][0]
    context = container['securityContext']
    # Privileged for the device nodes, and nothing else: no capabilities asked for, a read-only root.
    assert context['privileged'] is True
    assert context['capabilities'] == {'drop': ['ALL']}
    assert context['readOnlyRootFilesystem'] is True
    assert 'allowPrivilegeEscalation' not in context
    mounts = {m['name']: m for m in container['volumeMounts']}
    assert mounts['driver-root']['readOnly'] is True
    volumes = {v['name']: v for v in daemonset['spec']['template']['spec']['volumes']}
    assert volumes['cdi-root']['hostPath']['path'] == '/var/lib/kubegpu/device-plugin-cdi'
