# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containerd config transformation: semantics, bad input, and properties over many configs."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest
import tomlkit
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import CONTAINERD_CRI_PLUGINS as CRI_PLUGINS
from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import (
    parse_version as parse_containerd_version,
)
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._containerd_config import (
    ContainerdConfigError,
    RuntimeOptions,
    configure,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "containerd"
DEFAULTS = {v: (FIXTURES / f"config-default-{v}.toml").read_text() for v in ("1.6.20", "1.7.24", "2.1.9")}
PRESENT = RuntimeOptions()
ABSENT = RuntimeOptions(state="absent")


def plain(text):
    return tomlkit.parse(text or "").unwrap()


def at(data, *path):
    for part in path:
        data = data[part]
    return data


def runtimes_of(text, version):
    return at(plain(text), "plugins", CRI_PLUGINS[version], "containerd", "runtimes")


def cri_of(text, version):
    return at(plain(text), "plugins", CRI_PLUGINS[version])


def absent_of(options):
    return dataclasses.replace(options, state="absent")


# ----------------------------------------------------------------------------- real default configs


@pytest.mark.parametrize("version", ["1.6.20", "1.7.24"])
def test_containerd_before_2_1_gets_runtime_in_config_toml_copied_from_runc(version):
    text = DEFAULTS[version]
    result = configure(text, None, PRESENT, version)
    assert result.strategy == "in_place"
    assert result.drop_in_text is None
    assert result.config_version == 2
    assert result.cri_plugin == "io.containerd.grpc.v1.cri"
    runtimes = runtimes_of(result.config_text, 2)
    expected = runtimes_of(text, 2)["runc"]
    expected["options"]["BinaryName"] = PRESENT.runtime_path
    assert runtimes["nvidia"] == expected
    assert runtimes["runc"] == runtimes_of(text, 2)["runc"]
    assert result.runtime == expected
    assert result.files == [PRESENT.path]


def test_containerd_2_1_gets_runtime_in_drop_in_and_only_an_import_in_config_toml():
    text = DEFAULTS["2.1.9"]
    result = configure(text, None, PRESENT, "2.1.9")
    assert result.strategy == "drop_in"
    assert result.config_version == 3
    assert result.cri_plugin == "io.containerd.cri.v1.runtime"
    before, after = plain(text), plain(result.config_text)
    assert after.pop("imports") == [*before.pop("imports"), PRESENT.drop_in]
    assert after == before
    drop = plain(result.drop_in_text)
    assert drop["version"] == 3
    expected = runtimes_of(text, 3)["runc"]
    expected["options"]["BinaryName"] = PRESENT.runtime_path
    assert drop["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"] == {"nvidia": expected}
    assert result.files == [PRESENT.path, PRESENT.drop_in]


@pytest.mark.parametrize("version", sorted(DEFAULTS))
def test_second_run_on_real_default_config_changes_nothing(version):
    options = RuntimeOptions(set_as_default=True, enable_cdi=version != "1.6.20")
    first = configure(DEFAULTS[version], None, options, version)
    second = configure(first.config_text, first.drop_in_text, options, version)
    assert first.changed
    assert not second.changed
    assert (second.config_text, second.drop_in_text) == (first.config_text, first.drop_in_text)


def test_cdi_only_mode_turns_on_cdi_and_adds_no_runtime_then_absent_restores_the_input():
    # runtime_name "" is the role's CDI mode: no handler pointing at a binary the node lacks.
    text = DEFAULTS["1.7.24"]
    options = RuntimeOptions(runtime_name="", enable_cdi=True)
    present = configure(text, None, options, "1.7.24")
    again = configure(present.config_text, present.drop_in_text, options, "1.7.24")
    absent = configure(present.config_text, present.drop_in_text, absent_of(options), "1.7.24")

    assert present.changed
    assert cri_of(present.config_text, 2)["enable_cdi"] is True
    assert runtimes_of(present.config_text, 2) == runtimes_of(text, 2)
    assert not again.changed
    assert absent.config_text == text


@pytest.mark.parametrize("indent", ["", "  ", "\t"])
def test_a_key_added_to_an_existing_table_is_indented_like_its_neighbours(indent):
    text = (
        "version = 2\n"
        '[plugins."io.containerd.grpc.v1.cri"]\n'
        f'{indent}sandbox_image = "registry.k8s.io/pause:3.10"\n'
        f"{indent}max_concurrent_downloads = 3\n"
        "\n"
        '[plugins."io.containerd.grpc.v1.cri".containerd]\n'
        f'{indent}snapshotter = "overlayfs"\n'
    )
    options = RuntimeOptions(runtime_name="", enable_cdi=True, set_as_default=False)
    present = configure(text, None, options, "1.7.24")
    [added] = [line for line in present.config_text.splitlines() if "enable_cdi" in line]
    assert added.startswith(f"{indent}enable_cdi = true")
    assert cri_of(present.config_text, 2)["enable_cdi"] is True
    assert not configure(present.config_text, None, options, "1.7.24").changed
    assert configure(present.config_text, None, absent_of(options), "1.7.24").config_text == text


@pytest.mark.parametrize("version", sorted(DEFAULTS))
def test_absent_after_present_restores_real_default_config_byte_for_byte(version):
    options = RuntimeOptions(set_as_default=True, enable_cdi=version != "1.6.20")
    present = configure(DEFAULTS[version], None, options, version)
    absent = configure(present.config_text, present.drop_in_text, absent_of(options), version)
    assert absent.config_text == DEFAULTS[version]
    assert absent.drop_in_text is None
    assert absent.runtime is None


def test_literal_string_style_of_containerd_2_is_kept_in_new_values():
    result = configure(DEFAULTS["2.1.9"], None, PRESENT, "2.1.9")
    assert f"'{PRESENT.drop_in}'" in result.config_text
    assert f"BinaryName = '{PRESENT.runtime_path}'" in result.drop_in_text


# ----------------------------------------------------------------------------- schema detection


@pytest.mark.parametrize("text", [None, "", "\n\n"])
def test_missing_or_empty_config_is_written_as_version_2(text):
    result = configure(text, None, PRESENT, "1.7.24")
    assert result.config_version == 2
    assert plain(result.config_text)["version"] == 2


def test_file_without_version_is_version_1_with_plugin_cri():
    text = '[plugins.cri]\n  sandbox_image = "example.org/pause:1"\n'
    result = configure(text, None, PRESENT, "1.7.24")
    assert result.config_version == 1
    assert result.cri_plugin == "cri"
    assert "nvidia" in at(plain(result.config_text), "plugins", "cri", "containerd", "runtimes")
    assert "version" not in plain(result.config_text)


def test_version_3_config_uses_cri_runtime_plugin_also_in_place():
    text = "version = 3\n"
    result = configure(text, None, dataclasses.replace(PRESENT, drop_in=""), "2.1.9")
    assert result.cri_plugin == "io.containerd.cri.v1.runtime"
    assert runtimes_of(result.config_text, 3)["nvidia"]["options"]["BinaryName"] == PRESENT.runtime_path


# ----------------------------------------------------------------------------- what gets copied


def _config_with_runtimes(default, runtimes):
    lines = ["version = 2", "", '[plugins."io.containerd.grpc.v1.cri".containerd]']
    if default:
        lines.append(f'  default_runtime_name = "{default}"')
    for name, (runtime_type, options) in runtimes.items():
        lines += ["", f'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}]']
        lines.append(f'  runtime_type = "{runtime_type}"')
        if options:
            lines += ["", f'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}.options]']
            lines += [f"  {k} = {tomlkit.item(v).as_string()}" for k, v in options.items()]
    return "\n".join(lines) + "\n"


def test_default_runtime_is_the_one_copied():
    text = _config_with_runtimes(
        "crun",
        {
            "runc": ("io.containerd.runc.v2", {"SystemdCgroup": False}),
            "crun": ("io.containerd.runc.v2", {"BinaryName": "/usr/bin/crun", "SystemdCgroup": True}),
        },
    )
    result = configure(text, None, PRESENT, "1.7.24")
    assert result.runtime["options"] == {"BinaryName": PRESENT.runtime_path, "SystemdCgroup": True}


def test_default_runtime_that_is_already_nvidia_is_not_copied_runc_is():
    text = _config_with_runtimes(
        "nvidia-legacy",
        {
            "nvidia-legacy": ("io.containerd.runc.v2", {"BinaryName": "/usr/bin/nvidia-container-runtime"}),
            "runc": ("io.containerd.runc.v2", {"SystemdCgroup": True, "Root": "/run/runc"}),
        },
    )
    result = configure(text, None, PRESENT, "1.7.24")
    expected = {"BinaryName": PRESENT.runtime_path, "SystemdCgroup": True, "Root": "/run/runc"}
    assert result.runtime["options"] == expected


def test_crun_is_copied_when_there_is_no_runc():
    text = _config_with_runtimes(
        "crun", {"crun": ("io.containerd.runc.v2", {"BinaryName": "/usr/bin/crun", "SystemdCgroup": True})}
    )
    result = configure(text, None, PRESENT, "1.7.24")
    assert result.runtime == {
        "runtime_type": "io.containerd.runc.v2",
        "options": {"BinaryName": PRESENT.runtime_path, "SystemdCgroup": True},
    }


def test_runtime_of_another_shim_is_not_copied():
    text = _config_with_runtimes("kata", {"kata": ("io.containerd.kata.v2", {"ConfigPath": "/etc/kata.toml"})})
    result = configure(text, None, PRESENT, "1.7.24")
    assert result.runtime == {"runtime_type": "io.containerd.runc.v2", "options": {"BinaryName": PRESENT.runtime_path}}


def test_systemd_cgroup_is_never_invented():
    text = _config_with_runtimes(None, {"runc": ("io.containerd.runc.v2", {"Root": "/run/runc"})})
    result = configure(text, None, PRESENT, "1.7.24")
    assert "SystemdCgroup" not in result.runtime["options"]


def test_without_any_runtime_to_copy_only_runtime_type_and_binary_are_written():
    result = configure("version = 2\n", None, dataclasses.replace(PRESENT, drop_in=""), "2.1.9")
    assert result.runtime == {"runtime_type": "io.containerd.runc.v2", "options": {"BinaryName": PRESENT.runtime_path}}


@pytest.mark.parametrize("version", ["1.6.20", "1.7.24", None])
def test_empty_config_keeps_runc_on_containerd_before_2_1(version):
    result = configure("", None, PRESENT, version)
    assert result.strategy == "in_place"
    assert runtimes_of(result.config_text, 2)["runc"] == {"runtime_type": "io.containerd.runc.v2"}


def test_empty_config_on_containerd_2_1_needs_no_runc_of_its_own():
    result = configure(None, None, PRESENT, "2.1.9")
    assert plain(result.config_text) == {"version": 2, "imports": [PRESENT.drop_in]}
    assert set(runtimes_of(result.drop_in_text, 2)) == {"nvidia"}


def test_existing_runtime_gets_the_asked_binary_and_keeps_the_rest():
    text = _config_with_runtimes(
        None, {"nvidia": ("io.containerd.runc.v2", {"BinaryName": "/opt/old/nvidia-runtime", "SystemdCgroup": True})}
    )
    options = dataclasses.replace(PRESENT, runtime_path="/usr/local/bin/nvidia-container-runtime")
    result = configure(text, None, options, "1.7.24")
    assert result.runtime["options"] == {"BinaryName": options.runtime_path, "SystemdCgroup": True}
    assert result.config_text == text.replace("/opt/old/nvidia-runtime", options.runtime_path)


def test_existing_runtime_of_another_shim_is_refused():
    text = _config_with_runtimes(None, {"nvidia": ("io.containerd.kata.v2", {})})
    with pytest.raises(ContainerdConfigError, match=r"runtimes\.nvidia\.runtime_type"):
        configure(text, None, PRESENT, "1.7.24")


# ----------------------------------------------------------------------------- default and CDI


@pytest.mark.parametrize("version", ["1.7.24", "2.1.9"])
def test_set_as_default_points_default_runtime_name_at_the_runtime(version):
    options = dataclasses.replace(PRESENT, set_as_default=True)
    result = configure(DEFAULTS[version], None, options, version)
    schema = result.config_version
    target = result.drop_in_text if result.strategy == "drop_in" else result.config_text
    assert cri_of(target, schema)["containerd"]["default_runtime_name"] == options.runtime_name


def test_enable_cdi_is_refused_on_containerd_1_6():
    options = dataclasses.replace(PRESENT, enable_cdi=True)
    with pytest.raises(ContainerdConfigError, match=r"no CDI support") as info:
        configure(DEFAULTS["1.6.20"], None, options, "1.6.20")
    assert "enable_cdi" in info.value.key


def test_enable_cdi_sets_only_enable_cdi_on_1_7_whose_spec_dirs_default_is_enough():
    options = dataclasses.replace(PRESENT, enable_cdi=True)
    result = configure("", None, options, "1.7.24")
    cri = cri_of(result.config_text, 2)
    assert cri["enable_cdi"] is True
    assert "cdi_spec_dirs" not in cri


def test_enable_cdi_with_unknown_version_warns():
    result = configure("", None, dataclasses.replace(PRESENT, enable_cdi=True), None)
    assert any("1.7" in w for w in result.warnings)


# ----------------------------------------------------------------------------- absent


def test_absent_removes_a_runtime_the_module_did_not_add_and_a_default_pointing_at_it():
    text = _config_with_runtimes(
        "nvidia",
        {"runc": ("io.containerd.runc.v2", {}), "nvidia": ("io.containerd.runc.v2", {"BinaryName": "/x"})},
    )
    result = configure(text, None, ABSENT, "1.7.24")
    containerd = at(plain(result.config_text), "plugins", "io.containerd.grpc.v1.cri", "containerd")
    assert "nvidia" not in containerd["runtimes"]
    assert "default_runtime_name" not in containerd
    assert result.warnings


def test_absent_leaves_a_default_someone_changed_since():
    options = dataclasses.replace(PRESENT, set_as_default=True)
    present = configure(DEFAULTS["1.7.24"], None, options, "1.7.24")
    edited = present.config_text.replace('default_runtime_name = "nvidia"', 'default_runtime_name = "runc"')
    result = configure(edited, None, absent_of(options), "1.7.24")
    assert result.config_text == DEFAULTS["1.7.24"]


def test_absent_keeps_the_drop_in_and_its_import_while_another_runtime_lives_there():
    first = configure(DEFAULTS["2.1.9"], None, PRESENT, "2.1.9")
    other = dataclasses.replace(
        PRESENT, runtime_name="nvidia-cdi", runtime_path="/usr/bin/nvidia-container-runtime.cdi"
    )
    second = configure(first.config_text, first.drop_in_text, other, "2.1.9")
    assert second.config_text == first.config_text
    result = configure(second.config_text, second.drop_in_text, ABSENT, "2.1.9")
    assert result.config_text == first.config_text
    assert set(runtimes_of(result.drop_in_text, 3)) == {"nvidia-cdi"}
    back = configure(result.config_text, result.drop_in_text, absent_of(other), "2.1.9")
    assert back.config_text == DEFAULTS["2.1.9"]
    assert back.drop_in_text is None


def test_absent_on_a_config_without_the_runtime_changes_nothing():
    result = configure(DEFAULTS["1.7.24"], None, ABSENT, "1.7.24")
    assert not result.changed


# ----------------------------------------------------------------------------- imports


def test_existing_glob_import_covering_the_drop_in_is_reused():
    text = 'version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n'
    result = configure(text, None, PRESENT, "2.1.9")
    assert result.config_text == text
    assert result.files == [PRESENT.drop_in]


def test_relative_glob_import_is_resolved_against_the_config_directory():
    text = 'version = 3\nimports = ["conf.d/*.toml"]\n'
    result = configure(text, None, PRESENT, "2.1.9")
    assert result.config_text == text


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("version = 2\n[plugins\n", None, "not valid TOML"),
        (
            'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  runtimes = "x"\n',
            'plugins."io.containerd.grpc.v1.cri".containerd.runtimes',
            "is a string",
        ),
        ("version = 99\n", "version", "99"),
        ('version = "2"\n', "version", "is a string"),
        (
            'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes]\n  runc = 1\n',
            'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc',
            "is a integer",
        ),
        (
            'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  options = "x"\n',
            'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options',
            "is a string",
        ),
        (
            'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  default_runtime_name = 1\n',
            'plugins."io.containerd.grpc.v1.cri".containerd.default_runtime_name',
            "expects a string",
        ),
        ('version = 2\nimports = "x"\n', "imports", "is a string"),
        ("version = 2\nplugins = 3\n", "plugins", "is a integer"),
    ],
)
def test_bad_input_is_refused_naming_file_and_key(text, key, words):
    with pytest.raises(ContainerdConfigError) as info:
        configure(text, None, PRESENT, "1.7.24")
    assert info.value.file == PRESENT.path
    assert info.value.key == key
    assert words in str(info.value)
    assert info.value.fix


def test_version_3_config_is_refused_for_containerd_1_7():
    with pytest.raises(ContainerdConfigError, match=r"needs containerd >= 2\.0"):
        configure("version = 3\n", None, PRESENT, "1.7.24")


def test_version_1_config_is_refused_for_containerd_2():
    with pytest.raises(ContainerdConfigError, match="containerd config migrate"):
        configure("[plugins.cri]\n", None, PRESENT, "2.1.9")


def test_nvidia_ctk_style_drop_in_imported_on_1_7_is_refused_with_the_reason():
    text = DEFAULTS["1.7.24"].replace("imports = []", f'imports = ["{PRESENT.drop_in}"]')
    drop = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]\n  runtime_type = "x"\n'
    with pytest.raises(ContainerdConfigError, match=r"replaces config\.toml's whole CRI table") as info:
        configure(text, drop, PRESENT, "1.7.24")
    assert info.value.file == PRESENT.drop_in


def test_drop_in_with_another_schema_version_is_refused():
    with pytest.raises(ContainerdConfigError, match="same config version") as info:
        configure(DEFAULTS["2.1.9"], "version = 2\n", PRESENT, "2.1.9")
    assert info.value.file == PRESENT.drop_in


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("runtime_name", "nv idia"),
        ("runtime_path", "nvidia-container-runtime"),
        ("path", "config.toml"),
        ("drop_in", PRESENT.path),
        ("state", "gone"),
    ],
)
def test_bad_options_are_refused(field, value):
    with pytest.raises(ContainerdConfigError) as info:
        configure("", None, dataclasses.replace(PRESENT, **{field: value}), "1.7.24")
    assert info.value.key == field


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3", (1, 6, 20)),
        ("containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da", (1, 7, 27)),
        ("containerd github.com/containerd/containerd/v2 2.1.9+unknown ", (2, 1, 9)),
        ("containerd github.com/containerd/containerd/v2 v2.0.5 fb4c30d4ede3531652d86197bf3fc9515e5276d9", (2, 0, 5)),
        ("2.1", (2, 1, 0)),
        ("", None),
        (None, None),
        ("no version here", None),
    ],
)
def test_containerd_version_is_read_from_version_output(text, expected):
    assert parse_containerd_version(text) == expected


# ----------------------------------------------------------------------------- properties

INDENTS = st.sampled_from(["", "  ", "    "])
COMMENT = st.text(alphabet="abcdefghij klm-_.", min_size=1, max_size=20).map(lambda s: f"# {s.strip() or 'note'}")


@st.composite
def configs(draw):
    """(text, schema, containerd version) covering v1, v2, v3 layouts with comments and unrelated keys."""
    schema = draw(st.sampled_from([1, 2, 3]))
    version = draw(
        st.sampled_from(
            {1: ["1.6.20", "1.7.24", None], 2: ["1.6.20", "1.7.24", "2.1.9", None], 3: ["2.1.9", None]}[schema]
        )
    )
    cri = CRI_PLUGINS[schema]
    quoted = f'"{cri}"' if "." in cri else cri
    indent = draw(INDENTS)
    lines = []
    if draw(st.booleans()):
        lines.append(draw(COMMENT))
    if schema > 1:
        lines.append(f"version = {schema}")
    if draw(st.booleans()):
        lines.append('root = "/var/lib/containerd"  ' + draw(COMMENT))
    if draw(st.booleans()):
        lines.append("oom_score = " + str(draw(st.integers(-999, 0))))
    if schema > 1 and draw(st.booleans()):
        lines.append('imports = ["/etc/containerd/other.d/*.toml"]')
    if draw(st.booleans()):
        lines += ["", "[grpc]", f'{indent}address = "/run/containerd/containerd.sock"']
    if draw(st.booleans()):
        lines += ["", f"[plugins.{quoted}]"]
        if schema < 3:
            lines.append(f'{indent}sandbox_image = "example.org/pause:{draw(st.integers(1, 9))}"')
        else:
            lines.append(f"{indent}enable_selinux = {str(draw(st.booleans())).lower()}")
        if draw(st.booleans()):
            lines.append(f"{indent}enable_cdi = {str(draw(st.booleans())).lower()}  " + draw(COMMENT))
    explicit_containerd = draw(st.booleans())
    if explicit_containerd:
        lines += ["", f"[plugins.{quoted}.containerd]"]
        if draw(st.booleans()):
            lines.append(f'{indent}default_runtime_name = "runc"  ' + draw(COMMENT))
        lines.append(f'{indent}snapshotter = "overlayfs"')
    if not explicit_containerd:
        indent = ""  # containerd indents a header only under its parent's header; see the layout test
    if draw(st.booleans()):
        lines += [
            "",
            f"{indent}[plugins.{quoted}.containerd.runtimes.runc]",
            f'{indent * 2}runtime_type = "io.containerd.runc.v2"',
        ]
        if draw(st.booleans()):
            lines += [
                "",
                f"{indent}[plugins.{quoted}.containerd.runtimes.runc.options]",
                f"{indent * 2}SystemdCgroup = {str(draw(st.booleans())).lower()}",
            ]
    if draw(st.booleans()):
        lines += ["", draw(COMMENT), '[plugins."io.containerd.internal.v1.opt"]', f'{indent}path = "/opt/containerd"']
    if schema == 3 and draw(st.booleans()):
        lines += ["", "[plugins.'io.containerd.cri.v1.images'.pinned_images]", "  sandbox = 'example.org/pause:3'"]
    while lines and not lines[0]:  # files start with a key, a comment or a header
        lines.pop(0)
    if draw(st.booleans()):
        lines.append("")  # a file that ends with a blank line
    text = "\n".join(lines) + ("\n" if lines else "")
    # tomlkit itself does not write some layouts back unchanged (the module warns about them).
    assume(tomlkit.parse(text).as_string() == text)
    return text, schema, version


@st.composite
def option_sets(draw, version):
    return RuntimeOptions(
        runtime_name=draw(st.sampled_from(["nvidia", "nvidia-cdi"])),
        set_as_default=draw(st.booleans()),
        enable_cdi=draw(st.booleans()) and version != "1.6.20",
        drop_in=draw(st.sampled_from([PRESENT.drop_in, ""])),
        systemd_cgroup=draw(st.sampled_from([None, True, False])),
    )


REAL = st.sampled_from([(DEFAULTS[v], 3 if v == "2.1.9" else 2, v) for v in DEFAULTS])
CASES = st.one_of(configs(), REAL).flatmap(lambda c: st.tuples(st.just(c), option_sets(c[2])))
PROPERTY = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(CASES)
def test_applying_twice_is_applying_once(case):
    (text, _schema, version), options = case
    once = configure(text, None, options, version)
    twice = configure(once.config_text, once.drop_in_text, options, version)
    assert not twice.changed
    assert (twice.config_text, twice.drop_in_text) == (once.config_text, once.drop_in_text)
    assert twice.runtime == once.runtime


@PROPERTY
@given(CASES)
def test_absent_after_present_restores_the_input_byte_for_byte(case):
    (text, _schema, version), options = case
    present = configure(text, None, options, version)
    absent = configure(present.config_text, present.drop_in_text, absent_of(options), version)
    assert absent.config_text == text
    assert absent.drop_in_text is None


@PROPERTY
@given(CASES)
def test_unrelated_keys_and_comments_survive(case):
    (text, _schema, version), options = case
    result = configure(text, None, options, version)
    cri = CRI_PLUGINS[result.config_version]
    before, after = plain(text), plain(result.config_text)
    owned_cri = {"enable_cdi"} if options.enable_cdi else set()
    owned_containerd = {"default_runtime_name"} if options.set_as_default else set()
    had_runc = "runc" in before_runtimes(before, cri)
    for data in (before, after):
        data.pop("imports", None)
        data.pop("version", None)
        plugin = data.get("plugins", {}).get(cri, {})
        for key in owned_cri:
            plugin.pop(key, None)
        containerd = plugin.get("containerd", {})
        for key in owned_containerd:
            containerd.pop(key, None)
        runtimes = containerd.get("runtimes", {})
        runtimes.pop(options.runtime_name, None)
        if options.systemd_cgroup is not None:  # owned in the default runtime (runc) too
            for runtime in runtimes.values():
                runtime.get("options", {}).pop("SystemdCgroup", None)
        if not had_runc:  # containerd < 2.1 needs runc written once config.toml names a runtime
            runtimes.pop("runc", None)
        prune(data)
    assert after == before
    for line in text.splitlines():
        if line.lstrip().startswith("#") or "  #" in line:
            assert line.split("#", 1)[1] in result.config_text


@PROPERTY
@given(CASES)
def test_the_runtime_runs_the_asked_binary(case):
    (text, _schema, version), options = case
    result = configure(text, None, options, version)
    target = result.drop_in_text if result.strategy == "drop_in" else result.config_text
    runtime = runtimes_of(target, result.config_version)[options.runtime_name]
    assert runtime["options"]["BinaryName"] == options.runtime_path
    assert runtime["runtime_type"] == "io.containerd.runc.v2"
    assert result.runtime == runtime


def before_runtimes(data, cri):
    return data.get("plugins", {}).get(cri, {}).get("containerd", {}).get("runtimes", {})


def prune(data):
    for key in list(data):
        if isinstance(data[key], dict):
            prune(data[key])
            if not data[key]:
                del data[key]


def test_layout_the_toml_library_cannot_keep_stable_is_refused_not_written():
    text = '  [plugins.cri.containerd.runtimes.runc]\n    runtime_type = "io.containerd.runc.v2"\n'
    with pytest.raises(ContainerdConfigError, match="cannot be edited stably") as info:
        configure(text, None, PRESENT, "1.7.24")
    assert info.value.file == PRESENT.path


# ----------------------------------------------------------------------------- hardening (issue 13, 14)

CRI_2 = 'plugins."io.containerd.grpc.v1.cri".containerd'


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            f'version = 2\n[{CRI_2}]\n  runtimes = {{ runc = {{ runtime_type = "io.containerd.runc.v2" }} }}\n',
            f"{CRI_2}.runtimes",
        ),
        (
            'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  containerd = { default_runtime_name = "runc" }\n',
            CRI_2,
        ),
    ],
    ids=["runtimes", "containerd"],
)
def test_inline_tables_containerd_accepts_are_refused_with_the_key_and_the_fix(text, key):
    with pytest.raises(ContainerdConfigError) as caught:
        configure(text, None, PRESENT, "1.7.24")
    error = caught.value
    assert error.file == PRESENT.path
    assert error.key == key
    assert "inline table" in error.problem
    assert f"[{key}] table" in error.fix
    assert "Inline tables cannot contain a table" not in str(error)


@pytest.mark.parametrize("version", ["1.6.20", "1.7.24", "2.1.9"])
@pytest.mark.parametrize(
    "options", [PRESENT, dataclasses.replace(PRESENT, set_as_default=True)], ids=["plain", "default"]
)
@pytest.mark.parametrize("start", ["default", "version-only", "table-last"])
def test_absent_after_present_restores_a_file_without_a_final_newline(version, options, start):
    schema = 3 if version.startswith("2.") else 2
    text = {
        "default": DEFAULTS[version],
        "version-only": f"version = {schema}\n",
        "table-last": f'version = {schema}\n[plugins."{CRI_PLUGINS[schema]}".containerd]\n  snapshotter = "native"\n',
    }[start].rstrip("\n")
    present = configure(text, None, options, version)
    assert present.changed
    again = configure(present.config_text, present.drop_in_text, options, version)
    assert not again.changed
    absent = configure(present.config_text, present.drop_in_text, dataclasses.replace(options, state="absent"), version)
    assert absent.config_text == text
    assert absent.drop_in_text is None


def _cgroup_config(default_type: str, nvidia: str = "") -> str:
    return (
        f'version = 2\n[{CRI_2}]\n  default_runtime_name = "crun"\n'
        f'  [{CRI_2}.runtimes.runc]\n    runtime_type = "io.containerd.runc.v2"\n'
        f"    [{CRI_2}.runtimes.runc.options]\n      SystemdCgroup = false\n"
        f'  [{CRI_2}.runtimes.crun]\n    runtime_type = "{default_type}"\n'
        f'    [{CRI_2}.runtimes.crun.options]\n      BinaryName = "/usr/bin/crun"\n      SystemdCgroup = true\n'
        + nvidia
    )


@pytest.mark.parametrize("default_type", ["io.containerd.runc.v2", "io.containerd.crun.v2"])
def test_the_new_runtime_takes_systemd_cgroup_from_the_default_runtime_not_runc(default_type):
    result = configure(_cgroup_config(default_type), None, PRESENT, "1.7.24")
    nvidia = runtimes_of(result.config_text, 2)["nvidia"]
    assert nvidia["options"]["SystemdCgroup"] is True
    assert nvidia["options"]["BinaryName"] == PRESENT.runtime_path
    assert result.runtime["options"]["SystemdCgroup"] is True
    assert not configure(result.config_text, None, PRESENT, "1.7.24").changed


NVIDIA_2 = (
    f'  [{CRI_2}.runtimes.nvidia]\n    runtime_type = "io.containerd.runc.v2"\n'
    f'    [{CRI_2}.runtimes.nvidia.options]\n      BinaryName = "{PRESENT.runtime_path}"\n'
)


@pytest.mark.parametrize(
    ("line", "mark"),
    [
        ("      SystemdCgroup = false\n", '# set by kubegpu.nvidia.containerd_runtime (nvidia), was: "false"'),
        ("", "# added by kubegpu.nvidia.containerd_runtime (nvidia)"),
    ],
    ids=["other-value", "no-value"],
)
def test_an_existing_runtime_takes_systemd_cgroup_from_the_default_runtime_marked(line, mark):
    text = _cgroup_config("io.containerd.runc.v2", NVIDIA_2 + line)
    result = configure(text, None, PRESENT, "1.7.24")
    assert result.changed
    nvidia = runtimes_of(result.config_text, 2)["nvidia"]
    assert nvidia["options"]["SystemdCgroup"] is True
    assert result.runtime["options"]["SystemdCgroup"] is True
    [changed] = [x for x in result.config_text.splitlines() if x not in text.splitlines()]
    assert changed == f"      SystemdCgroup = true {mark}"
    assert not [w for w in result.warnings if "SystemdCgroup" in w]
    assert not configure(result.config_text, None, PRESENT, "1.7.24").changed


def test_an_existing_runtime_in_the_drop_in_follows_a_later_cgroup_change_of_the_default():
    first = configure(DEFAULTS["2.1.9"], None, PRESENT, "2.1.9")
    assert runtimes_of(first.drop_in_text, 3)["nvidia"]["options"]["SystemdCgroup"] is False
    later = first.config_text.replace("SystemdCgroup = false", "SystemdCgroup = true")
    second = configure(later, first.drop_in_text, PRESENT, "2.1.9")
    assert second.files == [PRESENT.drop_in]
    assert runtimes_of(second.drop_in_text, 3)["nvidia"]["options"]["SystemdCgroup"] is True
    assert "SystemdCgroup = true # set by kubegpu.nvidia.containerd_runtime (nvidia)" in second.drop_in_text
    absent = configure(later, second.drop_in_text, ABSENT, "2.1.9")
    assert absent.config_text == DEFAULTS["2.1.9"].replace("SystemdCgroup = false", "SystemdCgroup = true")
    assert absent.drop_in_text is None


# ----------------------------------------------------------------------------- the sandbox image

PAUSE = "registry.k8s.io/pause:3.10.2"
SANDBOX = RuntimeOptions(runtime_name="", sandbox_image=PAUSE, drop_in="/etc/containerd/conf.d/98-kubegpu-sandbox.toml")


@pytest.mark.parametrize("version", ["1.6.20", "1.7.24"])
def test_sandbox_image_is_set_in_the_cri_plugin_and_absent_gives_back_the_default(version):
    text = DEFAULTS[version]
    present = configure(text, None, SANDBOX, version)
    again = configure(present.config_text, present.drop_in_text, SANDBOX, version)
    absent = configure(present.config_text, present.drop_in_text, absent_of(SANDBOX), version)

    assert present.strategy == "in_place" and present.drop_in_text is None
    assert cri_of(present.config_text, 2)["sandbox_image"] == PAUSE
    # Only that value changed.
    before, after = plain(text), plain(present.config_text)
    cri_of_before = at(before, "plugins", CRI_PLUGINS[2])
    cri_of_before["sandbox_image"] = PAUSE
    assert after == before
    marked = next(line for line in present.config_text.splitlines() if "sandbox_image" in line)
    assert "# set by kubegpu.nvidia.containerd_runtime, was:" in marked and cri_of(text, 2)["sandbox_image"] in marked
    assert not again.changed
    assert absent.config_text == text


def test_sandbox_image_of_containerd_2_goes_to_the_pinned_images_of_the_drop_in():
    text = DEFAULTS["2.1.9"]
    present = configure(text, None, SANDBOX, "2.1.9")
    again = configure(present.config_text, present.drop_in_text, SANDBOX, "2.1.9")
    absent = configure(present.config_text, present.drop_in_text, absent_of(SANDBOX), "2.1.9")

    assert present.strategy == "drop_in"
    assert plain(present.drop_in_text)["plugins"] == {
        "io.containerd.cri.v1.images": {"pinned_images": {"sandbox": PAUSE}}}
    assert plain(present.config_text)["imports"][-1] == SANDBOX.drop_in
    assert not again.changed
    assert absent.config_text == text and absent.drop_in_text is None


def test_sandbox_image_on_a_node_without_config_writes_only_it_and_absent_empties_it_again():
    present = configure(None, None, SANDBOX, "1.7.24")
    absent = configure(present.config_text, None, absent_of(SANDBOX), "1.7.24")
    assert plain(present.config_text) == {
        "version": 2, "plugins": {"io.containerd.grpc.v1.cri": {"sandbox_image": PAUSE}}}
    # As in CDI mode: the file the module created is left empty (containerd reads no file and an empty one alike).
    assert absent.config_text == ""


def test_sandbox_image_beside_cdi_mode_each_taken_back_alone():
    # The node stage turns on CDI, the kubernetes stage sets the sandbox image: one file on containerd 1.7.
    text = DEFAULTS["1.7.24"]
    cdi = RuntimeOptions(runtime_name="", enable_cdi=True)
    with_cdi = configure(text, None, cdi, "1.7.24").config_text
    both = configure(with_cdi, None, SANDBOX, "1.7.24").config_text
    assert cri_of(both, 2)["enable_cdi"] is True and cri_of(both, 2)["sandbox_image"] == PAUSE
    assert not configure(both, None, cdi, "1.7.24").changed
    without_sandbox = configure(both, None, absent_of(SANDBOX), "1.7.24").config_text
    assert without_sandbox == with_cdi
    assert configure(without_sandbox, None, absent_of(cdi), "1.7.24").config_text == text


def test_a_sandbox_image_someone_changed_since_is_left_and_only_the_marker_goes():
    text = DEFAULTS["1.7.24"]
    present = configure(text, None, SANDBOX, "1.7.24").config_text
    edited = present.replace(f'sandbox_image = "{PAUSE}"', 'sandbox_image = "registry.example/pause:3.10.2"')
    absent = configure(edited, None, absent_of(SANDBOX), "1.7.24").config_text
    assert cri_of(absent, 2)["sandbox_image"] == "registry.example/pause:3.10.2"
    assert "kubegpu.nvidia" not in absent


def test_a_second_run_with_the_image_as_ansible_hands_it_over_changes_nothing():
    # Ansible passes module arguments as str subclasses; the value already there must still compare as equal.
    class Tagged(str):
        pass

    first = configure(DEFAULTS["1.7.24"], None, SANDBOX, "1.7.24")
    tagged = dataclasses.replace(SANDBOX, sandbox_image=Tagged(PAUSE))
    assert not configure(first.config_text, None, tagged, "1.7.24").changed


# ----------------------------------------------------------------------------- the cgroup driver (systemd_cgroup)

SYSTEMD = dataclasses.replace(PRESENT, systemd_cgroup=True)
# The container_runtime role's call: the cgroup driver alone, no runtime.
SYSTEMD_ONLY = RuntimeOptions(runtime_name="", systemd_cgroup=True)


def _schema(version):
    return 3 if version.startswith("2.") else 2


def _cgroups(result, version):
    """SystemdCgroup of every runtime, as config.toml and the drop-in together define them."""
    found = {}
    for text in (result.config_text, result.drop_in_text):
        for name, table in (runtimes_of(text, _schema(version)) if text else {}).items():
            if "SystemdCgroup" in table.get("options", {}):
                found[name] = table["options"]["SystemdCgroup"]
    return found


@pytest.mark.parametrize("version", sorted(DEFAULTS))
def test_systemd_cgroup_sets_runc_and_the_runtime_then_absent_gives_back_the_bytes(version):
    text = DEFAULTS[version]
    present = configure(text, None, SYSTEMD, version)
    again = configure(present.config_text, present.drop_in_text, SYSTEMD, version)
    absent = configure(present.config_text, present.drop_in_text, absent_of(SYSTEMD), version)

    assert _cgroups(present, version) == {"runc": True, "nvidia": True}
    assert present.runtime["options"]["SystemdCgroup"] is True
    # runc's line stays where containerd's default config defines it (config.toml), marked with the value it
    # had; the line of the runtime this run created is not marked (the whole table goes with absent).
    both = present.config_text + (present.drop_in_text or "")
    [marked] = [line for line in both.splitlines() if "SystemdCgroup" in line and "#" in line]
    assert marked in present.config_text
    assert marked.strip() == 'SystemdCgroup = true # set by kubegpu.nvidia.containerd_runtime (nvidia), was: "false"'
    assert not again.changed
    assert absent.config_text == text
    assert absent.drop_in_text is None


@pytest.mark.parametrize("version", sorted(DEFAULTS))
def test_systemd_cgroup_false_gives_cgroupfs_back_to_a_systemd_node(version):
    text = DEFAULTS[version].replace("SystemdCgroup = false", "SystemdCgroup = true")
    options = dataclasses.replace(PRESENT, systemd_cgroup=False)
    present = configure(text, None, options, version)
    assert _cgroups(present, version) == {"runc": False, "nvidia": False}
    assert not configure(present.config_text, present.drop_in_text, options, version).changed
    assert configure(present.config_text, present.drop_in_text, absent_of(options), version).config_text == text


@pytest.mark.parametrize("version", sorted(DEFAULTS))
def test_systemd_cgroup_already_as_asked_changes_nothing(version):
    text = DEFAULTS[version].replace("SystemdCgroup = false", "SystemdCgroup = true")
    result = configure(text, None, SYSTEMD_ONLY, version)
    assert not result.changed
    assert result.config_text == text


@pytest.mark.parametrize("version", ["1.6.20", "1.7.24", None])
@pytest.mark.parametrize("start", [None, "", "version = 2\n"])
def test_systemd_cgroup_alone_on_containerd_before_2_1_writes_runc_whole(version, start):
    # Before 2.1 a runtimes table replaces the built-in ones: a runc with only options would lose its runtime_type.
    present = configure(start, None, SYSTEMD_ONLY, version)
    runc = runtimes_of(present.config_text, 2)["runc"]
    assert runc == {"runtime_type": "io.containerd.runc.v2", "options": {"SystemdCgroup": True}}
    assert set(runtimes_of(present.config_text, 2)) == {"runc"}
    assert present.drop_in_text is None
    assert not configure(present.config_text, None, SYSTEMD_ONLY, version).changed
    absent = configure(present.config_text, None, absent_of(SYSTEMD_ONLY), version)
    assert absent.config_text == (start or "")


@pytest.mark.parametrize("start", [None, "version = 3\n"])
def test_systemd_cgroup_alone_on_containerd_2_1_sets_only_the_option_of_the_built_in_runc(start):
    present = configure(start, None, SYSTEMD_ONLY, "2.1.9")
    schema = 3 if start else 2
    assert runtimes_of(present.config_text, schema) == {"runc": {"options": {"SystemdCgroup": True}}}
    assert present.drop_in_text is None  # the default runtime's setting is config.toml's, where every call sees it
    assert not configure(present.config_text, None, SYSTEMD_ONLY, "2.1.9").changed
    assert configure(present.config_text, None, absent_of(SYSTEMD_ONLY), "2.1.9").config_text == (start or "")


def test_systemd_cgroup_with_set_as_default_sets_the_runtime_and_runc():
    options = dataclasses.replace(SYSTEMD, set_as_default=True)
    present = configure(DEFAULTS["1.7.24"], None, options, "1.7.24")
    assert cri_of(present.config_text, 2)["containerd"]["default_runtime_name"] == "nvidia"
    assert _cgroups(present, "1.7.24") == {"runc": True, "nvidia": True}
    absent = configure(present.config_text, None, absent_of(options), "1.7.24")
    assert absent.config_text == DEFAULTS["1.7.24"]


def test_systemd_cgroup_sets_the_default_runtime_and_runc_when_they_differ():
    text = _config_with_runtimes(
        "crun",
        {
            "runc": ("io.containerd.runc.v2", {"SystemdCgroup": False}),
            "crun": ("io.containerd.runc.v2", {"BinaryName": "/usr/bin/crun"}),
        },
    )
    present = configure(text, None, SYSTEMD, "1.7.24")
    assert _cgroups(present, "1.7.24") == {"runc": True, "crun": True, "nvidia": True}
    assert configure(present.config_text, None, absent_of(SYSTEMD), "1.7.24").config_text == text


def test_a_default_runtime_of_another_shim_is_reported_and_left():
    text = _config_with_runtimes("kata", {"kata": ("io.containerd.kata.v2", {"ConfigPath": "/etc/kata.toml"})})
    present = configure(text, None, SYSTEMD_ONLY, "1.7.24")
    assert not present.changed
    [warning] = present.warnings
    assert "'kata'" in warning and "io.containerd.kata.v2" in warning and "runc shim" in warning


def test_a_default_runtime_no_file_defines_is_reported():
    text = _config_with_runtimes("missing", {"runc": ("io.containerd.runc.v2", {})})
    present = configure(text, None, SYSTEMD_ONLY, "1.7.24")
    assert _cgroups(present, "1.7.24") == {"runc": True}
    assert any("'missing'" in w and "SystemdCgroup" in w for w in present.warnings)


def test_runc_missing_beside_other_runtimes_before_2_1_is_reported_not_half_written():
    text = _config_with_runtimes(None, {"kata": ("io.containerd.kata.v2", {})})
    present = configure(text, None, SYSTEMD_ONLY, "1.7.24")
    assert not present.changed
    assert any("no runc" in w for w in present.warnings)


def test_systemd_cgroup_left_out_leaves_every_runtime_as_it_is_in_both_states():
    text = _config_with_runtimes("runc", {"runc": ("io.containerd.runc.v2", {"SystemdCgroup": False})})
    present = configure(text, None, SYSTEMD, "1.7.24")
    # A later call without the option neither changes nor takes back the line.
    assert not configure(present.config_text, None, PRESENT, "1.7.24").changed
    absent = configure(present.config_text, None, ABSENT, "1.7.24")
    assert _cgroups(absent, "1.7.24") == {"runc": True}
    assert "set by kubegpu.nvidia.containerd_runtime (nvidia)" in absent.config_text


def test_a_value_someone_changed_since_is_left_by_absent_and_only_the_marker_goes():
    present = configure(DEFAULTS["1.7.24"], None, SYSTEMD_ONLY, "1.7.24")
    edited = present.config_text.replace("SystemdCgroup = true #", "SystemdCgroup = false #")
    absent = configure(edited, None, absent_of(SYSTEMD_ONLY), "1.7.24")
    assert absent.config_text == DEFAULTS["1.7.24"]  # false was the original value too
    edited = present.config_text.replace(
        'SystemdCgroup = true # set by kubegpu.nvidia.containerd_runtime, was: "false"', "SystemdCgroup = true"
    )
    assert configure(edited, None, absent_of(SYSTEMD_ONLY), "1.7.24").config_text == edited


def test_the_cgroup_call_and_the_cdi_call_each_take_back_only_their_own_keys():
    text = DEFAULTS["1.7.24"]
    cdi = RuntimeOptions(runtime_name="", enable_cdi=True)
    with_cdi = configure(text, None, cdi, "1.7.24").config_text
    both = configure(with_cdi, None, SYSTEMD_ONLY, "1.7.24").config_text
    assert cri_of(both, 2)["enable_cdi"] is True
    assert runtimes_of(both, 2)["runc"]["options"]["SystemdCgroup"] is True
    without_cgroup = configure(both, None, absent_of(SYSTEMD_ONLY), "1.7.24").config_text
    assert without_cgroup == with_cdi
    assert configure(without_cgroup, None, absent_of(cdi), "1.7.24").config_text == text


def test_a_runtime_added_later_copies_runc_without_the_mark_of_the_cgroup_call():
    cgroup = configure(DEFAULTS["1.7.24"], None, SYSTEMD_ONLY, "1.7.24").config_text
    present = configure(cgroup, None, PRESENT, "1.7.24")
    nvidia = runtimes_of(present.config_text, 2)["nvidia"]
    assert nvidia["options"]["SystemdCgroup"] is True  # copied from runc, as the node runs it now
    assert present.config_text.count("kubegpu.nvidia.containerd_runtime") == 1  # runc's line only
    assert configure(present.config_text, None, ABSENT, "1.7.24").config_text == cgroup


def test_systemd_cgroup_of_another_type_is_refused():
    with pytest.raises(ContainerdConfigError) as info:
        configure("", None, dataclasses.replace(PRESENT, systemd_cgroup="yes"), "1.7.24")
    assert info.value.key == "systemd_cgroup"
