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
    ``pending`` (one dict per node still wrong), ``nodes`` (one dict per planned
    node: node, gpu_count, replicas, expected, advertised; what the validate
    summary shows) and a one-line message.
    """
    by_name = {((n.get('metadata') or {}).get('name')): n for n in nodes or []}
    replicas = max(int(replicas or 1), 1)
    pending, counted = [], []
    for entry in plan or []:
        gpus = int(entry.get('gpu_count') or 0)
        want = gpus * replicas
        node = by_name.get(entry.get('node'))
        have = None
        if node is not None:
            raw = ((node.get('status') or {}).get('capacity') or {}).get(resource)
            try:
                have = int(str(raw)) if raw is not None else None
            except ValueError:
                have = None
        counted.append({'node': entry.get('node'), 'gpu_count': gpus, 'replicas': replicas, 'expected': want,
                        'advertised': have})
        if node is None:
            pending.append({'node': entry.get('node'), 'expected': want, 'advertised': None,
                            'why': 'no Node object of that name (set kubegpu_node_name)'})
        elif have != want:
            pending.append({'node': entry.get('node'), 'expected': want, 'advertised': have,
                            'why': 'not advertised yet' if have is None else 'count differs'})
    shared = {c['node']: ' = {0} GPUs x {1} replicas'.format(c['gpu_count'], replicas) if replicas > 1 else ''
              for c in counted}
    message = 'every GPU node advertises its {0}'.format(resource) if not pending else '; '.join(
        '{0}: {1} {2} expected {3}{4} ({5})'.format(
            p['node'], resource, 'absent' if p['advertised'] is None else p['advertised'], p['expected'],
            shared[p['node']], p['why'])
        for p in pending)
    return {'ok': not pending, 'pending': pending, 'nodes': counted, 'message': message}
