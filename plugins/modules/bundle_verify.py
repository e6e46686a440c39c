#!/usr/bin/python
# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done on the controller by the action plugin of the same name (plugins/action/bundle_verify.py).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bundle_verify
short_description: Verify an air-gapped bundle's files against its SHA256SUMS on the controller
version_added: 0.1.0
description:
  - Reads the checksum list (C(SHA256SUMS), as C(sha256sum) writes it) of a bundle directory on the controller and
    checks every file a role is about to copy to a node against it, before anything is copied.
  - Fails, naming each file and what is wrong, for a file that is missing from the list, a sum that differs, a listed
    file that is missing, a path outside the directory or a file that is not a regular file; and for a directory
    without a checksum list. The fix it gives is to rebuild the bundle with the C(kubegpu.nvidia.bundle) playbook.
  - Runs on the controller only; nothing is sent to the host. Reads only, so check mode changes nothing either.
author: kubegpu.nvidia contributors (@kubegpu)
options:
  path:
    description: The bundle directory on the controller.
    type: path
    required: true
  required:
    description: Paths relative to O(path) that must be listed and match (for example V(bin/kubeadm)).
    type: list
    elements: str
    default: []
  optional:
    description:
      - Glob patterns relative to O(path) (for example V(images/*.tar)). Every file that matches must be listed
        and match; a file that matches but is not listed is refused, never used unverified. Every listed path that
        matches must exist.
    type: list
    elements: str
    default: []
  sums:
    description: The checksum list's name inside O(path).
    type: str
    default: SHA256SUMS
  variable:
    description: The variable that named O(path), for the failure message.
    type: str
    default: ""
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - The kubernetes role's offline install and the container_toolkit role's binaries install call it.
'''

EXAMPLES = r'''
- name: Verify the bundle before anything is copied
  kubegpu.nvidia.bundle_verify:
    path: "{{ kubernetes_offline_dir }}"
    required: [bin/kubeadm, bin/kubelet, bin/kubectl]
    optional: ["images/*.tar", "cni/*"]
    variable: kubernetes_offline_dir
  register: bundle
  run_once: true

- name: Copy only what was verified
  ansible.builtin.copy:
    src: "{{ kubernetes_offline_dir }}/{{ item }}"
    dest: /var/lib/images/
    mode: "0644"
  loop: "{{ bundle.files | select('match', 'images/') | list }}"
'''

RETURN = r'''
files:
  description: The relative paths that were checked and match, sorted.
  returned: success
  type: list
  elements: str
  sample: [bin/kubeadm, bin/kubectl, bin/kubelet, images/pause.tar]
sha256:
  description: Each checked path's sha256, as the list gives it.
  returned: success
  type: dict
  sample: {bin/kubeadm: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef}
'''
