# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cdi_handler mode: CDI in the runtime and the `nvidia` runtime handler beside it, on one node."""

from __future__ import annotations

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_decision import (
    DecisionError,
    cluster_plan,
    decide_node,
)


def facts(containerd=None, crio=None):
    """ansible_facts.nvidia of a one-GPU node with the runtime versions gpu_facts found (None: not installed)."""
    def runtime(name, version):
        if version is None:
            return {'installed': False, 'path': None, 'version': None}
        return {'installed': True, 'path': '/usr/bin/' + name, 'version': version}
    return {
        'gpu_count': 1,
        'gpus': [{'name': 'NVIDIA H200', 'uuid': 'GPU-f7c97444-05e0-ca40-86a8-bba4267c92a0'}],
        'driver': {'loaded': True, 'version': '580.159.04'},
        'driver_root': {'found': True, 'root': '/'},
        'runtimes': {'containerd': runtime('containerd', containerd), 'crio': runtime('crio', crio)},
        'mig': {'enabled_count': 0},
    }


@pytest.mark.parametrize('key', ['node_mode', 'mode'])
def test_cdi_handler_turns_on_both_cdi_and_the_handler(key):
    record = decide_node(facts(containerd='1.7.24'), {key: 'cdi_handler'})
    assert (record['mode'], record['cdi'], record['handler']) == ('cdi_handler', True, True)


def test_cdi_handler_on_crio_needs_no_containerd_version():
    record = decide_node(facts(crio='1.36.3'), {'mode': 'cdi_handler'})
    assert (record['cdi'], record['handler']) == (True, True)


def test_cdi_handler_on_containerd_1_6_is_refused_since_it_has_no_cdi():
    with pytest.raises(DecisionError, match=r'^kubegpu_runtime_mode is cdi_handler, but containerd 1\.6\.20 .*'
                                            r'set kubegpu_runtime_mode: runtime'):
        decide_node(facts(containerd='1.6.20'), {'mode': 'cdi_handler'})


def test_the_cluster_plan_of_cdi_handler_nodes_has_both():
    record = decide_node(facts(containerd='2.1.9'), {'mode': 'cdi_handler'}, host='gpu-a')
    plan = cluster_plan([('gpu-a', record)])
    assert (plan['mode'], plan['cdi'], plan['handler']) == ('cdi_handler', True, True)


def test_cdi_handler_is_a_mode_the_cluster_takes_without_gpu_nodes():
    plan = cluster_plan([], mode='cdi_handler')
    assert (plan['cdi'], plan['handler']) == (True, True)
