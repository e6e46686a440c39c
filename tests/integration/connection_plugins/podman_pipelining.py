# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: podman_pipelining
short_description: containers.podman.podman with pipelining, for the Molecule scenarios (tests only)
description:
  - The Molecule scenarios' connection to their podman containers (C(.config/molecule/config.yml)).
  - M(containers.podman.podman) makes six podman calls per module task, each through podman, conmon and runc
    (C(podman mount), then C(podman exec) for the remote home, Ansible's temporary directory, its permissions,
    the module and the clean-up). This one sends the module to the container's python on C(podman exec -i)'s
    standard input, one C(podman exec) per task, as the ssh connection does with pipelining, and mounts the
    container only for a task that copies a file.
  - Everything else is M(containers.podman.podman)'s. The commands run in the container as C(podman exec)
    runs them (its cgroup, its environment, its user).
options:
  remote_addr:
    description: The name or ID of the container.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description: The user (name or UID) that runs commands in the container.
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
  podman_extra_args:
    description: Extra arguments to the podman command line.
    default: ''
    ini:
      - section: defaults
        key: podman_extra_args
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
  podman_executable:
    description: The podman executable.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description:
      - Send a module's code to the container's python on standard input (ansible-core's own setting, on here
        by default).
    type: bool
    default: true
    env:
      - name: ANSIBLE_PIPELINING
    vars:
      - name: ansible_pipelining
author: kubegpu.nvidia contributors (@kubegpu)
"""

import shlex  # noqa: E402

from ansible.module_utils.common.text.converters import to_native  # noqa: E402
from ansible.plugins.connection import ConnectionBase  # noqa: E402
from ansible_collections.containers.podman.plugins.connection.podman import (  # noqa: E402
    Connection as PodmanConnection,
)


class Connection(PodmanConnection):
    transport = 'podman_pipelining'
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self._mounted = False

    def _connect(self):
        # podman mount waits for a file to copy (_mount).
        ConnectionBase._connect(self)
        self._connected = True
        return self

    def _mount(self):
        if not self._mounted:
            self._mounted = True
            super(Connection, self)._connect()

    def exec_command(self, cmd, in_data=None, sudoable=False):
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        # podman exec passes its standard input on only with -i.
        exec_args = ['exec'] + (['-i'] if in_data is not None else [])
        if self.user:
            exec_args += ['--user', self.user]
        return self._podman(exec_args, shlex.split(to_native(cmd, errors='surrogate_or_strict')), in_data)

    def put_file(self, in_path, out_path):
        self._mount()
        super(Connection, self).put_file(in_path, out_path)

    def fetch_file(self, in_path, out_path):
        self._mount()
        super(Connection, self).fetch_file(in_path, out_path)
