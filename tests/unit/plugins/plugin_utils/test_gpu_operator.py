# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _gpu_operator
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_decision import cluster_plan, decide_node

PCI = {'feature.node.kubernetes.io/pci-10de.present': 'true'}


def facts(os_release):
    return {'gpu_count': 1, 'gpus': [{'uuid': 'GPU-1', 'name': 'NVIDIA H100 80GB HBM3'}],
            'driver': {'version': '580.1'}, 'runtimes': {'containerd': {'version': '1.7.24', 'installed': True}},
            'os': os_release}


def test_each_node_gets_the_os_labels_the_operator_reads_from_its_own_decision_record():
    records = [decide_node(facts({'id': 'ubuntu', 'version_id': '24.04'}), {'stack': 'gpu_operator'}, host='a',
                           node_name='gpu-a'),
               decide_node(facts({'id': 'debian', 'version_id': '13'}), {'stack': 'gpu_operator'}, host='b',
                           node_name='gpu-b')]
    # The role reads the cluster plan's nodes, made from the records.
    nodes = cluster_plan([(r['host'], r) for r in records], 'gpu_operator')['nodes']
    got = _gpu_operator.nfd_nodes(nodes, PCI)
    assert [n['node'] for n in got] == ['gpu-a', 'gpu-b']
    assert got[0]['labels'] == dict(PCI, **{'feature.node.kubernetes.io/system-os_release.ID': 'ubuntu',
                                            'feature.node.kubernetes.io/system-os_release.VERSION_ID': '24.04'})
    assert got[1]['labels']['feature.node.kubernetes.io/system-os_release.ID'] == 'debian'
    assert got[1]['labels']['feature.node.kubernetes.io/system-os_release.VERSION_ID'] == '13'
    # The records themselves are left as they were.
    assert 'labels' not in nodes[0]


def test_a_node_without_os_release_gets_the_pci_label_only():
    record = decide_node(facts({'id': None, 'version_id': None}), host='a')
    assert _gpu_operator.nfd_nodes([record], PCI)[0]['labels'] == PCI


def test_an_os_value_that_cannot_be_a_label_value_names_the_node_and_the_fix():
    record = decide_node(facts({'id': 'my distro', 'version_id': '1'}), host='a', node_name='gpu-a')
    with pytest.raises(_gpu_operator.LabelError, match=r"Node gpu-a: .*'my distro'.*gpu_operator_nfd: true"):
        _gpu_operator.nfd_nodes([record], PCI)


def test_an_os_value_that_cannot_be_a_label_value_does_not_stop_the_labels_removal():
    record = decide_node(facts({'id': 'my distro', 'version_id': '1'}), host='a', node_name='gpu-a')
    got = _gpu_operator.nfd_nodes([record], PCI, removing=True)[0]['labels']
    assert set(got) == set(PCI) | {'feature.node.kubernetes.io/system-os_release.ID',
                                   'feature.node.kubernetes.io/system-os_release.VERSION_ID'}
