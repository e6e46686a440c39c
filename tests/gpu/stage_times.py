# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seconds per site.yml stage, from a run logged with the ansible.posix.profile_tasks callback.

profile_tasks prints, under each task's banner, the time the previous task
took; the last such line follows the play recap. Each task's time goes to
the stage of its role (tasks outside a role go to the stage of the role that
ran last, or to "setup" before any):

    python3 tests/gpu/stage_times.py LOG   ->   "stage node 41.2" ... "stage total 300.5"
"""

from __future__ import annotations

import re
import sys

STAGES = {
    "preflight": "node", "driver": "node", "container_toolkit": "node", "container_runtime": "node", "cdi": "node",
    "kubernetes": "kubernetes",
    "node_labels": "cluster", "device_plugin": "cluster", "gpu_operator": "cluster",
    "validate": "validate",
}
TASK = re.compile(r"^TASK \[(?:(?P<role>[\w.]+) : )?")
TIMING = re.compile(r"\((?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)\)\s+\d+:\d\d:\d\d")


def stage_seconds(lines):
    """{stage: seconds} over the tasks of the log's lines, in the order stages first ran."""
    totals = {}
    current = None  # stage of the task whose time the next timing line reports
    pending = None  # stage of the task whose banner came last
    last_stage = "setup"
    for line in lines:
        task = TASK.match(line)
        if task:
            role = (task.group("role") or "").rsplit(".", 1)[-1]
            stage = STAGES.get(role, last_stage)
            last_stage = stage
            pending = stage
            continue
        timing = TIMING.search(line)
        if timing:
            if current is not None:
                seconds = int(timing.group("h")) * 3600 + int(timing.group("m")) * 60 + float(timing.group("s"))
                totals[current] = totals.get(current, 0.0) + seconds
            current = pending
    return totals


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: stage_times.py LOG")
    with open(argv[0], encoding="utf-8", errors="replace") as handle:
        totals = stage_seconds(handle)
    if not totals:
        raise SystemExit("stage_times: no profile_tasks timings in %s" % argv[0])
    for stage, seconds in totals.items():
        print("stage %s %.1f" % (stage, seconds))
    print("stage total %.1f" % sum(totals.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
