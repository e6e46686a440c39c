# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster stage's view of the GPU nodes, and whether Kubernetes agrees with it.

Pure: inventory hosts' variables in, one plan entry per GPU node out; Node
objects in, a capacity verdict out. The roles read gpu_facts through the plan
and never detect anything again.
"""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._runtime_mode import RuntimeModeError, host_runtime

STACKS = ('device_plugin', 'gpu_operator')


class NodePlanError(ValueError):
    """A host's variables do not allow a plan (facts missing, unknown mode)."""


# What the plan reads of a host's variables: its facts, its node name, the node
# stage's runtime decision and the request that decision is made from.
HOST_VARS = ('kubegpu_node_name', 'kubegpu_node_runtime', 'kubegpu_runtime_mode', 'container_runtime_mode',
             'container_runtime_name', 'container_runtime_containerd_version')


def plan_hosts(hosts_vars):
    """node_plan's ``hosts`` from inventory hosts' variables (``hostvars`` entries)."""
    hosts = []
    for host_vars in hosts_vars or []:
        picked = {'ansible_facts': host_vars.get('ansible_facts') or {}}
        picked.update((name, host_vars.get(name)) for name in HOST_VARS)
        hosts.append({'host': host_vars.get('inventory_hostname'), 'vars': picked})
    return hosts


def _runtime_of(facts, runtime):
    version = ((facts.get('runtimes') or {}).get(runtime) or {}).get('version')
    return runtime + (' ' + version if version else '')


def node_plan(hosts, default_mode='', stack='device_plugin'):
    """Return one entry per host that has GPUs.

    ``hosts``: dicts with ``host`` (inventory name), ``vars`` (that host's
    variables: ``ansible_facts``, optional ``kubegpu_node_name``, the node
    stage's ``kubegpu_node_runtime``, and the request it was made from:
    ``kubegpu_runtime_mode``, ``container_runtime_mode``,
    ``container_runtime_name``, ``container_runtime_containerd_version``).
    Each entry's runtime and mode are the node stage's decision, or the same
    decision made from the host's facts when the node stage did not run
    (``default_mode`` stands in for a host that asks for no mode; empty
    decides from its runtime). Hosts whose gpu_facts count no GPU are left
    out, so a mixed group plans only the GPU nodes.
    """
    if stack not in STACKS:
        raise NodePlanError('kubegpu_gpu_stack is {0!r}; expected one of {1}'.format(stack, ', '.join(STACKS)))
    plan = []
    for entry in hosts or []:
        host = entry.get('host')
        hostvars = entry.get('vars') or {}
        facts = (hostvars.get('ansible_facts') or {}).get('nvidia')
        if not isinstance(facts, dict) or 'gpu_count' not in facts:
            raise NodePlanError(
                'host {0} has no ansible_facts.nvidia; run playbooks/nodes.yml (or kubegpu.nvidia.gpu_facts) '
                'on it in the same run, or enable fact caching'.format(host))
        if not facts.get('gpu_count'):
            continue
        try:
            decision = host_runtime(hostvars, host=host, default_mode=default_mode)
        except RuntimeModeError as exc:
            raise NodePlanError('host {0}: {1}'.format(host, exc)) from exc
        gpus = facts.get('gpus') or []
        driver = facts.get('driver') or {}
        mig = facts.get('mig') or {}
        plan.append({
            'host': host,
            'node': hostvars.get('kubegpu_node_name') or host,
            'gpu_count': int(facts['gpu_count']),
            'uuids': [g.get('uuid') for g in gpus if g.get('uuid')],
            'gpu_names': sorted({g.get('name') or g.get('product_name') or 'unknown' for g in gpus}),
            'driver_version': driver.get('version'),
            'driver_root': (facts.get('driver_root') or {}).get('root') or '/',
            'runtime': _runtime_of(facts, decision['runtime']),
            'mode': decision['mode'],
            'stack': stack,
            'mig_enabled': bool(mig.get('enabled_count')),
        })
    return plan


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
