#!/usr/bin/python
# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: containerd_runtime
short_description: Add the NVIDIA container runtime to containerd's configuration, and nothing else
version_added: 0.1.0
author: kubegpu.nvidia contributors (@kubegpu)
description:
  - Makes containerd able to run GPU containers, like C(nvidia-ctk runtime configure --runtime=containerd),
    but as a reviewable change, shown by C(--check --diff), validated by the node's own containerd parser
    before it lands, and reversible with O(state=absent).
  - Adds the runtime C(plugins.<CRI plugin>.containerd.runtimes.<runtime_name>) by copying the table of the
    current default runtime (unless that one is already an NVIDIA runtime), else of C(runc), else of C(crun),
    else a table with only C(runtime_type = "io.containerd.runc.v2"). Only runtimes of the runc shim are
    copied, because C(BinaryName) means nothing to other shims. Then it sets C(options.BinaryName) to
    O(runtime_path), and C(runtime_type) if missing.
  - "One node, one cgroup driver: the runtime's C(options.SystemdCgroup) is the default runtime's, on every
    run, for a runtime the module adds and for one that is already there (that line then marked like every
    change), because pods of runtimes with different cgroup drivers break. When the default runtime does not
    set C(SystemdCgroup), the runtime's is left as it is (never invented). O(systemd_cgroup) sets the driver
    explicitly."
  - "The configuration schema is detected the way containerd does: no file or an empty file is written as
    version 2; a file without C(version) is version 1 (CRI plugin C(cri)); version 2 uses
    C(io.containerd.grpc.v1.cri); version 3 uses C(io.containerd.cri.v1.runtime). Other versions are refused."
  - "B(Where the runtime is written depends on the node's containerd), because containerd's C(imports) do not
    merge the same way in every version (proven with C(containerd config dump) of 1.6.20, 1.7.24 and 2.1.9
    in the collection's tests):"
  - "containerd B(before 2.1) (and an unknown version): a C(plugins) table in an imported file B(replaces)
    that plugin's whole table from config.toml. A drop-in that holds only the NVIDIA runtime therefore wipes
    config.toml's CRI settings (runc disappears, and the CRI plugin fails to load); a drop-in that copies the
    CRI section shadows every later edit of config.toml (registry mirrors, sandbox image). So the module
    edits O(path) in place and ignores O(drop_in) (C(strategy=in_place)). When config.toml names no runtime
    yet, it also writes containerd's built-in C(runc) (C(runtime_type) only), because a C(runtimes) table
    in the file replaces the built-in ones on these versions."
  - "containerd B(2.1 and later): imported files merge key by key, so the runtime goes into O(drop_in)
    (C(strategy=drop_in)), and config.toml only gains C(imports) naming it (unless an existing C(imports)
    glob already covers it) and, with O(systemd_cgroup), the default runtime's C(SystemdCgroup). Later edits
    of config.toml keep taking effect. If config.toml already defines
    the runtime, it is kept there. containerd 2.0 is treated like 1.x (not verified; in place is correct
    on every version)."
  - The containerd version comes from C(containerd --version) on the node, else from O(containerd_version);
    when neither is known the module edits in place.
  - >-
    Everything the module does not own is left byte for byte, comments and formatting included. A key it
    adds to or changes in a file it does not own whole carries a trailing comment that starts with
    C(# added by kubegpu.nvidia.containerd_runtime) or C(# set by kubegpu.nvidia.containerd_runtime), the
    latter followed by the original value after C(was:); that is how O(state=absent) gives the original
    line back.
  - The TOML is read from the node (both files and containerd's version, in one module run), computed on
    the controller and written with C(ansible.builtin.copy)'s machinery (atomic move).
options:
  path:
    description:
      - containerd's main configuration file. Created (as version 2) when missing.
      - A symbolic link is refused; pass the file it points to.
    type: path
    default: /etc/containerd/config.toml
  drop_in:
    description:
      - The module's own drop-in file, used on containerd 2.1 and later (see the description). Its directory
        is created when needed.
      - An empty string edits O(path) in place on every version.
      - On containerd before 2.1, if this file exists, is imported by O(path) and defines a CRI plugin table
        (the layout C(nvidia-ctk) writes), the module fails rather than edit config.toml uselessly.
    type: str
    default: /etc/containerd/conf.d/99-nvidia.toml
  runtime_name:
    description:
      - Name of the runtime; this is the C(handler) of a Kubernetes RuntimeClass.
      - An empty string adds (or, with O(state=absent), removes) no runtime, only what O(enable_cdi) sets.
        This is CDI mode, where containers get GPUs from CDI specs and no NVIDIA runtime binary is needed.
    type: str
    default: nvidia
  runtime_path:
    description:
      - The runtime binary, written as C(options.BinaryName).
  set_as_default:
    description:
      - Also set C(containerd.default_runtime_name) to O(runtime_name), so every pod uses it.
      - Only do this when O(runtime_path) exists on the node; a default runtime whose binary is missing makes
        every pod fail.
    type: bool
    default: false
  enable_cdi:
    description:
      - Also set C(enable_cdi = true) on the CRI plugin (Container Device Interface).
      - Fails on containerd 1.6, which has no CDI. containerd 1.7 and later already default C(cdi_spec_dirs)
        to C(/etc/cdi) and C(/var/run/cdi), so that key is not written.
    type: bool
    default: false
  sandbox_image:
    description:
      - Also set the CRI's sandbox (pause) image, such as the one C(kubeadm config images list) names where no
        registry serves the runtime's default; empty leaves it as it is.
      - C(sandbox_image) of the CRI plugin on containerd 1.6 and 1.7; C(sandbox) of
        C([plugins."io.containerd.cri.v1.images".pinned_images]) on containerd 2.x.
      - With O(runtime_name) empty and O(enable_cdi) false, the call owns that value alone, and V(absent) gives
        back only it (the kubernetes role sets it so, beside the node stage's own call).
    type: str
    default: ""
  systemd_cgroup:
    description:
      - The cgroup driver of containerd's runc runtimes, which kubelet's C(cgroupDriver) must match. V(true) sets
        C(SystemdCgroup = true) (the systemd driver), V(false) sets C(SystemdCgroup = false) (cgroupfs), in the
        C(options) of the CRI plugin's default runtime (C(containerd.default_runtime_name), else C(runc)), of
        C(runc) when the files define it, and of the runtime O(runtime_name).
      - The default runtime and C(runc) are edited in the file that defines them (O(drop_in) before O(path));
        containerd's built-in C(runc), which no file defines, gets it in O(path). On containerd before 2.1 (or
        an unknown version) a config.toml without runtimes then gains C(runc) with its C(runtime_type), since a
        C(runtimes) table there replaces the built-in ones; where config.toml defines other runtimes but not
        C(runc), containerd has no C(runc), and a warning says so.
      - Only runtimes of the runc shim have this option; a default runtime of another shim is left, with a
        warning.
      - Each line it changes or adds is marked like the module's other keys; with O(state=absent) and the same
        value, the lines this task set are given back. With O(runtime_name) empty (and O(enable_cdi) false) the
        task owns only that (and O(sandbox_image)), and V(absent) takes back only that.
      - Unset (the default) leaves C(SystemdCgroup) of the default runtime and C(runc) as it is, in both states.
    type: bool
  state:
    description:
      - V(absent) removes the runtime table O(runtime_name) from O(path) and O(drop_in); gives back every line the
        module marked (C(default_runtime_name), C(enable_cdi), C(imports), a C(version) it added, C(SystemdCgroup)
        with O(systemd_cgroup)); removes
        C(default_runtime_name) when it still points at the runtime; removes the drop-in when nothing else is
        left in it, and then its entry in C(imports).
      - After O(state=present) then O(state=absent), the files are byte for byte what they were (a missing
        config.toml comes back as an empty one).
    type: str
    choices: [present, absent]
    default: present
  containerd_version:
    description:
      - The node's containerd version (C(1.7.24), or the output of C(containerd --version)), for a node
        where containerd is not installed yet.
      - When the node has a containerd binary, its C(containerd --version) wins; a given version that disagrees
        with it (in the parts given), or one that is not a version, fails the task.
      - When omitted and containerd is not installed, the version is unknown and the module edits O(path)
        in place.
    type: str
extends_documentation_fragment:
  - kubegpu.nvidia.runtime_config
notes:
  - Restart containerd after a change (RV(restart_required)); the role C(kubegpu.nvidia.container_runtime)
    does it with a handler that waits for the CRI and rolls back when containerd does not come back.
  - The copied runtime is a snapshot of the default runtime's table at the time of the change; later edits of
    C(runc)'s options are not copied again, except C(SystemdCgroup), which follows the default runtime's on
    every run.
  - On containerd 2.1 and later, keys the drop-in sets (the runtime, and C(default_runtime_name) /
    C(enable_cdi) when asked for) win over config.toml, since imports are merged after it.
  - Only O(path) and the module's own O(drop_in) are read; other imported files are not looked at.
seealso:
  - name: containerd configuration (PLUGINS.md)
    description: The configuration versions and C(imports).
    link: https://github.com/containerd/containerd/blob/main/docs/PLUGINS.md
  - name: NVIDIA Container Toolkit, configuring containerd
    description: What C(nvidia-ctk runtime configure) does, which this module replaces.
    link: https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html#configuring-containerd-for-kubernetes
"""

EXAMPLES = r"""
- name: Add the nvidia runtime (a RuntimeClass with handler "nvidia" selects it)
  kubegpu.nvidia.containerd_runtime:
  register: nvidia_runtime
  notify: Restart containerd

- name: Make it the default runtime and turn on CDI (containerd >= 1.7)
  kubegpu.nvidia.containerd_runtime:
    set_as_default: true
    enable_cdi: true
    backup: true

- name: kubeadm's pause image as the sandbox image, in a drop-in of its own on containerd 2.x
  kubegpu.nvidia.containerd_runtime:
    runtime_name: ""
    sandbox_image: registry.k8s.io/pause:3.10.2
    drop_in: /etc/containerd/conf.d/98-kubegpu-sandbox.toml

- name: The systemd cgroup driver for runc, the default runtime and the nvidia runtime (kubelet's cgroupDriver)
  kubegpu.nvidia.containerd_runtime:
    systemd_cgroup: true
  notify: Restart containerd

- name: Only the cgroup driver, no runtime (state absent with the same options gives back the lines)
  kubegpu.nvidia.containerd_runtime:
    runtime_name: ""
    systemd_cgroup: true

- name: Always edit config.toml in place, whatever the containerd version
  kubegpu.nvidia.containerd_runtime:
    drop_in: ""

- name: A second handler for CDI mode, next to the first one
  kubegpu.nvidia.containerd_runtime:
    runtime_name: nvidia-cdi
    runtime_path: /usr/bin/nvidia-container-runtime.cdi

- name: Remove it again, giving back the lines it changed
  kubegpu.nvidia.containerd_runtime:
    state: absent
"""

RETURN = r"""
changed:
  description: Whether a file was (or, in check mode, would be) changed, created or removed.
  returned: always
  type: bool
restart_required:
  description: containerd must be restarted for the change to take effect (same as RV(changed)).
  returned: always
  type: bool
  sample: true
config_version:
  description: The schema version of O(path), as containerd reads it (V(2) for a missing or empty file).
  returned: success
  type: int
  sample: 2
cri_plugin:
  description: The CRI plugin that holds the runtimes for that schema.
  returned: success
  type: str
  sample: io.containerd.grpc.v1.cri
strategy:
  description: Where the runtime was written, V(in_place) (O(path)) or V(drop_in) (O(drop_in)).
  returned: success
  type: str
  sample: in_place
strategy_reason:
  description: Why that strategy, in words.
  returned: success
  type: str
  sample: >-
    containerd 1.7.24 lets an imported file replace the whole CRI plugin table, so a drop-in would drop or
    shadow config.toml's CRI settings: editing config.toml in place
containerd_version:
  description: The containerd version the decision was based on; null when unknown.
  returned: success
  type: str
  sample: 1.7.24
runtime:
  description:
    - The runtime's table as written, with its C(options). Null for O(state=absent).
  returned: success
  type: dict
  sample:
    runtime_type: io.containerd.runc.v2
    options:
      BinaryName: /usr/bin/nvidia-container-runtime
      SystemdCgroup: true
files:
  description: The files that were (or would be) changed, created or removed.
  returned: success
  type: list
  elements: str
  sample: [/etc/containerd/config.toml]
backup_file:
  description: Path of the backup of O(path) (when O(backup=true) and it changed).
  returned: changed and backup requested
  type: str
  sample: /etc/containerd/config.toml.12345.2026-11-28@19:10:00~
backup_files:
  description: Backup path per file, for each file that was backed up.
  returned: changed and backup requested
  type: dict
diff:
  description: Before and after text of each file touched (also shown by C(--diff)).
  returned: changed
  type: list
  elements: dict
validated:
  description:
    - Whether the node's containerd parsed the result before it was written (see O(validate)). V(false) with a
      warning when the node has no containerd binary.
  returned: changed
  type: bool
  sample: true
warnings:
  description: Things the module noticed but did not change (for example a default pointing at a missing runtime).
  returned: when there are some
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 - after the documentation, as Ansible modules do

from ansible_collections.kubegpu.nvidia.plugins.module_utils._node_read import (  # noqa: E402
    NodeReadError,
    read_text_file,
)
from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtime_args import (  # noqa: E402
    CONTAINERD_ARGUMENT_SPEC as ARGUMENT_SPEC,
)

WHAT = "containerd's TOML file"


def read_node(module):
    """What the action plugin needs from the node, in one module run: both files and containerd."""
    params = module.params
    config = read_text_file(params["path"], WHAT)
    drop_in = read_text_file(params["drop_in"], WHAT) if params["drop_in"] else None
    binary = module.get_bin_path("containerd")
    version = None
    if binary:  # asked even when containerd_version is given: the node's own binary wins
        rc, out, dummy = module.run_command([binary, "--version"])
        version = out.strip() if rc == 0 and out.strip() else None
    return {"config": config, "drop_in": drop_in, "containerd": {"path": binary, "version": version}}


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
