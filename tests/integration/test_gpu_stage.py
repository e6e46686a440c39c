# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The GPU host's staging protocol (tests/gpu/pack.sh and stage.sh), on this machine.

A stage tree too large for one device call is packed into parts; each call
carries one part and stage.sh keeps what earlier calls staged, names what is
still missing, refuses a damaged part, and unpacks the tree once all are
there. Real scripts, real xz and tar; only the tree is small.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "tests" / "gpu" / "pack.sh"
STAGE = REPO / "tests" / "gpu" / "stage.sh"


def _tree(root):
    (root / "bundle" / "images").mkdir(parents=True)
    # Incompressible content, so that a small part size gives several parts.
    (root / "bundle" / "images" / "a.tar").write_bytes(os.urandom(300_000))
    (root / "rootfs.tar").write_bytes(os.urandom(200_000))
    (root / "bin").mkdir()
    (root / "bin" / "helm").write_text("#!/bin/sh\necho helm\n")
    return root


def _stage(carry, stage):
    env = dict(os.environ, KUBEGPU_CARRY=str(carry), KUBEGPU_STAGE=str(stage))
    return subprocess.run(["bash", str(STAGE)], capture_output=True, text=True, env=env, check=False)


def _carry_only(full, carry, names):
    """A device call's carry: the manifest and the named parts."""
    shutil.rmtree(carry, ignore_errors=True)
    carry.mkdir()
    shutil.copy(full / "MANIFEST", carry / "MANIFEST")
    for name in names:
        shutil.copy(full / name, carry / name)


def test_parts_staged_over_several_calls_unpack_to_the_same_tree(tmp_path):
    tree = _tree(tmp_path / "tree")
    full = tmp_path / "packed"
    subprocess.run(["bash", str(PACK), str(tree), str(full), "abc123", "150k"], check=True)
    manifest = (full / "MANIFEST").read_text().splitlines()
    parts = [line.split()[2] for line in manifest if not line.startswith("stage ")]
    assert len(parts) >= 3 and manifest[-1] == "stage abc123"
    carry, stage = tmp_path / "carry", tmp_path / "stage"

    for index, name in enumerate(parts[:-1]):
        _carry_only(full, carry, [name])
        result = _stage(carry, stage)
        assert result.returncode == 3, result.stdout + result.stderr
        assert "%s: staged" % name in result.stdout
        assert "next: carry .gpu-carry-k8s/MANIFEST and .gpu-carry-k8s/%s" % parts[index + 1] in result.stdout

    _carry_only(full, carry, [parts[-1]])
    result = _stage(carry, stage)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in (Path("bundle/images/a.tar"), Path("rootfs.tar"), Path("bin/helm")):
        assert (stage / "tree" / path).read_bytes() == (tree / path).read_bytes()

    # A later call with nothing carried finds the tree complete.
    _carry_only(full, carry, [])
    again = _stage(carry, stage)
    assert again.returncode == 0 and "complete" in again.stdout


def test_a_damaged_part_is_refused_and_a_new_stage_drops_the_old_parts(tmp_path):
    tree = _tree(tmp_path / "tree")
    full = tmp_path / "packed"
    subprocess.run(["bash", str(PACK), str(tree), str(full), "first", "150k"], check=True)
    carry, stage = tmp_path / "carry", tmp_path / "stage"
    _carry_only(full, carry, ["part-00"])
    with open(carry / "part-00", "r+b") as part:
        part.write(b"\0\0\0\0")
    result = _stage(carry, stage)
    assert result.returncode == 1 and "part-00: checksum" in result.stderr and "cluster-prepare.sh" in result.stderr
    assert not (stage / "parts" / "part-00").exists()

    _carry_only(full, carry, ["part-00"])
    assert _stage(carry, stage).returncode == 3
    subprocess.run(["bash", str(PACK), str(tree), str(full), "second", "150k"], check=True)
    _carry_only(full, carry, [])
    result = _stage(carry, stage)
    assert result.returncode == 3 and "dropping the parts of stage first" in result.stdout
    assert not (stage / "parts" / "part-00").exists()


def test_without_a_manifest_it_says_what_to_carry(tmp_path):
    carry = tmp_path / "carry"
    carry.mkdir()
    result = _stage(carry, tmp_path / "stage")
    assert result.returncode == 1 and "carry .gpu-carry-k8s/MANIFEST" in result.stderr
