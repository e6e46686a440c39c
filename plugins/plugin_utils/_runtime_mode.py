# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which container runtime a node configures, and how its containers get GPUs.

Pure: a node's ``ansible_facts.nvidia`` (kubegpu.nvidia.gpu_facts) and the
user's request in, one decision out. The node stage records the decision once
per node as ``kubegpu_node_runtime``; the toolkit, the runtime configuration and
the cluster stage's node plan all read it, so none of them keeps a default of
its own.
"""

from __future__ import annotations

import re

RUNTIMES = ('containerd', 'crio')
MODES = ('cdi', 'runtime')
# CDI support in containerd's CRI plugin (enable_cdi) came with containerd 1.7.
CONTAINERD_CDI = (1, 7)
_LABELS = {'containerd': 'containerd', 'crio': 'CRI-O'}
_MINOR_RE = re.compile(r'(\d+)\.(\d+)')


class RuntimeModeError(ValueError):
    """The request cannot be met on this node; the message names the variable and the fix."""


def _text(value):
    return '' if value is None else str(value).strip()


def _minor(version):
    match = _MINOR_RE.search(version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _on(host):
    return ' on {0}'.format(host) if host else ''


def decide_runtime(facts, mode='', runtime='', *, containerd_version='', host='',
                   mode_variable='container_runtime_mode'):
    """Return ``{runtime, version, mode, reason}`` for one node.

    ``facts``: the node's ``ansible_facts.nvidia`` (only ``runtimes`` is read).
    ``mode``: ``cdi``, ``runtime``, or empty to decide from the runtime (CDI
    where the runtime supports it: containerd 1.7 and later, CRI-O; runtime
    mode on containerd 1.6). ``runtime``: ``containerd``, ``crio``, or empty to
    take the only one installed. ``containerd_version``: overrides the version
    gpu_facts found. ``host`` and ``mode_variable`` only word the messages.

    Raises RuntimeModeError for an unknown mode or runtime, a node with no
    runtime or with both and no choice, and CDI asked for on containerd < 1.7.
    """
    mode, runtime, override = _text(mode), _text(runtime), _text(containerd_version)
    if mode and mode not in MODES:
        raise RuntimeModeError(
            '{0} is {1!r}; expected cdi, runtime, or empty to decide from the node\'s container runtime'.format(
                mode_variable, mode))
    if runtime and runtime not in RUNTIMES:
        raise RuntimeModeError(
            'container_runtime_name is {0!r}; expected containerd, crio, or empty to detect it from '
            'ansible_facts.nvidia.runtimes'.format(runtime))

    runtimes = (facts or {}).get('runtimes') or {}
    installed = [name for name in RUNTIMES if (runtimes.get(name) or {}).get('installed')]
    if runtime:
        source = 'container_runtime_name'
    elif len(installed) == 1:
        runtime, source = installed[0], 'the only runtime installed'
    elif not installed:
        raise RuntimeModeError(
            'Neither containerd nor CRI-O is installed{0} (gpu_facts found none): install the runtime first, '
            'or set container_runtime_name'.format(_on(host)))
    else:
        raise RuntimeModeError(
            'Both containerd and CRI-O are installed{0}: set container_runtime_name to the one kubelet '
            'uses'.format(_on(host)))

    version = _text((runtimes.get(runtime) or {}).get('version'))
    if runtime == 'containerd' and override:
        version = override
    label = '{0} {1}'.format(_LABELS[runtime], version) if version else _LABELS[runtime]
    minor = _minor(version) if runtime == 'containerd' else None
    without_cdi = minor is not None and minor < CONTAINERD_CDI

    if mode == 'cdi' and without_cdi:
        raise RuntimeModeError(
            '{0} is cdi, but containerd {1}{2} has no CDI support (it came with containerd 1.7): upgrade '
            'containerd, or set {0}: runtime (nvidia-container-runtime as the handler)'.format(
                mode_variable, version, _on(host)))
    if mode:
        why = '{0} mode, as {1} asks'.format(mode, mode_variable)
    elif without_cdi:
        mode, why = 'runtime', 'runtime mode, since CDI support came with containerd 1.7'
    elif runtime == 'containerd' and minor is None:
        mode, why = 'cdi', ('cdi mode; version unknown, taken as 1.7 or later '
                            '(set container_runtime_containerd_version otherwise)')
    else:
        mode, why = 'cdi', 'cdi mode, which it supports'
    return {
        'runtime': runtime,
        'version': version or None,
        'mode': mode,
        'reason': '{0} ({1}): {2}'.format(label, source, why),
    }


def host_runtime(hostvars, host='', default_mode=''):
    """The decision for one inventory host, from its variables.

    The decision the node stage recorded (``kubegpu_node_runtime``) when there
    is one; else the same decision computed from the host's facts and request
    (``container_runtime_mode``, else ``kubegpu_runtime_mode``, else
    ``default_mode``; ``container_runtime_name``;
    ``container_runtime_containerd_version``), so a stage run alone agrees with
    the node stage.
    """
    hostvars = hostvars or {}
    recorded = hostvars.get('kubegpu_node_runtime')
    if isinstance(recorded, dict) and recorded.get('mode'):
        if recorded['mode'] not in MODES:
            raise RuntimeModeError('kubegpu_node_runtime.mode is {0!r}; expected cdi or runtime'.format(
                recorded['mode']))
        return recorded
    mode_variable, mode = 'kubegpu_runtime_mode', default_mode
    for name in ('container_runtime_mode', 'kubegpu_runtime_mode'):
        if _text(hostvars.get(name)):
            mode_variable, mode = name, hostvars[name]
            break
    facts = (hostvars.get('ansible_facts') or {}).get('nvidia') or {}
    return decide_runtime(facts, mode=mode, runtime=hostvars.get('container_runtime_name'),
                          containerd_version=hostvars.get('container_runtime_containerd_version'),
                          host=host, mode_variable=mode_variable)
