# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A GPU container's start latency, CDI applied ahead of time against the toolkit's runtime.

Used by tests/gpu/start-latency.sh on the GPU host (and by its rehearsal on a
build machine, with a test spec and no GPU). Every start is the same OCI
sequence a CRI runtime drives, straight against the low-level runtime: ``create``
(where nvidia-container-runtime modifies the bundle's config.json and hands it
to runc), ``start``, wait for the container's process to exit (end of its
output), ``delete``. The time is from ``create`` to the end of that output.

Variants (``--variant NAME=KIND[,key=value...]``):
  runc                plain runc; ``config=FILE`` names the bundle's config.json
                      (CDI edits already in it, as containerd or CRI-O applies a
                      spec before runc sees it), default the bare config: no GPU
  shim                nvidia-container-runtime; ``mode=cdi`` (``spec_dirs=D1:D2``,
                      the device named by the ``cdi.k8s.io/`` annotation ``device=``)
                      or ``mode=jit-cdi`` (the spec generated at every start from
                      NVIDIA_VISIBLE_DEVICES=all, through NVML)
Before the timed starts, one start per variant runs ``--check`` (a shell
command line inside the container) and records its output and exit status; a
``shim`` variant in ``mode=cdi`` also saves the config.json it wrote, which is
how the ``runc`` variant with CDI gets its config (``config=@NAME``: the config
variant NAME's shim wrote).

Results: OUT/start-latency.json (every start's seconds, the check outputs) and
OUT/start-latency.txt (a table: n, median, min, p90, max, median over the first
variant's). Exit status 0 when every variant's check exited 0, or exited as
``expect_fail=1`` says.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time


def summarize(seconds):
    """n, median, min, p90 (nearest rank), max of a list of durations."""
    ordered = sorted(seconds)
    if not ordered:
        return {"n": 0, "median": None, "min": None, "p90": None, "max": None}
    rank = max(1, -(-len(ordered) * 9 // 10))  # ceil(0.9 n), nearest-rank percentile
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "min": ordered[0],
        "p90": ordered[rank - 1],
        "max": ordered[-1],
    }


def parse_variant(text):
    """``NAME=KIND[,key=value...]`` -> dict; KIND is runc or shim."""
    name, sep, rest = text.partition("=")
    if not sep or not name or not rest:
        raise ValueError("--variant {0!r}: expected NAME=KIND[,key=value...]".format(text))
    kind, *pairs = rest.split(",")
    if kind not in ("runc", "shim"):
        raise ValueError("--variant {0!r}: KIND must be runc or shim".format(text))
    variant = {"name": name, "kind": kind}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError("--variant {0!r}: {1!r} is not key=value".format(text, pair))
        variant[key] = value
    if kind == "shim" and variant.get("mode") not in ("cdi", "jit-cdi"):
        raise ValueError("--variant {0!r}: a shim variant needs mode=cdi or mode=jit-cdi".format(text))
    if kind == "shim" and variant["mode"] == "cdi" and not variant.get("device"):
        raise ValueError("--variant {0!r}: mode=cdi needs device=KIND=NAME".format(text))
    return variant


def base_config(rootfs, args, env):
    """An OCI config for a non-interactive container running ARGS in ROOTFS (root, its own namespaces)."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": env,
            "cwd": "/",
            "capabilities": {key: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"]
                             for key in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": False},
        "hostname": "start-latency",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


class Runner:
    def __init__(self, runc, shim, work, toolkit_root, ldconfig):
        self.ldconfig = ldconfig
        self.toolkit_bin = os.path.dirname(shim)
        self.runc = runc
        self.shim = shim
        self.work = work
        self.toolkit_root = toolkit_root
        self.state = os.path.join(work, "runc-state")
        self.last_create = None
        os.makedirs(self.state, exist_ok=True)

    def shim_env(self, variant):
        """XDG_CONFIG_HOME with the toolkit's config.toml for VARIANT (mode, spec dirs, runc, driver root)."""
        home = os.path.join(self.work, "config-" + variant["name"])
        os.makedirs(os.path.join(home, "nvidia-container-runtime"), exist_ok=True)
        spec_dirs = ", ".join('"{0}"'.format(d) for d in variant.get("spec_dirs", "/etc/cdi").split(":"))
        lines = [
            "[nvidia-container-cli]",
            'root = "{0}"'.format(self.toolkit_root),
            'ldconfig = "@{0}"'.format(self.ldconfig),
            "[nvidia-container-runtime]",
            'log-level = "info"',
            'mode = "{0}"'.format(variant["mode"]),
            'runtimes = ["{0}"]'.format(self.runc),
            "[nvidia-container-runtime.modes.cdi]",
            'annotation-prefixes = ["cdi.k8s.io/"]',
            'default-kind = "nvidia.com/gpu"',
            "spec-dirs = [{0}]".format(spec_dirs),
            "[nvidia-ctk]",
            'path = "{0}/nvidia-ctk"'.format(self.toolkit_bin),
        ]
        with open(os.path.join(home, "nvidia-container-runtime", "config.toml"), "w") as handle:
            handle.write("\n".join(lines) + "\n")
        env = dict(os.environ)
        env["XDG_CONFIG_HOME"] = home
        env["PATH"] = self.toolkit_bin + ":" + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        return env

    def bundle(self, variant, config, index):
        path = os.path.join(self.work, "bundle-{0}-{1}".format(variant["name"], index))
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "config.json"), "w") as handle:
            json.dump(config, handle)
        return path

    def start(self, variant, config, index, timeout):
        """One container: create (runtime of VARIANT), start, wait for its output to end, delete.

        Returns (seconds from create to the end of the output, output, create's exit status, the config
        after create (the shim writes its edits into the bundle)).
        """
        path = self.bundle(variant, config, index)
        cid = "lat-{0}-{1}-{2}".format(variant["name"], os.getpid(), index)
        argv = [self.runc] if variant["kind"] == "runc" else [self.shim]
        env = self.shim_env(variant) if variant["kind"] == "shim" else dict(os.environ)
        read_end, write_end = os.pipe()
        begin = time.monotonic()
        create = subprocess.run(argv + ["--root", self.state, "create", "--bundle", path, cid],
                                stdin=subprocess.DEVNULL, stdout=write_end, stderr=write_end, env=env,
                                timeout=timeout, check=False)
        self.last_create = time.monotonic() - begin
        os.close(write_end)
        output = b""
        if create.returncode == 0:
            subprocess.run([self.runc, "--root", self.state, "start", cid], check=False, timeout=timeout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = begin + timeout
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk or time.monotonic() > deadline:
                break
            output += chunk
        elapsed = time.monotonic() - begin
        os.close(read_end)
        subprocess.run([self.runc, "--root", self.state, "delete", "--force", cid], check=False, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(path, "config.json")) as handle:
            written = json.load(handle)
        shutil.rmtree(path, ignore_errors=True)
        return elapsed, output.decode("utf-8", "replace"), create.returncode, written


def variant_config(variant, rootfs, args, written):
    env = ["PATH=/usr/local/nvidia/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64"]
    source = variant.get("config", "")
    if source.startswith("@"):
        config = json.loads(json.dumps(written[source[1:]]))
        config["process"]["args"] = args
        config.setdefault("root", {})["path"] = rootfs
        return config
    config = base_config(rootfs, args, env)
    if variant["kind"] == "shim" and variant["mode"] == "cdi":
        config["annotations"] = {"cdi.k8s.io/start-latency": variant["device"]}
    if variant["kind"] == "shim" and variant["mode"] == "jit-cdi":
        config["process"]["env"].append("NVIDIA_VISIBLE_DEVICES=all")
    return config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--runc", required=True)
    parser.add_argument("--shim", required=True, help="nvidia-container-runtime")
    parser.add_argument("--rootfs", required=True)
    parser.add_argument("--driver-root", default="/", help="the toolkit's [nvidia-container-cli] root")
    parser.add_argument("--ldconfig", default="/sbin/ldconfig", help="the host's ldconfig, for the toolkit's hooks")
    parser.add_argument("--variant", action="append", required=True)
    parser.add_argument("--check", default="nvidia-smi -L", help="shell command line of each variant's first start")
    parser.add_argument("--expect", default="GPU-[0-9a-f-]+",
                        help="a regular expression the check's output must match (where it must not fail)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of timed starts per variant at most")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    try:
        variants = [parse_variant(v) for v in args.variant]
    except ValueError as err:
        parser.error(str(err))
    os.makedirs(args.out, exist_ok=True)
    runner = Runner(args.runc, args.shim, args.work, args.driver_root, args.ldconfig)
    written, results = {}, []
    for variant in variants:
        results.append(run_variant(runner, args, variant, written))
        result = results[-1]
        print("{0}: {1}, {2}".format(variant["name"], result.get("error") or "check passed", result["summary"]),
              flush=True)
        write(args, results)
    sys.stdout.write(table(results))
    return 0 if all(not r.get("error") for r in results) else 1


def run_variant(runner, args, variant, written):
    """The check start, then the warm-up and timed starts of one variant; an "error" key when it failed."""
    source = variant.get("config", "")
    if source.startswith("@") and source[1:] not in written:
        return {"name": variant["name"], "error": "no config of {0} to start from".format(source),
                "summary": summarize([])}
    # A root of its own: runc leaves the files it makes as mount points (an empty /usr/bin/nvidia-smi where one
    # spec mounts it) in the root, and another variant's container would find them first in PATH.
    rootfs = os.path.join(args.work, "root-" + variant["name"])
    shutil.rmtree(rootfs, ignore_errors=True)
    shutil.copytree(args.rootfs, rootfs, symlinks=True)
    check = variant_config(variant, rootfs, ["/bin/sh", "-c", args.check + '; echo "exit=$?"'], written)
    elapsed, output, rc, config_after = runner.start(variant, check, "check", args.timeout)
    found = rc == 0 and "exit=0" in output and re.search(args.expect, output) is not None
    passed = found != (variant.get("expect_fail") == "1")
    if variant["kind"] == "shim" and variant["mode"] == "cdi":
        written[variant["name"]] = config_after
    result = {"name": variant["name"], "variant": variant, "seconds": [], "create_seconds": [],
              "check": {"seconds": elapsed, "create_rc": rc, "output": output[-4000:], "passed": passed}}
    if not passed:
        result["error"] = "check FAILED"
    if rc == 0:
        timed = variant_config(variant, rootfs, ["/bin/true"], written)
        began = time.monotonic()
        for index in range(args.warmup + args.runs):
            seconds, out, create_rc, _config = runner.start(variant, timed, index, args.timeout)
            if create_rc != 0:
                result["error"] = "create failed on start {0}: {1}".format(index, out[-500:])
                break
            if index >= args.warmup:
                result["seconds"].append(seconds)
                result["create_seconds"].append(runner.last_create)
            if time.monotonic() - began > args.budget:
                result["cut_short"] = "budget of {0} s spent".format(args.budget)
                break
    result["summary"] = summarize(result["seconds"])
    result["summary"]["create_median"] = summarize(result["create_seconds"])["median"]
    return result


def write(args, results):
    """The results so far: a call cut short still brings back the variants done."""
    with open(os.path.join(args.out, "start-latency.json"), "w") as handle:
        json.dump({"runs": args.runs, "warmup": args.warmup, "results": results}, handle, indent=1)
    with open(os.path.join(args.out, "start-latency.txt"), "w") as handle:
        handle.write(table(results))


def table(results):
    lines = ["{0:<22} {1:>3} {2:>9} {3:>9} {4:>9} {5:>9} {6:>7} {7:>10}  check".format(
        "variant", "n", "median s", "min s", "p90 s", "max s", "ratio", "create s")]
    base = next((r["summary"]["median"] for r in results if r.get("summary", {}).get("median")), None)
    for r in results:
        s = r.get("summary") or summarize([])
        cells = ["{0:9.4f}".format(s[k]) if s[k] is not None else "{0:>9}".format("-")
                 for k in ("median", "min", "p90", "max")]
        ratio = "{0:7.2f}".format(s["median"] / base) if base and s["median"] else "{0:>7}".format("-")
        create = s.get("create_median")
        ratio += " {0:10.4f}".format(create) if create is not None else " {0:>10}".format("-")
        check = r.get("check", {})
        lines.append("{0:<22} {1:>3} {2} {3}  {4}".format(
            r["name"], s["n"], " ".join(cells), ratio,
            r.get("error") or ("passed" if check.get("passed") else "FAILED")))
        if r.get("cut_short"):
            lines[-1] += " ({0})".format(r["cut_short"])
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
