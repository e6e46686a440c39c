# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive a runtime's CRI inside a podman container, as kubelet would, and print what happened as JSON.

    python cri_check.py NODE SOCKET IMAGE HANDLER [--refused HANDLER] [--pid-namespace container]
                        [--cdi DEVICE --cdi-path PATH...]

NODE is the podman container, SOCKET the CRI socket of containerd or CRI-O inside it. The gRPC
client runs here (PyPI container-runtime-interface-api, module cri_api.v1); its
connection reaches the socket through `podman exec -i NODE python3` relaying
bytes, so no directory of the node has to be shared with this machine.

Steps: RunPodSandbox with runtime_handler HANDLER (what kubelet does for a pod
whose RuntimeClass has that handler), CreateContainer + StartContainer of
IMAGE running `sleep 1`, wait for it to exit, clean up; then, with --refused,
RunPodSandbox with a handler that must be refused, and the error text.

--pid-namespace container gives the pod and its container a PID namespace of
their own, as kubelet does for a pod without shareProcessNamespace (CRI-O then
runs no infra container; the default, pod, shares one through it).
--cdi DEVICE: then a pod (default handler) whose container asks for the CDI
device DEVICE through the CRI's CDI_devices field (what kubelet sends for a
device plugin's CDI device) and runs `sleep 30`; what its process sees is read
on the node through /proc/PID: its environment and, for each --cdi-path, the
kind of file at that path and (regular files) its first bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import grpc
from cri_api.v1 import api_pb2 as pb
from cri_api.v1 import api_pb2_grpc

# Runs on the node: one connection to the socket, stdin -> socket, socket -> stdout.
RELAY = """
import os, socket, sys, threading
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
def up():
    while True:
        data = os.read(0, 65536)
        if not data:
            s.shutdown(socket.SHUT_WR)
            return
        s.sendall(data)
threading.Thread(target=up, daemon=True).start()
while True:
    data = s.recv(65536)
    if not data:
        break
    os.write(1, data)
"""


def relay(node: str, remote: str, local_dir: str) -> str:
    """A local unix socket whose every connection is piped to `remote` inside `node`."""
    path = os.path.join(local_dir, "cri.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(8)

    def pipe(conn):
        proc = subprocess.Popen(
            ["podman", "exec", "-i", node, "python3", "-c", RELAY, remote],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

        def down():
            while True:
                data = proc.stdout.read1(65536)
                if not data:
                    break
                conn.sendall(data)
            conn.close()

        threading.Thread(target=down, daemon=True).start()
        while True:
            data = conn.recv(65536)
            if not data:
                break
            proc.stdin.write(data)
            proc.stdin.flush()
        proc.stdin.close()

    def accept():
        while True:
            conn, dummy = server.accept()
            threading.Thread(target=pipe, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return path


# Set by main(): the PID namespace mode of pods and containers (pb.POD or pb.CONTAINER).
PID_MODE = {"mode": None}


def namespaces() -> pb.NamespaceOption:
    return pb.NamespaceOption(network=pb.NODE, pid=PID_MODE["mode"] or pb.POD)


def sandbox_config(name: str) -> pb.PodSandboxConfig:
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=f"{name}-{os.getpid()}", namespace="default", attempt=0),
        log_directory="/var/log/kubegpu-cri-check",
        linux=pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(namespace_options=namespaces())),
    )


def container_config(image: str, command: list, cdi_devices=()) -> pb.ContainerConfig:
    config = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name="check", attempt=0),
        # user_specified_image: CRI-O checks the signature policy against it (kubelet sets it too).
        image=pb.ImageSpec(image=image, user_specified_image=image),
        command=command,
        log_path="check.log",
        CDI_devices=[pb.CDIDevice(name=name) for name in cdi_devices],
    )
    if PID_MODE["mode"] == pb.CONTAINER:
        # The container's own PID namespace must be asked for too (kubelet sends both).
        config.linux.security_context.namespace_options.CopyFrom(namespaces())
    return config


def run_pod(rt, image: str, handler: str) -> dict:
    config = sandbox_config("kubegpu-runtime-check")
    result: dict = {"handler": handler}
    sandbox_id = container_id = None
    try:
        sandbox_id = rt.RunPodSandbox(
            pb.RunPodSandboxRequest(config=config, runtime_handler=handler), timeout=120
        ).pod_sandbox_id
        result["sandbox_id"] = sandbox_id
        container = container_config(image, ["/bin/sleep", "1"])
        container_id = rt.CreateContainer(
            pb.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=container, sandbox_config=config), timeout=60
        ).container_id
        result["container_id"] = container_id
        rt.StartContainer(pb.StartContainerRequest(container_id=container_id), timeout=60)
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            status = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=container_id), timeout=10).status
            if status.state == pb.CONTAINER_EXITED:
                break
            time.sleep(0.2)
        result["container_state"] = pb.ContainerState.Name(status.state) if status else None
        result["exit_code"] = status.exit_code if status else None
        sandbox = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id), timeout=10).status
        result["sandbox_runtime_handler"] = sandbox.runtime_handler
    except grpc.RpcError as exc:
        result["error"] = f"{exc.code().name}: {exc.details()}"
    finally:
        clean_up(rt, sandbox_id, container_id, result)
    return result


def clean_up(rt, sandbox_id, container_id, result: dict) -> None:
    for call in (
        lambda: container_id and rt.RemoveContainer(pb.RemoveContainerRequest(container_id=container_id), timeout=30),
        lambda: sandbox_id and rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=30),
        lambda: sandbox_id and rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=30),
    ):
        try:
            call()
        except grpc.RpcError as exc:
            result.setdefault("cleanup_errors", []).append(exc.details())


# Runs on the node: what the process PID sees (its environment, and the files named).
PROC_VIEW = """
import json, os, stat, sys
pid, paths = sys.argv[1], sys.argv[2:]
with open(f"/proc/{pid}/environ", "rb") as handle:
    env = [item.decode() for item in handle.read().split(b"\\0") if item]
files = {}
for path in paths:
    full = f"/proc/{pid}/root{path}"
    try:
        mode = os.stat(full).st_mode
    except OSError as exc:
        files[path] = {"exists": False, "error": str(exc)}
        continue
    entry = {"exists": True, "kind": "char" if stat.S_ISCHR(mode) else "file" if stat.S_ISREG(mode) else "other"}
    if stat.S_ISREG(mode):
        with open(full, "rb") as handle:
            entry["content"] = handle.read(200).decode(errors="replace")
    files[path] = entry
print(json.dumps({"env": env, "files": files}))
"""


def cdi_pod(rt, node: str, image: str, device: str, paths: list) -> dict:
    """A container asking for CDI device `device`: what its process sees."""
    config = sandbox_config("kubegpu-cdi-check")
    result: dict = {"device": device}
    sandbox_id = container_id = None
    try:
        sandbox_id = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=config), timeout=120).pod_sandbox_id
        container = container_config(image, ["/bin/sleep", "30"], cdi_devices=[device])
        container_id = rt.CreateContainer(
            pb.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=container, sandbox_config=config), timeout=60
        ).container_id
        rt.StartContainer(pb.StartContainerRequest(container_id=container_id), timeout=60)
        status = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=container_id, verbose=True), timeout=10)
        result["container_state"] = pb.ContainerState.Name(status.status.state)
        pid = json.loads(status.info.get("info", "{}")).get("pid")
        result["pid"] = pid
        if pid:
            seen = subprocess.run(
                ["podman", "exec", node, "python3", "-c", PROC_VIEW, str(pid), *paths],
                capture_output=True,
                text=True,
                check=False,
            )
            if seen.returncode == 0:
                result.update(json.loads(seen.stdout))
            else:
                result["error"] = f"reading /proc/{pid} on {node}: {seen.stderr.strip()}"
        rt.StopContainer(pb.StopContainerRequest(container_id=container_id, timeout=0), timeout=30)
    except grpc.RpcError as exc:
        result["error"] = f"{exc.code().name}: {exc.details()}"
    finally:
        clean_up(rt, sandbox_id, container_id, result)
    return result


def refused(rt, handler: str) -> dict:
    try:
        sandbox_id = rt.RunPodSandbox(
            pb.RunPodSandboxRequest(config=sandbox_config("kubegpu-refused-check"), runtime_handler=handler), timeout=60
        ).pod_sandbox_id
    except grpc.RpcError as exc:
        return {"handler": handler, "refused": True, "error": f"{exc.code().name}: {exc.details()}"}
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=30)
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=30)
    return {"handler": handler, "refused": False}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("node")
    parser.add_argument("socket")
    parser.add_argument("image")
    parser.add_argument("handler")
    parser.add_argument("--refused", help="a handler the runtime must refuse")
    parser.add_argument("--pid-namespace", choices=("pod", "container"), default="pod")
    parser.add_argument("--cdi", help="a CDI device (vendor/class=name) for a second pod's container")
    parser.add_argument("--cdi-path", action="append", default=[], help="a path to look at in that container")
    args = parser.parse_args(argv)
    PID_MODE["mode"] = pb.CONTAINER if args.pid_namespace == "container" else pb.POD
    if not shutil.which("podman"):
        print("cri_check: podman is not on PATH", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="kubegpu-cri-") as tmp:
        channel = grpc.insecure_channel("unix://" + relay(args.node, args.socket, tmp))
        rt = api_pb2_grpc.RuntimeServiceStub(channel)
        out = {"version": None}
        version = rt.Version(pb.VersionRequest(), timeout=60)
        out["version"] = f"{version.runtime_name} {version.runtime_version}"
        out["pod"] = run_pod(rt, args.image, args.handler)
        if args.refused:
            out["unknown_handler"] = refused(rt, args.refused)
        if args.cdi:
            out["cdi"] = cdi_pod(rt, args.node, args.image, args.cdi, args.cdi_path)
        channel.close()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
