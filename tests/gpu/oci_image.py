# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a one-layer OCI image archive from a directory, with the standard library only.

No registry and no image builder are at hand on the test machines, and
`ctr image import` reads an OCI image layout tar. The archive holds one
uncompressed layer (the directory plus extra files), an image config with the
command, a manifest and an index naming the image
(``io.containerd.image.name``), which is the name the CRI then finds.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _layer(rootfs, extra):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def reset(info):
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            return info

        for name in sorted(os.listdir(rootfs)):
            tar.add(os.path.join(rootfs, name), arcname=name, filter=reset)
        for target, source in sorted(extra.items()):
            tar.add(source, arcname=target.lstrip("/"), filter=reset)
    return buffer.getvalue()


def _blob(tar, data):
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return "sha256:" + digest


def _env(env):
    """The image's environment: PATH_ENV unless ``env`` sets PATH itself, then ``env``."""
    env = list(env or [])
    return env if any(item.startswith("PATH=") for item in env) else [PATH_ENV] + env


def build(out, name, rootfs, cmd, extra=None, env=None):  # noqa: PLR0917
    """Write the OCI archive ``out`` for image ``name`` (docker.io/...:tag) running ``cmd``."""
    layer = _layer(rootfs, extra or {})
    layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": list(cmd), "Env": _env(env), "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }
    with tarfile.open(out, "w") as tar:
        layer_ref = _blob(tar, layer)
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_ref = _blob(tar, config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_ref,
                "size": len(config_bytes),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_ref, "size": len(layer)}
            ],
        }
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        manifest_ref = _blob(tar, manifest_bytes)
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": manifest_ref,
                    "size": len(manifest_bytes),
                    "platform": {"architecture": "amd64", "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1],
                    },
                }
            ],
        }
        for member, data in (
            ("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
            ("index.json", json.dumps(index, sort_keys=True).encode()),
        ):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def add_layer(archive, out, extra):
    """Copy the docker-archive ``archive`` (as ``podman save --format docker-archive`` writes it) to ``out``
    with one more layer on top holding ``extra`` ({path in the image: file here}); names and tags stay.

    For an image built elsewhere that needs a file only the GPU host can make (a CUDA program).
    """
    layer = _layer_of(extra)
    layer_id = hashlib.sha256(layer).hexdigest()
    with tarfile.open(archive) as src:
        manifest = json.load(src.extractfile("manifest.json"))
        if len(manifest) != 1:
            raise ValueError("{0}: {1} images in manifest.json; expected one".format(archive, len(manifest)))
        entry = manifest[0]
        config = json.load(src.extractfile(entry["Config"]))
        config["rootfs"]["diff_ids"].append("sha256:" + layer_id)
        config.setdefault("history", []).append({"created_by": "add_layer " + " ".join(sorted(extra))})
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        with tarfile.open(out, "w") as dst:
            for member in src.getmembers():
                if member.name in ("manifest.json", entry["Config"]):
                    continue
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
            entry = dict(entry, Config=config_name, Layers=entry["Layers"] + [layer_id + ".tar"])
            for name, data in ((layer_id + ".tar", layer), (config_name, config_bytes),
                               ("manifest.json", json.dumps([entry]).encode())):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                dst.addfile(info, io.BytesIO(data))


def _layer_of(extra):
    """A layer of the files ``extra`` names, with the directories above them."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        made = set()
        for target, source in sorted(extra.items()):
            parts = target.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in made:
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                    made.add(directory)
            info = tar.gettarinfo(source, arcname="/".join(parts))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            with open(source, "rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue()
