# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TOML layer both runtimes share: files it must refuse say why, for containerd and CRI-O alike."""

from __future__ import annotations

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _containerd_config as containerd
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils import _crio_config as crio
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._toml_edit import RuntimeConfigError

CONFIG = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause"\n'
CRIO_DROP_IN = '[crio.runtime]\ndefault_runtime = "crun"\n'
OTHER = "/etc/crio/crio.conf.d/10-crio.conf"


def refusal_containerd(text):
    with pytest.raises(containerd.ContainerdConfigError) as caught:
        containerd.configure(text, None, containerd.RuntimeOptions(), "1.7.24")
    return caught.value


def refusal_crio(text):
    with pytest.raises(crio.CrioConfigError) as caught:
        crio.configure(None, {OTHER: text}, crio.CrioRuntimeOptions(), True)
    return caught.value


@pytest.mark.parametrize(
    ("refusal", "text", "path"),
    [(refusal_containerd, CONFIG, "/etc/containerd/config.toml"), (refusal_crio, CRIO_DROP_IN, OTHER)],
    ids=["containerd", "crio"],
)
def test_a_byte_order_mark_is_named_not_reported_as_an_empty_key(refusal, text, path):
    error = refusal("\ufeff" + text)
    assert isinstance(error, RuntimeConfigError)
    assert error.file == path
    assert "byte order mark" in str(error)
    assert "Empty key" not in str(error)
    assert "save the file without it" in error.fix
    assert "containerd 1.6 and 1.7" in str(error)


@pytest.mark.parametrize(
    ("refusal", "text", "path"),
    [(refusal_containerd, CONFIG, "/etc/containerd/config.toml"), (refusal_crio, CRIO_DROP_IN, OTHER)],
    ids=["containerd", "crio"],
)
def test_a_nul_byte_is_named_with_its_line(refusal, text, path):
    lines = text.splitlines(keepends=True)
    error = refusal(lines[0].rstrip("\n") + "\x00\n" + "".join(lines[1:]))
    assert error.file == path
    assert "NUL byte (line 1)" in str(error)
    assert "remove the NUL bytes" in error.fix
