# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CRI-O drop-in transformation: semantics, bad input, and properties over many layouts.

CRI-O is not packaged where these tests run, so the inputs are the shapes CRI-O
documents (crio.conf(5)) and ships: the commented crio.conf of `crio config`,
and the 10-crio.conf drop-in of its packages (crun as default, runc next to it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._crio_config import (
    DROP_IN_HEADER,
    CrioConfigError,
    CrioRuntimeOptions,
    configure,
)

DROP_DIR = "/etc/crio/crio.conf.d"
OWN = f"{DROP_DIR}/99-nvidia.toml"
PRESENT = CrioRuntimeOptions()
ABSENT = CrioRuntimeOptions(state="absent")
RUNTIME_PATH = PRESENT.runtime_path

# The drop-in CRI-O's packages (1.28 and later) install, and a crio.conf as
# `crio config` prints it (every option commented out but the runtime table).
CRIO_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "crio"
PACKAGED_10_CRIO = (CRIO_FIXTURES / "10-crio.conf").read_text()
CRIO_CONF = (CRIO_FIXTURES / "crio.conf").read_text()

KATA_DEFAULT = """\
[crio.runtime]
default_runtime = "kata"

[crio.runtime.runtimes.kata]
runtime_path = "/usr/bin/containerd-shim-kata-v2"
runtime_type = "vm"
runtime_root = "/run/vc"
privileged_without_host_devices = true
"""


def plain(text):
    return tomlkit.parse(text or "").unwrap()


def handler(text, name="nvidia"):
    return plain(text)["crio"]["runtime"]["runtimes"][name]


def run(files=None, options=PRESENT, exists=True, config=None):
    return configure(config, dict(files or {}), options, exists)


def with_own(files, text):
    out = dict(files)
    if text is None:
        out.pop(OWN, None)
    else:
        out[OWN] = text
    return out


# ----------------------------------------------------------------------------- shapes CRI-O ships


def test_packaged_drop_in_default_crun_is_copied_whole_then_runtime_path_and_type_set():
    result = run({f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO})
    assert result.changed and result.restart_required
    assert handler(result.drop_in_text) == {
        "runtime_path": RUNTIME_PATH,
        "runtime_type": "oci",
        "runtime_root": "/run/crun",
        "monitor_path": "/usr/libexec/crio/conmon",
        "allowed_annotations": ["io.containers.trace-syscall"],
    }
    assert result.copied_from == f"crun ({DROP_DIR}/10-crio.conf)"
    assert result.runtime == handler(result.drop_in_text)
    assert result.default_runtime == "crun"  # not touched without set_as_default
    assert "default_runtime" not in plain(result.drop_in_text)["crio"]["runtime"]


def test_crio_conf_as_crio_config_prints_it_runc_is_copied_with_every_key():
    result = run(config=CRIO_CONF)
    expected = dict(plain(CRIO_CONF)["crio"]["runtime"]["runtimes"]["runc"], runtime_path=RUNTIME_PATH)
    assert handler(result.drop_in_text) == expected
    assert result.copied_from == f"runc ({PRESENT.config})"


def test_drop_in_starts_with_the_header_and_holds_only_the_handler():
    result = run({f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO})
    assert result.drop_in_text.startswith("\n".join(f"# {line}" for line in DROP_IN_HEADER))
    assert list(plain(result.drop_in_text)["crio"]["runtime"]) == ["runtimes"]
    assert list(plain(result.drop_in_text)["crio"]["runtime"]["runtimes"]) == ["nvidia"]


def test_nothing_to_copy_gives_runtime_path_and_type_only_and_says_so():
    result = run()
    assert handler(result.drop_in_text) == {"runtime_path": RUNTIME_PATH, "runtime_type": "oci"}
    assert result.copied_from is None
    assert any("no runc or crun" in w for w in result.warnings)


def test_default_handler_of_type_vm_is_not_copied_runc_is():
    files = {f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO, f"{DROP_DIR}/50-kata.conf": KATA_DEFAULT}
    result = run(files)
    assert result.copied_from.startswith("runc ")
    assert handler(result.drop_in_text)["runtime_root"] == "/run/runc"


def test_default_that_is_already_nvidia_is_not_copied():
    legacy = '[crio.runtime]\ndefault_runtime = "nvidia-legacy"\n[crio.runtime.runtimes.nvidia-legacy]\nruntime_path = "/usr/bin/nvidia-container-runtime"\nmonitor_path = "/x"\n'  # noqa: E501
    files = {f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO, f"{DROP_DIR}/20-legacy.conf": legacy}
    assert run(files).copied_from.startswith("runc ")


def test_handler_already_defined_in_crio_conf_keeps_its_settings():
    conf = '[crio.runtime.runtimes.nvidia]\nruntime_path = "/opt/old/nvidia-container-runtime"\nruntime_root = "/run/nv"\nmonitor_env = ["A=1"]\n'  # noqa: E501
    result = run({f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO}, config=conf)
    assert handler(result.drop_in_text) == {
        "runtime_path": RUNTIME_PATH,
        "runtime_type": "oci",
        "runtime_root": "/run/nv",
        "monitor_env": ["A=1"],
    }


def test_later_drop_in_order_is_lexical_by_path_whatever_the_extension():
    # "50-x" sorts before "99-nvidia.toml": its default (runc) is what the module sees.
    later_default = '[crio.runtime]\ndefault_runtime = "runc"\n'
    files = {f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO, f"{DROP_DIR}/50-x": later_default}
    assert run(files).copied_from.startswith("runc ")


def test_subfolder_files_are_read_too():
    files = {
        f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO,
        f"{DROP_DIR}/50.d/runc-default": '[crio.runtime]\ndefault_runtime = "runc"\n',
    }
    assert run(files).copied_from == f"runc ({DROP_DIR}/10-crio.conf)"


def test_drop_in_sorted_after_the_module_that_overrides_the_handler_is_reported():
    files = {
        f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO,
        f"{DROP_DIR}/zz-mine.conf": '[crio.runtime.runtimes.nvidia]\nruntime_path = "/other"\n',
    }
    result = run(files)
    assert result.runtime == {"runtime_path": "/other"}
    assert any("zz-mine.conf" in w and "uses that table" in w for w in result.warnings)


# ----------------------------------------------------------------------------- default runtime


def test_set_as_default_writes_default_runtime_when_the_binary_exists():
    result = run({f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO}, dataclasses.replace(PRESENT, set_as_default=True))
    assert plain(result.drop_in_text)["crio"]["runtime"]["default_runtime"] == "nvidia"
    assert result.default_runtime == "nvidia"
    # the copy is still crun's: the default the files read before the drop-in set
    assert handler(result.drop_in_text)["runtime_root"] == "/run/crun"


@pytest.mark.parametrize("exists", [False, None])
def test_set_as_default_is_refused_when_the_binary_is_missing_or_unchecked(exists):
    with pytest.raises(CrioConfigError) as err:
        run({}, dataclasses.replace(PRESENT, set_as_default=True), exists=exists)
    assert err.value.file == OWN
    assert err.value.key == "crio.runtime.default_runtime"
    assert RUNTIME_PATH in str(err.value)
    assert "does not start" in str(err.value)


def test_missing_binary_of_a_non_default_handler_is_a_warning_only():
    result = run({}, exists=False)
    assert result.changed
    assert any("drops the 'nvidia' handler" in w for w in result.warnings)


def test_second_handler_copies_the_real_default_not_the_nvidia_default():
    files = {f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO}
    first = run(files, dataclasses.replace(PRESENT, set_as_default=True))
    second = run(
        with_own(files, first.drop_in_text),
        dataclasses.replace(PRESENT, runtime_name="nvidia-cdi", runtime_path="/usr/bin/nvidia-container-runtime.cdi"),
    )
    assert second.copied_from.startswith("crun ")
    runtimes = plain(second.drop_in_text)["crio"]["runtime"]["runtimes"]
    assert sorted(runtimes) == ["nvidia", "nvidia-cdi"]
    assert runtimes["nvidia"] == handler(first.drop_in_text)
    assert plain(second.drop_in_text)["crio"]["runtime"]["default_runtime"] == "nvidia"


def test_absent_removes_the_default_pointing_at_the_handler_and_then_the_file():
    files = {f"{DROP_DIR}/10-crio.conf": PACKAGED_10_CRIO}
    first = run(files, dataclasses.replace(PRESENT, set_as_default=True))
    gone = run(with_own(files, first.drop_in_text), ABSENT)
    assert gone.changed
    assert gone.drop_in_text is None
    assert gone.default_runtime == "crun"
    assert gone.runtime is None


# ----------------------------------------------------------------------------- taking over and refusing


def test_nvidia_ctk_drop_in_at_the_same_path_is_taken_over():
    ctk = (
        '[crio]\n  [crio.runtime]\n    default_runtime = "nvidia"\n    [crio.runtime.runtimes]\n'
        '      [crio.runtime.runtimes.nvidia]\n        runtime_path = "/usr/bin/nvidia-container-runtime"\n'
        '        runtime_type = "oci"\n        monitor_path = "/usr/libexec/crio/conmon"\n'
    )
    result = run(with_own({}, ctk), dataclasses.replace(PRESENT, set_as_default=True))
    assert result.changed
    assert any("was not written by this module" in w for w in result.warnings)
    assert handler(result.drop_in_text)["monitor_path"] == "/usr/libexec/crio/conmon"
    again = run(with_own({}, result.drop_in_text), dataclasses.replace(PRESENT, set_as_default=True))
    assert not again.changed and not again.warnings


def test_drop_in_with_other_settings_is_refused_naming_the_key():
    text = '[crio.image]\npause_image = "example.org/pause:1"\n'
    with pytest.raises(CrioConfigError) as err:
        run(with_own({}, text))
    assert err.value.file == OWN
    assert err.value.key == "crio.image.pause_image"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[crio.runtime]\nruntimes = "x"\n', "crio.runtime.runtimes", "table"),
        ('[crio.runtime.runtimes]\nrunc = "x"\n', "crio.runtime.runtimes.runc", "table"),
        ("[crio.runtime]\ndefault_runtime = 1\n", "crio.runtime.default_runtime", "string"),
        ("[crio.runtime.runtimes.runc]\nruntime_path = true\n", "crio.runtime.runtimes.runc.runtime_path", "string"),
        ('crio = "x"\n', "crio", "table"),
    ],
)
def test_wrong_types_name_the_file_and_the_key(text, key, expected):
    name = f"{DROP_DIR}/10-crio.conf"
    with pytest.raises(CrioConfigError) as err:
        run({name: text})
    assert (err.value.file, err.value.key) == (name, key)
    assert f"CRI-O expects a {expected}" in str(err.value)


def test_invalid_toml_names_the_file():
    with pytest.raises(CrioConfigError) as err:
        run(config="[crio.runtime\n")
    assert err.value.file == PRESENT.config
    assert "not valid TOML" in str(err.value)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"runtime_name": "bad name"}, "runtime_name"),
        ({"runtime_path": "nvidia-container-runtime"}, "runtime_path"),
        ({"drop_in": "99-nvidia.toml"}, "drop_in"),
        ({"state": "gone"}, "state"),
    ],
)
def test_bad_options_are_refused(change, key):
    with pytest.raises(CrioConfigError) as err:
        run({}, dataclasses.replace(PRESENT, **change))
    assert err.value.key == key


def test_drop_in_outside_crio_conf_d_is_a_warning():
    result = run({}, dataclasses.replace(PRESENT, drop_in="/etc/crio/conf.d/99-nvidia.toml"))
    assert any("not from /etc/crio/conf.d" in w for w in result.warnings)


# ----------------------------------------------------------------------------- properties

NAMES = st.sampled_from(["runc", "crun", "kata", "nvidia", "nvidia-cdi", "youki", "gvisor"])
PATHS = st.sampled_from(["/usr/bin/runc", "/usr/libexec/crio/crun", "/usr/bin/nvidia-container-runtime", "/opt/x"])
HANDLER = st.fixed_dictionaries(
    {"runtime_path": PATHS},
    optional={
        "runtime_type": st.sampled_from(["oci", "vm", "pod"]),
        "runtime_root": st.sampled_from(["/run/runc", "/run/crun", "/run/vc"]),
        "monitor_path": st.just("/usr/libexec/crio/conmon"),
        "monitor_env": st.lists(st.sampled_from(["PATH=/usr/bin", "A=1"]), max_size=2),
        "allowed_annotations": st.lists(
            st.sampled_from(["io.kubernetes.cri-o.Devices", "io.containers.trace-syscall"]), max_size=2
        ),
        "privileged_without_host_devices": st.booleans(),
        "default_annotations": st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["1", "2"]), max_size=2),
    },
)


@st.composite
def layer(draw):
    """A crio.conf or drop-in, with unrelated settings and comments, in one of the layouts people write."""
    data: dict = {}
    runtime: dict = {}
    if draw(st.booleans()):
        runtime["default_runtime"] = draw(NAMES)
    runtimes = draw(st.dictionaries(NAMES, HANDLER, max_size=3))
    if runtimes:
        runtime["runtimes"] = runtimes
    if draw(st.booleans()):
        runtime["conmon_cgroup"] = "pod"
    if runtime:
        data["runtime"] = runtime
    if draw(st.booleans()):
        data["image"] = {"pause_image": "registry.k8s.io/pause:3.10"}
    doc = tomlkit.document()
    if draw(st.booleans()):
        doc.add(tomlkit.comment("written by hand"))
    if data:
        doc["crio"] = data
    return doc.as_string()


@st.composite
def node(draw):
    config = draw(st.none() | layer())
    names = draw(
        st.lists(
            st.sampled_from(["10-crio.conf", "20-x.toml", "50.d/y", "zz-late.conf", ".hidden"]), unique=True, max_size=3
        )
    )
    files = {f"{DROP_DIR}/{n}": draw(layer()) for n in names}
    options = CrioRuntimeOptions(
        runtime_name=draw(st.sampled_from(["nvidia", "nvidia-cdi"])),
        runtime_path=draw(
            st.sampled_from(["/usr/bin/nvidia-container-runtime", "/usr/local/nvidia/toolkit/nvidia-container-runtime"])
        ),
        set_as_default=draw(st.booleans()),
    )
    return config, files, options


PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(node())
def test_apply_twice_is_apply_once(case):
    config, files, options = case
    first = configure(config, files, options, True)
    second = configure(config, with_own(files, first.drop_in_text), options, True)
    assert not second.changed
    assert second.drop_in_text == first.drop_in_text


@PROPERTY
@given(node())
def test_absent_after_present_restores_the_drop_in(case):
    config, files, options = case
    present = configure(config, files, options, True)
    absent = configure(
        config, with_own(files, present.drop_in_text), dataclasses.replace(options, state="absent"), True
    )
    assert absent.drop_in_text is None
    assert absent.runtime is None


@PROPERTY
@given(node(), st.sampled_from(["nvidia", "nvidia-cdi"]))
def test_absent_of_one_handler_leaves_the_other_as_it_was(case, other):
    config, files, options = case
    if other == options.runtime_name:
        other = "nvidia-x"
    first = configure(config, files, dataclasses.replace(options, runtime_name=other, set_as_default=False), True)
    both = configure(config, with_own(files, first.drop_in_text), options, True)
    back = configure(config, with_own(files, both.drop_in_text), dataclasses.replace(options, state="absent"), True)
    assert back.drop_in_text == first.drop_in_text


@PROPERTY
@given(node())
def test_effective_handler_is_complete_and_points_at_the_runtime(case):
    config, files, options = case
    result = configure(config, files, options, True)
    late = [p for p in files if p > OWN]
    written = handler(result.drop_in_text, options.runtime_name)
    assert written["runtime_path"] == options.runtime_path
    assert written["runtime_type"] == "oci"
    if not late:
        assert result.runtime == written
        if options.set_as_default:
            assert result.default_runtime == options.runtime_name
    # other files are never written: the result is the drop-in only
    assert set(plain(result.drop_in_text)) == {"crio"}
    assert set(plain(result.drop_in_text)["crio"]) == {"runtime"}
