# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-node table that ends every run of site.yml: what each node has, what changed, what was skipped.

Pure: each host's variables in (the node stage's facts, decisions and registered
results, whatever of them exists), rows and text lines out. A host the node
stage never reached still gets a row that says so; one the node stage stopped
(``kubegpu_node_stopped``: it did not answer, or preflight refused it) says why.
The lines are a list, one row each, so that any callback prints them one per line.
"""

from __future__ import annotations

import re
from collections import Counter

COLUMNS = (
    ("node", "NODE"),
    ("gpus", "GPUS"),
    ("driver", "DRIVER"),
    ("runtime", "RUNTIME"),
    ("mode", "MODE"),
    ("cdi_spec", "CDI SPEC"),
    ("validation", "VALIDATION"),
    ("changed", "CHANGED"),
    ("skipped", "SKIPPED"),
)

# The node stage's steps, in order, and the result each registers.
STEPS = (
    ("driver", "__driver_install"),
    ("container_toolkit", "container_toolkit_install"),
    ("cdi_spec", "cdi_spec_result"),
    ("container_runtime", "container_runtime_change"),
)


def _ran(result):
    return isinstance(result, dict) and not result.get("skipped")


def _gpus(facts):
    if not facts:
        return "-"
    if not facts.get("gpu_count"):
        return "none"
    names = Counter((gpu.get("name") or gpu.get("product_name") or "NVIDIA GPU") for gpu in facts.get("gpus") or [])
    return ", ".join("%dx %s" % (count, name) for name, count in sorted(names.items()))


def _driver(facts):
    driver = (facts or {}).get("driver") or {}
    if not facts:
        return "-"
    if driver.get("loaded"):
        return driver.get("version") or "loaded"
    return "not loaded"


def _runtime(facts, decision):
    if decision and decision.get("runtime"):
        return " ".join(x for x in (decision.get("runtime"), decision.get("runtime_version")) if x)
    runtimes = (facts or {}).get("runtimes") or {}
    found = [
        " ".join(x for x in (name, (runtimes.get(name) or {}).get("version")) if x)
        for name in ("containerd", "crio")
        if (runtimes.get(name) or {}).get("installed")
    ]
    return ", ".join(found) if found else ("none" if facts else "-")


def _cdi_spec(result):
    if not _ran(result):
        return "-"
    if result.get("failed"):
        return "failed"
    if result.get("spec") is None:
        return "removed" if result.get("changed") else "none"
    return "%s (%s)" % (result["path"], "written" if result.get("changed") else "unchanged")


# wait_for_connection's wrapping around the connection's own message.
_TIMED_OUT = re.compile(r"^timed out waiting for [^:]*: ")


def stopped_reason(stopped):
    """The one line a node the node stage stopped gets: ``unreachable: <the connection's message>``, or
    ``stopped: <the refusal>`` (``stopped`` is ``kubegpu_node_stopped``: ``{kind, message}``)."""
    message = str(stopped.get("message") or "no message").strip()
    first = message.splitlines()[0] if message else "no message"
    if stopped.get("kind") == "unreachable":
        return "unreachable: " + _TIMED_OUT.sub("", first)
    return "stopped: " + first


def _skipped(host_vars, facts):
    why = []
    stopped = host_vars.get("kubegpu_node_stopped")
    if isinstance(stopped, dict):
        why.append(stopped_reason(stopped))
        return why
    stage_skip = host_vars.get("kubegpu_node_stage_skipped")
    if not facts:
        why.append("node stage: not run on this host")
    elif stage_skip:
        why.append("node stage: " + stage_skip)
        return why
    plan = host_vars.get("nvidia_driver_plan") or {}
    if plan.get("action") == "skip" and facts and facts.get("gpu_count"):
        why.append("driver: already loaded")
    if host_vars.get("container_toolkit_needed") is False or str(host_vars.get("container_toolkit_needed")) == "False":
        mode = host_vars.get("container_toolkit_selected_mode") or ""
        why.append("container_toolkit: not needed" + (" in %s mode" % mode if mode else ""))
    return why


def node_row(host_vars, validation=None):
    """One row of the summary for one host's variables (a ``hostvars`` entry)."""
    facts = (host_vars.get("ansible_facts") or {}).get("nvidia")
    decision = host_vars.get("kubegpu_node") or {}
    changed = [step for step, register in STEPS if _ran(host_vars.get(register)) and host_vars[register].get("changed")]
    ran = [step for step, register in STEPS if _ran(host_vars.get(register))]
    return {
        "node": host_vars.get("inventory_hostname") or "?",
        "gpus": _gpus(facts),
        "driver": _driver(facts),
        "runtime": _runtime(facts, decision),
        "mode": decision.get("mode") or "-",
        "cdi_spec": _cdi_spec(host_vars.get("cdi_spec_result")),
        "validation": validation or "-",
        "changed": ", ".join(changed) if changed else ("nothing" if ran else "-"),
        "skipped": "; ".join(_skipped(host_vars, facts)) or "-",
    }


def summary_rows(hosts_vars, validation_rows=None):
    """Rows for every host, in inventory order; ``validation_rows`` are the validate role's rows (node, result)."""
    results = {row.get("node"): row.get("result") for row in validation_rows or []}
    rows = []
    for host_vars in hosts_vars or []:
        node_name = host_vars.get("kubegpu_node_name") or host_vars.get("inventory_hostname")
        rows.append(node_row(host_vars, results.get(node_name)))
    return rows


def summary_lines(rows):
    """Aligned text lines: a header, a rule, one line per row (``-`` where a value is missing)."""
    table = [[title for _key, title in COLUMNS]]
    for row in rows:
        table.append([str(row.get(key)) if row.get(key) not in (None, "") else "-" for key, _title in COLUMNS])
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = []
    for index, line in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    if len(table) == 1:
        lines.append("(no GPU node in this run's inventory)")
    return lines
