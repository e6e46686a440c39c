# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._role_inputs import (
    subnets_problem,
    writable_host_dir_problem,
)

VAR = 'device_plugin_cdi_spec_dir'


@pytest.mark.parametrize('path', [
    '/var/lib/kubegpu/device-plugin-cdi', '/var/run/cdi', '/var/run/cdi/', '/run/cdi', '/etc/cdi',
    '/etc/cdi/device-plugin', '/opt/nvidia/cdi', '/var/lib/nvidia-cdi', '//var/lib/kubegpu//cdi/.',
])
def test_dedicated_directories_may_be_mounted(path):
    assert writable_host_dir_problem(path, VAR) == ''


@pytest.mark.parametrize('path, why', [
    ('/', "the node's root file system"),
    ('//', "the node's root file system"),
    ('/var/run/cdi/../../..', "the node's root file system"),
    ('/etc', 'a top-level system directory'),
    ('/usr/', 'a top-level system directory'),
    ('/data', 'a top-level system directory'),
    ('/var/lib', 'a directory other programs share'),
    ('/var/lib/kubegpu', 'a directory other programs share'),
    ('/opt', 'a top-level system directory'),
    ('/etc/kubernetes', 'in the system directory /etc'),
    ('/etc/systemd/system', 'in the system directory /etc'),
    ('/run', 'a top-level system directory'),
    ('/var/run', 'is the system directory /var/run'),
    ('/var/run/containerd', 'in the system directory /var/run'),
    ('/usr/local/lib', 'in the system directory /usr'),
    ('/lib64/x', 'in the system directory /lib64'),
    ('/dev/nvidia-caps', 'in the system directory /dev'),
    ('/proc/1/root', 'in the system directory /proc'),
    ('/sys/fs/cgroup', 'in the system directory /sys'),
    ('/root/.ssh', 'in the system directory /root'),
    ('/home/ops', 'in the system directory /home'),
    ('/var/lib/kubelet', 'is the system directory /var/lib/kubelet'),
    ('/var/lib/kubelet/pods', 'in the system directory /var/lib/kubelet'),
    ('/var/lib/containerd/io.containerd.content.v1.content', 'in the system directory /var/lib/containerd'),
    ('/var/lib/kubegpu/keys', 'is the system directory /var/lib/kubegpu/keys'),
    ('/var/log/pods', 'in the system directory /var/log'),
])
def test_system_directories_are_refused_naming_variable_and_fix(path, why):
    problem = writable_host_dir_problem(path, VAR)
    assert problem.startswith('{0} is {1!r}, which '.format(VAR, path)), problem
    assert why in problem
    assert 'use a directory of its own, such as /var/lib/kubegpu/device-plugin-cdi' in problem


@pytest.mark.parametrize('path', ['', 'var/run/cdi', './cdi', None])
def test_relative_paths_are_refused(path):
    assert 'not an absolute path' in writable_host_dir_problem(path, VAR)


def test_normalised_path_is_named_when_it_differs():
    assert "(/etc)" in writable_host_dir_problem('/etc/cdi/../../etc', VAR)


@pytest.mark.parametrize('pod, service', [
    ('10.244.0.0/16', '10.96.0.0/12'),
    ('192.168.0.0/16', '10.96.0.0/12'),
    ('fd00:10:244::/56', 'fd00:10:96::/112'),
    ('10.96.0.0/16', '10.112.0.0/12'),
])
def test_disjoint_networks_fit(pod, service):
    assert subnets_problem(pod, service) == ''


@pytest.mark.parametrize('pod, service, inner', [
    ('10.96.0.0/16', '10.96.0.0/12', 'kubernetes_pod_subnet'),
    ('10.100.0.0/24', '10.96.0.0/12', 'kubernetes_pod_subnet'),
    ('10.0.0.0/8', '10.96.0.0/12', 'kubernetes_service_subnet'),
    ('10.96.0.0/12', '10.96.0.0/12', 'kubernetes_pod_subnet'),
    ('fd00::/8', 'fd00:10:96::/112', 'kubernetes_service_subnet'),
])
def test_overlap_in_either_direction_is_refused(pod, service, inner):
    assert ipaddress.ip_network(pod).overlaps(ipaddress.ip_network(service))
    problem = subnets_problem(pod, service)
    assert problem.startswith(inner + ' (')
    assert 'lies inside' in problem and 'choose networks that do not overlap' in problem


@pytest.mark.parametrize('pod, service, variable', [
    ('10.244.0.1/16', '10.96.0.0/12', 'kubernetes_pod_subnet'),
    ('10.244.0.0/16', 'services', 'kubernetes_service_subnet'),
    ('10.244.0.0/33', '10.96.0.0/12', 'kubernetes_pod_subnet'),
    ('', '10.96.0.0/12', 'kubernetes_pod_subnet'),
])
def test_malformed_networks_are_refused(pod, service, variable):
    problem = subnets_problem(pod, service)
    assert problem.startswith(variable + ' is ') and 'not a network in CIDR notation' in problem


def test_mixed_families_are_refused():
    problem = subnets_problem('10.244.0.0/16', 'fd00:10:96::/112')
    assert 'kubernetes_pod_subnet (10.244.0.0/16) is IPv4 but kubernetes_service_subnet' in problem
