# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the kubernetes role, from what it read on the nodes.

Pure: what kubeadm left on a node in, the node's step out; a runtime's
effective configuration in, its cgroup driver out. The role never resets a
node on its own, so every state it cannot continue from is a refusal that
says what was found and what the user can do.
"""

from __future__ import annotations

try:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError
except ImportError as exc:  # runtime_cgroup_driver says what to install
    TOMLKIT_IMPORT_ERROR: ImportError | None = exc

    class TOMLKitError(Exception):
        """Stands in while tomlkit is missing."""
else:
    TOMLKIT_IMPORT_ERROR = None

ACTIONS = ('init', 'initialized', 'join', 'joined', 'refuse')
_RESET_HINT = ('look at it, then run `kubeadm reset` on {host} yourself, or run the kubernetes role with '
               'kubernetes_state: absent on it (the role never resets a node on its own)')


class KubernetesInputError(ValueError):
    """A runtime's configuration could not be read."""


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


def _get(data, path):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def runtime_cgroup_driver(config_text, runtime='containerd'):
    """Return ``systemd`` or ``cgroupfs``: the cgroup driver the runtime's default runtime uses.

    ``config_text``: the runtime's effective configuration as it prints it
    (``containerd config dump``, ``crio config``); kubelet's cgroupDriver must match it.
    """
    if TOMLKIT_IMPORT_ERROR is not None:
        raise KubernetesInputError('the controller lacks the Python library tomlkit ({0}): install it where '
                                   'ansible-playbook runs (pip install tomlkit)'.format(TOMLKIT_IMPORT_ERROR))
    try:
        data = tomlkit.parse(config_text or '').unwrap()
    except TOMLKitError as exc:
        command = {'containerd': 'containerd config dump', 'crio': 'crio config'}.get(runtime, runtime)
        raise KubernetesInputError('{0}: its effective configuration is not TOML ({1}); '
                                   'run `{2}` on the node to see why'.format(runtime, exc, command)) from exc
    if runtime == 'crio':
        manager = _get(data, ('crio', 'runtime', 'cgroup_manager')) or 'systemd'
        return 'systemd' if manager == 'systemd' else 'cgroupfs'
    if runtime != 'containerd':
        raise KubernetesInputError('runtime is {0!r}; expected containerd or crio'.format(runtime))
    # containerd 2.x (config version 3) and 1.x (version 2) keep the CRI runtimes in different plugins.
    for plugin in ('io.containerd.cri.v1.runtime', 'io.containerd.grpc.v1.cri'):
        section = _get(data, ('plugins', plugin, 'containerd'))
        if not isinstance(section, dict):
            continue
        name = section.get('default_runtime_name') or 'runc'
        options = _get(section, ('runtimes', name, 'options')) or {}
        return 'systemd' if options.get('SystemdCgroup') is True else 'cgroupfs'
    return 'cgroupfs'


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
