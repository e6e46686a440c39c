# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which GPU stacks a cluster runs now, from its DaemonSets; and why another may not join them.

Two stacks on one GPU node hand out the same GPUs twice: the device plugin
counts them as ``nvidia.com/gpu`` while the DRA driver allocates them to
ResourceClaims, and the kubelet checks neither against the other. The cluster
stage refuses to deploy a stack next to another (removing the running one is
the user's call: pods may still hold its GPUs).
"""

from __future__ import annotations

LABELS = {'device_plugin': 'The standalone device plugin', 'gpu_operator': 'The GPU Operator',
          'dra': 'NVIDIA\'s DRA driver'}
# How each stack's role removes it.
_REMOVE = {'device_plugin': 'device_plugin_state=absent', 'gpu_operator': 'gpu_operator_state=absent',
           'dra': 'dra_driver_state=absent'}


def _stack_of(daemonset):
    meta = daemonset.get('metadata') or {}
    labels = meta.get('labels') or {}
    name = meta.get('name') or ''
    if 'dra-driver-nvidia-gpu' in (labels.get('app.kubernetes.io/name'), name.replace('-kubelet-plugin', '')):
        return 'dra'
    if name == 'nvidia-device-plugin-daemonset':
        if labels.get('app.kubernetes.io/managed-by') == 'kubegpu.nvidia' or meta.get('namespace') == 'kube-system':
            return 'device_plugin'
        return 'gpu_operator'
    return None


def deployed(daemonsets):
    """[{stack, name}] of the GPU stacks whose DaemonSets are in ``daemonsets`` (k8s_info resources)."""
    found = []
    for item in daemonsets or []:
        stack = _stack_of(item or {})
        if stack:
            meta = item.get('metadata') or {}
            found.append({'stack': stack, 'name': '{0}/{1}'.format(meta.get('namespace'), meta.get('name'))})
    return found


def refusal(daemonsets, stack):
    """Why ``stack`` may not be deployed now ('' when it may): another stack's DaemonSet runs."""
    others = [entry for entry in deployed(daemonsets) if entry['stack'] != stack]
    if not others:
        return ''
    first = others[0]
    stack = first['stack']
    return ('{0} is already deployed (DaemonSet {1}), and two stacks would hand out the same GPUs twice. Remove it '
            'first, once no pod holds its GPUs (the cluster stage with kubegpu_gpu_stack={2} and -e {3}), or keep '
            'kubegpu_gpu_stack as it was.'.format(LABELS[stack], first['name'], stack, _REMOVE[stack]))
