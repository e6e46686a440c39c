# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the kubernetes role, from what it read on the nodes.

Pure: what kubeadm left on a node in, the node's step out. The role never resets a
node on its own, so every state it cannot continue from is a refusal that
says what was found and what the user can do.
"""

from __future__ import annotations

import base64
import datetime
import re

import yaml

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubeadm import token_ttl

try:  # the controller's cryptography, for a client certificate's expiry
    from cryptography import x509
except ImportError:  # pragma: no cover
    x509 = None

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


_SHA256 = re.compile(r'^(?:sha256:)?[0-9a-fA-F]{64}$')
_SCHEME = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*)://')


def cni_manifest_problem(manifest, checksum='', is_file=False):
    """Why ``kubernetes_cni_manifest`` (with ``kubernetes_cni_manifest_checksum``) may not be applied; '' if it may.

    The manifest is applied with the cluster's admin credentials: it must be a
    file on the controller (``is_file``), or an https URL pinned by its sha256.
    """
    manifest = str(manifest or '').strip()
    checksum = str(checksum or '').strip()
    if checksum and not _SHA256.match(checksum):
        return ('kubernetes_cni_manifest_checksum is {0!r}: expected the manifest\'s sha256, 64 hexadecimal digits, '
                'optionally prefixed with sha256:.').format(checksum)
    scheme = _SCHEME.match(manifest)
    if scheme is None:
        if not is_file:
            return ('kubernetes_cni_manifest is {0!r}, which is not a file on the controller: name the manifest '
                    'file (an absolute path), or an https URL with kubernetes_cni_manifest_checksum.').format(manifest)
        return ''
    if scheme.group(1).lower() != 'https':
        return ('kubernetes_cni_manifest is {0}, a {1} URL: it is applied with the cluster\'s admin credentials, '
                'so it must come over https and be pinned. Use the https URL with kubernetes_cni_manifest_checksum '
                '(its sha256), or download and review it and name the file on the controller.').format(
                    manifest, scheme.group(1))
    if not checksum:
        return ('kubernetes_cni_manifest is the https URL {0} but kubernetes_cni_manifest_checksum is empty: the '
                'manifest is applied with the cluster\'s admin credentials, so pin it. Review it and set '
                'kubernetes_cni_manifest_checksum to its sha256 (curl -fsSL URL | sha256sum), or name a file on the '
                'controller instead.').format(manifest)
    return ''


def kubeconfig_path_problem(path):
    """Why ``kubernetes_kubeconfig`` (after ~ is expanded) cannot be where the admin kubeconfig goes; '' if it can."""
    text = str(path or '').strip()
    if not text:
        return 'kubernetes_kubeconfig is empty: name where the admin kubeconfig goes, e.g. ~/.kube/kubegpu.conf.'
    if not text.startswith('/'):
        return ('kubernetes_kubeconfig is {0!r}, a relative path: it would land wherever ansible-playbook runs from. '
                'Give an absolute path, or one under ~ (e.g. ~/.kube/kubegpu.conf).').format(text)
    if text.endswith('/'):
        return 'kubernetes_kubeconfig is {0!r}, a directory: name the file, e.g. {0}kubegpu.conf.'.format(text)
    return ''


def trust_problems(inputs):
    """Every problem with the kubernetes role's trust inputs, one sentence each (empty: none).

    ``inputs``: ``cni``, ``cni_manifest``, ``cni_manifest_checksum``,
    ``cni_manifest_is_file``, ``join_token_ttl``, ``kubeconfig`` (expanded).
    """
    inputs = inputs or {}
    problems = []
    if inputs.get('cni') == 'manifest':
        problems.append(cni_manifest_problem(inputs.get('cni_manifest'), inputs.get('cni_manifest_checksum'),
                                             bool(inputs.get('cni_manifest_is_file'))))
    problems.append(token_ttl(inputs.get('join_token_ttl'))['problem'])
    problems.append(kubeconfig_path_problem(inputs.get('kubeconfig')))
    return [problem for problem in problems if problem]


_FETCH_AGAIN = ('run the kubernetes role again to fetch the admin kubeconfig (kubernetes_kubeconfig), or point '
                'kubegpu_kubeconfig (or KUBECONFIG) at a working one')


def _kubeconfig_file_problem(text, context):
    """``(problem, server)``: what is wrong with a kubeconfig's text that the API probe cannot say ('' when
    nothing is), and the server its context points at."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = ' at line {0}'.format(mark.line + 1) if mark is not None else ''
        return 'is not valid YAML{0}'.format(where), ''
    if not isinstance(config, dict) or not config.get('clusters'):
        return 'is not a kubeconfig (no clusters: in it)', ''
    name = context or config.get('current-context') or ''
    contexts = {c.get('name'): c.get('context') or {} for c in config.get('contexts') or [] if isinstance(c, dict)}
    if not name:
        return 'names no context (no current-context, and kubegpu_kube_context is empty)', ''
    if name not in contexts:
        return 'has no context {0!r} (it has: {1})'.format(name, ', '.join(sorted(map(str, contexts))) or 'none'), ''
    clusters = {c.get('name'): c.get('cluster') or {} for c in config.get('clusters') or [] if isinstance(c, dict)}
    server = str((clusters.get(contexts[name].get('cluster')) or {}).get('server') or '')
    users = {u.get('name'): u.get('user') or {} for u in config.get('users') or [] if isinstance(u, dict)}
    user = users.get(contexts[name].get('user')) or {}
    return _client_certificate_problem(user.get('client-certificate-data')), server


def _client_certificate_problem(data):
    if not data:
        return ''
    if x509 is None:
        return ''
    try:
        cert = x509.load_pem_x509_certificate(base64.b64decode(data))
    # Not readable here: the probe's words stand.
    except Exception:  # pylint: disable=broad-except
        return ''
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = getattr(cert, 'not_valid_after_utc', None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    if not_after < now:
        return ('carries a client certificate that expired on {0:%Y-%m-%d %H:%M} UTC: renew it on the first '
                'control-plane host (kubeadm certs renew admin.conf) and fetch the kubeconfig again').format(not_after)
    return ''


def _probe_problem(message, server):
    text = ' '.join(str(message or '').split())
    where = server or 'the kubeconfig\'s server'
    if 'certificate has expired' in text:
        return ('reaches {0}, but the API server\'s certificate has expired: renew the control plane\'s '
                'certificates (kubeadm certs renew all) and restart it').format(where)
    if 'CERTIFICATE_VERIFY_FAILED' in text or 'certificate verify failed' in text:
        return ('reaches {0}, but its certificate is not signed by the kubeconfig\'s certificate authority: the '
                'kubeconfig belongs to another cluster, or the cluster was built again; {1}').format(
                    where, _FETCH_AGAIN)
    if re.search(r'\b401\b|Unauthorized', text):
        return ('reaches {0}, but the API server refuses its credentials (401 Unauthorized): an expired or revoked '
                'client certificate or token; {1}').format(where, _FETCH_AGAIN)
    if 'Connection refused' in text:
        return ('points at {0}, where nothing answers (connection refused): start the cluster\'s API server, or '
                'fix the server address or port in the kubeconfig').format(where)
    if re.search(r'Name or service not known|nodename nor servname|Temporary failure in name resolution', text):
        return 'points at {0}, a host name that does not resolve: fix the server in the kubeconfig'.format(where)
    if re.search(r'timed out|Timeout|No route to host|Network is unreachable', text):
        return ('points at {0}, which does not answer (timed out): check that the API server runs there and that '
                'no firewall drops its port').format(where)
    return 'could not be used to reach {0}: {1}'.format(where, text)


def kubeconfig_problem(probe, path, content=None, context=''):
    """One sentence on why the cluster stage cannot use its kubeconfig; '' when the API server answered.

    ``probe``: the registered result of a kubernetes.core.k8s_info call made
    with the kubeconfig (failures included); ``path``: the kubeconfig file;
    ``content``: its bytes (or ``None`` when it could not be read);
    ``context``: kubegpu_kube_context.
    """
    probe = probe or {}
    if not probe.get('failed'):
        return ''
    name = path or 'the default kubeconfig (KUBECONFIG, else ~/.kube/config)'
    prefix = 'The cluster stage cannot talk to the cluster: the kubeconfig {0} '.format(name)
    suffix = '. Nothing was deployed.'
    if content is None:
        return (prefix + 'cannot be read (missing, or not readable by this user): run the kubernetes stage '
                '(kubegpu_kubernetes: true) or point kubegpu_kubeconfig (or KUBECONFIG) at the cluster\'s kubeconfig'
                + suffix)
    if isinstance(content, str):
        content = content.encode('utf-8', 'surrogateescape')
    try:
        text = content.decode('utf-8')
    except UnicodeDecodeError as exc:
        return (prefix + 'holds bytes that are not UTF-8 (byte 0x{0:02x} at offset {1}): it is damaged or not a '
                'kubeconfig; {2}'.format(content[exc.start], exc.start, _FETCH_AGAIN) + suffix)
    problem, server = _kubeconfig_file_problem(text, context)
    if problem:
        return prefix + problem + suffix
    return prefix + _probe_problem(probe.get('msg'), server) + suffix
