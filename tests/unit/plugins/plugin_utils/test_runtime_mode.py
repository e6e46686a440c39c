# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._runtime_mode import (
    RuntimeModeError,
    decide_runtime,
    host_runtime,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate_nodes import (
    NodePlanError,
    node_plan,
    plan_hosts,
)

# Only plugin_utils here: importing Ansible's controller side (the filter plugins' AnsibleFilterError) in this
# process changes how AnsibleModule reports warnings to the module tests. The filters are thin wrappers, run for
# real by tests/integration/cluster (test_emulator_containerd_1_6_*).


def gpu_node_plan(hosts_vars, default_mode='', stack='device_plugin'):
    """What the gpu_node_plan filter does with hostvars entries."""
    return node_plan(plan_hosts(hosts_vars), default_mode=default_mode, stack=stack)


def facts(containerd=None, crio=None, gpu_count=1):
    """ansible_facts.nvidia with the runtimes gpu_facts found (a version string, '' for no version, None: absent)."""
    def runtime(version):
        if version is None:
            return {'installed': False, 'path': None, 'version': None}
        return {'installed': True, 'path': '/usr/bin/x', 'version': version or None}
    return {
        'gpu_count': gpu_count,
        'gpus': [{'name': 'NVIDIA H200', 'uuid': 'GPU-{0}'.format(i)} for i in range(gpu_count)],
        'driver': {'loaded': True, 'version': '580.159.04'},
        'driver_root': {'found': True, 'root': '/'},
        'runtimes': {'containerd': runtime(containerd), 'crio': runtime(crio)},
        'mig': {'enabled_count': 0},
    }


def test_containerd_1_6_without_a_request_runs_in_runtime_mode():
    decision = decide_runtime(facts(containerd='1.6.20'))
    assert decision == {
        'runtime': 'containerd', 'version': '1.6.20', 'mode': 'runtime',
        'reason': 'containerd 1.6.20 (the only runtime installed): runtime mode, since CDI support came with '
                  'containerd 1.7',
    }


@pytest.mark.parametrize('version', ['1.7.0', '1.7.24', '2.0.5', '2.1.9'])
def test_containerd_1_7_and_2_x_without_a_request_run_in_cdi_mode(version):
    decision = decide_runtime(facts(containerd=version))
    assert (decision['runtime'], decision['version'], decision['mode']) == ('containerd', version, 'cdi')
    assert decision['reason'] == 'containerd {0} (the only runtime installed): cdi mode, which it supports'.format(
        version)


def test_crio_runs_in_cdi_mode():
    decision = decide_runtime(facts(crio='1.30.4'))
    assert (decision['runtime'], decision['mode']) == ('crio', 'cdi')
    assert decision['reason'].startswith('CRI-O 1.30.4 (the only runtime installed): cdi mode')


def test_containerd_of_unknown_version_is_taken_as_cdi_capable_and_says_so():
    decision = decide_runtime(facts(containerd=''))
    assert (decision['version'], decision['mode']) == (None, 'cdi')
    assert 'version unknown' in decision['reason']
    assert 'container_runtime_containerd_version' in decision['reason']


def test_an_explicit_mode_wins_where_the_runtime_allows_it():
    assert decide_runtime(facts(containerd='1.7.24'), mode='runtime')['mode'] == 'runtime'
    assert decide_runtime(facts(containerd='1.6.20'), mode='runtime')['mode'] == 'runtime'
    assert decide_runtime(facts(crio='1.30.4'), mode='runtime')['mode'] == 'runtime'
    decision = decide_runtime(facts(containerd='2.1.9'), mode='cdi', mode_variable='kubegpu_runtime_mode')
    assert decision['reason'] == 'containerd 2.1.9 (the only runtime installed): cdi mode, as kubegpu_runtime_mode asks'


def test_the_runtime_name_picks_one_of_two_installed_runtimes():
    both = facts(containerd='1.6.20', crio='1.30.4')
    decision = decide_runtime(both, runtime='crio')
    assert (decision['runtime'], decision['version'], decision['mode']) == ('crio', '1.30.4', 'cdi')
    assert '(container_runtime_name)' in decision['reason']
    assert decide_runtime(both, runtime='containerd')['mode'] == 'runtime'


def test_the_containerd_version_override_decides_instead_of_the_detected_one():
    assert decide_runtime(facts(containerd='2.1.9'), containerd_version='1.6.20')['mode'] == 'runtime'
    decision = decide_runtime(facts(containerd='1.6.20'), containerd_version='1.7.24')
    assert (decision['version'], decision['mode']) == ('1.7.24', 'cdi')


def test_cdi_asked_for_on_containerd_1_6_is_refused_with_the_variable_and_the_fix():
    with pytest.raises(RuntimeModeError) as err:
        decide_runtime(facts(containerd='1.6.20'), mode='cdi', host='gpu-a')
    assert str(err.value) == (
        'container_runtime_mode is cdi, but containerd 1.6.20 on gpu-a has no CDI support (it came with '
        'containerd 1.7): upgrade containerd, or set container_runtime_mode: runtime (nvidia-container-runtime '
        'as the handler)')


def test_an_unknown_runtime_or_mode_is_refused_with_the_variable():
    with pytest.raises(RuntimeModeError, match=r"^container_runtime_name is 'docker'; expected containerd, crio"):
        decide_runtime(facts(containerd='1.7.24'), runtime='docker')
    with pytest.raises(RuntimeModeError, match=r"^kubegpu_runtime_mode is 'legacy'; expected cdi, runtime, or empty"):
        decide_runtime(facts(containerd='1.7.24'), mode='legacy', mode_variable='kubegpu_runtime_mode')


def test_a_node_with_both_runtimes_and_no_choice_is_refused():
    with pytest.raises(RuntimeModeError) as err:
        decide_runtime(facts(containerd='1.7.24', crio='1.30.4'), host='gpu-a')
    assert str(err.value) == ('Both containerd and CRI-O are installed on gpu-a: set container_runtime_name to the '
                              'one kubelet uses')


def test_a_node_without_a_runtime_is_refused():
    with pytest.raises(RuntimeModeError) as err:
        decide_runtime(facts(), host='gpu-a')
    assert str(err.value) == ('Neither containerd nor CRI-O is installed on gpu-a (gpu_facts found none): install '
                              'the runtime first, or set container_runtime_name')


def test_a_host_without_a_recorded_decision_gets_the_same_one_from_its_variables():
    hostvars = {'ansible_facts': {'nvidia': facts(containerd='1.6.20')}}
    assert host_runtime(hostvars) == decide_runtime(facts(containerd='1.6.20'))
    assert host_runtime(dict(hostvars, kubegpu_runtime_mode='runtime'), default_mode='cdi')['mode'] == 'runtime'
    # container_runtime_mode speaks for the node before the collection-wide kubegpu_runtime_mode.
    with pytest.raises(RuntimeModeError, match=r'^container_runtime_mode is cdi'):
        host_runtime(dict(hostvars, container_runtime_mode='cdi', kubegpu_runtime_mode='runtime'))
    with pytest.raises(RuntimeModeError, match=r'^kubegpu_runtime_mode is cdi'):
        host_runtime(hostvars, default_mode='cdi')


def node_stage(name, nvidia, **request):
    """A host's variables after the node stage: its facts and the decision recorded as kubegpu_node_runtime."""
    decision = decide_runtime(nvidia, mode=request.get('container_runtime_mode', ''),
                              runtime=request.get('container_runtime_name', ''), host=name)
    return dict({'inventory_hostname': name, 'ansible_facts': {'nvidia': nvidia},
                 'kubegpu_node_runtime': dict(decision, request=request)}, **request)


def test_the_cluster_stage_plans_a_containerd_1_6_node_in_the_mode_the_node_stage_configured():
    hosts = [node_stage('gpu-old', facts(containerd='1.6.20')), node_stage('gpu-new', facts(containerd='2.1.9'))]
    # The playbooks' call: no kubegpu_runtime_mode set, so the default mode is empty.
    plan = gpu_node_plan(hosts, '', 'device_plugin')
    assert [(p['host'], p['runtime'], p['mode']) for p in plan] == [
        ('gpu-old', 'containerd 1.6.20', 'runtime'), ('gpu-new', 'containerd 2.1.9', 'cdi')]
    assert [p['mode'] for p in plan] == [h['kubegpu_node_runtime']['mode'] for h in hosts]


def test_the_plan_follows_the_recorded_decision_over_a_default_mode():
    hosts = [node_stage('gpu-old', facts(containerd='1.6.20'))]
    assert gpu_node_plan(hosts, 'cdi')[0]['mode'] == 'runtime'


def test_the_plan_decides_alike_where_the_node_stage_did_not_run():
    hosts = [{'inventory_hostname': 'gpu-old', 'ansible_facts': {'nvidia': facts(containerd='1.6.20')}},
             {'inventory_hostname': 'gpu-crio', 'ansible_facts': {'nvidia': facts(containerd='1.6.20', crio='1.30.4')},
              'container_runtime_name': 'crio'}]
    assert [(p['runtime'], p['mode']) for p in gpu_node_plan(hosts)] == [
        ('containerd 1.6.20', 'runtime'), ('crio 1.30.4', 'cdi')]
    with pytest.raises(NodePlanError, match=r'^host gpu-old: kubegpu_runtime_mode is cdi, but containerd 1\.6'):
        gpu_node_plan(hosts[:1], 'cdi')
