# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a Pod's status and its events as the API server returns them.

Pure and shared: the validate role's test-pod verdict (_validate) and the
rollout diagnosis of the device plugin and the GPU Operator (_rollout) read
pods the same way and look for the same runtime and NVML messages.
"""

from __future__ import annotations

import re

IMAGE_PULL_REASONS = ('ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull')

# What the kubelet, containerd, CRI-O and NVML print, searched in events, statuses and logs.
RUNTIME_MISSING = re.compile(r'no runtime for "?(?P<handler>[\w.-]+)"? is configured')
RUNTIMECLASS_MISSING = re.compile(r'RuntimeClass "?(?P<name>[\w.-]+)"? not found')
CDI_UNRESOLVABLE = re.compile(r'unresolvable CDI devices?:?\s*(?P<devices>[^\n;]*)', re.IGNORECASE)
NVML = re.compile(
    r'(Failed to initialize NVML[^\n]*|NVML: Unknown error[^\n]*|'
    r"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver[^\n]*|"
    r'Driver/library version mismatch[^\n]*|CUDA driver version is insufficient[^\n]*)')


def container_statuses(pod):
    """Init containers first, then the containers, as the pod's status lists them."""
    status = (pod or {}).get('status') or {}
    return (status.get('initContainerStatuses') or []) + (status.get('containerStatuses') or [])


def state_texts(pod):
    """Messages from the pod's conditions and its containers' waiting/terminated states."""
    texts = []
    status = (pod or {}).get('status') or {}
    for cond in status.get('conditions') or []:
        if cond.get('message'):
            texts.append(cond['message'])
    for key in ('reason', 'message'):
        if status.get(key):
            texts.append(status[key])
    for cstatus in container_statuses(pod):
        for key in ('waiting', 'terminated'):
            state = (cstatus.get('state') or {}).get(key) or {}
            if state.get('message'):
                texts.append(state['message'])
        last = (cstatus.get('lastState') or {}).get('terminated') or {}
        if last.get('message'):
            texts.append(last['message'])
    return texts


def event_time(event):
    """When an event was last seen: core/v1 events carry lastTimestamp, events.k8s.io ones eventTime and series."""
    series = event.get('series') or {}
    return str(series.get('lastObservedTime') or event.get('lastTimestamp') or event.get('eventTime')
               or (event.get('metadata') or {}).get('creationTimestamp') or '')


def event_count(event):
    """How often an event was seen (count for core/v1, series.count for events.k8s.io)."""
    return int((event.get('series') or {}).get('count') or event.get('count') or 1)


def sorted_events(events):
    return sorted(events or [], key=event_time)


def event_texts(events):
    return ['{0}: {1}'.format(e.get('reason') or 'Event', e.get('message') or '')
            for e in sorted_events(events) if e.get('message')]


def first_line(text):
    return (text or '').strip().splitlines()[0] if (text or '').strip() else ''


def tail(text, count=10):
    lines = [line for line in (text or '').splitlines() if line.strip()]
    return lines[-count:]


def find_first(pattern, texts):
    """The first match of pattern in texts, and the text it was found in."""
    for text in texts:
        match = pattern.search(text or '')
        if match:
            return match, text
    return None, None
