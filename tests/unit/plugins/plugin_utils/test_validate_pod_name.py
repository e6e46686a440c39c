# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import re

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate import pod_name

# Kubernetes' own rule for a DNS-1123 label (k8s.io/apimachinery validation.IsDNS1123Label).
DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')


@pytest.mark.parametrize('node', ['gpu-a', 'node-1', 'ip-10-42-0-7'])
def test_valid_node_names_are_kept(node):
    assert pod_name(node) == 'kubegpu-validate-' + node


@pytest.mark.parametrize('node', [
    'GPU Node 1', 'gpü-ñode 3', 'node_with_underscores', 'Gpu-A', '', ' ', '-', '节点', 'x' * 300,
    'a' * 47, 'trailing-', "it's #3: {x}",
])
def test_other_node_names_get_a_valid_label_with_a_hash(node):
    name = pod_name(node)
    assert DNS1123_LABEL.match(name), name
    assert len(name) <= 63
    assert name.startswith('kubegpu-validate-')


def test_names_that_sanitize_alike_stay_distinct():
    nodes = ['GPU A', 'gpu a', 'gpu-a', 'gpu_a', 'Gpu-A', 'x' * 70 + '1', 'x' * 70 + '2']
    names = [pod_name(n) for n in nodes]
    assert len(set(names)) == len(nodes), names


def test_same_node_same_name():
    assert pod_name('GPU Node 1') == pod_name('GPU Node 1')
