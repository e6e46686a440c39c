# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection knows about containerd and CRI-O, in one place.

Standard library only: the node-side modules and the controller-side plugins
both import it. Versions, CDI support, config schema versions, CRI plugin
names, sockets, config paths and the cgroup drivers' defaults live here and
nowhere else.
"""

from __future__ import annotations

import re

RUNTIMES = ('containerd', 'crio')
LABELS = {'containerd': 'containerd', 'crio': 'CRI-O'}

# The CRI endpoints kubelet and crictl talk to, and the main configuration files.
SOCKETS = {'containerd': '/run/containerd/containerd.sock', 'crio': '/var/run/crio/crio.sock'}
CONFIGS = {'containerd': '/etc/containerd/config.toml', 'crio': '/etc/crio/crio.conf'}
# What prints the effective (merged) configuration, as argv.
CONFIG_DUMP = {'containerd': ('containerd', 'config', 'dump'), 'crio': ('crio', 'config')}

# containerd: CDI in the CRI plugin (enable_cdi) came with 1.7; config schema
# version 3 with 2.0; imports merged key by key with 2.1 (proven on 2.1.9;
# 2.0 was not available to test).
CONTAINERD_CDI_SINCE = (1, 7)
CONTAINERD_SCHEMA_3_SINCE = (2, 0)
CONTAINERD_DEEP_MERGE_SINCE = (2, 1)
# The CRI plugin holding the runtimes, per containerd config schema version.
CONTAINERD_CRI_PLUGINS = {1: 'cri', 2: 'io.containerd.grpc.v1.cri', 3: 'io.containerd.cri.v1.runtime'}
# The images plugin of schema 3 (sandbox/pinned images moved there with 2.0).
CONTAINERD_CRI_IMAGES_PLUGIN = 'io.containerd.cri.v1.images'
# runtime_type of the runc shim, whose options hold BinaryName and SystemdCgroup; the first is the one written.
CONTAINERD_RUNC_SHIMS = ('io.containerd.runc.v2', 'io.containerd.runc.v1')

# A runtime's cgroup driver when its configuration says nothing: containerd's
# runc runs with cgroupfs (SystemdCgroup = false) unless told otherwise; CRI-O's
# cgroup_manager defaults to systemd.
DEFAULT_CGROUP_DRIVERS = {'containerd': 'cgroupfs', 'crio': 'systemd'}

_VERSION_RE = re.compile(r'(?:^|[\s/])v?(\d+)\.(\d+)(?:\.(\d+))?')


def parse_version(text):
    """(major, minor, patch) from ``containerd --version`` output or a bare version; None if there is none."""
    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    match = _VERSION_RE.search(' ' + text)
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def version_precision(text):
    """How many parts of a version the text gives: 2 for '1.7', 3 for '1.7.24'; 0 when it names none."""
    match = _VERSION_RE.search(' ' + str(text or '').strip())
    if not match:
        return 0
    return 3 if match.group(3) else 2


def format_version(version):
    """'1.7.24' from (1, 7, 24); None stays None."""
    return None if version is None else '.'.join(str(part) for part in version)


def supports_cdi(runtime, version):
    """Whether the runtime's CRI can inject CDI devices; None where containerd's version is unknown."""
    if runtime == 'crio':
        return True
    parsed = parse_version(version) if not isinstance(version, tuple) else version
    if parsed is None:
        return None
    return parsed[:2] >= CONTAINERD_CDI_SINCE


def containerd_schema_version(version):
    """The config schema a containerd of this version writes (2 before 2.0, 3 since); None when unknown."""
    parsed = parse_version(version) if not isinstance(version, tuple) else version
    if parsed is None:
        return None
    return 3 if parsed[:2] >= CONTAINERD_SCHEMA_3_SINCE else 2


def socket_uri(runtime):
    """kubelet's --container-runtime-endpoint for the runtime's default socket."""
    return 'unix://' + SOCKETS[runtime]
