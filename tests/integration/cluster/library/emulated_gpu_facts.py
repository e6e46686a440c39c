# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: emulated_gpu_facts
short_description: Set ansible_facts.nvidia from a recorded gpu_facts result (emulator tests only)
description:
  - Stands in for M(kubegpu.nvidia.gpu_facts) on inventory hosts that are names in the Kubernetes API
    emulator, not machines.
options:
  facts:
    description: A recorded C(ansible_facts.nvidia).
    type: dict
    required: true
author: kubegpu.nvidia contributors (@kubegpu)
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main():
    module = AnsibleModule(argument_spec={'facts': {'type': 'dict', 'required': True}}, supports_check_mode=True)
    module.exit_json(changed=False, ansible_facts={'nvidia': module.params['facts']})


if __name__ == '__main__':
    main()
