# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options and behaviour every runtime configuration module (containerd_runtime, crio_runtime) shares."""

    DOCUMENTATION = r"""
options:
  runtime_path:
    description:
      - The NVIDIA runtime binary the handler runs.
    type: str
    default: /usr/bin/nvidia-container-runtime
  backup:
    description:
      - Keep a timestamped copy of each file before it is changed or removed (RV(backup_file), RV(backup_files)),
        in C(backup_dir) where the module has that option, else next to the file. Nothing is backed up for a
        file that did not exist. A backup that could not be completed (a full disk)
        is removed again, and the file is then left unchanged.
    type: bool
    default: false
  validate:
    description:
      - Let the node's own runtime binary (C(containerd -c FILE config dump), C(crio --config FILE --config-dir
        DIR config)) parse the complete result (every file it reads, the candidates in
        place of the files they replace, staged in a private temporary directory) before anything is written,
        in check mode too. A result it refuses fails the task and leaves every file byte for byte as it was.
      - When the node has no such binary (on its C(PATH) or in an C(sbin) directory), the files are written
        unvalidated, with a warning, and RV(validated) is V(false).
    type: bool
    default: true
attributes:
  action:
    description: >-
      Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: The configuration is read from the node, transformed on the controller (tomlkit) and written back.
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: The result is validated by the runtime's own parser in check mode too.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details: The before and after text of every file that changes, created or removed.
  platform:
    description: Any POSIX node with Python; the TOML work happens on the controller.
    support: full
    platforms: posix
notes:
  - "One flow for every runtime: the task takes a lock on the node for its read-modify-write, so a second task
    on the same files waits (up to 120 s) and then works on the first one's result; before writing it reads the
    files again and fails, writing nothing, if anything changed them meanwhile. The lock is an C(flock) on a
    file in C(/run/kubegpu) (root's, mode C(0700)), so it needs root (become) and no other user can take or
    block it; it is held by a small process on the node that ends when the task ends, and at the latest
    900 s after it took the lock (a run killed on the controller)."
  - Every candidate is validated before the first file is written; if a later write fails (read-only
    directory, full disk), the files already written are put back as they were.
  - Everything is read from the node in one module run and computed on the controller (the controller needs
    the Python package C(tomlkit)); the node needs nothing beyond Python's standard library.
requirements:
  - tomlkit (on the controller)
"""
