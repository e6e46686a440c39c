# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide what a GPU test pod proved, from what the API server and the pod's log said.

Pure: a Pod object, its events and its log in; one verdict out. The validate
role does the I/O (kubernetes.core k8s_info and k8s_log) and hands the results
here, so every failure the cluster can show is tested without a cluster.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _pod_status

# Shared with the rollout diagnosis (_rollout): how a pod's status and events are read.
IMAGE_PULL_REASONS = _pod_status.IMAGE_PULL_REASONS
_RUNTIME_MISSING = _pod_status.RUNTIME_MISSING
_RUNTIMECLASS_MISSING = _pod_status.RUNTIMECLASS_MISSING
_CDI_UNRESOLVABLE = _pod_status.CDI_UNRESOLVABLE
_NVML = _pod_status.NVML
_statuses = _pod_status.container_statuses
_state_texts = _pod_status.state_texts
_event_texts = _pod_status.event_texts
_first_line = _pod_status.first_line
_tail = _pod_status.tail
_find = _pod_status.find_first

# nvidia-smi -L: "GPU 0: NVIDIA H200 (UUID: GPU-f7c9...)"; MIG devices are indented below their GPU.
_GPU_LINE = re.compile(r'^GPU\s+(?P<index>\d+):\s+(?P<name>.*?)\s+\(UUID:\s+(?P<uuid>GPU-[0-9A-Fa-f-]+)\)\s*$')
_MIG_LINE = re.compile(r'^\s+MIG\s+(?P<profile>\S+)\s+Device\s+(?P<index>\d+):\s+\(UUID:\s+(?P<uuid>MIG-[^)\s]+)\)\s*$')

# The scheduler says "Insufficient"; the kubelet, admitting a pod bound to it directly, says "OutOf".
_INSUFFICIENT = re.compile(r'(?:Insufficient |OutOf)(?P<resource>nvidia\.com/[\w.-]+)')
# What NVIDIA's CUDA vectorAdd sample prints on success (and what the GPU host's own test program,
# tests/gpu/vectoradd.cu, prints with it): the vector add passed only where the log has this line.
VECTOR_ADD_PASSED = 'Test PASSED'
# The kubelet, when the DRA driver could not prepare a claim's devices on the node.
_PREPARE_FAILED = re.compile(r'NodePrepareResources failed[^:]*: (?P<why>[^\n]+)')
# The scheduler's DRA plugin, when no ResourceSlice offers what the pod's claim asks for on its node.
_UNALLOCATABLE = re.compile(
    r'cannot allocate all claims|(?:resource ?claim|claim)[^.\n]*(?:unallocatable|not (?:be )?allocat)', re.IGNORECASE)

REASONS = {
    'passed': 'nvidia-smi saw the GPUs gpu_facts reported',
    'pod_missing': 'the test pod does not exist',
    'insufficient_gpu': (
        'the scheduler found no node with enough nvidia.com/gpu: the device plugin is not advertising'),
    'claim_unallocatable': (
        'the scheduler could not allocate the pod\'s ResourceClaim: no gpu.nvidia.com ResourceSlice offers these GPUs '
        'on the node'),
    'claim_mismatch': 'nvidia-smi saw other GPUs than the ResourceClaim was allocated',
    'claim_prepare_failed': 'the DRA driver could not prepare the claim\'s GPUs on the node',
    'unschedulable': 'the scheduler could not place the pod on its node',
    'runtimeclass_missing': 'the pod asks for a RuntimeClass the cluster does not have',
    'runtime_handler_missing': 'the node\'s container runtime has no handler for the RuntimeClass: runtime config',
    'cdi_unresolvable': 'the container runtime could not resolve the CDI device: CDI spec missing on the node',
    'image_pull': 'the test image could not be pulled',
    'nvml_init': 'NVML could not initialize in the container: driver not reachable from it',
    'gpu_count_mismatch': 'nvidia-smi saw a different number of GPUs than gpu_facts reported',
    'uuid_mismatch': 'nvidia-smi saw GPUs other than those gpu_facts reported',
    'vector_add_failed': 'the CUDA vectorAdd sample did not pass',
    'pod_failed': 'the test container failed',
    'timeout': 'the pod did not finish in time',
}

_FIXES = {
    'insufficient_gpu': (
        'Check the device plugin pod on this node (its log is below) and the node\'s nvidia.com/gpu capacity.'),
    'claim_unallocatable': (
        'Check the DRA driver\'s kubelet plugin on this node (its state and log are below) and its ResourceSlice '
        '(kubectl get resourceslices).'),
    'claim_mismatch': 'The container got other GPUs than the claim names: check the node\'s CDI specs in /var/run/cdi.',
    'claim_prepare_failed': (
        'Read the kubelet plugin\'s message below. "empty device edits": no device nodes under nvidiaDriverRoot\'s '
        'dev/ (dra_driver_driver_root: / for a driver installed on the host).'),
    'unschedulable': 'Read the scheduler message below: taints, node selector or node readiness.',
    'runtimeclass_missing': 'Deploy the RuntimeClass (device_plugin_runtime_class) or use kubegpu_runtime_mode: cdi.',
    'runtime_handler_missing': (
        'Add the nvidia runtime to the node\'s containerd/CRI-O config (container_runtime role) and restart it.'),
    'cdi_unresolvable': 'Generate the node\'s CDI spec (cdi_spec) so /etc/cdi or /var/run/cdi holds nvidia.com/gpu.',
    'image_pull': 'Make the image reachable from the node or set validate_image to a mirror.',
    'nvml_init': 'The driver is not injected into the container, or its libraries differ from the loaded module.',
    'gpu_count_mismatch': (
        'Compare the device plugin\'s advertised count with gpu_facts; a GPU may be hidden or fallen off the bus.'),
    'uuid_mismatch': 'The pod ran on other GPUs than gpu_facts saw: check kubegpu_node_name maps to this host.',
    'vector_add_failed': 'CUDA could not run a kernel: check the driver and the CUDA version the image needs.',
    'pod_failed': 'Read the container log below.',
    'timeout': 'Raise validate_timeout, or read the events below.',
    'pod_missing': 'The pod was deleted before it finished: run the validation again.',
}


def parse_nvidia_smi_list(text):
    """Parse ``nvidia-smi -L``: one dict per GPU (index, name, uuid, mig devices), in order."""
    gpus = []
    for line in (text or '').splitlines():
        match = _GPU_LINE.match(line.rstrip())
        if match:
            gpus.append({'index': int(match.group('index')), 'name': match.group('name'),
                         'uuid': match.group('uuid'), 'mig_devices': []})
            continue
        match = _MIG_LINE.match(line.rstrip())
        if match and gpus:
            gpus[-1]['mig_devices'].append({'profile': match.group('profile'),
                                            'index': int(match.group('index')), 'uuid': match.group('uuid')})
    return gpus


def _exit_codes(pod):
    codes = []
    for cstatus in _statuses(pod):
        term = (cstatus.get('state') or {}).get('terminated') or {}
        if term.get('exitCode'):
            codes.append('{0} exited {1}{2}'.format(
                cstatus.get('name'), term['exitCode'], ' (' + term['reason'] + ')' if term.get('reason') else ''))
    return codes


def _judge_finished(pod, *, phase, seen, want_count, want_uuids, log, vector_add, event_texts, done, allocated=None):
    """A pod that ran to its end: compare what nvidia-smi listed with gpu_facts."""
    log_tail = ['log: ' + line for line in _tail(log)]
    if phase == 'Succeeded':
        if len(seen) != want_count:
            return done('gpu_count_mismatch', 'expected {0}, nvidia-smi -L listed {1}'.format(want_count, len(seen)),
                        log_tail)
        got = sorted(g['uuid'] for g in seen)
        if want_uuids and got != want_uuids:
            missing = sorted(set(want_uuids) - set(got))
            extra = sorted(set(got) - set(want_uuids))
            return done('uuid_mismatch', 'missing {0}, unexpected {1}'.format(
                ', '.join(missing) or 'none', ', '.join(extra) or 'none'), log_tail)
        if allocated is not None and got != sorted(allocated):
            return done('claim_mismatch', 'the claim holds {0}, nvidia-smi -L listed {1}'.format(
                ', '.join(sorted(allocated)) or 'nothing', ', '.join(got) or 'nothing'), log_tail)
        if vector_add and VECTOR_ADD_PASSED not in (log or ''):
            return done('vector_add_failed', None, log_tail)
        return done('passed', '{0} GPU{1}'.format(len(seen), '' if len(seen) == 1 else 's'))
    codes = _exit_codes(pod)
    if vector_add and seen and VECTOR_ADD_PASSED not in (log or ''):
        return done('vector_add_failed', '; '.join(codes) or None, log_tail)
    return done('pod_failed', '; '.join(codes) or _first_line((pod.get('status') or {}).get('message')) or None,
                log_tail + event_texts[-3:])


def pod_verdict(pod, expected, *, log=None, events=None, plugin_log=None, vector_add=False, timed_out=False,
                allocated=None, plugin='device plugin'):
    """Return what one node's test pod proved.

    ``expected`` is that node's entry of the node plan (node, gpu_count, uuids).
    ``log`` is the test container's log (``nvidia-smi -L``, then vectorAdd when
    ``vector_add``); ``plugin_log`` the device plugin's log on that node, shown as
    evidence when the scheduler finds no GPUs (``plugin`` names it: the DRA driver's
    kubelet plugin with that stack). ``allocated``: with the DRA driver, the
    UUIDs the pod's ResourceClaim was allocated, which nvidia-smi must list
    exactly. The result carries ``ok``,
    ``reason`` (an id of REASONS), ``message`` (one line) and ``evidence`` (lines).
    """
    expected = expected or {}
    node = expected.get('node') or '?'
    want_count = int(expected.get('gpu_count') or 0)
    want_uuids = sorted(u for u in (expected.get('uuids') or []) if u)
    seen = parse_nvidia_smi_list(log)
    result = {
        'node': node, 'ok': False, 'reason': None, 'message': '', 'evidence': [],
        'phase': None, 'gpus_expected': want_count, 'gpus_seen': len(seen),
        'uuids_seen': [g['uuid'] for g in seen],
    }

    def done(reason, detail=None, evidence=()):
        result['reason'] = reason
        result['ok'] = reason == 'passed'
        text = REASONS[reason] + (': ' + detail if detail else '')
        fix = _FIXES.get(reason)
        result['message'] = '{0}: {1}{2}'.format(node, text, ' ' + fix if fix and not result['ok'] else '')
        result['evidence'] = [line for line in evidence if line]
        result['report'] = [result['message']] + ['  {0}'.format(line) for line in result['evidence']]
        return result

    if not pod:
        return done('pod_missing')
    status = pod.get('status') or {}
    phase = status.get('phase') or 'Pending'
    result['phase'] = phase
    event_texts = _event_texts(events)
    state_texts = _state_texts(pod)
    texts = event_texts + state_texts
    log_tail = ['log: ' + line for line in _tail(log)]

    for cstatus in _statuses(pod):
        waiting = (cstatus.get('state') or {}).get('waiting') or {}
        if waiting.get('reason') in IMAGE_PULL_REASONS:
            return done('image_pull', '{0} ({1})'.format(cstatus.get('image') or '?', waiting['reason']),
                        [waiting.get('message')] + event_texts[-3:])

    match, text = _find(_RUNTIMECLASS_MISSING, texts)
    if match:
        return done('runtimeclass_missing', match.group('name'), [text])
    match, text = _find(_RUNTIME_MISSING, texts)
    if match:
        return done('runtime_handler_missing', 'handler "{0}"'.format(match.group('handler')), [text])
    match, text = _find(_CDI_UNRESOLVABLE, texts)
    if match:
        return done('cdi_unresolvable', match.group('devices').strip() or None, [text])
    match, text = _find(_NVML, texts + [log or ''])
    if match:
        return done('nvml_init', match.group(1).strip(), [text if text != log else None] + log_tail)
    match, text = _find(_INSUFFICIENT, texts)
    if match:
        evidence = [text] + ['{0}: {1}'.format(plugin, line) for line in _tail(plugin_log)]
        if not plugin_log:
            evidence.append('{0}: no log (no {0} pod on this node)'.format(plugin))
        # With the DRA driver (allocated is a list), the scheduler says "Insufficient nvidia.com/gpu" for a claim of
        # gpu.nvidia.com (whose extended resource that is) on a node where a device plugin once put the resource at
        # 0 (seen on the test cluster): the claim found no GPU either way.
        return done('claim_unallocatable' if allocated is not None else 'insufficient_gpu', None, evidence)
    match, text = _find(_PREPARE_FAILED, texts)
    if match and phase == 'Pending':
        evidence = [text] + ['{0}: {1}'.format(plugin, line) for line in _tail(plugin_log)]
        return done('claim_prepare_failed', _first_line(match.group('why'))[:300], evidence)
    match, text = _find(_UNALLOCATABLE, texts)
    if match and phase == 'Pending':
        evidence = [text] + ['{0}: {1}'.format(plugin, line) for line in _tail(plugin_log)]
        if not plugin_log:
            evidence.append('{0}: no log (no kubelet plugin pod on this node)'.format(plugin))
        return done('claim_unallocatable', None, evidence)

    if phase in ('Succeeded', 'Failed'):
        return _judge_finished(pod, phase=phase, seen=seen, want_count=want_count, want_uuids=want_uuids, log=log,
                               vector_add=vector_add, event_texts=event_texts, done=done, allocated=allocated)
    for cond in status.get('conditions') or []:
        if cond.get('type') == 'PodScheduled' and cond.get('status') == 'False':
            return done('unschedulable', _first_line(cond.get('message')) or cond.get('reason'), [cond.get('message')])
    if timed_out or phase in ('Pending', 'Running', 'Unknown'):
        return done('timeout', 'still {0}'.format(phase), event_texts[-5:] + state_texts[-3:] + log_tail)
    return done('pod_failed', 'unexpected phase {0}'.format(phase), event_texts[-5:])


def _count(value):
    try:
        return int(str(value)) if value not in (None, '') else None
    except ValueError:
        return None


def gpus_cell(gpus, gpu_count=None, advertised=None, sharing=None, replicas=1):
    """The summary's GPUS cell: ``gpus`` (seen/expected), and with sharing what the node advertises.

    With time-slicing or MPS each GPU is advertised ``replicas`` times: an 8-GPU node with ``replicas: 2``
    reads ``8/8 (16 advertised, time-slicing x2)``. An advertised count that is not ``gpu_count`` times
    ``replicas`` says what it should be, so a GPU missing from the device plugin shows in the summary.
    """
    cell = str(gpus) if gpus not in (None, '') else '-'
    try:
        replicas = max(int(replicas or 1), 1)
    except (TypeError, ValueError):
        replicas = 1
    shared = sharing not in (None, '', 'none') and replicas > 1
    notes = []
    advertised, gpu_count = _count(advertised), _count(gpu_count)
    if advertised is not None and gpu_count is not None:
        want = gpu_count * (replicas if shared else 1)
        differs = '' if advertised == want else ', {0} expected'.format(want)
        notes.append('{0} advertised{1}'.format(advertised, differs))
    elif shared:
        notes.append('advertised count unknown')
    if shared:
        notes.append('{0} x{1}'.format(sharing, replicas))
    return cell + (' ({0})'.format(', '.join(notes)) if notes else '')


def summary_table(rows):
    """Render the run's summary as aligned text lines.

    ``rows``: dicts with node, gpus, driver, runtime, mode, stack, result (missing keys print ``-``); with
    ``advertised`` (the node's nvidia.com/gpu capacity), ``gpu_count``, ``sharing`` and ``replicas`` the
    GPUS cell also tells the advertised count (see gpus_cell).
    """
    columns = (('node', 'NODE'), ('gpus', 'GPUS'), ('driver', 'DRIVER'), ('runtime', 'RUNTIME'),
               ('mode', 'MODE'), ('stack', 'STACK'), ('result', 'VALIDATION'))
    table = [[title for dummy, title in columns]]
    for row in rows or []:
        cells = dict(row, gpus=gpus_cell(row.get('gpus'), row.get('gpu_count'), row.get('advertised'),
                                         row.get('sharing'), row.get('replicas')))
        table.append([str(cells.get(key)) if cells.get(key) not in (None, '') else '-' for key, dummy in columns])
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    lines = []
    for index, line in enumerate(table):
        lines.append('  '.join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if index == 0:
            lines.append('  '.join('-' * w for w in widths))
    return lines


POD_NAME_PREFIX = 'kubegpu-validate-'
# A pod's name becomes its host name: a DNS-1123 label (RFC 1123), at most 63 characters.
_LABEL = re.compile(r'^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$')
_POD_NAME_MAX = 63


def pod_name(node, prefix=POD_NAME_PREFIX):
    """The test pod's name for ``node``: ``prefix`` + the node name where that is a valid name.

    Any other node name (upper case, spaces, unicode, too long) keeps what it
    has of lower-case letters, digits and hyphens, plus a hash of the whole
    name, so two nodes never share a pod name.
    """
    node = '' if node is None else str(node)
    plain = prefix + node
    if node and _LABEL.match(plain) and len(plain) <= _POD_NAME_MAX:
        return plain
    digest = hashlib.sha256(node.encode('utf-8', 'surrogatepass')).hexdigest()[:10]
    kept = re.sub(r'-+', '-', re.sub(r'[^a-z0-9-]', '-', node.lower())).strip('-')
    room = _POD_NAME_MAX - len(prefix) - len(digest) - 1
    kept = kept[:room].rstrip('-')
    return '{0}{1}{2}'.format(prefix, kept + '-' if kept else '', digest)
