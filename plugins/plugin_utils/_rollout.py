# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Say whether a DaemonSet or Deployment rolled out and, where it did not, why on each node.

Pure: the workload as the API server returns it, its pods, the namespace's
events, the tails of the containers' logs and the Node objects in; one
diagnosis out. The device_plugin and gpu_operator roles poll and read with
kubernetes.core (k8s_info, k8s_log) and hand the results here.
"""

from __future__ import annotations

import re

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._pod_status import (
    CDI_UNRESOLVABLE,
    IMAGE_PULL_REASONS,
    NVML,
    RUNTIME_MISSING,
    RUNTIMECLASS_MISSING,
    container_statuses,
    event_count,
    first_line,
    sorted_events,
    state_texts,
    tail,
)

# Taints the DaemonSet controller tolerates on every DaemonSet pod
# (pkg/controller/daemon/util: AddOrUpdateDaemonPodTolerations).
_DAEMON_TOLERATIONS = (
    {'key': 'node.kubernetes.io/not-ready', 'operator': 'Exists', 'effect': 'NoExecute'},
    {'key': 'node.kubernetes.io/unreachable', 'operator': 'Exists', 'effect': 'NoExecute'},
    {'key': 'node.kubernetes.io/disk-pressure', 'operator': 'Exists', 'effect': 'NoSchedule'},
    {'key': 'node.kubernetes.io/memory-pressure', 'operator': 'Exists', 'effect': 'NoSchedule'},
    {'key': 'node.kubernetes.io/pid-pressure', 'operator': 'Exists', 'effect': 'NoSchedule'},
    {'key': 'node.kubernetes.io/unschedulable', 'operator': 'Exists', 'effect': 'NoSchedule'},
)
_HOST_NETWORK_TOLERATION = {'key': 'node.kubernetes.io/network-unavailable', 'operator': 'Exists',
                            'effect': 'NoSchedule'}

# Log, status and event hints, most specific first: id, pattern, cause, fix.
_NVML_LIBRARY_MISSING = re.compile(
    r'(ERROR_LIBRARY_NOT_FOUND|could not load NVML library[^\n]*|'
    r'libnvidia-ml\.so(?:\.1)?: cannot open shared object file[^\n]*|load library failed: libnvidia-ml[^\n]*)')
_CDI_NEEDS_NVML = re.compile(r'CDI --device-list-strategy options are only supported on NVML-based systems')
_CDI_ERROR = re.compile(
    r'((?:unable to create cdi (?:spec file|handler)|failed to (?:inject|generate) CDI|'
    r'error (?:creating|writing) CDI spec|CDI registry)[^\n]*)', re.IGNORECASE)
_PERMISSION = re.compile(r'((?:permission denied|operation not permitted)[^\n]*)', re.IGNORECASE)
_KUBELET = re.compile(
    r'(Could not contact Kubelet[^\n]*|Failed to start plugin[^\n]*|kubelet\.sock[^\n]*no such file[^\n]*)')
_NO_DEVICES = re.compile(r'No devices found\. Waiting indefinitely')
_NODE_FEATURE_API = re.compile(r'nodefeatures\.nfd\.k8s-sigs\.io')

HINTS = (
    ('nvml_library_missing', _NVML_LIBRARY_MISSING,
     'the NVIDIA driver library libnvidia-ml.so.1 is not in the container',
     'Install the driver on the node (driver role) or point device_plugin_driver_root / gpu_operator_driver_root '
     'at its driver root; in cdi mode the node\'s CDI spec must mount it (cdi_spec); a node without GPUs should '
     'not carry the nvidia.com/gpu.present label.'),
    ('cdi_needs_nvml', _CDI_NEEDS_NVML,
     'a CDI device list strategy was asked for on a node where NVML cannot be loaded',
     'The node has no usable driver: install it, or take the nvidia.com/gpu.present label off a node without GPUs.'),
    ('runtimeclass_missing', RUNTIMECLASS_MISSING,
     'the pod asks for a RuntimeClass the cluster does not have',
     'Run the device_plugin role in runtime mode (it applies the RuntimeClass) or use kubegpu_runtime_mode: cdi.'),
    ('runtime_handler_missing', RUNTIME_MISSING,
     'the node\'s container runtime has no handler for the RuntimeClass',
     'Add the nvidia runtime to the node\'s containerd/CRI-O config (container_runtime role) and restart it.'),
    ('cdi_unresolvable', CDI_UNRESOLVABLE,
     'the container runtime could not resolve the CDI device: no CDI spec for it on the node',
     'Generate the node\'s CDI spec (cdi_spec role) so /etc/cdi or /var/run/cdi holds nvidia.com/gpu=all, and '
     'check enable_cdi in the runtime config.'),
    ('cdi_error', _CDI_ERROR,
     'the plugin or the runtime failed on the CDI spec',
     'Check /var/run/cdi is writable by the plugin and the node\'s CDI spec is valid (cdi_spec role).'),
    ('nvml_init', NVML,
     'NVML is there but could not initialize: driver not loaded, device nodes missing, or library and module differ',
     'Load the driver (nvidia-smi on the node must work), check /dev/nvidia* exist, and reboot after a driver '
     'upgrade if the library and kernel module versions differ.'),
    ('node_feature_api_missing', _NODE_FEATURE_API,
     'GPU feature discovery publishes its labels through NFD\'s NodeFeature API, which this cluster does not have',
     'Set gpu_operator_nfd: true (the chart installs NFD with that API); with gpu_operator_nfd: false the role sets '
     'GFD_USE_NODE_FEATURE_API=false in gfd.env, so check gpu_operator_extra_values does not replace gfd.env.'),
    ('permission_denied', _PERMISSION,
     'the container was denied access to a file or device',
     'The plugin must run as root to create its socket in /var/lib/kubelet/device-plugins: check SELinux/AppArmor '
     'denials on the node and policies that force runAsNonRoot or drop its hostPath mounts.'),
    ('kubelet_unreachable', _KUBELET,
     'the plugin could not register with the kubelet',
     'Check the kubelet runs and its device plugin directory is /var/lib/kubelet/device-plugins on the node.'),
    ('image_pull', re.compile(r'^(?:%s)$' % '|'.join(IMAGE_PULL_REASONS)),
     'the image could not be pulled on the node',
     'Make the image reachable from the node (registry, pull secret) or load it there and set the image '
     '(device_plugin_image) to a mirror.'),
    ('no_devices', _NO_DEVICES,
     'the plugin runs but found no GPUs on this node',
     'Expected on a node without GPUs; on a GPU node, see the NVML hints and the capacity check.'),
)
_HINT_TEXT = {rule[0]: (rule[2], rule[3]) for rule in HINTS}
# A broader hint that a more specific one already explains.
_SUBSUMED = {'nvml_init': 'nvml_library_missing', 'cdi_error': 'cdi_unresolvable'}

_WAITING_PROBLEMS = IMAGE_PULL_REASONS + (
    'CrashLoopBackOff', 'CreateContainerError', 'CreateContainerConfigError', 'RunContainerError',
    'ContainerCannotRun')
_UNSCHEDULED = '(not scheduled)'


def _meta(obj):
    return (obj or {}).get('metadata') or {}


def _template_spec(workload):
    return ((((workload or {}).get('spec') or {}).get('template') or {}).get('spec')) or {}


def label_selector(workload):
    """The workload's spec.selector as a label selector string for k8s_info (matchLabels, then expressions)."""
    selector = ((workload or {}).get('spec') or {}).get('selector') or {}
    parts = ['{0}={1}'.format(k, v) for k, v in sorted((selector.get('matchLabels') or {}).items())]
    for expr in selector.get('matchExpressions') or []:
        operator, key, values = expr.get('operator'), expr.get('key'), expr.get('values') or []
        if operator == 'In':
            parts.append('{0} in ({1})'.format(key, ','.join(values)))
        elif operator == 'NotIn':
            parts.append('{0} notin ({1})'.format(key, ','.join(values)))
        elif operator == 'Exists':
            parts.append(key)
        elif operator == 'DoesNotExist':
            parts.append('!' + key)
    return ','.join(parts)


def _selector_matches(selector, labels):
    labels = labels or {}
    for key, value in (selector.get('matchLabels') or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get('matchExpressions') or []:
        key, operator, values = expr.get('key'), expr.get('operator'), expr.get('values') or []
        if operator == 'In' and labels.get(key) not in values:
            return False
        if operator == 'NotIn' and key in labels and labels[key] in values:
            return False
        if operator == 'Exists' and key not in labels:
            return False
        if operator == 'DoesNotExist' and key in labels:
            return False
    return True


def _rolled_out_daemonset(workload, expected_count):
    spec_gen = _meta(workload).get('generation')
    status = workload.get('status') or {}
    desired = status.get('desiredNumberScheduled')
    ready = int(status.get('numberReady') or 0)
    updated = int(status.get('updatedNumberScheduled') or 0)
    unavailable = int(status.get('numberUnavailable') or 0)
    observed = status.get('observedGeneration')
    counts = {'desired': int(desired or 0), 'ready': ready, 'updated': updated, 'unavailable': unavailable,
              'available': int(status.get('numberAvailable') or 0),
              'misscheduled': int(status.get('numberMisscheduled') or 0)}
    blockers = []
    if desired is None:
        blockers.append('no status yet')
    if spec_gen is not None and observed is not None and int(observed) < int(spec_gen):
        blockers.append('generation {0} not yet observed (at {1})'.format(spec_gen, observed))
    if desired is not None and updated < int(desired):
        blockers.append('{0} of {1} pods updated'.format(updated, desired))
    if unavailable:
        blockers.append('{0} unavailable'.format(unavailable))
    if expected_count and int(desired or 0) < expected_count:
        blockers.append('scheduled on {0} of the {1} expected nodes'.format(int(desired or 0), expected_count))
    if desired is not None and ready < max(int(desired), expected_count):
        blockers.append('{0} of {1} pods ready'.format(ready, max(int(desired), expected_count)))
    summary = '{0} of {1} pods ready ({2} updated, {3} unavailable)'.format(
        ready, counts['desired'], updated, unavailable)
    return not blockers, summary, blockers, counts


def _rolled_out_deployment(workload):
    spec = workload.get('spec') or {}
    status = workload.get('status') or {}
    replicas = int(spec.get('replicas', 1) if spec.get('replicas') is not None else 1)
    ready = int(status.get('readyReplicas') or 0)
    updated = int(status.get('updatedReplicas') or 0)
    available = int(status.get('availableReplicas') or 0)
    unavailable = int(status.get('unavailableReplicas') or 0)
    counts = {'desired': replicas, 'ready': ready, 'updated': updated, 'available': available,
              'unavailable': unavailable}
    blockers = []
    if not status:
        blockers.append('no status yet')
    spec_gen, observed = _meta(workload).get('generation'), status.get('observedGeneration')
    if spec_gen is not None and observed is not None and int(observed) < int(spec_gen):
        blockers.append('generation {0} not yet observed (at {1})'.format(spec_gen, observed))
    if status and (updated < replicas or available < replicas or unavailable):
        blockers.append('{0} of {1} replicas available'.format(available, replicas))
    for cond in status.get('conditions') or []:
        if cond.get('type') == 'Progressing' and cond.get('reason') == 'ProgressDeadlineExceeded':
            blockers.append(first_line(cond.get('message')) or 'progress deadline exceeded')
        if cond.get('type') == 'ReplicaFailure' and cond.get('status') == 'True':
            blockers.append(first_line(cond.get('message')) or 'replica failure')
    summary = '{0} of {1} replicas ready ({2} updated, {3} available)'.format(ready, replicas, updated, available)
    return not blockers, summary, blockers, counts


def _pod_ready(pod):
    for cond in ((pod or {}).get('status') or {}).get('conditions') or []:
        if cond.get('type') == 'Ready':
            return cond.get('status') == 'True'
    return False


def _container(cstatus, init_names):
    state = cstatus.get('state') or {}
    name = next(iter(state), None)
    current = state.get(name) or {}
    last = (cstatus.get('lastState') or {}).get('terminated') or {}
    return {
        'name': cstatus.get('name'),
        'init': cstatus.get('name') in init_names,
        'ready': bool(cstatus.get('ready')),
        'state': name or 'unknown',
        'reason': current.get('reason'),
        'message': first_line(current.get('message')) or None,
        'exit_code': current.get('exitCode'),
        'restarts': int(cstatus.get('restartCount') or 0),
        'last_exit_code': last.get('exitCode'),
        'last_reason': last.get('reason'),
    }


def _container_problem(entry):
    """One phrase for a container that is not running and ready, or None."""
    if entry['state'] == 'running' and (entry['ready'] or entry['init']):
        return None
    if entry['state'] == 'terminated' and entry['init'] and entry['exit_code'] == 0:
        return None
    words = [entry['name'], entry['state']]
    if entry['reason']:
        words.append(entry['reason'])
    if entry['state'] == 'terminated' and entry['exit_code'] is not None:
        words.append('exit code {0}'.format(entry['exit_code']))
    extra = []
    if entry['restarts']:
        extra.append('{0} restart{1}'.format(entry['restarts'], '' if entry['restarts'] == 1 else 's'))
    if entry['last_exit_code'] is not None:
        extra.append('last exit code {0}{1}'.format(
            entry['last_exit_code'], ' ' + entry['last_reason'] if entry['last_reason'] else ''))
    text = ' '.join(words)
    if extra:
        text += ' (' + ', '.join(extra) + ')'
    if entry['state'] == 'running' and not entry['ready']:
        text = '{0} running, not ready'.format(entry['name']) + (' (' + ', '.join(extra) + ')' if extra else '')
    if entry['message']:
        text += ': ' + entry['message']
    return text


def _event_line(event):
    count = event_count(event)
    return '{0}{1}: {2}'.format(event.get('reason') or 'Event', ' (x{0})'.format(count) if count > 1 else '',
                                first_line(event.get('message')))


def _hints(texts):
    found = {}
    for hint_id, pattern, _cause, _fix in HINTS:
        for text in texts:
            match = pattern.search(text or '')
            if match:
                found[hint_id] = text.strip()
                break
    hints = []
    for hint_id, _pattern, cause, fix in HINTS:
        if hint_id not in found or _SUBSUMED.get(hint_id) in found:
            continue
        hints.append({'id': hint_id, 'cause': cause, 'fix': fix, 'evidence': found[hint_id]})
    return hints


def _log_container(pod, containers):
    """The container whose log explains the pod: the first one in trouble, else the first one."""
    for entry in containers:
        if _container_problem(entry):
            return entry['name']
    names = [c.get('name') for c in (pod.get('spec') or {}).get('containers') or []]
    return names[0] if names else (containers[0]['name'] if containers else None)


def _pod_entry(pod, events, logs, max_events):
    meta = _meta(pod)
    name = meta.get('name')
    status = pod.get('status') or {}
    init_names = {c.get('name') for c in (pod.get('spec') or {}).get('initContainers') or []}
    init_names |= {c.get('name') for c in status.get('initContainerStatuses') or []}
    containers = [_container(c, init_names) for c in container_statuses(pod)]
    pod_events = [e for e in sorted_events(events)
                  if ((e.get('involvedObject') or e.get('regarding') or {}).get('name')) == name]
    event_lines = [_event_line(e) for e in pod_events][-max_events:]
    log = (logs or {}).get(name)
    if isinstance(log, list):
        log = '\n'.join(log)
    log_lines = tail(log, 20)
    texts = (log_lines + state_texts(pod) + [e.get('message') or '' for e in pod_events]
             + [c['reason'] for c in containers if c['reason']])
    problems = [p for p in (_container_problem(c) for c in containers) if p]
    phase = status.get('phase') or 'Pending'
    ready = _pod_ready(pod)
    if not containers and phase == 'Pending':
        for cond in status.get('conditions') or []:
            if cond.get('type') == 'PodScheduled' and cond.get('status') == 'False':
                problems.append('not scheduled: ' + (first_line(cond.get('message')) or cond.get('reason') or '?'))
    return {
        'node': (pod.get('spec') or {}).get('nodeName') or _UNSCHEDULED,
        'pod': name,
        'phase': phase,
        'ready': ready,
        'containers': containers,
        'problems': problems,
        'events': event_lines,
        'warnings': [_event_line(e) for e in pod_events if e.get('type') == 'Warning'][-max_events:],
        'hints': _hints(texts),
        'log_container': _log_container(pod, containers),
        'log_tail': log_lines,
    }


def _tolerates(tolerations, taint):
    for tol in tolerations:
        if tol.get('effect') and tol.get('effect') != taint.get('effect'):
            continue
        operator = tol.get('operator') or 'Equal'
        if not tol.get('key') and operator == 'Exists':
            return True
        if tol.get('key') != taint.get('key'):
            continue
        if operator == 'Exists' or tol.get('value', '') == taint.get('value', ''):
            return True
    return False


def _term_matches(term, node):
    labels = _meta(node).get('labels') or {}
    for expr in term.get('matchExpressions') or []:
        key, operator, values = expr.get('key'), expr.get('operator'), expr.get('values') or []
        value = labels.get(key)
        if operator == 'In' and value not in values:
            return False
        if operator == 'NotIn' and value in values:
            return False
        if operator == 'Exists' and key not in labels:
            return False
        if operator == 'DoesNotExist' and key in labels:
            return False
        if operator in ('Gt', 'Lt'):
            try:
                ok = int(value) > int(values[0]) if operator == 'Gt' else int(value) < int(values[0])
            except (TypeError, ValueError, IndexError):
                ok = False
            if not ok:
                return False
    for expr in term.get('matchFields') or []:
        if expr.get('key') == 'metadata.name':
            inside = _meta(node).get('name') in (expr.get('values') or [])
            if inside != (expr.get('operator') == 'In'):
                return False
    return True


def _expr_text(term):
    parts = []
    for expr in (term.get('matchExpressions') or []) + (term.get('matchFields') or []):
        values = expr.get('values') or []
        parts.append('{0} {1}{2}'.format(expr.get('key'), expr.get('operator'),
                                         ' ' + ','.join(values) if values else ''))
    return ' and '.join(parts)


def why_no_pod(workload, node):
    """Why a DaemonSet has no pod on a node: its node selector, node affinity or an untolerated taint."""
    if not node:
        return 'not a node of this cluster (check the Kubernetes node name of this host)'
    spec = _template_spec(workload)
    labels = _meta(node).get('labels') or {}
    reasons = []
    for key, value in sorted((spec.get('nodeSelector') or {}).items()):
        if labels.get(key) != value:
            reasons.append('node lacks label {0}={1} (nodeSelector)'.format(key, value))
    required = ((spec.get('affinity') or {}).get('nodeAffinity') or {}).get(
        'requiredDuringSchedulingIgnoredDuringExecution') or {}
    terms = required.get('nodeSelectorTerms') or []
    if terms and not any(_term_matches(term, node) for term in terms):
        reasons.append('node does not match the node affinity ({0})'.format(
            ' or '.join(_expr_text(t) for t in terms)))
    tolerations = list(spec.get('tolerations') or []) + list(_DAEMON_TOLERATIONS)
    if spec.get('hostNetwork'):
        tolerations.append(_HOST_NETWORK_TOLERATION)
    for taint in (node.get('spec') or {}).get('taints') or []:
        if taint.get('effect') in ('NoSchedule', 'NoExecute') and not _tolerates(tolerations, taint):
            reasons.append('untolerated taint {0}{1}:{2}'.format(
                taint.get('key'), '=' + taint['value'] if taint.get('value') else '', taint.get('effect')))
    if not reasons:
        return 'no pod yet: the node matches, the DaemonSet controller has not created its pod'
    return '; '.join(reasons)


def _node_name(entry):
    return entry.get('node') if isinstance(entry, dict) else entry


# Lines of a pod's log shown on its line of the diagnosis.
_LOG_LINES = 3


def _node_line(entry):
    if entry['pod'] is None:
        return '{0}: no pod: {1}'.format(entry['node'], entry['problem'])
    head = '{0}: pod {1} {2}{3}'.format(entry['node'], entry['pod'], entry['phase'],
                                        ', ready' if entry['ready'] else ', not ready')
    parts = [head]
    if entry['problems']:
        parts.append('; '.join(entry['problems']))
    if entry.get('warnings') and not entry['ready']:
        parts.append('events: ' + ' | '.join(entry['warnings']))
    for hint in entry['hints']:
        if entry['ready'] and hint['id'] != 'no_devices':
            continue
        parts.append('{0}: {1}. Fix: {2}'.format(hint['id'], hint['cause'], hint['fix']))
    # What the container in trouble said last: an exit code alone (127, 1) does not say why.
    log = [line.strip() for line in entry.get('log_tail') or [] if line.strip()]
    if log and not entry['ready']:
        parts.append('{0} log: {1}'.format(entry.get('log_container') or 'its', ' | '.join(log[-_LOG_LINES:])))
    return ' - '.join(parts)


def rollout_diagnosis(workload, pods=None, events=None, *, logs=None, nodes=None, expected_nodes=None,
                      max_events=3):
    """Whether a DaemonSet or Deployment is rolled out and, per node, what its pod shows.

    ``workload`` is the object as k8s_info returns it (an empty dict when it is absent).
    ``pods`` may hold any pods of the namespace: those the workload's selector does not
    match are left out. ``events`` are the namespace's events (only those about the
    workload and its pods are used), ``logs`` maps pod name to a log tail, ``nodes`` are
    the cluster's Node objects (to explain a node without a pod) and ``expected_nodes``
    the names (or node plan entries) the workload must cover.

    Returns ``ready``, ``summary`` (one line), ``nodes`` (one entry per node with a
    pod or expected to have one), ``selector``, ``counts``, ``lines`` and ``message``.
    """
    workload = workload or {}
    meta = _meta(workload)
    kind = workload.get('kind') or 'DaemonSet'
    title = '{0} {1}/{2}'.format(kind, meta.get('namespace') or '-', meta.get('name') or '?')
    expected = [n for n in (_node_name(e) for e in expected_nodes or []) if n]
    if not workload.get('spec') and not workload.get('status'):
        ready, summary, blockers, counts = False, 'not found', ['it does not exist'], {}
    elif kind == 'Deployment':
        ready, summary, blockers, counts = _rolled_out_deployment(workload)
    else:
        ready, summary, blockers, counts = _rolled_out_daemonset(workload, len(expected))

    selector = ((workload.get('spec') or {}).get('selector')) or {}
    owned = [p for p in pods or [] if selector and _selector_matches(selector, _meta(p).get('labels'))]
    entries = sorted((_pod_entry(p, events, logs, max_events) for p in owned),
                     key=lambda e: (e['node'] == _UNSCHEDULED, e['node'], e['pod'] or ''))
    by_name = {_meta(n).get('name'): n for n in nodes or []}
    covered = {e['node'] for e in entries}
    # A Deployment's replicas go where the scheduler puts them; only a DaemonSet owes each node a pod.
    for name in expected if kind == 'DaemonSet' else []:
        if name not in covered:
            problem = why_no_pod(workload, by_name.get(name)) if meta else 'the DaemonSet does not exist'
            entries.append({'node': name, 'pod': None, 'phase': None, 'ready': False, 'containers': [],
                            'problems': [problem], 'problem': problem, 'events': [], 'warnings': [], 'hints': [],
                            'log_container': None, 'log_tail': []})
    workload_events = [_event_line(e) for e in sorted_events(events)
                       if (e.get('involvedObject') or e.get('regarding') or {}).get('name') == meta.get('name')
                       and e.get('type') == 'Warning'][-max_events:]

    not_ready = [e['node'] for e in entries if not e['ready']]
    line = '{0}: {1}'.format(title, 'rolled out, ' + summary if ready else 'not ready: ' + summary)
    if not ready:
        extra = [b for b in blockers if b not in summary]
        if extra:
            line += '; ' + '; '.join(extra)
        if not_ready:
            line += '; not ready on ' + ', '.join(not_ready)
    lines = [line]
    if workload_events and not ready:
        lines.append('{0}: {1}'.format(meta.get('name') or kind, ' | '.join(workload_events)))
    lines += [_node_line(e) for e in entries]
    return {
        'ready': ready,
        'kind': kind,
        'name': meta.get('name'),
        'namespace': meta.get('namespace'),
        'summary': line,
        'counts': counts,
        'selector': label_selector(workload),
        'nodes': entries,
        'workload_events': workload_events,
        'lines': lines,
        'message': '\n'.join(lines),
    }
