# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether Kubernetes agrees with the cluster plan (kubegpu.nvidia.cluster_plan).

Pure: Node objects and the plan's nodes in, a capacity verdict out.
"""

from __future__ import annotations


def capacity_report(nodes, plan, resource='nvidia.com/gpu', replicas=1):
    """Compare each planned node's advertised GPU capacity with gpu_facts' count.

    ``nodes``: Node objects (k8s_info resources). ``replicas``: time-slicing or MPS
    replicas per GPU (a shared GPU is advertised that many times). Returns ok,
    ``pending`` (one dict per node still wrong) and a one-line message.
    """
    by_name = {((n.get('metadata') or {}).get('name')): n for n in nodes or []}
    pending = []
    for entry in plan or []:
        want = int(entry.get('gpu_count') or 0) * max(int(replicas or 1), 1)
        node = by_name.get(entry.get('node'))
        if node is None:
            pending.append({'node': entry.get('node'), 'expected': want, 'advertised': None,
                            'why': 'no Node object of that name (set kubegpu_node_name)'})
            continue
        capacity = (node.get('status') or {}).get('capacity') or {}
        raw = capacity.get(resource)
        try:
            have = int(str(raw)) if raw is not None else None
        except ValueError:
            have = None
        if have != want:
            pending.append({'node': entry.get('node'), 'expected': want, 'advertised': have,
                            'why': 'not advertised yet' if have is None else 'count differs'})
    message = 'every GPU node advertises its {0}'.format(resource) if not pending else '; '.join(
        '{0}: {1} {2} expected {3} ({4})'.format(
            p['node'], resource, 'absent' if p['advertised'] is None else p['advertised'], p['expected'], p['why'])
        for p in pending)
    return {'ok': not pending, 'pending': pending, 'message': message}
