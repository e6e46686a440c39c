#!/usr/bin/python
# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: crio_runtime
short_description: Add the NVIDIA container runtime to CRI-O as a runtime handler, in a drop-in of its own
version_added: 0.1.0
author: kubegpu.nvidia contributors (@kubegpu)
description:
  - Makes CRI-O able to run GPU containers through C(nvidia-container-runtime), like
    C(nvidia-ctk runtime configure --runtime=crio), but as a reviewable change shown by C(--check --diff),
    validated by the node's own CRI-O parser before it lands, written atomically, and reversible with
    O(state=absent).
  - "Writes the handler table C([crio.runtime.runtimes.<runtime_name>]) into O(drop_in), and nothing into
    CRI-O's main configuration. CRI-O reads O(config) first, then every file under the drop-in directory in
    lexical order; a handler table in a later file replaces the table of the same name whole, so the module
    writes a B(complete) table: a copy of the table of the runtime it stands in for, then C(runtime_path) set
    to O(runtime_path) and C(runtime_type = \"oci\")."
  - "The table copied is, in this order: the handler's own table when O(config) or an earlier drop-in already
    defines it (its settings are kept); else CRI-O's default runtime (C(crio.runtime.default_runtime) as the
    files read before the drop-in set it) unless that one is an NVIDIA runtime or not of type C(oci); else
    C(runc); else C(crun). That carries C(monitor_path), C(runtime_root), C(allowed_annotations) and the
    rest over. When none is in a file (CRI-O's built-in runtimes), the table has only C(runtime_path) and
    C(runtime_type), and CRI-O's defaults apply to the rest."
  - The module owns O(drop_in) whole; several handlers (for example V(nvidia) and V(nvidia-cdi)) can live in
    it. A file at that path that holds other settings is refused; one that holds only handler tables and
    C(default_runtime) (what C(nvidia-ctk) writes) is taken over and rewritten in the module's layout.
  - B(CRI-O reads every file under its drop-in directory, whatever the extension, subfolders included.) A
    backup written next to the drop-in would be applied too, so O(backup) keeps copies in O(backup_dir).
  - B(A default handler whose binary is missing stops CRI-O from starting) (a non-default one is only dropped
    with a warning), so O(set_as_default) fails unless O(runtime_path) exists on the node.
  - The TOML is read from the node, computed on the controller and written with C(ansible.builtin.copy)'s
    machinery (atomic move). Before anything is written, the node's C(crio config) parses the result (O(validate)).
options:
  drop_in:
    description:
      - The module's drop-in file. Its directory is the one CRI-O reads (C(--config-dir), by default
        C(/etc/crio/crio.conf.d)); every file in that directory is read to find the tables to copy.
      - CRI-O does not read C(/etc/crio/conf.d) (where older C(nvidia-ctk) versions wrote).
      - Created with its directory when missing; removed by O(state=absent) when no handler is left in it.
      - A symbolic link is refused.
    type: path
    default: /etc/crio/crio.conf.d/99-nvidia.toml
  config:
    description:
      - CRI-O's main configuration, read (never written) for its handler tables and C(default_runtime).
      - A missing file is fine (CRI-O's packages often ship only drop-ins).
    type: path
    default: /etc/crio/crio.conf
  runtime_name:
    description:
      - Name of the handler; this is the C(handler) of a Kubernetes RuntimeClass.
    type: str
    default: nvidia
  runtime_path:
    description:
      - The runtime binary, written as the handler's C(runtime_path).
  set_as_default:
    description:
      - Also set C(crio.runtime.default_runtime) to O(runtime_name) in O(drop_in), so every pod uses it.
      - Fails when O(runtime_path) does not exist on the node (checked on the node), since CRI-O does not
        start with a default handler whose binary is missing.
      - V(false) does not remove a default set by an earlier run; O(state=absent) does.
    type: bool
    default: false
  state:
    description:
      - V(absent) removes the handler table O(runtime_name) from O(drop_in), and C(default_runtime) from it when
        it names that handler; removes O(drop_in) when nothing is left in it.
      - After O(state=present) then O(state=absent), the drop-in is what it was (a missing one is missing again).
    type: str
    choices: [present, absent]
    default: present
  backup_dir:
    description:
      - Where backups go. Must not be inside the drop-in's directory, which CRI-O reads whole.
    type: path
    default: /var/lib/kubegpu/backup/crio
extends_documentation_fragment:
  - kubegpu.nvidia.runtime_config
notes:
  - Restart CRI-O after a change (RV(restart_required)); the role C(kubegpu.nvidia.container_runtime) does it
    with a handler that waits for CRI-O's socket and rolls back when CRI-O does not come back.
  - C(crio config) checks only TOML syntax and types, not C(runtime_path) or C(runtime_type); the module checks
    the types of what it reads too, and that a default handler's binary exists.
  - The copied table is a snapshot of the source handler at the time of the change; when the handler is
    already in O(drop_in), only C(runtime_path) and C(runtime_type) are set again.
  - A drop-in sorted after O(drop_in) that defines the same handler or another C(default_runtime) wins; the
    module warns about it.
  - The collection's tests validate with the real C(crio) binary (v1.36.3), besides unit and property tests
    against the configuration shapes CRI-O documents.
seealso:
  - module: kubegpu.nvidia.containerd_runtime
  - name: crio.conf(5)
    description: CRI-O's configuration, its runtime handler tables and drop-in directory.
    link: https://github.com/cri-o/cri-o/blob/main/docs/crio.conf.5.md
  - name: NVIDIA Container Toolkit, configuring CRI-O
    description: What C(nvidia-ctk runtime configure --runtime=crio) does, which this module replaces.
    link: https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html#configuring-cri-o
"""

EXAMPLES = r"""
- name: Add the nvidia handler (a RuntimeClass with handler "nvidia" selects it)
  kubegpu.nvidia.crio_runtime:
  register: nvidia_crio
  notify: Restart CRI-O and wait for its socket

- name: Make it CRI-O's default runtime, keeping a backup outside crio.conf.d
  kubegpu.nvidia.crio_runtime:
    set_as_default: true
    backup: true

- name: A second handler next to the first one
  kubegpu.nvidia.crio_runtime:
    runtime_name: nvidia-cdi
    runtime_path: /usr/bin/nvidia-container-runtime.cdi

- name: Remove it again
  kubegpu.nvidia.crio_runtime:
    state: absent
"""

RETURN = r"""
changed:
  description: Whether the drop-in was (or, in check mode, would be) written or removed.
  returned: always
  type: bool
restart_required:
  description: CRI-O must be restarted for the change to take effect (same as RV(changed)).
  returned: always
  type: bool
  sample: true
drop_in:
  description: The drop-in file the module manages.
  returned: success
  type: str
  sample: /etc/crio/crio.conf.d/99-nvidia.toml
runtime:
  description: The handler's table as CRI-O will read it after the change. Null for O(state=absent).
  returned: success
  type: dict
  sample:
    runtime_path: /usr/bin/nvidia-container-runtime
    runtime_type: oci
    runtime_root: /run/crun
    monitor_path: /usr/libexec/crio/conmon
default_runtime:
  description: C(crio.runtime.default_runtime) as CRI-O will read it (null when no file sets it).
  returned: success
  type: str
  sample: crun
copied_from:
  description: The handler whose table was copied, and the file it came from; null when nothing was copied.
  returned: success
  type: str
  sample: crun (/etc/crio/crio.conf.d/10-crio.conf)
runtime_path_exists:
  description: Whether O(runtime_path) exists on the node.
  returned: success
  type: bool
files:
  description: The files that were (or would be) changed, created or removed.
  returned: success
  type: list
  elements: str
  sample: [/etc/crio/crio.conf.d/99-nvidia.toml]
backup_file:
  description: Where the previous drop-in was copied (in O(backup_dir)).
  returned: changed, backup requested and the drop-in existed
  type: str
  sample: /var/lib/kubegpu/backup/crio/99-nvidia.toml.2026-11-28@19:10:00~
diff:
  description: Before and after text of the drop-in (also shown by C(--diff)).
  returned: changed
  type: list
  elements: dict
validated:
  description:
    - Whether the node's C(crio config) parsed the result before it was written (see O(validate)). V(false)
      with a warning when the node has no crio binary.
  returned: changed
  type: bool
  sample: true
backup_files:
  description: Backup path per file, for each file that was backed up.
  returned: changed and backup requested
  type: dict
warnings:
  description:
    - Things the module noticed but did not change (a later drop-in that overrides the handler, a missing binary).
  returned: when there are some
  type: list
  elements: str
"""

import os  # noqa: E402 - after the documentation, as Ansible modules do

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.kubegpu.nvidia.plugins.module_utils._node_read import (  # noqa: E402
    NodeReadError,
    list_files,
    read_text_file,
)
from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtime_args import (  # noqa: E402
    CRIO_ARGUMENT_SPEC as ARGUMENT_SPEC,
)

OWN_DROP_IN = "the module's CRI-O drop-in"


def read_node(module):
    """What the action plugin needs from the node, in one module run: CRI-O's files, and the runtime's binary."""
    params = module.params
    config = read_text_file(params["config"], "CRI-O's configuration", links=True)
    drop_in = params["drop_in"]
    directory = os.path.dirname(drop_in)
    files = {}
    try:
        listed = list_files(directory) or []
    except NodeReadError as exc:
        raise NodeReadError("%s; CRI-O reads its drop-ins from there" % exc) from exc
    for path in listed:
        if path == drop_in:
            files[path] = read_text_file(path, OWN_DROP_IN)
        else:
            read = read_text_file(path, "a CRI-O drop-in", links=True)
            if read is not None:
                files[path] = read
    if drop_in not in files:
        own = read_text_file(drop_in, OWN_DROP_IN)  # refuses a link, for instance
        if own is not None:
            files[drop_in] = own
    runtime_path_exists = os.path.exists(params["runtime_path"]) if params["state"] == "present" else None
    crio = {"path": module.get_bin_path("crio")} if params["validate"] else {"path": None}
    return {"config": config, "drop_ins": files, "runtime_path_exists": runtime_path_exists, "crio": crio}


def main():
    # The task runs the action plugin of the same name; it runs this module to read the node (read-only,
    # so in check mode too), computes the change on the controller and writes with ansible.builtin.copy.
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        node = read_node(module)
    except NodeReadError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, node=node)


if __name__ == "__main__":
    main()
