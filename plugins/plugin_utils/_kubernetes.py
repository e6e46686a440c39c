# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the kubernetes role, from what it read on the nodes.

Pure: what kubeadm left on a node in, the node's step out. The role never resets a
node on its own, so every state it cannot continue from is a refusal that
says what was found and what the user can do.
"""

from __future__ import annotations

ACTIONS = ('init', 'initialized', 'join', 'joined', 'refuse')
_RESET_HINT = ('look at it, then run `kubeadm reset` on {host} yourself, or run the kubernetes role with '
               'kubernetes_state: absent on it (the role never resets a node on its own)')


def _state(node):
    node = node or {}
    keys = ('kubelet_conf', 'admin_conf', 'apiserver_manifest', 'ca_crt', 'ca_checksum', 'server')
    return {key: node.get(key) for key in keys}


def node_action(node, first_node, *, first=False, control_plane=False, host='this node',
                first_host='the first control-plane host'):
    """Return this node's step: ``action`` (one of ACTIONS), ``reason`` (one line) and ``control_plane``.

    ``node`` and ``first_node``: which of kubeadm's files exist on this node
    and on the first control-plane host (``kubelet_conf``, ``admin_conf``,
    ``apiserver_manifest``, ``ca_crt``: bools), the cluster CA's checksum
    (``ca_checksum``) and the API server in kubelet.conf (``server``).
    """
    mine, theirs = _state(node), _state(first_node)
    role = 'control-plane host' if control_plane else 'node'

    def result(action, reason):
        return {'action': action, 'reason': reason, 'control_plane': bool(control_plane)}

    if first:
        if mine['admin_conf'] and mine['kubelet_conf']:
            return result('initialized', 'already the first control-plane host of its cluster (API server {0})'.format(
                mine['server'] or 'unknown'))
        if mine['kubelet_conf'] or mine['apiserver_manifest'] or mine['admin_conf']:
            found = [name for name, key in (('/etc/kubernetes/kubelet.conf', 'kubelet_conf'),
                                            ('/etc/kubernetes/admin.conf', 'admin_conf'),
                                            ('/etc/kubernetes/manifests/kube-apiserver.yaml', 'apiserver_manifest'))
                     if mine[key]]
            hint = _RESET_HINT.format(host=host)
            return result('refuse', '{0} holds {1} but not a finished control plane: an earlier kubeadm init stopped '
                          'half-way, or another tool built it; {2}'.format(host, ', '.join(found), hint))
        return result('init', 'kubeadm init: the first control-plane host of a new cluster')

    cluster_ready = bool(theirs['admin_conf'] and theirs['kubelet_conf'])
    if mine['kubelet_conf']:
        if cluster_ready and mine['ca_checksum'] and mine['ca_checksum'] == theirs['ca_checksum']:
            return result('joined', 'already a {0} of this cluster (API server {1})'.format(
                role, mine['server'] or 'unknown'))
        if cluster_ready:
            why = 'its cluster CA differs from the one of {0}'.format(first_host)
        else:
            why = '{0} has no cluster yet'.format(first_host)
        server = mine['server'] or 'an unknown API server'
        return result('refuse', '{0} is already a node of another cluster (its kubelet talks to {1}; {2}): joining it '
                      'here would take it out of that cluster; {3}'.format(host, server, why,
                                                                           _RESET_HINT.format(host=host)))
    if mine['apiserver_manifest'] or mine['admin_conf']:
        return result('refuse', '{0} holds a control plane of its own (/etc/kubernetes) but no kubelet.conf: '
                      '{1}'.format(host, _RESET_HINT.format(host=host)))
    return result('join', 'kubeadm join as a {0}'.format(role))


def nodes_not_ready(nodes, names):
    """Return one ``{name, reason}`` per name in ``names`` that is not a Ready node of ``nodes``.

    ``nodes``: Node objects as kubernetes.core.k8s_info returns them.
    """
    by_name = {((n or {}).get('metadata') or {}).get('name'): n for n in nodes or []}
    result = []
    for name in names or []:
        node = by_name.get(name)
        if node is None:
            result.append({'name': name, 'reason': 'not registered with the API server (did its kubelet start?)'})
            continue
        conditions = ((node.get('status') or {}).get('conditions')) or []
        ready = [c for c in conditions if c.get('type') == 'Ready']
        if not ready:
            result.append({'name': name, 'reason': 'no Ready condition yet'})
        elif ready[0].get('status') != 'True':
            result.append({'name': name, 'reason': ready[0].get('message') or ready[0].get('reason') or 'not Ready'})
    return result
