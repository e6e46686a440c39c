# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a pod that asks for a CDI device, through the CRI, as kubelet would.

Used by tests/gpu/run.sh on the real GPU host and by
tests/integration/cdi/test_cdi_cri_fake_gpu.py on build machines (fake device
nodes and libraries): the same steps in both places.

  1. write a containerd config (root, state, socket and CDI spec directory in
     WORK; ``restrict_oom_score_adj``, which the CRI plugin needs on these
     machines), start containerd from BIN;
  2. run the node stage (--node-stage, a shell command that gets
     CONTAINERD_CONFIG and CDI_SPEC_DIR), then restart containerd so it reads
     what the stage changed;
  3. build the test image and the pause image (tests/gpu/oci_image.py) and
     import them with ``ctr -n k8s.io image import``;
  4. RunPodSandbox (host network, no CNI) and CreateContainer with the CDI
     device in the CRI's ``CDI_devices`` field (or its annotation), start it,
     wait for it to exit, read its log;
  5. stop and remove the pod, stop every process started here (by pid), and
     write a summary JSON: output, exit code, seconds from RunPodSandbox to the
     first output line.

Exit status 0 only when the container exited 0 and every --expect matched.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from cri_api.v1 import api_pb2, api_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
import oci_image

SANDBOX_IMAGE = "docker.io/kubegpu/pause:1"
TEST_IMAGE = "docker.io/kubegpu/cdi-test:1"

CONFIG = """version = 2
root = "{work}/root"
state = "{work}/state"

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[debug]
  level = "info"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  cdi_spec_dirs = ["{cdi}"]

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "{snapshotter}"
"""


def log(message):
    print("[%s] %s" % (datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3], message), flush=True)


def filesystem_of(path):
    """The file system type /proc/mounts gives for the mount holding ``path``."""
    best, fstype = "", ""
    real = os.path.realpath(path)
    with open("/proc/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            mount_point = fields[1].replace("\\040", " ")
            inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) >= len(best):
                best, fstype = mount_point, fields[2]
    return fstype


class Containerd:
    def __init__(self, bin_dir, work, config):
        self.bin_dir, self.work, self.config = bin_dir, work, config
        self.sock = str(work / "run" / "containerd.sock")
        self.proc = None
        self.log_path = work / "containerd.log"

    def env(self):
        env = dict(os.environ)
        env["PATH"] = "%s:%s" % (self.bin_dir, env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
        return env

    def start(self, timeout=30):
        handle = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the daemon
        self.proc = subprocess.Popen(
            [str(self.bin_dir / "containerd"), "--config", str(self.config)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,
        )
        log("containerd started, pid %d" % self.proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("containerd exited with %s; see %s" % (self.proc.returncode, self.log_path))
            if os.path.exists(self.sock):
                try:
                    self.cri().Version()
                    return
                except Exception:
                    pass
            time.sleep(0.05)
        raise RuntimeError("containerd did not serve the CRI within %ds; see %s" % (timeout, self.log_path))

    def cri(self):
        class Client:
            def __init__(self, sock):
                self.channel = grpc.insecure_channel("unix://" + sock)
                self.runtime = api_pb2_grpc.RuntimeServiceStub(self.channel)
                self.pb = api_pb2

            def Version(self):
                return self.runtime.Version(self.pb.VersionRequest(), timeout=2)

        return Client(self.sock)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        log("containerd (pid %d) stopped" % self.proc.pid)

    def ctr(self, *args):
        argv = [str(self.bin_dir / "ctr"), "--address", self.sock, "-n", "k8s.io"] + list(args)
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env(), check=False)
        if done.returncode != 0:
            raise RuntimeError("%s failed: %s" % (" ".join(argv), done.stderr.strip() or done.stdout.strip()))
        return done.stdout


def kill_leftovers(sock):
    """Shims of this containerd (they outlive it when a test fails half way): by pid, only ours."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and sock.encode() in b" ".join(argv):
            try:
                os.kill(int(entry), signal.SIGKILL)
                log("killed leftover shim pid %s" % entry)
            except OSError:
                pass


def unmount_below(path):
    mounts = []
    with open("/proc/mounts") as handle:
        for line in handle:
            point = line.split()[1].replace("\\040", " ")
            if point.startswith(str(path) + "/"):
                mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def cri_log_lines(path):
    """(timestamp, stream, text) of a CRI container log file."""
    lines = []
    try:
        content = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return lines
    for line in content.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4:
            lines.append((parts[0], parts[1], parts[3]))
    return lines


def parse_rfc3339(stamp):
    # 2026-11-28T19:19:59.123456789Z or with +00:00; keep microseconds.
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", stamp)
    if not match:
        return None
    base = datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    micro = int((match.group(2) or "0")[:6].ljust(6, "0"))
    zone = match.group(3)
    offset = datetime.timedelta(0)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return (base.replace(microsecond=micro) - offset).replace(tzinfo=datetime.timezone.utc).timestamp()


def run_pod(containerd, args, logs_dir):
    client = containerd.cri()
    pb, rt = client.pb, client.runtime
    uid = "kubegpu-cdi-%d" % os.getpid()
    sandbox_config = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="cdi-test", uid=uid, namespace="default", attempt=0),
        log_directory=str(logs_dir),
        linux=pb.LinuxPodSandboxConfig(
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.NODE)
            )
        ),
    )
    devices = [pb.CDIDevice(name=d) for d in args.device] if args.cdi_via == "field" else []
    annotations = {}
    if args.cdi_via == "annotation":
        for i, device in enumerate(args.device):
            annotations["cdi.k8s.io/kubegpu-test-%d" % i] = device
    container_config = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name="cdi-test", attempt=0),
        image=pb.ImageSpec(image=TEST_IMAGE),
        command=["/bin/sh", "-c", args.command],
        log_path="cdi-test.log",
        CDI_devices=devices,
        annotations=annotations,
    )
    sandbox_id = container_id = None
    result = {"cdi_devices": args.device, "cdi_via": args.cdi_via, "command": args.command}
    try:
        start = time.time()
        started = time.monotonic()
        sandbox_id = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=sandbox_config), timeout=60).pod_sandbox_id
        result["run_pod_sandbox_s"] = round(time.monotonic() - started, 4)
        container_id = rt.CreateContainer(
            pb.CreateContainerRequest(
                pod_sandbox_id=sandbox_id, config=container_config, sandbox_config=sandbox_config
            ),
            timeout=60,
        ).container_id
        result["create_container_s"] = round(time.monotonic() - started, 4)
        rt.StartContainer(pb.StartContainerRequest(container_id=container_id), timeout=60)
        result["start_container_s"] = round(time.monotonic() - started, 4)
        log_file = logs_dir / "cdi-test.log"
        first_seen = None
        deadline = time.monotonic() + args.timeout
        status = None
        while time.monotonic() < deadline:
            if first_seen is None and log_file.exists() and log_file.stat().st_size > 0:
                first_seen = time.monotonic() - started
            status = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=container_id), timeout=10).status
            if status.state == pb.CONTAINER_EXITED:
                break
            time.sleep(0.005)
        else:
            raise RuntimeError("the container did not exit within %ds" % args.timeout)
        lines = cri_log_lines(log_file)
        stamps = [parse_rfc3339(stamp) for stamp, dummy, dummy2 in lines]
        first_stamp = next((s for s in stamps if s is not None), None)
        result.update(
            exit_code=status.exit_code,
            reason=status.reason,
            message=status.message,
            output=[text for dummy, dummy2, text in lines],
            first_output_s=round(first_stamp - start, 4) if first_stamp is not None else None,
            first_output_seen_by_polling_s=round(first_seen, 4) if first_seen is not None else None,
        )
    finally:
        remove_container = pb.RemoveContainerRequest(container_id=container_id)
        stop_sandbox = pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id)
        remove_sandbox = pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id)
        for action in (
            lambda: container_id and rt.RemoveContainer(remove_container, timeout=30),
            lambda: sandbox_id and rt.StopPodSandbox(stop_sandbox, timeout=30),
            lambda: sandbox_id and rt.RemovePodSandbox(remove_sandbox, timeout=30),
        ):
            try:
                action()
            except Exception as exc:
                log("cleanup: %s" % exc)
    return result


def main(argv=None):  # noqa: PLR0915 - one straight sequence of steps, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, type=Path, help="containerd, containerd-shim-runc-v2, ctr, runc")
    parser.add_argument("--work", required=True, type=Path, help="an empty directory for containerd's state")
    parser.add_argument("--rootfs", required=True, type=Path, help="the image's root (a minimal glibc root)")
    parser.add_argument("--add", action="append", default=[], help="IMAGE_PATH=HOST_FILE added to the test image")
    parser.add_argument("--device", action="append", required=True, help="CDI device, e.g. nvidia.com/gpu=all")
    parser.add_argument("--cdi-via", choices=["field", "annotation"], default="field")
    parser.add_argument("--command", required=True, help="shell command the container runs")
    parser.add_argument("--node-stage", help="shell command run between the first and second containerd start")
    parser.add_argument("--expect", action="append", default=[], help="a regex the output must match")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--result", required=True, type=Path, help="where the summary JSON goes")
    args = parser.parse_args(argv)

    work = args.work.resolve()
    for sub in ("run", "cdi", "logs", "images", "etc"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    config = work / "etc" / "config.toml"
    # An overlay upper directory cannot live on overlayfs: fall back to copies there.
    snapshotter = "native" if filesystem_of(work) == "overlay" else "overlayfs"
    config.write_text(
        CONFIG.format(
            work=work, sock=work / "run" / "containerd.sock", sandbox=SANDBOX_IMAGE, cdi=work / "cdi",
            snapshotter=snapshotter,
        )
    )
    containerd = Containerd(args.bin.resolve(), work, config)
    summary = {"ok": False, "snapshotter": snapshotter, "config": str(config), "cdi_spec_dir": str(work / "cdi")}
    try:
        containerd.start()
        version = containerd.cri().Version()
        summary["runtime"] = "%s %s (CRI %s)" % (
            version.runtime_name, version.runtime_version, version.runtime_api_version
        )
        log("CRI answers: %s" % summary["runtime"])
        if args.node_stage:
            env = containerd.env()
            env.update(CONTAINERD_CONFIG=str(config), CDI_SPEC_DIR=str(work / "cdi"))
            log("node stage: %s" % args.node_stage)
            started = time.monotonic()
            done = subprocess.run(args.node_stage, shell=True, env=env, check=False)
            summary["node_stage_s"] = round(time.monotonic() - started, 2)
            if done.returncode != 0:
                raise RuntimeError("the node stage failed with exit status %d" % done.returncode)
            containerd.stop()
            containerd.start()
            log("containerd restarted with the node stage's configuration")
        summary["config_after_node_stage"] = config.read_text()
        extra = {}
        for item in args.add:
            target, dummy, source = item.partition("=")
            extra[target] = source
        images = work / "images"
        oci_image.build(str(images / "pause.tar"), SANDBOX_IMAGE, str(args.rootfs), ["/bin/sleep", "2147483647"])
        oci_image.build(str(images / "test.tar"), TEST_IMAGE, str(args.rootfs), ["/bin/sh"], extra=extra)
        for tar in ("pause.tar", "test.tar"):
            containerd.ctr("image", "import", str(images / tar))
        names = [line.split()[0] for line in containerd.ctr("image", "ls").splitlines()[1:]]
        log("images imported: %s" % ", ".join(names))
        pod = run_pod(containerd, args, work / "logs")
        summary.update(pod)
        for line in pod.get("output", []):
            print("  | " + line, flush=True)
        missing = [e for e in args.expect if not re.search(e, "\n".join(pod.get("output", [])), re.MULTILINE)]
        summary["expect_missing"] = missing
        summary["ok"] = pod.get("exit_code") == 0 and not missing
        log(
            "container exit %s, first output %.3f s after RunPodSandbox%s"
            % (pod.get("exit_code"), pod.get("first_output_s") or -1, "" if not missing else "; missing: %s" % missing)
        )
    except Exception as exc:
        summary["error"] = "%s: %s" % (type(exc).__name__, exc)
        log("ERROR %s" % summary["error"])
    finally:
        containerd.stop()
        kill_leftovers(containerd.sock)
        unmount_below(work)
        with contextlib.suppress(OSError):
            summary["containerd_log_tail"] = containerd.log_path.read_text(errors="replace").splitlines()[-40:]
        args.result.parent.mkdir(parents=True, exist_ok=True)
        args.result.write_text(json.dumps(summary, indent=2) + "\n")
    if containerd.log_path.exists():
        shutil.copy(str(containerd.log_path), str(args.result.with_suffix(".containerd.log")))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
