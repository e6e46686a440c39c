# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: emulated_facts
short_description: Set facts of another machine (a recorded gpu_facts, an OS family) on localhost (tests only)
options:
  facts:
    description: The facts, as C(ansible_facts) keys.
    type: dict
    required: true
author: kubegpu.nvidia contributors (@kubegpu)
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main():
    module = AnsibleModule(argument_spec={'facts': {'type': 'dict', 'required': True}}, supports_check_mode=True)
    module.exit_json(changed=False, ansible_facts=module.params['facts'])


if __name__ == '__main__':
    main()
