# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of role inputs that argument specs cannot express: host directories a pod may write, networks.

Pure: values in, one problem sentence (naming the variable, what is wrong and
the fix) or an empty string out. The roles assert on the result before they
change anything.
"""

from __future__ import annotations

import ipaddress
import posixpath

# Directories made for CDI specs: the runtimes read /etc/cdi and /var/run/cdi (/run/cdi is the same place).
CDI_DIRS = ('/etc/cdi', '/run/cdi', '/var/run/cdi')
# Host trees no pod may get writable, nor any directory in them: the system's programs and
# libraries, kernel and device interfaces, users' homes, the cluster's credentials and the
# container runtimes' state, this collection's pinned keys.
_SYSTEM_TREES = (
    '/bin', '/boot', '/dev', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/root', '/sbin', '/sys',
    '/usr', '/etc', '/run', '/var/run',
    '/var/lib/kubelet', '/var/lib/etcd', '/var/lib/containerd', '/var/lib/containers', '/var/lib/docker',
    '/var/lib/cni', '/var/lib/dpkg', '/var/lib/rpm', '/var/lib/apt', '/var/lib/dnf', '/var/lib/systemd',
    '/var/lib/kubegpu/keys', '/var/lib/kubegpu/gnupg', '/var/lib/kubegpu/images', '/var/spool', '/var/log',
)
# Shared parents: a dedicated directory below them is fine, the parent itself is not.
_SHARED_PARENTS = ('/var/lib', '/var/cache', '/var/tmp', '/var/local', '/var/opt', '/var/lib/kubegpu', '/opt',
                   '/srv', '/mnt', '/media', '/tmp')


def _within(path, tree):
    return path == tree or path.startswith(tree.rstrip('/') + '/')


def writable_host_dir_problem(path, variable):
    """Why ``path`` must not be mounted writable into a pod, or '' when it may.

    Allowed: the CDI directories (CDI_DIRS) and what is below them, and a
    directory of its own below a shared parent such as /var/lib or /opt. Refused:
    a relative path, /, every top-level directory, _SYSTEM_TREES and everything
    in them, the shared parents themselves. The path is judged as written, after
    removing '.', '..' and repeated slashes; a symbolic link on the node is not
    seen from the controller.
    """
    text = '' if path is None else str(path)
    fix = ('use a directory of its own, such as /var/lib/kubegpu/device-plugin-cdi (the default), or {0}'.format(
        ' or '.join(CDI_DIRS[::2])))
    if not text.startswith('/'):
        return '{0} is {1!r}: not an absolute path; {2}'.format(variable, text, fix)
    normal = posixpath.normpath(text)
    if normal.startswith('//'):
        normal = '/' + normal.lstrip('/')
    if any(_within(normal, cdi) for cdi in CDI_DIRS):
        return ''
    why = ''
    if normal == '/':
        why = "is the node's root file system"
    elif normal.count('/') == 1:
        why = 'is a top-level system directory'
    elif normal in _SHARED_PARENTS:
        why = 'is a directory other programs share'
    else:
        tree = next((t for t in _SYSTEM_TREES if _within(normal, t)), None)
        if tree:
            why = 'is {0}the system directory {1}'.format('in ' if normal != tree else '', tree)
    if not why:
        return ''
    return ('{0} is {1!r}, which {2}: the pod mounts it writable, and a privileged pod could change the node '
            'through it; {3}'.format(variable, text, why if normal == text else why + ' (' + normal + ')', fix))


def _network(value, variable):
    try:
        return ipaddress.ip_network(str(value).strip(), strict=True), ''
    except ValueError as exc:
        return None, '{0} is {1!r}: not a network in CIDR notation ({2}); write it like 10.244.0.0/16'.format(
            variable, value, exc)


def subnets_problem(pod_subnet, service_subnet, pod_variable='kubernetes_pod_subnet',
                    service_variable='kubernetes_service_subnet'):
    """Why the pod and service networks cannot serve one cluster, or ''.

    Each must be a network in CIDR notation (no host bits); they must be of one
    IP family and must not overlap in either direction (kube-proxy could not tell
    a Service's address from a pod's).
    """
    pod, problem = _network(pod_subnet, pod_variable)
    if problem:
        return problem
    service, problem = _network(service_subnet, service_variable)
    if problem:
        return problem
    if pod.version != service.version:
        return ('{0} ({1}) is IPv{2} but {3} ({4}) is IPv{5}: give both networks of one family (dual stack is '
                'not supported by this role)'.format(pod_variable, pod, pod.version, service_variable, service,
                                                     service.version))
    if pod.overlaps(service):
        # Two networks in CIDR notation overlap only when one holds the other.
        inner, outer = ((pod_variable, pod), (service_variable, service)) if pod.subnet_of(service) else (
            (service_variable, service), (pod_variable, pod))
        how = '{0} ({1}) lies inside {2} ({3})'.format(inner[0], inner[1], outer[0], outer[1])
        return ('{0}: pod and Service addresses would collide; choose networks that do not overlap, such as the '
                'defaults 10.244.0.0/16 and 10.96.0.0/12'.format(how))
    return ''
