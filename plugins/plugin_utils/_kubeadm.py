# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Say in one line why a kubeadm command failed, and what fixes it.

Pure: the registered result of an ``ansible.builtin.command`` task in, a
verdict out. The patterns are kubeadm v1.36's own messages
(cmd/kubeadm/app/preflight/checks.go, util/apiclient/wait.go,
discovery/token/token.go, the phase runner's ``error execution phase``).
"""

from __future__ import annotations

import re

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import socket_uri

COMMANDS = ('init', 'join', 'reset', 'token')

_ANSI = re.compile(r'\x1b\[[0-9;]*m')
_PREFLIGHT_ERROR = re.compile(r'^\s*\[ERROR ([^\]]+)\]: (.*)$')
_IGNORE_HINT = re.compile(r'^\[preflight\] If you know what you are doing')
_PHASE_ERROR = re.compile(r'error execution phase ([\w/-]+): (.*)$')
_STACK_HINT = re.compile(r'^To see the stack trace of this error')
_URL_ENDPOINT = re.compile(r'https://([^/\s"]+)/')

PORT_OWNERS = {
    '6443': 'the API server', '10250': 'the kubelet', '10257': 'kube-controller-manager',
    '10259': 'kube-scheduler', '2379': 'etcd (client)', '2380': 'etcd (peer)',
}

_RESET_HINT = (
    'The role never resets a node: if that cluster is to go, run the role with kubernetes_state: absent on this '
    'host (kubeadm reset), then again with present')


class KubeadmInputError(ValueError):
    """The input is not the result of a command task."""


def _one_line(text):
    return ' '.join(str(text).split())


def _preflight_fix(name, message):
    """The fix for one failed preflight check, naming the role's variable where there is one."""
    ignore = 'or add {0} to kubernetes_ignore_preflight_errors'.format(name)
    if name.startswith('Port-'):
        port = name[len('Port-'):]
        owner = PORT_OWNERS.get(port, 'a Kubernetes component')
        return ('Port {0} ({1}) is taken: `ss -ltnp sport = :{0}` shows by what. A kube-apiserver, kubelet or etcd '
                'there means this host already runs a Kubernetes node (an earlier kubeadm init or join). {2}. '
                'Another service: stop it or move it to another port.').format(port, owner, _RESET_HINT)
    if name.startswith('FileAvailable-'):
        path = message.split(' already exists')[0].strip()
        return ('{0} is left from an earlier kubeadm init or join on this host. {1}.').format(path, _RESET_HINT)
    if name.startswith('DirAvailable-'):
        path = message.split(' is not empty')[0].strip()
        return ('{0} holds data of an earlier control plane (etcd data for /var/lib/etcd). {1}; remove it by hand '
                'only when that cluster is gone.').format(path, _RESET_HINT)
    if name.startswith('FileContent-'):
        path = message.split(' contents are not set')[0].split(' does not exist')[0].strip()
        key = path[len('/proc/sys/'):].replace('/', '.') if path.startswith('/proc/sys/') else path
        if 'bridge-nf-call' in path:
            return ('{0} is not 1: load br_netfilter (modprobe br_netfilter, /etc/modules-load.d) and set {1} = 1; '
                    'the role\'s node preparation does both: check nothing unloads or resets them.').format(path, key)
        return ('Set {0} = 1 (sysctl -w {0}=1 and a file in /etc/sysctl.d); the role\'s node preparation sets it: '
                'check that no other sysctl.d file or service sets it back to 0.').format(key)
    if name.startswith('FileExisting-'):
        exe = message.split(' not found in system path')[0].strip()
        return 'Install {0} on the node (kubeadm needs it in PATH).'.format(exe)
    fixes = {
        'Swap': ('Disable swap (swapoff -a and remove it from /etc/fstab), or keep it with kubernetes_kubelet_config: '
                 '{failSwapOn: false} plus Swap in kubernetes_ignore_preflight_errors.'),
        'CRI': ('The container runtime does not answer at the socket kubeadm uses: start it (containerd or CRI-O, '
                'the container_runtime role), and check kubernetes_cri_socket when it is not at its default.'),
        'ContainerRuntimeVersion': ('The container runtime does not answer at the socket kubeadm uses, or is too '
                                    'old: start it (the container_runtime role) and check kubernetes_cri_socket.'),
        'ImagePull': ('The node could not pull the control-plane images from kubernetes_image_repository: give the '
                      'container runtime access to it (network, proxy), point kubernetes_image_repository at a '
                      'mirror, or bring the images with kubernetes_install: offline (images/*.tar).'),
        'NumCPU': ('A control-plane host needs at least 2 CPUs: give it more, ' + ignore + ' on a test host.'),
        'Mem': ('A control-plane host needs about 1700 MB of memory: give it more, ' + ignore + ' on a test host.'),
        'KubeletVersion': ('The kubelet on this node is not the kubeadm/kubelet release kubernetes_version names: '
                           'install kubelet {0} (the role pins and holds it; look for another kubelet in PATH or '
                           'a package held at another version).').format('at kubernetes_version'),
        'KubernetesVersion': 'kubernetes_version is newer than this kubeadm: install kubeadm at kubernetes_version.',
        'IsPrivilegedUser': 'kubeadm must run as root: run the play (or the role) with become: true.',
        'Hostname': 'Give the node a resolvable, lower-case DNS-1123 host name.',
        'Firewalld': 'Open the Kubernetes ports in firewalld (6443, 10250, 2379-2380 ...) or stop firewalld.',
        'ExternalEtcdVersion': 'The external etcd is too old or unreachable: check its endpoints and version.',
    }
    if name == 'SystemVerification' and 'cgroups v1' in message:
        return ('This host runs cgroup v1, which kubelet v1.35 and later refuse by default: move it to cgroup v2 '
                '(systemd.unified_cgroup_hierarchy=1 on the kernel command line), or keep v1 with '
                'kubernetes_kubelet_config: {failCgroupV1: false} plus SystemVerification in '
                'kubernetes_ignore_preflight_errors.')
    if name == 'SystemVerification':
        return ('The kernel or OS check failed; the verification output in kubeadm\'s stdout names the missing '
                'kernel option or cgroup controller. Fix the host, ' + ignore + ' if it is known to be harmless.')
    return fixes.get(name, 'Fix what the check reports, ' + ignore + ' if it is known to be harmless here.')


_KUBELET_FIX = (
    'Read the kubelet\'s log on the host: journalctl -u kubelet -b (and systemctl status kubelet). The usual '
    'causes: its cgroup driver differs from the runtime\'s (kubernetes_cgroup_driver against containerd\'s '
    'SystemdCgroup or CRI-O\'s cgroup_manager); a cgroup v1 host, which kubelet v1.35 and later refuse '
    '(kubernetes_kubelet_config: {failCgroupV1: false} plus SystemVerification in '
    'kubernetes_ignore_preflight_errors, or move the host to cgroup v2); swap on (disable it, or '
    'kubernetes_kubelet_config: {failSwapOn: false}); the container runtime not running at kubernetes_cri_socket.')


def _api_fix(endpoint):
    where = endpoint or 'the control-plane endpoint'
    return ('The node cannot reach the API server at {0}: check kubernetes_control_plane_endpoint (empty: the first '
            'control-plane host\'s address, port 6443) and kubernetes_advertise_address, that the API server runs '
            'there (crictl ps on that host), and that no firewall between the hosts drops 6443/tcp.').format(where)


def _last_phase_error(lines):
    for line in reversed(lines):
        match = _PHASE_ERROR.search(line)
        if match:
            return match.group(1), match.group(2).strip()
    return None, None


def _endpoint(text):
    match = _URL_ENDPOINT.search(text or '')
    return match.group(1) if match else ''


def _read(result):
    if not isinstance(result, dict):
        raise KubeadmInputError(
            'kubeadm_failure needs the registered result of an ansible.builtin.command task running kubeadm '
            '(a dict with stdout, stderr and rc), not {0}'.format(type(result).__name__))
    stdout = _ANSI.sub('', str(result.get('stdout') or ''))
    stderr = _ANSI.sub('', str(result.get('stderr') or ''))
    return stdout, stderr, result.get('rc')


def _unknown_line(phase, phase_error, out_lines, err_lines, result):
    """The last phase error, else the last meaningful stderr (then stdout) line, else the task's msg."""
    if phase_error:
        return 'error execution phase {0}: {1}'.format(phase, phase_error)
    candidates = [line.strip() for line in err_lines if line.strip() and not _STACK_HINT.match(line.strip())]
    if not candidates:
        candidates = [line.strip() for line in out_lines if line.strip()]
    line = candidates[-1] if candidates else str(result.get('msg') or 'exited with rc {0}'.format(result.get('rc')))
    return line[len('error: '):] if line.startswith('error: ') else line


def classify(result, command='init'):
    """Return ``{reason, message, fix, preflight, details}`` for one kubeadm command result."""
    if command not in COMMANDS:
        raise KubeadmInputError('kubeadm_failure: command must be one of {0}, not {1!r}'.format(
            ', '.join(COMMANDS), command))
    stdout, stderr, rc = _read(result)
    out_lines = stdout.splitlines()
    err_lines = stderr.splitlines()
    lines = out_lines + err_lines
    text = stdout + '\n' + stderr
    prefix = 'kubeadm {0}'.format(command)
    phase, phase_error = _last_phase_error(lines)

    def verdict(reason, message, fix, details, preflight=()):
        return {'reason': reason, 'message': _one_line(prefix + ': ' + message), 'fix': _one_line(fix),
                'preflight': list(preflight), 'details': [line.rstrip() for line in details]}

    failed_checks = [(m.group(1), m.group(2).strip()) for m in map(_PREFLIGHT_ERROR.match, lines) if m]
    if failed_checks:
        details = [line.strip() for line in lines if _PREFLIGHT_ERROR.match(line) or _IGNORE_HINT.match(line)]
        message = 'preflight checks failed: ' + '; '.join('[{0}] {1}'.format(n, m) for n, m in failed_checks)
        fix = ' '.join('{0}: {1}'.format(n, _preflight_fix(n, m)) for n, m in failed_checks)
        return verdict('preflight', message, fix, details, [name for name, _message in failed_checks])

    if (re.search(r'\[kubelet-check\] The kubelet is not healthy after', text)
            or 'failed while waiting for the kubelet to start' in text):
        details = [line for line in lines if line.startswith('[kubelet-check]')]
        cause = phase_error or next((d for d in details if 'not healthy' in d), 'the kubelet is not healthy')
        details += [line for line in err_lines if _PHASE_ERROR.search(line)]
        return verdict('kubelet_unhealthy', 'the kubelet did not become healthy: ' + cause, _KUBELET_FIX, details)

    if (re.search(r'\[control-plane-check\] \S+ is not healthy after', text)
            or 'failed while waiting for the control plane to start' in text):
        details = [line for line in lines if line.startswith('[control-plane-check]')]
        details += [line for line in err_lines if _PHASE_ERROR.search(line)]
        sick = re.findall(r'\[control-plane-check\] (\S+) is not healthy after', text)
        socket = socket_uri('containerd')
        fix = ('The kubelet runs but {0} did not become healthy: on the host list the containers with crictl '
               '--runtime-endpoint {1} ps -a | grep kube | grep -v pause (kubernetes_cri_socket is the endpoint) and '
               'read the failing one with crictl logs CONTAINERID. Usual causes: an image missing from '
               'kubernetes_image_repository, etcd not starting (its data dir, its ports), an '
               'kubernetes_advertise_address that is not on this host.').format(
                   ', '.join(sorted(set(sick))) or 'a control-plane component', socket)
        return verdict('control_plane_unhealthy',
                       'the control plane did not become healthy: ' + (phase_error or ', '.join(sick)), fix, details)

    discovery = phase_error or ''
    if (re.search(r'could not find a JWS signature in the cluster-info ConfigMap', text)
            or re.search(r'token id "[^"]*" is invalid for this cluster or it has expired', text)
            or 'failed to verify JWS signature of received cluster info object' in text):
        details = [line for line in lines if 'JWS signature' in line or 'is invalid for this cluster' in line
                   or _PHASE_ERROR.search(line)]
        fix = ('The bootstrap token is unknown to the cluster or has expired (the kubernetes role makes them for '
               'kubernetes_join_token_ttl, 15m by default): make a new one '
               'on the first control-plane host (kubeadm token create --print-join-command) and join with it; '
               'running the role again issues a fresh token for the joining nodes.')
        return verdict('join_token_invalid', 'the bootstrap token was refused: ' + (discovery or details[0]),
                       fix, details)

    if (re.search(r'none of the public keys "[^"]*" are pinned', text)
            or 'cluster CA found in cluster-info ConfigMap is invalid' in text
            or 'invalid discovery token CA certificate hash' in text):
        details = [line for line in lines if 'pinned' in line or 'cluster CA' in line or _PHASE_ERROR.search(line)]
        fix = ('The cluster\'s CA does not match the --discovery-token-ca-cert-hash given: the endpoint is another '
               'cluster\'s API server, or the control plane was initialised again since the hash was taken. Check '
               'kubernetes_control_plane_endpoint; on the first control-plane host the hash is: openssl x509 '
               '-pubkey -in /etc/kubernetes/pki/ca.crt | openssl rsa -pubin -outform der 2>/dev/null | openssl '
               'dgst -sha256 -hex | sed \'s/^.* //\' (prefix it with sha256:).')
        return verdict('join_ca_hash_mismatch', 'the cluster CA hash does not match: ' + (discovery or details[0]),
                       fix, details)

    unreachable = re.search(
        r'connect: connection refused|i/o timeout|connect: no route to host|context deadline exceeded'
        r'|tls: first record does not look like a TLS handshake|the server could not find the requested resource'
        r' \(get configmaps cluster-info\)|no such host', discovery)
    if command == 'join' and unreachable and (
            "couldn't validate the identity of the API Server" in discovery or 'cluster-info' in discovery
            or 'failed while waiting for TLS bootstrap' in discovery or 'dial tcp' in discovery):
        endpoint = _endpoint(discovery)
        details = [line for line in err_lines if _PHASE_ERROR.search(line) or line.startswith('[discovery]')]
        return verdict('api_server_unreachable',
                       'the API server{0} did not answer: {1}'.format(
                           ' at ' + endpoint if endpoint else '', unreachable.group(0)),
                       _api_fix(endpoint), details or [discovery])

    if command == 'token' and re.search(r'failed to load admin kubeconfig', text):
        line = next(line for line in lines if 'failed to load admin kubeconfig' in line)
        return verdict('admin_kubeconfig_missing', line.replace('error: ', '', 1),
                       'Run kubeadm token on an initialised control-plane host (it reads /etc/kubernetes/admin.conf, '
                       'pass --kubeconfig /etc/kubernetes/admin.conf), after kubeadm init has succeeded there.',
                       [line])

    if rc == 0 and not phase_error:
        return {'reason': 'ok', 'message': '', 'fix': '', 'preflight': [], 'details': []}

    line = _unknown_line(phase, phase_error, out_lines, err_lines, result)
    return verdict('unknown', line,
                   'Read the details; run the command again on the host with --v=5 for kubeadm\'s stack trace.',
                   [line])


# kubeadm reads --ttl as a Go duration (time.ParseDuration): 15m, 1h30m, 90s.
_DURATION = re.compile(r'^(?:\d+(?:\.\d+)?(?:h|m|s|ms|us|\u00b5s|ns))+$')
_DURATION_PART = re.compile(r'(\d+(?:\.\d+)?)(h|ms|m|s|us|\u00b5s|ns)')
_UNIT_SECONDS = {'h': 3600, 'm': 60, 's': 1, 'ms': 1e-3, 'us': 1e-6, '\u00b5s': 1e-6, 'ns': 1e-9}
TOKEN_TTL_MIN = 60
TOKEN_TTL_MAX = 24 * 3600


def token_ttl(value, variable='kubernetes_join_token_ttl'):
    """Return ``{seconds, problem}`` for a bootstrap token's TTL; ``problem`` is empty when it is usable.

    A join token must expire (kubeadm reads 0 as "never"), and live long
    enough for the joins: from 1 minute to 24 hours.
    """
    text = str(value if value is not None else '').strip()
    if (text.isdigit() and int(text) == 0) or text in ('0s', '0m', '0h'):
        return {'seconds': 0, 'problem': (
            '{0} is {1!r}: kubeadm makes a token with TTL 0 that never expires, so anyone who reads it can join '
            'nodes for ever. Give a duration from 1m to 24h, e.g. 15m.').format(variable, text)}
    if not _DURATION.match(text):
        return {'seconds': None, 'problem': (
            '{0} is {1!r}, not a duration: write it as kubeadm --ttl takes it, a number and a unit (h, m, s), '
            'e.g. 15m or 1h30m, from 1m to 24h.').format(variable, text)}
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
    if not TOKEN_TTL_MIN <= seconds <= TOKEN_TTL_MAX:
        return {'seconds': seconds, 'problem': (
            '{0} is {1!r} ({2:g} s): a join token must live from 1m (time for the joins) to 24h (a leaked token '
            'stops working the same day). Give a duration in that range, e.g. 15m.').format(variable, text, seconds)}
    return {'seconds': seconds, 'problem': ''}
