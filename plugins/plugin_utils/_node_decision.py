# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each node needs, decided once; and the cluster's view of those decisions.

Pure: a node's ``ansible_facts.nvidia`` (kubegpu.nvidia.gpu_facts) and the
user's inputs in, one record out. The decision stage (the ``decide`` entry
point of the preflight role) records it once per node as ``kubegpu_node``;
every later role and playbook reads the record, and none derives a part of it
again. ``cluster_plan`` reduces the records of the GPU nodes to what the
cluster stage deploys (one stack, one mode, one driver root).

This module is the only place that knows:

* which runtime a node's kubelet and GPU containers use (containerd or CRI-O);
* the precedence of the mode inputs: ``container_runtime_mode`` (per node),
  else ``kubegpu_runtime_mode`` (collection-wide), else decided from the
  runtime (CDI where it supports it, the ``nvidia`` handler on containerd 1.6);
* which cgroup driver the runtime, and so kubelet, uses.
"""

from __future__ import annotations

import tomllib

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import runtime_cgroups
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.parsers import ParseError
from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import (
    CONFIGS,
    CONTAINERD_CDI_SINCE,
    DEFAULT_CGROUP_DRIVERS,
    LABELS,
    RUNTIMES,
    SOCKETS,
    format_version,
    parse_version,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _dra

MODES = ('cdi', 'runtime', 'cdi_handler')
STACKS = ('device_plugin', 'gpu_operator', 'dra')
CGROUP_DRIVERS = ('systemd', 'cgroupfs')
# What each mode turns on: CDI in the runtime's CRI, and the `nvidia` runtime
# handler (nvidia-container-runtime). The record carries both flags, so a mode
# that needs both (the GPU Operator's components next to CDI) is one more row:
# cdi_handler, CDI on and the `nvidia` handler beside it.
MODE_FEATURES = {'cdi': {'cdi': True, 'handler': False}, 'runtime': {'cdi': False, 'handler': True},
                 'cdi_handler': {'cdi': True, 'handler': True}}


# What serves the GPU nodes of each stack, as the refusals name it.
_SERVED_BY = {'device_plugin': 'device plugin DaemonSet', 'gpu_operator': 'GPU Operator',
              'dra': 'DRA driver (one nvidiaDriverRoot)'}


class DecisionError(ValueError):
    """The inputs cannot be met on this node; the message names the variable and the fix."""


def _text(value):
    return '' if value is None else str(value).strip()


def _on(host):
    return ' on {0}'.format(host) if host else ''


def _bool(value, default):
    if value is None or value == '':
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ('1', 'true', 'yes', 'on')


def _choose_runtime(runtimes, requested, install, host):
    """(runtime, present, to_install, source); runtime None on a node that has none and gets none."""
    installed = [name for name in RUNTIMES if (runtimes.get(name) or {}).get('installed')]
    if requested:
        if requested not in RUNTIMES:
            raise DecisionError(
                'container_runtime_name is {0!r}; expected containerd, crio, or empty to detect it from '
                'ansible_facts.nvidia.runtimes'.format(requested))
        if requested in installed:
            return requested, True, False, 'container_runtime_name'
        if requested == 'containerd' and not installed and install:
            return requested, False, True, 'container_runtime_name; the OS\'s containerd package is installed'
        if requested == 'crio':
            fix = ('install CRI-O first (its packages come from pkgs.k8s.io), or leave container_runtime_name empty'
                   + (' to use the {0} that is there'.format(LABELS[installed[0]]) if installed
                      else ' to have containerd installed'))
        else:
            fix = ('install containerd first, or set container_runtime_install: true to have the OS\'s package '
                   'installed' if not installed else 'install containerd first, or set container_runtime_name: crio '
                   'to use the CRI-O that is there')
        raise DecisionError('container_runtime_name is {0}, but{1} there is no {2}: {3}'.format(
            requested, _on(host), LABELS[requested], fix))
    if len(installed) > 1:
        raise DecisionError(
            'Both containerd and CRI-O are installed{0}: set container_runtime_name to the one kubelet '
            'uses (containerd or crio), in the host\'s or its group\'s variables'.format(_on(host)))
    if installed:
        return installed[0], True, False, 'the only runtime installed'
    if install:
        return 'containerd', False, True, 'none installed: the OS\'s containerd package is installed'
    return None, False, False, 'neither containerd nor CRI-O is installed (container_runtime_install is false)'


def _decide_mode(runtime, version, node_mode, fleet_mode, host):
    """(mode, why): the node's request, else the collection's, else what the runtime supports."""
    requests = (('container_runtime_mode', node_mode), ('kubegpu_runtime_mode', fleet_mode))
    for variable, value in requests:
        if value and value not in MODES:
            raise DecisionError(
                '{0} is {1!r}; expected cdi, runtime, cdi_handler, or empty to decide from the node\'s container '
                'runtime'.format(variable, value))
    for variable, value in requests:
        if not value:
            continue
        parsed = parse_version(version) if runtime == 'containerd' else None
        if MODE_FEATURES[value]['cdi'] and parsed is not None and parsed[:2] < CONTAINERD_CDI_SINCE:
            raise DecisionError(
                '{0} is {3}, but containerd {1}{2} has no CDI support (it came with containerd 1.7): upgrade '
                'containerd, or set {0}: runtime (nvidia-container-runtime as the handler)'.format(
                    variable, version, _on(host), value))
        return value, '{0} mode, as {1} asks'.format(value, variable)
    if runtime == 'containerd':
        parsed = parse_version(version)
        if parsed is None:
            return 'cdi', ('cdi mode; version unknown, taken as 1.7 or later '
                           '(set container_runtime_containerd_version otherwise)')
        if parsed[:2] < CONTAINERD_CDI_SINCE:
            return 'runtime', 'runtime mode, since CDI support came with containerd 1.7'
    return 'cdi', 'cdi mode, which it supports'


def _decide_cgroup_driver(runtime, runtime_facts, installed_here, init_systemd, requested=''):
    """(driver, why): the runtime's own choice is kept; a runtime this run installs gets ``requested``
    (container_runtime_cgroup_driver), else systemd where systemd is init.

    A node whose Python has no tomllib sends its runtime's configuration
    texts (``config_texts``) instead of a driver: they are parsed here, by the
    same rules gpu_facts applies on the node.
    """
    if installed_here and requested:
        return requested, '{0}, as container_runtime_cgroup_driver asks, for the containerd this run installs'.format(
            requested)
    if installed_here:
        driver = 'systemd' if init_systemd else 'cgroupfs'
        why = ('systemd, as Kubernetes recommends where systemd is init, for the containerd this run installs'
               if init_systemd else 'cgroupfs, since systemd is not init on this node')
        return driver, why
    label = LABELS[runtime]
    found = _text(runtime_facts.get('cgroup_driver'))
    if found in CGROUP_DRIVERS:
        return found, '{0}, from {1}\'s configuration (kept as the node\'s owner set it)'.format(found, label)
    default = DEFAULT_CGROUP_DRIVERS[runtime]
    texts = runtime_facts.get('config_texts')
    if texts:
        try:
            found = _cgroup_driver_from_texts(runtime, texts)
        except _UnreadableText as exc:
            return default, ('{0}, {1}\'s default: the controller could not read {2}, which gpu_facts sent since '
                             'the node\'s Python has no tomllib ({3})'.format(default, label, exc.path, exc.reason))
        return found, ('{0}, from {1}\'s configuration ({2}, parsed on the controller since the node\'s Python '
                       'has no tomllib; kept as the node\'s owner set it)'.format(
                           found, label, ', '.join(entry['path'] for entry in texts)))
    return default, '{0}, {1}\'s default (its configuration did not say)'.format(default, label)


def _refuse_a_containerd_without_runtime(runtime, runtime_facts, installed_here, host):
    """DecisionError where the node's containerd (not one this run installs) cannot start a container."""
    if runtime != 'containerd' or installed_here:
        return
    refusal = _containerd_runtime_refusal(runtime_facts, host)
    if refusal:
        raise DecisionError(refusal)


def _containerd_runtime_refusal(runtime_facts, host):
    """Why the node's containerd cannot start a container, from its ``config dump``; None where it can or it is unknown.

    gpu_facts reads the default runtime off the dump (``default_runtime``); a
    node whose Python has no tomllib sends the dump itself (``config_texts``).
    """
    default = runtime_facts.get('default_runtime')
    if not isinstance(default, dict):
        texts = runtime_facts.get('config_texts')
        entry = texts[0] if isinstance(texts, list) and len(texts) == 1 and isinstance(texts[0], dict) else {}
        if entry.get('path') != runtime_cgroups.CONFIG_DUMP_PATH or not isinstance(entry.get('text'), str):
            return None
        try:
            default = runtime_cgroups.containerd_default_runtime_from_data(tomllib.loads(entry['text']))
        except (tomllib.TOMLDecodeError, ParseError):
            return None  # the cgroup driver's reading says what is wrong with the text
    if _text(default.get('runtime_type')):
        return None
    return ('containerd{0} cannot start any container: its default runtime {1!r} has no runtime_type in '
            '`containerd config dump` ({2}), so every pod fails with "container.Runtime.Name must be set". '
            'A runtimes.{1} table in {3} replaces containerd\'s built-in {1} whole (before containerd 2.1): '
            'add runtime_type = "io.containerd.runc.v2" to [{2}] there (beside its options), or remove the table, '
            'then restart containerd'.format(
                _on(host), _text(default.get('name')) or 'runc', _text(default.get('table')),
                _text(runtime_facts.get('config_path')) or CONFIGS['containerd']))


class _UnreadableText(ValueError):
    def __init__(self, path, reason):
        super().__init__('{0}: {1}'.format(path, reason))
        self.path = path
        self.reason = reason


def _cgroup_driver_from_texts(runtime, texts):
    """The driver from gpu_facts' ``config_texts`` ([{path, text}] in the order the runtime applies them)."""
    files = []
    for index, entry in enumerate(texts if isinstance(texts, list) else [texts]):
        path = entry.get('path') if isinstance(entry, dict) else None
        text = entry.get('text') if isinstance(entry, dict) else None
        if not isinstance(path, str) or not isinstance(text, str):
            raise _UnreadableText('config_texts[{0}]'.format(index), 'expected a path and a text, as gpu_facts '
                                  'sends them; run kubegpu.nvidia.gpu_facts again')
        try:
            data = tomllib.loads(text)
            if runtime == 'crio':
                runtime_cgroups.crio_cgroup_manager_from_data(data)  # a value CRI-O refuses names its file
        except tomllib.TOMLDecodeError as exc:
            raise _UnreadableText(path, 'not valid TOML: {0}'.format(exc)) from exc
        except ParseError as exc:
            raise _UnreadableText(path, str(exc)) from exc
        files.append((path, data))
    if runtime == 'crio':
        return runtime_cgroups.crio_cgroup_driver_from_data([data for dummy, data in files])
    if len(files) != 1:
        raise _UnreadableText('config_texts', 'expected one text for containerd, found {0}'.format(len(files)))
    path, data = files[0]
    try:
        return runtime_cgroups.containerd_cgroup_driver_from_data(
            data, dump=path == runtime_cgroups.CONFIG_DUMP_PATH)
    except ParseError as exc:
        raise _UnreadableText(path, str(exc)) from exc


def decide_node(facts, inputs=None, *, host='', node_name=''):
    """Return the record ``kubegpu_node`` of one node.

    ``facts``: the node's ``ansible_facts.nvidia``. ``inputs`` (every key optional):
    ``runtime`` (container_runtime_name), ``node_mode`` (container_runtime_mode),
    ``mode`` (kubegpu_runtime_mode), ``containerd_version``
    (container_runtime_containerd_version), ``install`` (container_runtime_install:
    a node without a runtime gets the OS's containerd), ``installed_runtime``
    (the runtime the install step installed in this run), ``cgroup_driver``
    (container_runtime_cgroup_driver: the driver of a containerd this run installs),
    ``stack`` (kubegpu_gpu_stack), ``manage_driver``, ``manage_runtime``.

    Raises DecisionError, naming the variable and the fix, for an unknown
    input, a node with both runtimes and no choice, a GPU node with no runtime
    that gets none, CRI-O asked for where there is no runtime, CDI asked
    for on containerd older than 1.7, and a containerd whose default runtime
    has no runtime_type (it starts no container).
    """
    facts = facts if isinstance(facts, dict) else {}
    inputs = inputs or {}
    if 'gpu_count' not in facts:
        raise DecisionError(
            'host {0} has no ansible_facts.nvidia; run kubegpu.nvidia.gpu_facts (the preflight role) on it '
            'first'.format(host or '(unnamed)'))
    stack = _text(inputs.get('stack')) or 'device_plugin'
    if stack not in STACKS:
        raise DecisionError('kubegpu_gpu_stack is {0!r}; expected one of {1}'.format(stack, ', '.join(STACKS)))
    gpu_count = int(facts.get('gpu_count') or 0)
    runtimes = facts.get('runtimes') or {}
    installed_now = _text(inputs.get('installed_runtime'))
    runtime, present, to_install, source = _choose_runtime(
        runtimes, _text(inputs.get('runtime')), _bool(inputs.get('install'), True), host)
    gpus = facts.get('gpus') or []
    driver = facts.get('driver') or {}
    record = {
        'host': host,
        'node': _text(node_name) or host,
        'gpu_count': gpu_count,
        'uuids': [g.get('uuid') for g in gpus if g.get('uuid')],
        'gpu_names': sorted({g.get('name') or g.get('product_name') or 'unknown' for g in gpus}),
        'driver_version': driver.get('version'),
        'driver_root': (facts.get('driver_root') or {}).get('root') or '/',
        'mig_enabled': bool((facts.get('mig') or {}).get('enabled_count')),
        # The distribution (/etc/os-release ID and VERSION_ID), which the GPU Operator reads off node labels.
        'os_id': _text((facts.get('os') or {}).get('id')) or None,
        'os_version_id': _text((facts.get('os') or {}).get('version_id')) or None,
        'stack': stack,
        'manage_driver': _bool(inputs.get('manage_driver'), True),
        'manage_runtime': _bool(inputs.get('manage_runtime'), True),
    }
    if runtime is None:
        if gpu_count:
            raise DecisionError(
                'Neither containerd nor CRI-O is installed{0} (gpu_facts found none): set '
                'container_runtime_install: true to have containerd installed, or install a runtime '
                'first'.format(_on(host)))
        record.update(runtime=None, runtime_version=None, runtime_label=None, runtime_present=False,
                      runtime_install=False,
                      socket=None, config=None, cgroup_driver=None, dev_char_links=False, mode=None, cdi=False,
                      handler=False, reasons=['no container runtime: {0}'.format(source)])
        record['reason'] = record['reasons'][0]
        return record

    runtime_facts = runtimes.get(runtime) or {}
    version = _text(runtime_facts.get('version'))
    override = _text(inputs.get('containerd_version'))
    if runtime == 'containerd' and override:
        if parse_version(override) is None:
            raise DecisionError('container_runtime_containerd_version is {0!r}; expected a version such as '
                                '1.7.24, or empty for the one gpu_facts found'.format(override))
        version = override
    parsed = parse_version(version)
    if runtime == 'containerd' and parsed:
        version = format_version(parsed)
    label = '{0} {1}'.format(LABELS[runtime], version) if version else LABELS[runtime]
    # A host without GPUs needs no mode (unless a *_without_gpu switch installs for GPUs to come).
    wants_mode = bool(gpu_count) or _bool(inputs.get('without_gpu'), False)
    if wants_mode:
        mode, mode_why = _decide_mode(runtime, version, _text(inputs.get('node_mode')), _text(inputs.get('mode')),
                                      host)
    else:
        mode, mode_why = None, 'no mode: no NVIDIA GPU on this node'
    installed_here = to_install or installed_now == runtime
    requested_driver = _text(inputs.get('cgroup_driver'))
    if requested_driver and requested_driver not in CGROUP_DRIVERS:
        raise DecisionError('container_runtime_cgroup_driver is {0!r}; expected systemd, cgroupfs, or empty for '
                            'systemd where systemd is init'.format(requested_driver))
    _refuse_a_containerd_without_runtime(runtime, runtime_facts, installed_here, host)
    cgroup_driver, cgroup_why = _decide_cgroup_driver(
        runtime, runtime_facts, installed_here, _bool(facts.get('init_systemd'), True), requested_driver)
    record.update({
        'runtime': runtime,
        'runtime_version': version or None,
        'runtime_label': label,
        # False where the runtime is not there yet: the install step installs it (runtime_install).
        'runtime_present': present,
        'runtime_install': to_install,
        'socket': SOCKETS[runtime],
        'config': CONFIGS[runtime],
        'cgroup_driver': cgroup_driver,
        # systemd before v240, and runc 1.1.3 to 1.1.6, keep a container's device through a daemon-reload only
        # where /dev/char links it (NVIDIA/nvidia-container-toolkit issue 48); elsewhere the links are harmless.
        'dev_char_links': bool(gpu_count) and cgroup_driver == 'systemd',
        'mode': mode,
        'reasons': ['{0} ({1})'.format(label, source), mode_why, 'cgroup driver ' + cgroup_why],
    })
    record.update(MODE_FEATURES.get(mode, {'cdi': False, 'handler': False}))
    record['reason'] = '{0}: {1}'.format(record['reasons'][0], record['reasons'][1])
    if stack == 'dra':
        refusal = _dra.driver_refusal(record)
        if refusal:
            raise DecisionError(refusal)
    return record


def cluster_plan(records, stack='device_plugin', mode='', removing=False):
    """The cluster stage's view: ``{stack, mode, cdi, handler, runtime, driver_root, nodes, removing}``.

    ``records``: ``(host, kubegpu_node)`` pairs of the GPU node group (a
    record of None means the decision stage did not run there). Nodes without
    GPUs are left out of ``nodes``. One device plugin DaemonSet (or one GPU
    Operator) serves one mode and one driver root, so GPU nodes that differ in
    either are refused with the hosts named. With no GPU node, the mode is
    ``mode`` (kubegpu_runtime_mode), else cdi. ``removing`` (the stack's role
    state is absent): nothing is refused, since removing a stack is how a run
    makes room for another or a mixed cluster is cleaned up.
    """
    stack = _text(stack) or 'device_plugin'
    if stack not in STACKS:
        raise DecisionError('kubegpu_gpu_stack is {0!r}; expected one of {1}'.format(stack, ', '.join(STACKS)))
    nodes = []
    for host, record in records or []:
        if not isinstance(record, dict) or 'gpu_count' not in record:
            raise DecisionError(
                'host {0} has no decision record (kubegpu_node): run the decide step of the kubegpu.nvidia.preflight '
                'role on it in the same run (playbooks/nodes.yml does)'.format(host))
        if record.get('gpu_count'):
            # The node stage may have installed the driver since the node's decision: checked again here.
            refusal = _dra.driver_refusal(record) if stack == 'dra' and not removing else None
            if refusal:
                raise DecisionError(refusal)
            nodes.append(record)
    for key, fix in (('mode', 'set kubegpu_runtime_mode for every GPU node, and no container_runtime_mode of a '
                              'node\'s own that differs'),
                     ('driver_root', 'install the driver the same way on every GPU node, or split them into runs '
                                     'with their own kubegpu_gpu_nodes_group'),
                     ('runtime', 'use one container runtime on every GPU node, or split them into runs with their '
                                 'own kubegpu_gpu_nodes_group')):
        seen = {}
        for record in nodes:
            seen.setdefault(record.get(key), []).append(record.get('host'))
        if len(seen) > 1 and (key != 'runtime' or stack == 'gpu_operator') and not removing:
            raise DecisionError('The GPU nodes differ in {0} ({1}), but one {2} serves them all: {3}'.format(
                key.replace('_', ' '),
                '; '.join('{0}: {1}'.format(value, ', '.join(hosts)) for value, hosts in seen.items()),
                _SERVED_BY[stack], fix))
    if nodes:
        chosen = nodes[0]['mode']
    else:
        chosen = _text(mode) or 'cdi'
        if chosen not in MODES:
            raise DecisionError(
                'kubegpu_runtime_mode is {0!r}; expected cdi, runtime, cdi_handler, or empty'.format(chosen))
    plan = {
        'stack': stack,
        'mode': chosen,
        'runtime': nodes[0]['runtime'] if nodes else None,
        'driver_root': nodes[0]['driver_root'] if nodes else '/',
        'nodes': [_plan_entry(record) for record in nodes],
        'removing': bool(removing),
    }
    plan.update(MODE_FEATURES[chosen])
    return plan


def _plan_entry(record):
    """One node as the cluster and validate roles read it (the shape of the former node plan)."""
    return {
        'host': record.get('host'),
        'node': record.get('node') or record.get('host'),
        'gpu_count': record.get('gpu_count'),
        'uuids': record.get('uuids') or [],
        'gpu_names': record.get('gpu_names') or [],
        'driver_version': record.get('driver_version'),
        'driver_root': record.get('driver_root') or '/',
        'runtime': ' '.join(filter(None, (record.get('runtime'), record.get('runtime_version')))) or None,
        'mode': record.get('mode'),
        'stack': record.get('stack'),
        'mig_enabled': bool(record.get('mig_enabled')),
        'os_id': record.get('os_id'),
        'os_version_id': record.get('os_version_id'),
    }
