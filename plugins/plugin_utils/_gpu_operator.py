# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node labels the GPU Operator reads from Node Feature Discovery, for a cluster without NFD.

GPU Operator v26.7.0 recognizes a GPU node by an NFD PCI label (a node with
``nvidia.com/gpu.present=true`` and none of them is set back to ``false``, and
gets no operand), and reads each GPU node's distribution from NFD's
``system-os_release`` labels (without them its ClusterPolicy stops at "unable to
retrieve OS name"). With NFD off, the gpu_operator role sets these labels from
each node's decision record instead.
"""

from __future__ import annotations

import re

OS_ID_LABEL = 'feature.node.kubernetes.io/system-os_release.ID'
OS_VERSION_LABEL = 'feature.node.kubernetes.io/system-os_release.VERSION_ID'
# A Kubernetes label value: at most 63 characters, alphanumerics at both ends, '-', '_' and '.' between.
_LABEL_VALUE = re.compile(r'^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$')


class LabelError(ValueError):
    """A value that cannot be a label value, with the node and the fix."""


def nfd_nodes(nodes, labels=None, removing=False):
    """``nodes`` (the cluster plan's records) with ``labels``: ``labels`` plus each node's OS labels.

    A record without an ``os_id`` (gpu_facts found no os-release) gets no OS labels. With ``removing``
    only the keys matter (the labels are being taken off): a value that cannot be a label value is kept
    as it is, so that it cannot stop a removal.
    """
    result = []
    for record in nodes or []:
        node = record.get('node') or record.get('host') or '?'
        wanted = dict(labels or {})
        for key, found in ((OS_ID_LABEL, record.get('os_id')), (OS_VERSION_LABEL, record.get('os_version_id'))):
            if found is None or found == '':
                continue
            value = str(found)
            if not removing and not _LABEL_VALUE.match(value):
                raise LabelError(
                    'Node {0}: its /etc/os-release value {1!r} cannot be the value of the label {2} that the GPU '
                    'Operator reads (at most 63 letters, digits, "-", "_" and "."). Fix: set gpu_operator_nfd: true '
                    '(NFD labels the node), or label the node yourself and add the label to '
                    'gpu_operator_nfd_labels.'.format(node, value, key))
            wanted[key] = value
        result.append(dict(record, labels=wanted))
    return result
