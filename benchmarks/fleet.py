# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark: what the node stage costs per host, against Ansible's own floor.

    .venv/bin/python benchmarks/fleet.py [--hosts 1,10,50,100] [--repeat 3] [--forks 10]
                                         [--transform-bytes 1000000] [--write docs/performance.md]

For each fleet size N it builds N hosts on this machine (local connection,
each with its own root directory: the H200's sysfs and /proc replayed from
tests/unit/fixtures/nvidia-h200, the driver's library tree and /dev nodes,
and a real ``containerd config default`` output, 1.7.24 and 2.1.9 in turn so
that both of containerd_runtime's strategies run). Then, per repetition, on
a fresh fleet: the baseline playbook (one ``ansible.builtin.ping`` per host),
the node stage (benchmarks/node-stage.yml), and the node stage again. Wall
times are of the whole ``ansible-playbook`` process; the table holds the
median of the repetitions. Changed and failed counts come from the
ansible.posix.json callback's stats.

Separately it times the pure transformation of containerd_runtime
(plugin_utils/_containerd_config.configure) on the real default config and on
one grown to about ``--transform-bytes`` with registry tables.

With ``--write`` the table, the command and the machine go to that file.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
FIXTURES = REPO / "tests" / "unit" / "fixtures"
H200_XML = FIXTURES / "nvidia-h200" / "nvidia-smi-q.xml"
#: containerd versions given to the hosts in turn: in place (< 2.1) and drop-in (>= 2.1).
CONTAINERD_VERSIONS = ("1.7.24", "2.1.9")
REGISTRY_CONFIGS = '      [plugins."io.containerd.grpc.v1.cri".registry.configs]\n'


@functools.lru_cache(maxsize=None)
def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- the fleet


def build_host(directory, containerd_version):
    """One host's directories below `directory`; returns its inventory variables."""
    roots = _load("fleet_gpu_roots", REPO / "tests" / "unit" / "plugins" / "module_utils" / "conftest.py")
    drivers = _load("fleet_driver_tree", FIXTURES / "cdi" / "driver_tree.py")
    directory = Path(directory)
    root = roots.build_h200_root(directory / "root")
    config = FIXTURES / "containerd" / f"config-default-{containerd_version}.toml"
    root.write("/etc/containerd/config.toml", config.read_text())
    tree = drivers.h200_tree(directory)
    return {
        "fleet_root": str(root),
        "fleet_driver_root": str(tree.driver_root),
        "fleet_dev_root": str(tree.dev_root),
        "fleet_nvidia_smi_xml": str(H200_XML),
        "fleet_containerd_version": containerd_version,
    }


def build_fleet(directory, count, python=None):
    """N hosts below `directory` (emptied first) and their inventory; returns the inventory's path."""
    directory = Path(directory)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    hosts = {}
    for index in range(1, count + 1):
        name = f"node{index:03d}"
        hosts[name] = build_host(directory / name, CONTAINERD_VERSIONS[(index - 1) % len(CONTAINERD_VERSIONS)])
    inventory = {
        "fleet": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": python or sys.executable,
            },
            "hosts": hosts,
        }
    }
    path = directory / "inventory.json"
    # JSON is YAML: Ansible's yaml inventory plugin reads it without a YAML library here.
    path.write_text(json.dumps(inventory, indent=1) + "\n")
    return path


# --------------------------------------------------------------------------- running Ansible


@dataclasses.dataclass
class PlaybookRun:
    playbook: str
    wall_s: float
    rc: int
    stats: dict
    stderr: str
    plays: list = dataclasses.field(default_factory=list)

    def total(self, key):
        return sum(host.get(key, 0) for host in self.stats.values())

    @property
    def changed(self):
        return self.total("changed")

    @property
    def failed(self):
        return self.total("failures") + self.total("unreachable")

    def tasks_per_host(self):
        """Task results per host (ok, changed or skipped; what each host went through), as a mean."""
        if not self.stats:
            return 0.0
        return sum(host.get("ok", 0) + host.get("skipped", 0) for host in self.stats.values()) / len(self.stats)

    def changed_tasks(self):
        """'host: task name' of every changed result, to say what a re-run changed."""
        found = []
        for play in self.plays:
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    if result.get("changed"):
                        found.append(f"{host}: {task.get('task', {}).get('name')}")
        return found


def ansible_env(tmp, forks):
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(BENCHMARKS / "ansible.cfg"),
            "ANSIBLE_FORKS": str(forks),
            "ANSIBLE_LOCAL_TEMP": str(Path(tmp) / "ansible-local"),
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


def run_playbook(playbook, inventory, env):
    command = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(inventory),
        str(BENCHMARKS / playbook),
    ]
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    try:
        output = json.loads(proc.stdout)
    except ValueError:
        output = {}
    return PlaybookRun(playbook, wall, proc.returncode, output.get("stats", {}), proc.stderr, output.get("plays", []))


def node_stage_twice(workdir, count, forks=10, baseline=True):
    """Baseline, node stage, node stage again, on a fresh fleet of `count` hosts."""
    workdir = Path(workdir)
    inventory = build_fleet(workdir / "fleet", count)
    env = ansible_env(workdir, forks)
    runs = {}
    if baseline:
        runs["baseline"] = run_playbook("baseline.yml", inventory, env)
        runs["controller"] = run_playbook("controller-task.yml", inventory, env)
    runs["first"] = run_playbook("node-stage.yml", inventory, env)
    runs["rerun"] = run_playbook("node-stage.yml", inventory, env)
    for run in runs.values():
        if run.rc != 0 or run.failed or len(run.stats) != count:
            raise RuntimeError(
                f"{run.playbook} on {count} hosts: rc {run.rc}, {run.failed} failed, "
                f"{len(run.stats)} hosts in the stats\n{run.stderr[-4000:]}"
            )
    return runs


# --------------------------------------------------------------------------- the transformation


def grown_config(size):
    """containerd 1.7.24's default config, grown to about `size` bytes with registry hosts' TLS and auth tables."""
    base = (FIXTURES / "containerd" / "config-default-1.7.24.toml").read_text()
    chunks, length, index = [], len(base), 0
    while length < size:
        host = f'plugins."io.containerd.grpc.v1.cri".registry.configs."registry-{index:05d}.example.internal:5000"'
        chunk = (
            f"\n      [{host}.tls]\n"
            f'        ca_file = "/etc/containerd/certs/registry-{index:05d}.crt"\n'
            "        insecure_skip_verify = false\n"
            f"      [{host}.auth]\n"
            f'        username = "puller-{index:05d}"\n'
            f'        password = "token-{index:05d}"\n'
        )
        chunks.append(chunk)
        length += len(chunk)
        index += 1
    return base.replace(REGISTRY_CONFIGS, REGISTRY_CONFIGS + "".join(chunks), 1)


def time_transformation(text, repeat):
    """Median seconds of configure() adding the runtime (changed) and on its own output (no change)."""
    sys.path.insert(0, str(REPO / ".cache" / "collections"))
    from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_config import (  # noqa: PLC0415
        RuntimeOptions,
        configure,
    )

    options = RuntimeOptions(path="/etc/containerd/config.toml", drop_in="", enable_cdi=True)
    first, again = [], []
    for dummy in range(repeat):
        start = time.perf_counter()
        result = configure(text, None, options, "1.7.24")
        first.append(time.perf_counter() - start)
        start = time.perf_counter()
        rerun = configure(result.config_text, None, options, "1.7.24")
        again.append(time.perf_counter() - start)
        if not result.changed or rerun.changed:
            raise RuntimeError("configure() must change the default config once and then nothing")
    return statistics.median(first), statistics.median(again)


# --------------------------------------------------------------------------- the report


def machine():
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from ansible.release import __version__ as ansible_core  # noqa: PLC0415

    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "ansible_core": ansible_core,
        "kernel": platform.release(),
    }


def load_average():
    return "%.2f %.2f %.2f" % os.getloadavg()


def render(rows, transforms, *, info, command, forks, when):
    lines = [
        f"Measured {when}; forks {forks}. Wall time of each `ansible-playbook` run, median of the runs",
        "shown (each run on a freshly built fleet: baseline, node stage, node stage again).",
        "",
        "| N hosts | runs | first run (s) | re-run (s) | baseline ping (s) | re-run / baseline (medians) "
        "| changed tasks in re-run | tasks per host in re-run | one controller-side task (s) "
        "| load average before (1/5/15 min) | load average after |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            "| {n} | {repeat} | {first:.1f} | {rerun:.1f} | {baseline:.1f} | {ratio:.2f} | {changed} "
            "| {tasks_per_host:.0f} | {controller:.1f} | {load_before} | {load_after} |".format(**row)
        )
    if transforms:
        lines += [
            "",
            "| containerd config | bytes | runs | `configure()` adding the runtime (ms) "
            "| `configure()` on its own output, no change (ms) |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            "| {name} | {bytes} | {repeat} | {first_ms:.0f} | {rerun_ms:.0f} |".format(**item) for item in transforms
        ]
    lines += [
        "",
        "Machine: {nproc} CPUs (`nproc`), {cpu}; Linux {kernel}; Python {python}; ansible-core {ansible_core}.".format(
            **info
        ),
        "",
        "Command (in the repository, whose docs/development.md says how to run it):",
        "",
        "```",
        command,
        "```",
    ]
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--hosts", default="1,10,50,100", help="fleet sizes, comma separated")
    parser.add_argument(
        "--repeat", default="3", help="runs per fleet size (median reported): one number, or one per --hosts entry"
    )
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--transform-bytes", type=int, default=1_000_000)
    parser.add_argument("--transform-repeat", type=int, default=3, help="runs of the grown config (default config: 5)")
    parser.add_argument("--skip-transform", action="store_true")
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--workdir", help="where fleets are built (default: a temporary directory, removed)")
    parser.add_argument("--write", help="Markdown file whose measurement section is replaced")
    return parser.parse_args(argv)


MARK_BEGIN = "<!-- fleet.py: measurement begin -->"
MARK_END = "<!-- fleet.py: measurement end -->"


def write_section(path, body):
    path = Path(path)
    text = path.read_text() if path.exists() else f"{MARK_BEGIN}\n{MARK_END}\n"
    head, sep, rest = text.partition(MARK_BEGIN)
    if not sep:
        head, rest = text.rstrip("\n") + "\n\n", f"\n{MARK_END}\n"
    dummy, sep, tail = rest.partition(MARK_END)
    path.write_text(f"{head}{MARK_BEGIN}\n{body}\n{MARK_END}{tail if sep else chr(10)}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # The shipped page names no repository path (its tarball test): the script by its name.
    command = shlex.join(["fleet.py", *(sys.argv[1:] if argv is None else argv)])
    sizes = [int(n) for n in args.hosts.split(",") if n.strip()]
    repeats = [int(n) for n in args.repeat.split(",") if n.strip()]
    repeats = repeats * len(sizes) if len(repeats) == 1 else repeats
    if len(repeats) != len(sizes):
        raise SystemExit("--repeat: give one number, or one per --hosts entry")
    rows, transforms = [], []
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    own_workdir = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="kubegpu-fleet-"))
    try:
        if not args.skip_transform:
            default = (FIXTURES / "containerd" / "config-default-1.7.24.toml").read_text()
            for name, text, repeat in (
                ("`containerd config default` 1.7.24", default, 5),
                ("the same, grown with registry tables", grown_config(args.transform_bytes), args.transform_repeat),
            ):
                first, rerun = time_transformation(text, repeat)
                item = {
                    "name": name,
                    "bytes": len(text.encode()),
                    "repeat": repeat,
                    "first_ms": first * 1000,
                    "rerun_ms": rerun * 1000,
                }
                transforms.append(item)
                print(
                    "transformation: {name}: {bytes} bytes, {first_ms:.0f} ms, re-run {rerun_ms:.0f} ms".format(**item),
                    flush=True,
                )
        for count, repeat in [] if args.skip_fleet else zip(sizes, repeats):
            samples = {"first": [], "rerun": [], "baseline": [], "controller": [], "changed": [], "tasks": []}
            load_before = load_average()
            for attempt in range(repeat):
                runs = node_stage_twice(workdir / f"n{count}-{attempt}", count, forks=args.forks)
                for key in ("first", "rerun", "baseline", "controller"):
                    samples[key].append(runs[key].wall_s)
                samples["changed"].append(runs["rerun"].changed)
                samples["tasks"].append(runs["rerun"].tasks_per_host())
                print(
                    f"N={count} run {attempt + 1}: first {runs['first'].wall_s:.1f} s "
                    f"(changed {runs['first'].changed}), re-run {runs['rerun'].wall_s:.1f} s "
                    f"(changed {runs['rerun'].changed}), baseline {runs['baseline'].wall_s:.1f} s, "
                    f"one controller-side task {runs['controller'].wall_s:.1f} s, "
                    f"load {load_average()}",
                    flush=True,
                )
                shutil.rmtree(workdir / f"n{count}-{attempt}", ignore_errors=True)
            row = {key: statistics.median(values) for key, values in samples.items() if key not in ("changed", "tasks")}
            row.update(
                n=count,
                repeat=repeat,
                ratio=row["rerun"] / row["baseline"],
                changed=max(samples["changed"]),
                tasks_per_host=statistics.median(samples["tasks"]),
                load_before=load_before,
                load_after=load_average(),
            )
            rows.append(row)
            if args.write:  # after each size, so that a long run interrupted later still leaves its rows
                write_section(
                    args.write, render(rows, transforms, info=machine(), command=command, forks=args.forks, when=when)
                )
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report = render(rows, transforms, info=machine(), command=command, forks=args.forks, when=when)
    print(report)
    if args.write:
        write_section(args.write, report)
    return 1 if any(row["changed"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
