#!/usr/bin/python
# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dev_char_links
short_description: Link the NVIDIA device nodes under /dev/char, so GPU containers keep them through a daemon-reload
version_added: 0.2.0
author: kubegpu.nvidia contributors (@kubegpu)
description:
  - With the systemd cgroup driver, runc hands a container's device rules to systemd as
    C(DeviceAllow=/dev/char/MAJOR:MINOR). udev makes those links for the devices it creates; the NVIDIA driver's
    device nodes (C(/dev/nvidia*), C(/dev/nvidia-caps/*)) have none. systemd older than v240 (RHEL 8 has 239)
    cannot resolve such a rule without the link, and runc 1.1.3 to 1.1.6 left the rule out when the link was
    missing; either way the device is missing from the container's unit, and the next C(systemctl daemon-reload)
    takes the GPUs away from every running GPU container (C(Failed to initialize NVML - Unknown Error) in its log;
    NVIDIA/nvidia-container-toolkit issue 48, opencontainers/runc issues 3671 and 3708). Newer systemd and runc
    keep the device without the link; there the links change nothing.
  - This module makes one link per NVIDIA character device node, relative as udev writes them
    (C(/dev/char/195:0 -> ../nvidia0)). A link that already reaches the same device is kept; one that reaches
    nothing or another device (left by an earlier driver) is replaced; an entry there that is not a link is
    refused, with its path.
  - The links live on the node's C(/dev) (a devtmpfs), so a reboot, or device nodes made later (C(/dev/nvidia-uvm) is
    made when the first CUDA program runs), needs the module to run again (that run reports the new link as a
    change); the container_runtime role runs it on every run for a node whose runtime uses systemd's cgroup driver.
  - Runs on the node with Python's standard library only. Never writes through a link; C(/dev/char) must be a
    directory (it is created when missing), and each link is made under a temporary name and renamed into place.
options:
  state:
    description: V(present) makes the links; V(absent) removes the links that point at the NVIDIA device nodes.
    type: str
    choices: [present, absent]
    default: present
  dev_dir:
    description: Where the device nodes are.
    type: path
    default: /dev
  patterns:
    description: The device nodes, as shell patterns relative to O(dev_dir) (at most one directory deep).
    type: list
    elements: str
    default: ["nvidia*", "nvidia-caps/*"]
  char_dir:
    description: Where the links go.
    type: path
    default: /dev/char
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - NVIDIA's own answer to the same fault is C(nvidia-ctk system create-dev-char-symlinks), which needs NVIDIA
    Container Toolkit on the node; this module needs only Python.
"""

EXAMPLES = r"""
- name: Link the NVIDIA device nodes under /dev/char
  kubegpu.nvidia.dev_char_links:
  when: kubegpu_node.dev_char_links
"""

RETURN = r"""
links:
  description: Each link and what was done with it (V(create), V(replace), V(remove) or V(keep)).
  returned: always
  type: list
  elements: dict
  sample: [{"link": "/dev/char/195:0", "target": "../nvidia0", "action": "create"}]
devices:
  description: The device nodes found, with their numbers.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/dev/nvidia0", "number": "195:0"}]
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import dev_char  # noqa: E402

ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "dev_dir": {"type": "path", "default": "/dev"},
    "patterns": {"type": "list", "elements": "str", "default": list(dev_char.DEFAULT_PATTERNS)},
    "char_dir": {"type": "path", "default": "/dev/char"},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    try:
        nodes, entries, exists = dev_char.scan(params["dev_dir"], params["char_dir"], params["patterns"])
        actions = dev_char.plan(nodes, entries, params["char_dir"], params["state"])
        changed = any(action["action"] != "keep" for action in actions)
        if changed and not module.check_mode:
            dev_char.apply(actions, params["char_dir"], exists)
    except (dev_char.DevCharError, OSError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    result = {"changed": changed, "links": actions,
              "devices": [{"path": path, "number": number} for path, number in nodes]}
    if module._diff:
        result["diff"] = {"before": dev_char.render(actions, after=False),
                          "after": dev_char.render(actions, after=True),
                          "before_header": params["char_dir"], "after_header": params["char_dir"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
