# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: node_nsenter
short_description: Run tasks in a privileged podman test container through nsenter (tests only)
description:
  - The nodes of the kubernetes test (tests/integration/kubernetes) are privileged podman containers on the
    build machine. podman exec starts a process through podman, conmon and runc, three times per task; this
    connection enters the container's namespaces with C(nsenter) instead (M(community.docker.nsenter)'s way),
    with a clean environment, and copies files into Ansible's temporary directory there through
    C(/proc/PID/root) (fetching is the nsenter plugin's).
  - It refuses a PID in the build machine's own mount namespace, and one whose C(/etc/hostname) is not the
    inventory host's name (a node restarted since its PID was written).
options:
  nsenter_pid:
    description: The host PID of the container's init (C(podman inspect -f '{{.State.Pid}}')).
    type: int
    required: true
    vars:
      - name: ansible_nsenter_pid
  pipelining:
    description:
      - Send a module's code to the node's python on stdin, one command per task (ansible-core's own setting,
        on here by default).
    type: bool
    default: true
    env:
      - name: ANSIBLE_PIPELINING
    vars:
      - name: ansible_pipelining
author: kubegpu.nvidia contributors (@kubegpu)
"""

import os  # noqa: E402
import shutil  # noqa: E402

from ansible.errors import AnsibleConnectionFailure, AnsibleError  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes, to_text  # noqa: E402
from ansible.plugins.connection import ConnectionBase  # noqa: E402
from ansible.utils.display import Display  # noqa: E402
from ansible_collections.community.docker.plugins.connection.nsenter import (  # noqa: E402
    Connection as NsenterConnection,
)

display = Display()

# What podman exec gives a node's processes (the image's environment), not the controller's: the test runner
# exports CONTAINERS_CONF, TMPDIR and the like for the build machine.
NODE_ENV = ['env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root',
            'LANG=C.UTF-8', 'container=podman']


class Connection(NsenterConnection):
    transport = 'node_nsenter'
    # A module's code goes to the node's python on stdin (exec_command's in_data), as with ssh: one command per
    # task instead of a temporary directory, a copy, a chmod and a run.
    has_pipelining = True

    def _connect(self):
        super(Connection, self)._connect()
        proc = '/proc/{0}'.format(int(self._nsenter_pid))
        root = proc + '/root'
        try:
            # nsenter --mount enters the PID's mount namespace: the build machine's own is refused.
            if os.readlink(proc + '/ns/mnt') == os.readlink('/proc/self/ns/mnt'):
                raise AnsibleConnectionFailure('node_nsenter: PID {0} shares the build machine\'s mount namespace: '
                                               'it is not a node container\'s'.format(self._nsenter_pid))
            with open(root + '/etc/hostname', 'rb') as hostname_file:
                hostname = to_text(hostname_file.read(256)).strip()
        except OSError as e:
            raise AnsibleConnectionFailure('node_nsenter: cannot read the root of PID {0}: {1}'.format(
                self._nsenter_pid, e)) from e
        if hostname != self._play_context.remote_addr:
            raise AnsibleConnectionFailure(
                'node_nsenter: PID {0} is node {1!r}, not {2!r}: run.sh writes each node\'s PID when it starts the '
                'nodes'.format(self._nsenter_pid, hostname, self._play_context.remote_addr))
        self._node_root = root
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        # Ansible passes a shell command line (run through /bin/sh -c), or an argument list.
        cmd = ' '.join(NODE_ENV) + ' ' + to_text(cmd) if isinstance(cmd, (str, bytes)) else NODE_ENV + list(cmd)
        return super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)

    def _node_path(self, path):
        if not path.startswith('/'):
            raise AnsibleError('node_nsenter: {0} is not an absolute path'.format(path))
        return to_bytes(self._node_root + path, errors='surrogate_or_strict')

    def put_file(self, in_path, out_path):
        ConnectionBase.put_file(self, in_path, out_path)
        display.vvv(u'PUT {0} TO {1}'.format(in_path, out_path), host=self._play_context.remote_addr)
        # Ansible's own temporary directory, which it has just made: no link is expected on the way.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, 'O_NOFOLLOW', 0)
        try:
            with open(to_bytes(in_path, errors='surrogate_or_strict'), 'rb') as source, \
                    os.fdopen(os.open(self._node_path(out_path), flags, 0o600), 'wb') as dest:
                shutil.copyfileobj(source, dest, 1024 * 1024)
        except OSError as e:
            raise AnsibleError('node_nsenter: failed to copy {0} to {1}: {2}'.format(in_path, out_path, e)) from e
