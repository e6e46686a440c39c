# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_decision import (
    DecisionError,
    cluster_plan,
    decide_node,
)

# Only plugin_utils here: importing Ansible's controller side (the filter plugins' AnsibleFilterError) in this
# process changes how AnsibleModule reports warnings to the module tests. The filters are thin wrappers, run for
# real by tests/integration/cluster (test_emulator_containerd_1_6_*).

H200_UUID = 'GPU-f7c97444-05e0-ca40-86a8-bba4267c92a0'
CONTAINERD_SOCKET = '/run/containerd/containerd.sock'
CRIO_SOCKET = '/var/run/crio/crio.sock'


def facts(containerd=None, crio=None, gpu_count=1, cgroup_drivers=None, **nvidia):
    """ansible_facts.nvidia as gpu_facts reports it.

    ``containerd``, ``crio``: the version found (a string; '' installed without a version; None: not installed).
    ``cgroup_drivers``: runtime name -> the cgroup_driver gpu_facts read from its configuration (the key is absent
    for a runtime not named). ``nvidia``: keys to add or replace (init_systemd, driver_root, mig, ...).
    """
    def runtime(name, version):
        if version is None:
            return {'installed': False, 'path': None, 'version': None}
        found = {'installed': True, 'path': '/usr/bin/' + name, 'version': version or None}
        if name in (cgroup_drivers or {}):
            found['cgroup_driver'] = cgroup_drivers[name]
        return found
    return dict({
        'gpu_count': gpu_count,
        'gpus': [{'name': 'NVIDIA H200', 'uuid': H200_UUID if i == 0 else 'GPU-{0}'.format(i)}
                 for i in range(gpu_count)],
        'driver': {'loaded': True, 'version': '580.159.04'},
        'driver_root': {'found': True, 'root': '/'},
        'runtimes': {'containerd': runtime('containerd', containerd), 'crio': runtime('crio', crio)},
        'mig': {'enabled_count': 0},
    }, **nvidia)


# The node's runtime

def test_the_only_installed_containerd_is_the_nodes_runtime_with_its_socket_and_config():
    record = decide_node(facts(containerd='1.7.24'), host='gpu-a')
    assert (record['runtime'], record['runtime_version'], record['runtime_label'], record['runtime_present']) == (
        'containerd', '1.7.24', 'containerd 1.7.24', True)
    assert record['runtime_install'] is False
    assert (record['socket'], record['config']) == (CONTAINERD_SOCKET, '/etc/containerd/config.toml')
    assert record['reasons'][0] == 'containerd 1.7.24 (the only runtime installed)'


def test_the_only_installed_crio_is_the_nodes_runtime_with_its_socket_and_config():
    record = decide_node(facts(crio='1.30.4'), host='gpu-a')
    assert (record['runtime'], record['runtime_version'], record['runtime_label'], record['runtime_present']) == (
        'crio', '1.30.4', 'CRI-O 1.30.4', True)
    assert (record['socket'], record['config']) == (CRIO_SOCKET, '/etc/crio/crio.conf')


def test_container_runtime_name_picks_one_of_two_installed_runtimes():
    both = facts(containerd='1.6.20', crio='1.30.4')
    record = decide_node(both, {'runtime': 'crio'})
    assert (record['runtime'], record['runtime_version'], record['mode'], record['socket']) == (
        'crio', '1.30.4', 'cdi', CRIO_SOCKET)
    assert record['reason'].startswith('CRI-O 1.30.4 (container_runtime_name): ')
    record = decide_node(both, {'runtime': 'containerd'})
    assert (record['runtime'], record['mode'], record['socket']) == ('containerd', 'runtime', CONTAINERD_SOCKET)


def test_a_node_with_both_runtimes_and_no_choice_is_refused_naming_container_runtime_name():
    with pytest.raises(DecisionError, match=r'^Both containerd and CRI-O are installed on gpu-a: set '
                                            r'container_runtime_name to the one kubelet uses'):
        decide_node(facts(containerd='1.7.24', crio='1.30.4'), host='gpu-a')


def test_an_unknown_container_runtime_name_is_refused_naming_the_variable():
    with pytest.raises(DecisionError, match=r"^container_runtime_name is 'docker'; expected containerd, crio"):
        decide_node(facts(containerd='1.7.24'), {'runtime': 'docker'})


@pytest.mark.parametrize('install', [False, 'false'])
def test_a_gpu_node_without_a_runtime_and_without_the_install_is_refused_with_the_fix(install):
    with pytest.raises(DecisionError) as err:
        decide_node(facts(), {'install': install}, host='gpu-a')
    message = str(err.value)
    assert message.startswith('Neither containerd nor CRI-O is installed on gpu-a (gpu_facts found none): ')
    assert 'container_runtime_install: true' in message


def test_a_host_without_gpus_and_without_a_runtime_gets_a_record_with_no_runtime_and_no_mode():
    record = decide_node(facts(gpu_count=0), {'install': False}, host='cpu-1')
    assert (record['host'], record['gpu_count'], record['runtime'], record['mode']) == ('cpu-1', 0, None, None)
    assert (record['runtime_present'], record['runtime_install'], record['socket'], record['cgroup_driver']) == (
        False, False, None, None)
    assert (record['cdi'], record['handler']) == (False, False)
    assert record['reason'].startswith('no container runtime: ')
    assert 'container_runtime_install is false' in record['reason']


def test_a_record_has_the_same_keys_with_or_without_a_runtime():
    # Later roles read kubegpu_node.<key> on every host; a host without a runtime must not lack one.
    assert set(decide_node(facts(gpu_count=0), {'install': False})) == set(decide_node(facts(containerd='1.7.24')))


@pytest.mark.parametrize('inputs', [{}, {'install': True}, {'install': 'true'}, {'installed_runtime': 'containerd'},
                                    {'runtime': 'containerd'}])
def test_a_node_without_a_runtime_gets_containerd_to_install_and_not_yet_present(inputs):
    # What a check-mode run decides: the install step has not put containerd there (the facts show none).
    record = decide_node(facts(init_systemd=True), inputs, host='gpu-a')
    assert (record['runtime'], record['runtime_present'], record['runtime_install']) == ('containerd', False, True)
    assert (record['socket'], record['config']) == (CONTAINERD_SOCKET, '/etc/containerd/config.toml')
    # gpu_facts found no version: the mode is decided as for a containerd of unknown version.
    assert (record['runtime_version'], record['mode']) == (None, 'cdi')


def test_an_installed_runtime_is_kept_and_nothing_is_installed():
    record = decide_node(facts(crio='1.30.4'), {'install': True})
    assert (record['runtime'], record['runtime_present'], record['runtime_install']) == ('crio', True, False)


def test_crio_asked_for_on_a_node_without_a_runtime_is_refused_since_only_containerd_is_installed_by_the_collection():
    with pytest.raises(DecisionError) as err:
        decide_node(facts(), {'runtime': 'crio'}, host='gpu-a')
    message = str(err.value)
    assert message.startswith('container_runtime_name is crio, but on gpu-a there is no CRI-O')
    assert 'install CRI-O first' in message


@pytest.mark.parametrize('node, fix', [
    (facts(crio='1.36.3'), 'set container_runtime_name: crio to use the CRI-O that is there'),
    (facts(), 'set container_runtime_install: true'),
])
def test_containerd_named_where_there_is_none_and_none_is_installed_is_refused_with_the_fix(node, fix):
    with pytest.raises(DecisionError) as refused:
        decide_node(node, {'runtime': 'containerd', 'install': False}, host='gpu-a')
    assert str(refused.value).startswith('container_runtime_name is containerd, but on gpu-a there is no containerd')
    assert fix in str(refused.value)


def test_crio_named_beside_a_containerd_only_node_is_refused_pointing_at_the_containerd_there():
    with pytest.raises(DecisionError, match=r'there is no CRI-O: .*to use the containerd that is there'):
        decide_node(facts(containerd='1.7.24'), {'runtime': 'crio'}, host='gpu-a')


def test_an_unknown_collection_mode_is_refused_even_where_the_nodes_own_mode_decides():
    with pytest.raises(DecisionError, match=r"^kubegpu_runtime_mode is 'legacy'"):
        decide_node(facts(containerd='1.7.24'), {'node_mode': 'runtime', 'mode': 'legacy'})


def test_a_host_without_gpus_on_containerd_1_6_is_not_held_to_the_collections_cdi_mode():
    record = decide_node(facts(containerd='1.6.20', gpu_count=0), {'mode': 'cdi'}, host='cp-1')
    assert (record['runtime'], record['mode'], record['cdi'], record['handler']) == ('containerd', None, False, False)


def test_a_containerd_version_is_one_spelling_in_the_record_and_its_label():
    record = decide_node(facts(containerd='1.7'))
    assert (record['runtime_version'], record['runtime_label']) == ('1.7.0', 'containerd 1.7.0')


# The mode, and the precedence of the inputs that ask for one

def test_containerd_1_6_with_no_mode_asked_runs_in_runtime_mode_and_says_why():
    record = decide_node(facts(containerd='1.6.20'))
    assert (record['runtime'], record['runtime_version'], record['mode']) == ('containerd', '1.6.20', 'runtime')
    assert record['reason'] == ('containerd 1.6.20 (the only runtime installed): runtime mode, since CDI support came '
                                'with containerd 1.7')


@pytest.mark.parametrize('version', ['1.7.0', '1.7.24', '2.0.5', '2.1.9'])
def test_containerd_1_7_and_2_x_with_no_mode_asked_run_in_cdi_mode(version):
    record = decide_node(facts(containerd=version))
    assert (record['runtime'], record['runtime_version'], record['mode']) == ('containerd', version, 'cdi')
    assert record['reason'] == 'containerd {0} (the only runtime installed): cdi mode, which it supports'.format(
        version)


def test_crio_with_no_mode_asked_runs_in_cdi_mode():
    record = decide_node(facts(crio='1.30.4'))
    assert (record['runtime'], record['mode']) == ('crio', 'cdi')
    assert record['reason'] == 'CRI-O 1.30.4 (the only runtime installed): cdi mode, which it supports'


def test_containerd_of_unknown_version_is_taken_as_cdi_capable_and_says_so():
    record = decide_node(facts(containerd=''))
    assert (record['runtime_version'], record['runtime_label'], record['mode']) == (None, 'containerd', 'cdi')
    assert 'version unknown' in record['reason']
    assert 'container_runtime_containerd_version' in record['reason']


def test_a_mode_asked_for_wins_over_the_runtimes_default_where_the_runtime_allows_it():
    assert decide_node(facts(containerd='1.7.24'), {'mode': 'runtime'})['mode'] == 'runtime'
    assert decide_node(facts(containerd='1.6.20'), {'mode': 'runtime'})['mode'] == 'runtime'
    assert decide_node(facts(crio='1.30.4'), {'node_mode': 'runtime'})['mode'] == 'runtime'
    record = decide_node(facts(containerd='2.1.9'), {'mode': 'cdi'})
    assert record['reason'] == 'containerd 2.1.9 (the only runtime installed): cdi mode, as kubegpu_runtime_mode asks'


def test_container_runtime_mode_wins_over_kubegpu_runtime_mode_which_wins_over_the_runtimes_default():
    containerd_1_7 = facts(containerd='1.7.24')  # its default: cdi
    record = decide_node(containerd_1_7, {'node_mode': 'cdi', 'mode': 'runtime'})
    assert (record['mode'], record['reasons'][1]) == ('cdi', 'cdi mode, as container_runtime_mode asks')
    record = decide_node(containerd_1_7, {'mode': 'runtime'})
    assert (record['mode'], record['reasons'][1]) == ('runtime', 'runtime mode, as kubegpu_runtime_mode asks')
    record = decide_node(containerd_1_7, {'node_mode': '', 'mode': ''})
    assert (record['mode'], record['reasons'][1]) == ('cdi', 'cdi mode, which it supports')


def test_a_containerd_1_6_node_asking_for_runtime_mode_is_not_held_to_the_collections_cdi():
    record = decide_node(facts(containerd='1.6.20'), {'node_mode': 'runtime', 'mode': 'cdi'})
    assert (record['mode'], record['reasons'][1]) == ('runtime', 'runtime mode, as container_runtime_mode asks')


def test_cdi_asked_for_on_containerd_1_6_is_refused_with_the_variable_and_the_fix():
    with pytest.raises(DecisionError) as err:
        decide_node(facts(containerd='1.6.20'), {'node_mode': 'cdi'}, host='gpu-a')
    assert str(err.value) == (
        'container_runtime_mode is cdi, but containerd 1.6.20 on gpu-a has no CDI support (it came with '
        'containerd 1.7): upgrade containerd, or set container_runtime_mode: runtime (nvidia-container-runtime '
        'as the handler)')
    with pytest.raises(DecisionError, match=r'^kubegpu_runtime_mode is cdi, but containerd 1\.6\.20 on gpu-a .*'
                                            r'set kubegpu_runtime_mode: runtime'):
        decide_node(facts(containerd='1.6.20'), {'mode': 'cdi'}, host='gpu-a')


def test_cdi_asked_for_by_the_node_on_containerd_1_6_is_refused_even_where_the_collection_asks_for_runtime():
    with pytest.raises(DecisionError, match=r'^container_runtime_mode is cdi, but containerd 1\.6\.20'):
        decide_node(facts(containerd='1.6.20'), {'node_mode': 'cdi', 'mode': 'runtime'})


@pytest.mark.parametrize('key, variable', [('node_mode', 'container_runtime_mode'), ('mode', 'kubegpu_runtime_mode')])
def test_an_unknown_mode_is_refused_naming_the_variable_that_holds_it(key, variable):
    with pytest.raises(DecisionError,
                       match=r"^{0} is 'legacy'; expected cdi, runtime, cdi_handler, or empty".format(variable)):
        decide_node(facts(containerd='1.7.24'), {key: 'legacy'})


@pytest.mark.parametrize('mode, cdi, handler', [('cdi', True, False), ('runtime', False, True)])
def test_the_cdi_and_handler_flags_follow_the_mode(mode, cdi, handler):
    record = decide_node(facts(containerd='1.7.24'), {'mode': mode})
    assert (record['mode'], record['cdi'], record['handler']) == (mode, cdi, handler)


def test_the_containerd_version_input_decides_instead_of_the_detected_one():
    assert decide_node(facts(containerd='2.1.9'), {'containerd_version': '1.6.20'})['mode'] == 'runtime'
    record = decide_node(facts(containerd='1.6.20'), {'containerd_version': '1.7.24'})
    assert (record['runtime_version'], record['runtime_label'], record['mode']) == (
        '1.7.24', 'containerd 1.7.24', 'cdi')


def test_an_invalid_containerd_version_input_is_refused_naming_the_variable():
    with pytest.raises(DecisionError, match=r"^container_runtime_containerd_version is 'latest'; expected a version"):
        decide_node(facts(containerd='1.7.24'), {'containerd_version': 'latest'})


def test_a_host_without_gpus_gets_no_mode_unless_asked_to_decide_one():
    cpu_host = facts(containerd='1.7.24', gpu_count=0)
    record = decide_node(cpu_host)
    assert (record['runtime'], record['mode'], record['cdi'], record['handler']) == ('containerd', None, False, False)
    assert record['reason'] == 'containerd 1.7.24 (the only runtime installed): no mode: no NVIDIA GPU on this node'
    assert decide_node(cpu_host, {'without_gpu': 'false'})['mode'] is None
    record = decide_node(cpu_host, {'without_gpu': True})
    assert (record['mode'], record['cdi'], record['handler']) == ('cdi', True, False)


# The cgroup driver (the runtime's and kubelet's)

@pytest.mark.parametrize('init_systemd, driver', [(True, 'systemd'), (False, 'cgroupfs')])
def test_a_containerd_this_run_installs_gets_systemd_only_where_systemd_is_init(init_systemd, driver):
    record = decide_node(facts(init_systemd=init_systemd), {'installed_runtime': 'containerd'})
    assert record['cgroup_driver'] == driver
    assert record['reasons'][2].startswith('cgroup driver {0}, '.format(driver))
    assert decide_node(facts(init_systemd=init_systemd))['cgroup_driver'] == driver


def test_a_containerd_this_run_installed_keeps_systemd_when_the_facts_read_again_show_its_package_default():
    # The install step reads gpu_facts again: containerd is there now, with the package's cgroupfs configuration.
    nvidia = facts(containerd='1.7.24', cgroup_drivers={'containerd': 'cgroupfs'}, init_systemd=True)
    record = decide_node(nvidia, {'installed_runtime': 'containerd'})
    assert (record['runtime_present'], record['runtime_install'], record['cgroup_driver']) == (True, False, 'systemd')


@pytest.mark.parametrize('runtime, found', [
    ('containerd', 'systemd'), ('containerd', 'cgroupfs'), ('crio', 'systemd'), ('crio', 'cgroupfs')])
def test_an_installed_runtime_keeps_the_cgroup_driver_its_configuration_sets(runtime, found):
    # init_systemd says the opposite of what the configuration says where it could matter: the configuration wins.
    nvidia = facts(**{runtime: '1.7.24' if runtime == 'containerd' else '1.30.4'},
                   cgroup_drivers={runtime: found}, init_systemd=found == 'cgroupfs')
    record = decide_node(nvidia)
    assert record['cgroup_driver'] == found
    label = 'containerd' if runtime == 'containerd' else 'CRI-O'
    assert record['reasons'][2] == (
        "cgroup driver {0}, from {1}'s configuration (kept as the node's owner set it)".format(found, label))


@pytest.mark.parametrize('runtime, driver, gpu_count, links', [
    ('containerd', 'systemd', 1, True), ('crio', 'systemd', 2, True), ('containerd', 'cgroupfs', 1, False),
    ('crio', 'cgroupfs', 1, False), ('containerd', 'systemd', 0, False)])
def test_a_gpu_node_on_systemds_cgroup_driver_gets_dev_char_links(runtime, driver, gpu_count, links):
    # systemd keeps a container's device through a daemon-reload only where /dev/char links it.
    nvidia = facts(gpu_count=gpu_count, cgroup_drivers={runtime: driver},
                   **{runtime: '1.7.24' if runtime == 'containerd' else '1.36.3'})
    assert decide_node(nvidia, {'without_gpu': True})['dev_char_links'] is links


def test_a_host_without_a_runtime_gets_no_dev_char_links():
    assert decide_node(facts(gpu_count=0), {'install': False})['dev_char_links'] is False


@pytest.mark.parametrize('runtime, version, drivers, default, label', [
    ('containerd', '1.7.24', None, 'cgroupfs', 'containerd'),
    ('containerd', '1.7.24', {'containerd': None}, 'cgroupfs', 'containerd'),
    ('crio', '1.30.4', None, 'systemd', 'CRI-O'),
    ('crio', '1.30.4', {'crio': None}, 'systemd', 'CRI-O'),
])
def test_an_installed_runtime_whose_configuration_names_no_cgroup_driver_gets_that_runtimes_default(
        runtime, version, drivers, default, label):
    # systemd as init does not change an installed containerd's runc default (SystemdCgroup = false).
    record = decide_node(facts(**{runtime: version}, cgroup_drivers=drivers, init_systemd=True))
    assert record['cgroup_driver'] == default
    assert record['reasons'][2] == "cgroup driver {0}, {1}'s default (its configuration did not say)".format(
        default, label)


# The rest of the record

def test_the_record_carries_the_nodes_name_gpus_driver_and_stack():
    nvidia = facts(containerd='1.7.24', gpu_count=2, driver_root={'found': True, 'root': '/run/nvidia/driver'},
                   mig={'enabled_count': 1})
    record = decide_node(nvidia, {'stack': 'gpu_operator'}, host='10.0.0.5', node_name='ip-10-0-0-5')
    assert (record['host'], record['node'], record['gpu_count']) == ('10.0.0.5', 'ip-10-0-0-5', 2)
    assert (record['uuids'], record['gpu_names']) == ([H200_UUID, 'GPU-1'], ['NVIDIA H200'])
    assert (record['driver_version'], record['driver_root'], record['mig_enabled']) == (
        '580.159.04', '/run/nvidia/driver', True)
    assert record['stack'] == 'gpu_operator'


def test_the_node_name_is_the_host_name_and_the_stack_the_device_plugin_unless_given():
    record = decide_node(facts(containerd='1.7.24'), host='gpu-a')
    assert (record['node'], record['stack'], record['driver_root'], record['mig_enabled']) == (
        'gpu-a', 'device_plugin', '/', False)


@pytest.mark.parametrize('value, expected', [(None, True), (True, True), (False, False), ('true', True),
                                             ('false', False)])
def test_manage_driver_and_manage_runtime_are_booleans_also_from_strings(value, expected):
    inputs = {} if value is None else {'manage_driver': value, 'manage_runtime': value}
    record = decide_node(facts(containerd='1.7.24'), inputs)
    assert (record['manage_driver'], record['manage_runtime']) == (expected, expected)


def test_an_unknown_stack_is_refused_naming_kubegpu_gpu_stack():
    with pytest.raises(DecisionError, match=r"^kubegpu_gpu_stack is 'both'; expected one of device_plugin, "
                                            r"gpu_operator"):
        decide_node(facts(containerd='1.7.24'), {'stack': 'both'})


@pytest.mark.parametrize('nvidia', [None, {}])
def test_a_host_without_gpu_facts_is_refused_naming_the_host_and_the_fix(nvidia):
    with pytest.raises(DecisionError,
                       match=r'^host gpu-b has no ansible_facts\.nvidia; run kubegpu\.nvidia\.gpu_facts'):
        decide_node(nvidia, host='gpu-b')


# The cluster plan

def decided(host, nvidia, inputs=None, node_name=''):
    """A (host, kubegpu_node) pair, as the cluster_plan filter builds it from hostvars."""
    return host, decide_node(nvidia, inputs, host=host, node_name=node_name)


def test_the_plan_reads_count_uuids_driver_and_runtime_from_the_records():
    plan = cluster_plan([decided('gpu-a', facts(containerd='1.7.24'))])
    assert plan == {
        'stack': 'device_plugin', 'mode': 'cdi', 'cdi': True, 'handler': False, 'runtime': 'containerd',
        'driver_root': '/',
        'nodes': [{
            'host': 'gpu-a', 'node': 'gpu-a', 'gpu_count': 1, 'uuids': [H200_UUID], 'gpu_names': ['NVIDIA H200'],
            'driver_version': '580.159.04', 'driver_root': '/', 'runtime': 'containerd 1.7.24', 'mode': 'cdi',
            'stack': 'device_plugin', 'mig_enabled': False, 'os_id': None, 'os_version_id': None,
        }],
        'removing': False,
    }


def test_the_plan_uses_the_kubernetes_node_name_and_the_recorded_mode_and_stack():
    record = decided('10.0.0.5', facts(containerd='1.7.24'), {'mode': 'runtime', 'stack': 'gpu_operator'},
                     node_name='ip-10-0-0-5')
    plan = cluster_plan([record], stack='gpu_operator')
    entry = plan['nodes'][0]
    assert (entry['host'], entry['node'], entry['mode'], entry['stack']) == (
        '10.0.0.5', 'ip-10-0-0-5', 'runtime', 'gpu_operator')
    assert (plan['stack'], plan['mode'], plan['cdi'], plan['handler']) == ('gpu_operator', 'runtime', False, True)


def test_the_plan_leaves_out_hosts_without_gpus():
    plan = cluster_plan([decided('cpu-1', facts(containerd='1.7.24', gpu_count=0)),
                         decided('cpu-2', facts(gpu_count=0)),
                         decided('gpu-a', facts(containerd='1.7.24', gpu_count=2))])
    assert [(p['host'], p['gpu_count']) for p in plan['nodes']] == [('gpu-a', 2)]


@pytest.mark.parametrize('record', [None, {}])
def test_a_host_without_a_decision_record_is_refused_naming_the_host(record):
    with pytest.raises(DecisionError, match=r'^host gpu-b has no decision record \(kubegpu_node\)'):
        cluster_plan([decided('gpu-a', facts(containerd='1.7.24')), ('gpu-b', record)])


def test_a_containerd_1_6_node_is_planned_in_runtime_mode_with_the_handler_whatever_mode_the_plan_is_given():
    plan = cluster_plan([decided('gpu-old', facts(containerd='1.6.20'))], mode='cdi')
    assert (plan['mode'], plan['cdi'], plan['handler']) == ('runtime', False, True)
    assert [(p['host'], p['runtime'], p['mode']) for p in plan['nodes']] == [
        ('gpu-old', 'containerd 1.6.20', 'runtime')]


def test_gpu_nodes_differing_in_mode_are_refused_naming_the_hosts_and_kubegpu_runtime_mode():
    records = [decided('gpu-old', facts(containerd='1.6.20')), decided('gpu-new', facts(containerd='2.1.9'))]
    with pytest.raises(DecisionError) as err:
        cluster_plan(records)
    message = str(err.value)
    assert message.startswith('The GPU nodes differ in mode (')
    assert 'runtime: gpu-old' in message and 'cdi: gpu-new' in message
    assert 'kubegpu_runtime_mode' in message


def test_gpu_nodes_differing_in_driver_root_are_refused_naming_the_hosts():
    operator_root = facts(containerd='1.7.24', driver_root={'found': True, 'root': '/run/nvidia/driver'})
    records = [decided('gpu-a', facts(containerd='1.7.24')), decided('gpu-b', operator_root)]
    with pytest.raises(DecisionError) as err:
        cluster_plan(records)
    message = str(err.value)
    assert message.startswith('The GPU nodes differ in driver root (')
    assert '/: gpu-a' in message and '/run/nvidia/driver: gpu-b' in message


def test_gpu_nodes_differing_in_runtime_share_a_device_plugin_but_not_a_gpu_operator():
    records = [decided('gpu-a', facts(containerd='1.7.24')), decided('gpu-b', facts(crio='1.30.4'))]
    plan = cluster_plan(records, stack='device_plugin')
    planned = [(p['host'], p['runtime']) for p in plan['nodes']]
    assert planned == [('gpu-a', 'containerd 1.7.24'), ('gpu-b', 'crio 1.30.4')]
    with pytest.raises(DecisionError) as err:
        cluster_plan(records, stack='gpu_operator')
    message = str(err.value)
    assert message.startswith('The GPU nodes differ in runtime (')
    assert 'containerd: gpu-a' in message and 'crio: gpu-b' in message and 'GPU Operator' in message


def test_removing_a_stack_refuses_none_of_the_differences_that_stop_a_deployment():
    crio = decided('gpu-b', facts(crio='1.30.4'))
    prefix = decided('gpu-c', facts(containerd='1.7.24', driver_root={'found': True, 'root': '/usr/local/nvidia'}))
    containerd = decided('gpu-a', facts(containerd='1.7.24'))
    with pytest.raises(DecisionError, match='differ in runtime'):
        cluster_plan([containerd, crio], stack='gpu_operator')
    plan = cluster_plan([containerd, crio], stack='gpu_operator', removing=True)
    assert plan['removing'] is True
    assert [p['host'] for p in plan['nodes']] == ['gpu-a', 'gpu-b']
    with pytest.raises(DecisionError, match='installed under the prefix /usr/local/nvidia'):
        cluster_plan([prefix], stack='dra')
    assert [p['host'] for p in cluster_plan([prefix], stack='dra', removing=True)['nodes']] == ['gpu-c']


@pytest.mark.parametrize('mode, expected, cdi, handler', [
    ('', 'cdi', True, False), ('cdi', 'cdi', True, False), ('runtime', 'runtime', False, True)])
def test_with_no_gpu_node_the_plans_mode_is_the_one_given_else_cdi(mode, expected, cdi, handler):
    plan = cluster_plan([decided('cpu-1', facts(containerd='1.6.20', gpu_count=0))], mode=mode)
    assert plan == {'stack': 'device_plugin', 'mode': expected, 'cdi': cdi, 'handler': handler, 'runtime': None,
                    'driver_root': '/', 'nodes': [], 'removing': False}


def test_with_no_gpu_node_an_unknown_mode_is_refused_naming_kubegpu_runtime_mode():
    with pytest.raises(DecisionError,
                       match=r"^kubegpu_runtime_mode is 'legacy'; expected cdi, runtime, cdi_handler, or empty"):
        cluster_plan([], mode='legacy')


def test_the_plan_refuses_an_unknown_stack():
    with pytest.raises(DecisionError, match=r"^kubegpu_gpu_stack is 'both'; expected one of device_plugin"):
        cluster_plan([decided('gpu-a', facts(containerd='1.7.24'))], stack='both')


# The cgroup driver from the texts a node without tomllib sends (Python before 3.11)

CONTAINERD_CONFIG = '/etc/containerd/config.toml'
CONTAINERD_SCHEMA_2 = '''version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = {0}
'''


def sent(runtime, version, texts, **nvidia):
    """Facts of a node that parsed nothing: cgroup_driver null, ``texts`` ((path, text) pairs) in config_texts."""
    found = facts(**{runtime: version}, cgroup_drivers={runtime: None}, **nvidia)
    found['runtimes'][runtime]['config_texts'] = [{'path': path, 'text': text} for path, text in texts]
    return found


@pytest.mark.parametrize('path', [CONTAINERD_CONFIG, 'containerd config dump'])
@pytest.mark.parametrize('systemd_cgroup, driver', [('true', 'systemd'), ('false', 'cgroupfs')])
def test_the_controller_reads_containerds_driver_from_the_text_the_node_sent(path, systemd_cgroup, driver):
    # init_systemd says the opposite: the configuration decides, as it does where the node parsed it.
    nvidia = sent('containerd', '1.7.24', [(path, CONTAINERD_SCHEMA_2.format(systemd_cgroup))],
                  init_systemd=driver == 'cgroupfs')
    record = decide_node(nvidia)
    assert record['cgroup_driver'] == driver
    assert record['reasons'][2] == (
        "cgroup driver {0}, from containerd's configuration ({1}, parsed on the controller since the node's "
        "Python has no tomllib; kept as the node's owner set it)".format(driver, path))


def test_the_controller_reads_crios_driver_from_the_last_file_the_node_sent_that_sets_it():
    texts = [('/etc/crio/crio.conf', '[crio.runtime]\ndefault_runtime = "crun"\n'),
             ('/etc/crio/crio.conf.d/10-crio.conf', '[crio.runtime]\ncgroup_manager = "systemd"\n'),
             ('/etc/crio/crio.conf.d/20-site.conf', '[crio.runtime]\ncgroup_manager = "cgroupfs"\n')]
    record = decide_node(sent('crio', '1.30.4', texts, init_systemd=True))
    assert record['cgroup_driver'] == 'cgroupfs'
    assert ', '.join(path for path, dummy in texts) in record['reasons'][2]
    assert 'parsed on the controller' in record['reasons'][2]
    # The same files without the last: the one before it decides.
    assert decide_node(sent('crio', '1.30.4', texts[:2], init_systemd=False))['cgroup_driver'] == 'systemd'


# What each runtime runs with when its configuration says nothing, and how reasons name it.
RUNTIME_DEFAULTS = {'containerd': ('1.7.24', 'cgroupfs', 'containerd'), 'crio': ('1.30.4', 'systemd', 'CRI-O')}


@pytest.mark.parametrize('runtime, texts, bad', [
    ('containerd', [(CONTAINERD_CONFIG, 'version = 2\n[plugins\n')], CONTAINERD_CONFIG),
    ('crio', [('/etc/crio/crio.conf', '[crio.runtime]\ncgroup_manager = "cgroupfs"\n'),
              ('/etc/crio/crio.conf.d/50-broken.conf', '[crio.runtime\n')], '/etc/crio/crio.conf.d/50-broken.conf'),
])
def test_a_text_the_controller_cannot_parse_leaves_the_runtimes_default_and_names_the_file(runtime, texts, bad):
    version, default, label = RUNTIME_DEFAULTS[runtime]
    record = decide_node(sent(runtime, version, texts, init_systemd=True))
    assert record['cgroup_driver'] == default
    assert record['reasons'][2].startswith(
        "cgroup driver {0}, {1}'s default: the controller could not read {2}, which gpu_facts sent since the "
        "node's Python has no tomllib (not valid TOML: ".format(default, label, bad))


@pytest.mark.parametrize('runtime, path, text, bad_key', [
    ('crio', '/etc/crio/crio.conf.d/10-crio.conf', '[crio.runtime]\ncgroup_manager = "Systemd"\n',
     "crio.runtime.cgroup_manager, found the string 'Systemd'"),
    ('containerd', CONTAINERD_CONFIG, 'version = 4\n', "top-level 'version' of 1, 2, 3, found the value 4"),
    ('containerd', CONTAINERD_CONFIG, 'imports = ["/etc/containerd/conf.d/*.toml"]\n',
     'imports /etc/containerd/conf.d/*.toml; how containerd merges imports depends on its version'),
])
def test_a_value_the_runtime_would_refuse_leaves_its_default_and_names_the_file_and_the_key(
        runtime, path, text, bad_key):
    version, default, dummy = RUNTIME_DEFAULTS[runtime]
    record = decide_node(sent(runtime, version, [(path, text)]))
    assert record['cgroup_driver'] == default
    assert 'the controller could not read {0}, '.format(path) in record['reasons'][2]
    assert bad_key in record['reasons'][2]


def test_containerds_dump_is_decided_with_its_imports_since_they_are_merged():
    text = 'imports = ["/etc/containerd/conf.d/99-nvidia.toml"]\n' + CONTAINERD_SCHEMA_2.format('true')
    assert decide_node(sent('containerd', '1.7.24', [('containerd config dump', text)]))['cgroup_driver'] == 'systemd'


@pytest.mark.parametrize('driver', ['cgroupfs', 'systemd'])
def test_the_cgroup_driver_asked_for_is_the_one_of_a_containerd_this_run_installs_whatever_init_is(driver):
    for init_systemd in (True, False):
        record = decide_node(facts(init_systemd=init_systemd), {'cgroup_driver': driver})
        assert (record['runtime_install'], record['cgroup_driver']) == (True, driver)
        assert 'container_runtime_cgroup_driver' in record['reasons'][2]


def test_the_cgroup_driver_asked_for_leaves_a_runtime_that_was_there_as_its_owner_set_it():
    record = decide_node(facts(containerd='1.7.24', cgroup_drivers={'containerd': 'systemd'}),
                         {'cgroup_driver': 'cgroupfs'})
    assert record['cgroup_driver'] == 'systemd'


def test_an_unknown_cgroup_driver_is_refused_naming_the_variable():
    with pytest.raises(DecisionError, match=r"^container_runtime_cgroup_driver is 'cgroupsv2'"):
        decide_node(facts(), {'cgroup_driver': 'cgroupsv2'})
