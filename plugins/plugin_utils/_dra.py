# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NVIDIA's DRA driver for GPUs: what it needs, and what its ResourceSlices and claims say.

Pure: versions, records and API objects in; a refusal (a message naming the
variable and the fix, or None) or a report out. The node decision
(_node_decision) refuses a node the driver cannot serve; the dra_driver role
refuses a cluster; the validate role reads slices and claims through here.

What the driver (kubernetes-sigs/dra-driver-nvidia-gpu v0.4.1) needs, from its
docs/prerequisites.md: Kubernetes 1.34.2 or later (``resource.k8s.io/v1``), a
container runtime with CDI on, and an NVIDIA driver of branch 565 or later.
"""

from __future__ import annotations

import re

DRIVER = 'gpu.nvidia.com'
DEVICE_CLASSES = ('gpu.nvidia.com', 'mig.nvidia.com', 'vfio.gpu.nvidia.com')
MIN_DRIVER_BRANCH = 565
MIN_KUBERNETES = (1, 34, 2)
_VERSION = re.compile(r'^v?(\d+)\.(\d+)(?:\.(\d+))?')


def _version(text):
    match = _VERSION.match(str(text or '').strip())
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def _text(version):
    return '.'.join(str(part) for part in version)


def driver_refusal(record):
    """Why the driver cannot serve this node's decision record, or None.

    A node with no driver yet (the node stage installs one) is not refused
    here: the cluster plan checks again once the driver is there.
    """
    host = record.get('host') or record.get('node') or '?'
    if not record.get('gpu_count'):
        return None
    if not record.get('cdi'):
        return ('kubegpu_gpu_stack is dra, but {0} runs its GPUs in {1} mode, without CDI: NVIDIA\'s DRA driver '
                'hands GPUs to containers only as CDI devices. Set kubegpu_runtime_mode: cdi (and no '
                'container_runtime_mode of the node\'s own), on containerd 1.7 or later or CRI-O'.format(
                    host, record.get('mode') or 'no'))
    root = record.get('driver_root') or '/'
    if root != '/' and not root.startswith('/run/'):
        # Seen on a real H100 whose driver lives under /usr/local/nvidia (docs/validation/2026-12-06-h100-dra.md):
        # with that root every claim fails ("empty device edits"), with / the plugin cannot find libnvidia-ml.
        return ('kubegpu_gpu_stack is dra, but the NVIDIA driver on {0} is installed under the prefix {1}: NVIDIA\'s '
                'DRA driver v0.4.1 takes the GPUs\' device nodes from its driver root\'s dev/ and the libraries from '
                'the root\'s standard places, which a prefix does not have, so no claim could get a GPU. Install the '
                'driver under / (distribution or NVIDIA packages) or as a driver container, or keep '
                'kubegpu_gpu_stack: device_plugin'.format(host, root))
    version = record.get('driver_version')
    if version:
        parsed = _version(version)
        if parsed is None or parsed[0] < MIN_DRIVER_BRANCH:
            return ('kubegpu_gpu_stack is dra, but the NVIDIA driver on {0} is {1}: NVIDIA\'s DRA driver needs '
                    'branch {2} or later. Install a newer driver (nvidia_driver_branch), or keep '
                    'kubegpu_gpu_stack: device_plugin'.format(host, version, MIN_DRIVER_BRANCH))
    return None


def cluster_refusal(server_version, kubelet_versions=None, namespace=''):
    """Why the cluster cannot take the driver, or None.

    ``server_version``: the API server's gitVersion; ``kubelet_versions``: node
    name to kubeletVersion of the GPU nodes; ``namespace``: dra_driver_namespace.
    """
    namespace = str(namespace or '').strip()
    if namespace in ('', 'default'):
        return ('dra_driver_namespace is {0!r}: NVIDIA\'s DRA driver refuses the default namespace (its kubelet '
                'plugin runs privileged). Set dra_driver_namespace to a namespace of its own, such as '
                'nvidia-dra-driver-gpu'.format(namespace))
    if namespace.startswith('kube-'):
        return ('dra_driver_namespace is {0!r}: keep the DRA driver out of Kubernetes\' own namespaces. Set it to a '
                'namespace of its own, such as nvidia-dra-driver-gpu'.format(namespace))
    parsed = _version(server_version)
    if parsed is None:
        return ('the API server reports version {0!r}, which is not a Kubernetes version: cannot tell whether it '
                'serves resource.k8s.io/v1. Check kubegpu_kubeconfig points at the cluster'.format(server_version))
    if parsed < MIN_KUBERNETES:
        return ('kubegpu_gpu_stack is dra, but the API server is Kubernetes {0}: NVIDIA\'s DRA driver needs {1} or '
                'later (resource.k8s.io/v1). Upgrade the cluster, or keep kubegpu_gpu_stack: device_plugin'.format(
                    server_version, _text(MIN_KUBERNETES)))
    old = sorted('{0} ({1})'.format(node, version) for node, version in (kubelet_versions or {}).items()
                 if (_version(version) or (0,)) < MIN_KUBERNETES)
    if old:
        return ('kubegpu_gpu_stack is dra, but the kubelet of GPU node(s) {0} is older than {1}: DRA needs it on '
                'every GPU node. Upgrade those nodes\' kubelet, or keep kubegpu_gpu_stack: device_plugin'.format(
                    ', '.join(old), _text(MIN_KUBERNETES)))
    return None


def _attribute(device, name):
    """A device attribute's value (resource.k8s.io/v1 devices; v1beta1 kept them under ``basic``)."""
    attributes = (device.get('basic') or device).get('attributes') or {}
    value = attributes.get(name) or {}
    for kind in ('string', 'version', 'int', 'bool'):
        if kind in value:
            return value[kind]
    return None


def slice_devices(slices, node):
    """The GPUs the driver's ResourceSlices list for ``node``: [{name, uuid, product, pool}]."""
    devices = []
    for item in slices or []:
        spec = item.get('spec') or {}
        if spec.get('driver') != DRIVER or spec.get('nodeName') != node:
            continue
        pool = (spec.get('pool') or {}).get('name')
        for device in spec.get('devices') or []:
            if _attribute(device, 'type') not in (None, 'gpu'):
                continue
            devices.append({'name': device.get('name'), 'uuid': _attribute(device, 'uuid'),
                            'product': _attribute(device, 'productName'), 'pool': pool})
    return devices


def slice_report(slices, nodes):
    """Whether every GPU node's slice lists the GPUs gpu_facts counted, UUID for UUID.

    ``nodes``: the cluster plan's entries (node, gpu_count, uuids). Returns
    ``{ok, short: [node...], nodes: [{node, want, listed, uuids, message}]}``.
    """
    report = {'ok': True, 'short': [], 'nodes': []}
    for entry in nodes or []:
        node = entry.get('node')
        want = int(entry.get('gpu_count') or 0)
        want_uuids = sorted(u for u in entry.get('uuids') or [] if u)
        devices = slice_devices(slices, node)
        uuids = sorted(d['uuid'] for d in devices if d.get('uuid'))
        if not devices:
            message = '{0}: no ResourceSlice of {1} lists a GPU (gpu_facts counted {2})'.format(node, DRIVER, want)
        elif len(devices) != want:
            message = '{0}: its ResourceSlice lists {1} GPU(s), gpu_facts counted {2}'.format(node, len(devices), want)
        elif want_uuids and uuids != want_uuids:
            message = '{0}: its ResourceSlice lists {1}, gpu_facts reported {2}'.format(
                node, ', '.join(uuids) or 'no UUID', ', '.join(want_uuids))
        else:
            message = ''
        ok = not message
        report['nodes'].append({'node': node, 'want': want, 'listed': len(devices), 'uuids': uuids, 'ok': ok,
                                'message': message or '{0}: {1} GPU(s) in its ResourceSlice, as gpu_facts '
                                                      'reported'.format(node, len(devices))})
        if not ok:
            report['ok'] = False
            report['short'].append(node)
    return report


def allocated_uuids(claim, slices, node=None):
    """The UUIDs of the devices a ResourceClaim was allocated (its status, read against the slices).

    Once a pod has finished, Kubernetes deallocates its claim and deletes the claim it made from the pod's
    ResourceClaimTemplate. With ``node`` given (the pod finished there), a claim that is gone or no longer
    allocated was allocated every GPU the node's slices list: the validate role's claim asks for all of
    them (its count is the number gpu_facts counted, which the slice was checked to list).
    """
    results = (((claim or {}).get('status') or {}).get('allocation') or {}).get('devices', {}).get('results') or []
    if not results and node is not None:
        return sorted(device['uuid'] or 'device {0}/{1} without a UUID'.format(device['pool'], device['name'])
                      for device in slice_devices(slices, node))
    by_name = {}
    for item in slices or []:
        spec = item.get('spec') or {}
        if spec.get('driver') != DRIVER:
            continue
        pool = (spec.get('pool') or {}).get('name')
        for device in spec.get('devices') or []:
            by_name[(pool, device.get('name'))] = _attribute(device, 'uuid')
    uuids = []
    for result in results:
        if result.get('driver') != DRIVER:
            continue
        uuids.append(by_name.get((result.get('pool'), result.get('device'))) or
                     'unknown device {0}/{1}'.format(result.get('pool'), result.get('device')))
    return sorted(uuids)
