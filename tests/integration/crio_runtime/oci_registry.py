# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A read-only OCI distribution registry for one image layout, so that CRI-O pulls as it does on a node.

    python3 oci_registry.py LAYOUT_DIR NAME:TAG [--port 5000]

CRI-O has no image import command (containerd has `ctr images import`): an
image gets into its storage only through a pull. No registry is reachable
where the tests run, so this serves the OCI image layout LAYOUT_DIR (an
unpacked `podman save --format oci-archive`) as the repository NAME with the
tag TAG on 127.0.0.1, over plain HTTP: GET and HEAD of /v2/,
/v2/NAME/manifests/(TAG|DIGEST) and /v2/NAME/blobs/DIGEST, nothing else (no
push, no catalog). Python's standard library only: it runs on the node.
"""

import argparse
import hashlib
import http.server
import json
import os
import re
import sys

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)


class Layout:
    def __init__(self, root, name, tag):
        self.root = root
        self.name = name
        self.tag = tag
        with open(os.path.join(root, "index.json"), encoding="utf-8") as handle:
            index = json.load(handle)
        manifests = [m for m in index.get("manifests", []) if m.get("mediaType") in MANIFEST_TYPES]
        if len(manifests) != 1:
            raise SystemExit(f"oci_registry: {root}/index.json names {len(manifests)} manifests, expected one")
        self.manifest = manifests[0]

    def blob_path(self, digest):
        match = re.fullmatch(r"sha256:([0-9a-f]{64})", digest)
        if not match:
            return None
        path = os.path.join(self.root, "blobs", "sha256", match.group(1))
        return path if os.path.isfile(path) else None


class Handler(http.server.BaseHTTPRequestHandler):
    layout = None  # set by main()

    def _send(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _serve(self, head):
        layout = self.layout
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            return self._send(200, b"{}", {"Content-Type": "application/json"}, head)
        prefix = f"/v2/{layout.name}/"
        if not path.startswith(prefix):
            return self._send(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}', {"Content-Type": "application/json"}, head)
        kind, _slash, ref = path[len(prefix) :].partition("/")
        if kind == "manifests":
            digest = layout.manifest["digest"] if ref == layout.tag else ref
            media_type = layout.manifest["mediaType"]
        elif kind == "blobs":
            digest, media_type = ref, "application/octet-stream"
        else:
            digest = media_type = None
        blob = layout.blob_path(digest) if digest else None
        if blob is None:
            return self._send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}', {"Content-Type": "application/json"}, head)
        with open(blob, "rb") as handle:
            body = handle.read()
        if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
            return self._send(500, b"digest mismatch", {}, head)
        return self._send(200, body, {"Content-Type": media_type, "Docker-Content-Digest": digest}, head)

    def do_GET(self):
        self._serve(head=False)

    def do_HEAD(self):
        self._serve(head=True)

    def log_message(self, format, *args):
        sys.stderr.write("oci_registry: " + (format % args) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("layout")
    parser.add_argument("reference", help="NAME:TAG the image is served as")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    name, _colon, tag = args.reference.rpartition(":")
    if not name or not tag:
        parser.error(f"reference {args.reference!r} is not NAME:TAG")
    Handler.layout = Layout(args.layout, name, tag)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
