# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cgroup driver of containerd and CRI-O, and systemd as init: the rules on parsed data, then whole roots.

A node without tomllib (Python before 3.11) parses nothing: it sends the texts
to the controller (config_texts), whose side is tested in
tests/unit/plugins/plugin_utils/test_node_decision.py; here, that the texts are
the right ones, bounded, and decide as the node would.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from pathlib import Path

import pytest

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu import parsers, runtime_cgroups
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.collect import RootReader, gather_facts
from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.parsers import ParseError
from ansible_collections.kubegpu.nvidia.plugins.module_utils._runtimes import CONTAINERD_RUNC_SHIMS
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._node_decision import decide_node
from ansible_collections.kubegpu.nvidia.tests.unit.plugins.module_utils.conftest import FakeRoot

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# Real `containerd config dump` outputs of Debian's containerd 1.6 and 1.7 (version 2) and 2.1 (version 3).
DUMPS = {
    v: (FIXTURES / "containerd" / ("config-default-%s.toml" % v)).read_text() for v in ("1.6.20", "1.7.24", "2.1.9")
}
CRIO_CONF = (FIXTURES / "crio" / "crio.conf").read_text()
CRIO_DROP_IN = (FIXTURES / "crio" / "10-crio.conf").read_text()

CONFIG = "/etc/containerd/config.toml"

# The same configuration in each schema; {line} is the runc options' SystemdCgroup line.
SCHEMA_1 = """\
[plugins.cri.containerd]
  default_runtime_name = "runc"
  [plugins.cri.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.cri.containerd.runtimes.runc.options]
      BinaryName = ""
{line}
"""
SCHEMA_2 = """\
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  enable_cdi = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = ""  # the runc on PATH
{line}
"""
SCHEMA_3 = """\
version = 3

[plugins.'io.containerd.cri.v1.runtime']
  enable_cdi = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = ''
{line}
"""
SCHEMAS = {1: SCHEMA_1, 2: SCHEMA_2, 3: SCHEMA_3}

# Two runtimes with their own SystemdCgroup; {default} names the CRI default.
TWO_RUNTIMES = """\
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "{default}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = {runc}
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]
    BinaryName = "/usr/bin/nvidia-container-runtime"
    SystemdCgroup = {nvidia}
"""


def _config(schema, systemd_cgroup):
    """A schema's text with SystemdCgroup set to True/False, or left out (None)."""
    line = "" if systemd_cgroup is None else "        SystemdCgroup = %s" % ("true" if systemd_cgroup else "false")
    return SCHEMAS[schema].replace("{line}", line)


def _set_runc_systemd_cgroup(dump, value):
    """A real dump with its one runc SystemdCgroup line set to ``value``."""
    assert dump.count("SystemdCgroup = false") == 1
    return dump.replace("SystemdCgroup = false", "SystemdCgroup = %s" % ("true" if value else "false"))


def _containerd(text, dump=False):
    return runtime_cgroups.containerd_cgroup_driver_from_data(parsers.toml(text), dump=dump)


def _crio(text):
    return runtime_cgroups.crio_cgroup_manager_from_data(parsers.toml(text))


@pytest.fixture
def no_tomllib(monkeypatch):
    """The node's Python before 3.11: no tomllib, so nothing is parsed there."""
    monkeypatch.setattr(parsers, "tomllib", None)


# --- containerd: the rule on parsed data ------------------------------------------------------------


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
@pytest.mark.parametrize("systemd_cgroup", [True, False, None])
def test_containerd_driver_per_schema_follows_runc_systemd_cgroup(schema, systemd_cgroup):
    assert _containerd(_config(schema, systemd_cgroup)) == ("systemd" if systemd_cgroup is True else "cgroupfs")


@pytest.mark.parametrize(("written", "read"), [(2, 3), (3, 2), (1, 2), (2, 1)])
def test_containerd_schema_version_picks_the_cri_plugin_read(written, read):
    # A schema-2 body under "version = 3" (and so on): containerd reads another plugin, which sets nothing.
    text = _config(written, True)
    if written == 1:
        text = "version = %d\n" % read + text
    else:
        text = text.replace("version = %d" % written, "version = %d" % read)

    assert _containerd(_config(written, True)) == "systemd"
    assert _containerd(text) == "cgroupfs"


@pytest.mark.parametrize("default", ["runc", "nvidia"])
@pytest.mark.parametrize("runc", [True, False])
@pytest.mark.parametrize("nvidia", [True, False])
def test_containerd_default_runtime_decides_not_runc(default, runc, nvidia):
    text = TWO_RUNTIMES.format(default=default, runc=str(runc).lower(), nvidia=str(nvidia).lower())
    chosen = {"runc": runc, "nvidia": nvidia}[default]

    assert _containerd(text) == ("systemd" if chosen else "cgroupfs")


def test_containerd_default_runtime_without_a_table_is_cgroupfs():
    text = TWO_RUNTIMES.format(default="kata", runc="true", nvidia="true")

    assert _containerd(text) == "cgroupfs"


@pytest.mark.parametrize("version", sorted(DUMPS))
def test_real_containerd_dumps_are_cgroupfs_until_runc_says_systemd(version):
    assert _containerd(DUMPS[version], dump=True) == "cgroupfs"
    assert _containerd(_set_runc_systemd_cgroup(DUMPS[version], True), dump=True) == "systemd"


def test_empty_or_missing_config_is_containerd_defaults():
    assert _containerd("") == "cgroupfs"
    assert _containerd("# nothing set\n") == "cgroupfs"


def test_containerd_file_with_imports_is_not_decided_but_a_dump_with_them_is():
    text = 'version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n' + _config(2, True).replace("version = 2\n", "")

    with pytest.raises(ParseError, match=r"^imports /etc/containerd/conf.d/\*.toml; how containerd merges imports"):
        _containerd(text)
    assert _containerd(text, dump=True) == "systemd"  # a dump lists the imports already merged


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('version = 2\n[plugins\nbroken = "\n', "not valid TOML"),
        ("version = 2\nversion = 3\n", "not valid TOML"),
        ("version = 4\n", "expected a top-level 'version' of 1, 2, 3, found the value 4"),
        ('version = "2"\n', "expected a top-level 'version' of 1, 2, 3, found the string '2'"),
        (
            SCHEMA_2.replace("{line}", '        SystemdCgroup = "true"'),
            "expected true or false at "
            'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options.SystemdCgroup, '
            "found the string 'true'",
        ),
        (
            'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\ncontainerd = "x"\n',
            'expected a table at plugins."io.containerd.grpc.v1.cri".containerd, found the string \'x\'',
        ),
    ],
)
def test_containerd_config_that_containerd_would_refuse_is_a_parse_error(text, reason):
    with pytest.raises(ParseError) as error:
        _containerd(text)

    assert str(error.value).startswith(reason)


# --- CRI-O: the rule on parsed data ------------------------------------------------------------------


@pytest.mark.parametrize("manager", ["systemd", "cgroupfs"])
def test_crio_cgroup_manager_is_read_from_crio_runtime(manager):
    text = '[crio.runtime]\ndefault_runtime = "crun"\ncgroup_manager = "%s"\n' % manager

    assert _crio(text) == manager


def test_crio_files_that_do_not_set_it_say_nothing():
    assert "cgroup_manager" not in CRIO_CONF.replace("# ", "")  # only in comments

    assert _crio(CRIO_CONF) is None
    assert _crio(CRIO_DROP_IN) is None
    assert _crio("") is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[crio.runtime]\ncgroup_manager = "none"\n', "expected \"systemd\" or \"cgroupfs\" at "
         "crio.runtime.cgroup_manager, found the string 'none'"),
        ("[crio.runtime]\ncgroup_manager = true\n", "expected \"systemd\" or \"cgroupfs\""),
        ('[crio.runtime\ncgroup_manager = "systemd"\n', "not valid TOML"),
    ],
)
def test_crio_value_crio_would_refuse_is_a_parse_error(text, reason):
    with pytest.raises(ParseError) as error:
        _crio(text)

    assert str(error.value).startswith(reason)


# --- gather_facts: containerd below another root -----------------------------------------


def _install(fake_root, name):
    fake_root.write("/usr/bin/%s" % name, "#!/bin/sh\n").chmod(0o755)


def _no_command(argv):
    raise AssertionError("no command may run below another root: %r" % (argv,))


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
@pytest.mark.parametrize("systemd_cgroup", [True, False])
def test_containerd_driver_below_another_root_comes_from_the_file(fake_root, schema, systemd_cgroup):
    _install(fake_root, "containerd")
    fake_root.write(CONFIG, _config(schema, systemd_cgroup))

    facts = gather_facts(str(fake_root), run_command=_no_command)

    containerd = facts["runtimes"]["containerd"]
    assert containerd["cgroup_driver"] == ("systemd" if systemd_cgroup else "cgroupfs")
    assert containerd["cgroup_driver_source"] == "config file"
    assert containerd["config_version"] == schema
    assert facts["read_errors"] == []


def test_containerd_without_a_config_file_runs_with_its_default_driver(fake_root):
    _install(fake_root, "containerd")

    containerd = gather_facts(str(fake_root))["runtimes"]["containerd"]

    assert containerd["config_exists"] is False
    assert (containerd["cgroup_driver"], containerd["cgroup_driver_source"]) == ("cgroupfs", "config file")


def test_containerd_not_installed_has_no_driver_even_with_a_config(fake_root):
    fake_root.write(CONFIG, _config(2, True))

    containerd = gather_facts(str(fake_root))["runtimes"]["containerd"]

    assert containerd["installed"] is False
    assert containerd["config_exists"] is True
    assert (containerd["cgroup_driver"], containerd["cgroup_driver_source"]) == (None, None)


def test_malformed_containerd_config_is_null_and_one_read_error(fake_root):
    _install(fake_root, "containerd")
    fake_root.write(CONFIG, _config(2, True).replace('[plugins."io.containerd.grpc.v1.cri"]\n', "[plugins\n"))

    facts = gather_facts(str(fake_root))

    containerd = facts["runtimes"]["containerd"]
    assert (containerd["cgroup_driver"], containerd["cgroup_driver_source"]) == (None, None)
    errors = [e for e in facts["read_errors"] if e["path"] == CONFIG]
    assert len(errors) == 1
    assert errors[0]["reason"].startswith("not valid TOML")
    assert "read_errors" in [f["id"] for f in facts["findings"]]


def test_wrongly_typed_systemd_cgroup_is_null_and_names_the_key(fake_root):
    _install(fake_root, "containerd")
    fake_root.write(CONFIG, SCHEMA_3.replace("{line}", "        SystemdCgroup = 1"))

    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["containerd"]["cgroup_driver"] is None
    assert facts["read_errors"] == [
        {
            "path": CONFIG,
            "reason": 'expected true or false at plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc'
            ".options.SystemdCgroup, found the value 1",
        }
    ]


def test_containerd_config_with_imports_is_not_decided_below_another_root(fake_root):
    _install(fake_root, "containerd")
    fake_root.write(CONFIG, 'imports = ["/etc/containerd/conf.d/*.toml"]\n' + _config(2, False))
    fake_root.write("/etc/containerd/conf.d/99-nvidia.toml", _config(2, True))

    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["containerd"]["cgroup_driver"] is None
    assert facts["read_errors"][0]["path"] == CONFIG
    assert facts["read_errors"][0]["reason"].startswith("imports /etc/containerd/conf.d/*.toml; how containerd merges")


# --- containerd on the live root: one config dump -----------------------------------------


class FakeCommands:
    """run_command that answers from a table keyed by argv, and records every call."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        answer = self.answers[tuple(argv)]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_live_containerd_driver_comes_from_one_config_dump_not_the_file():
    dump = _set_runc_systemd_cgroup(DUMPS["2.1.9"], True)
    commands = FakeCommands({("/usr/bin/containerd", "config", "dump"): (0, dump, "")})
    reader = RootReader("/")

    # The file alone would say cgroupfs: the dump (imports merged) is what containerd runs with.
    result = runtime_cgroups.containerd_cgroup_driver(
        reader, "/usr/bin/containerd", commands, CONFIG, _config(2, False)
    )

    assert result["default_runtime"]["runtime_type"] in CONTAINERD_RUNC_SHIMS
    del result["default_runtime"]
    assert result == {"cgroup_driver": "systemd", "cgroup_driver_source": "config dump", "config_texts": []}
    assert commands.calls == [["/usr/bin/containerd", "config", "dump"]]
    assert reader.errors == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            (1, "", "containerd: failed to load TOML from /etc/containerd/config.toml: toml: line 3: expected '='\n"),
            "/usr/bin/containerd config dump exited with 1: containerd: failed to load TOML from "
            "/etc/containerd/config.toml: toml: line 3: expected '='",
        ),
        ((124, "", ""), "/usr/bin/containerd config dump did not answer in time and was stopped (command_timeout)"),
        (OSError(8, "Exec format error"), "/usr/bin/containerd config dump could not be run: [Errno 8] Exec format"),
        ((0, "", ""), "/usr/bin/containerd config dump printed nothing"),
        ((0, "version = 2\n[plugins\n", ""), "/usr/bin/containerd config dump printed output that is unusable: not"),
    ],
)
def test_failed_config_dump_is_null_and_a_read_error_naming_the_command(answer, reason):
    commands = FakeCommands({("/usr/bin/containerd", "config", "dump"): answer})
    reader = RootReader("/")

    result = runtime_cgroups.containerd_cgroup_driver(reader, "/usr/bin/containerd", commands, CONFIG, "")

    assert result == {  # not the file's
        "cgroup_driver": None, "cgroup_driver_source": None, "config_texts": [], "default_runtime": None}
    assert len(commands.calls) == 1
    assert [e["path"] for e in reader.errors] == [CONFIG]
    assert reader.errors[0]["reason"].startswith(reason)


def test_live_gather_runs_one_config_dump_beside_the_version_calls(monkeypatch):
    binaries = {"containerd": "/usr/bin/containerd", "crio": "/usr/bin/crio"}
    monkeypatch.setattr(RootReader, "find_binary", lambda self, name, *args, **kwargs: binaries.get(name))
    commands = FakeCommands(
        {
            ("/usr/bin/containerd", "--version"): (0, "containerd github.com/containerd/containerd/v2 v2.1.9 x\n", ""),
            ("/usr/bin/containerd", "config", "dump"): (0, _set_runc_systemd_cgroup(DUMPS["2.1.9"], True), ""),
            ("/usr/bin/crio", "--version"): (0, "crio version 1.36.3\n", ""),
        }
    )

    facts = gather_facts("/", run_command=commands, nvidia_smi=False)

    assert commands.calls == [
        ["/usr/bin/containerd", "--version"],
        ["/usr/bin/containerd", "config", "dump"],
        ["/usr/bin/crio", "--version"],  # CRI-O's driver comes from its files: no `crio config`
    ]
    containerd = facts["runtimes"]["containerd"]
    assert (containerd["cgroup_driver"], containerd["cgroup_driver_source"]) == ("systemd", "config dump")
    assert containerd["version"] == "2.1.9"
    assert facts["init_systemd"] is os.path.isdir("/run/systemd/system")


# --- CRI-O below another root -----------------------------------------------------------------


def _crio_files(fake_root, files):
    for path, manager in files:
        text = CRIO_DROP_IN if manager is None else '[crio.runtime]\ncgroup_manager = "%s"\n' % manager
        fake_root.write(path, text)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ([], "systemd"),
        ([("/etc/crio/crio.conf", None)], "systemd"),
        ([("/etc/crio/crio.conf", "cgroupfs")], "cgroupfs"),
        ([("/etc/crio/crio.conf", "cgroupfs"), ("/etc/crio/crio.conf.d/10-crio.conf", None)], "cgroupfs"),
        ([("/etc/crio/crio.conf", "cgroupfs"), ("/etc/crio/crio.conf.d/10-crio.conf", "systemd")], "systemd"),
        # Written in this order, applied by name: 20 after 10.
        (
            [("/etc/crio/crio.conf.d/20-cgroupfs.conf", "cgroupfs"), ("/etc/crio/crio.conf.d/10-crio.conf", "systemd")],
            "cgroupfs",
        ),
        # Any name counts (this collection's crio_runtime writes 99-nvidia.toml), and a folder sorts among its siblings.
        (
            [("/etc/crio/crio.conf.d/10-crio.conf", "cgroupfs"), ("/etc/crio/crio.conf.d/99-nvidia.toml", "systemd")],
            "systemd",
        ),
        (
            [("/etc/crio/crio.conf.d/50-site/x.conf", "cgroupfs"), ("/etc/crio/crio.conf.d/10-crio.conf", "systemd")],
            "cgroupfs",
        ),
        (
            [("/etc/crio/crio.conf.d/50-site/x.conf", "cgroupfs"), ("/etc/crio/crio.conf.d/60-crio.conf", "systemd")],
            "systemd",
        ),
    ],
)
def test_crio_driver_is_the_last_file_that_sets_it(fake_root, files, expected):
    _install(fake_root, "crio")
    _crio_files(fake_root, files)

    facts = gather_facts(str(fake_root))

    crio = facts["runtimes"]["crio"]
    assert crio["cgroup_driver"] == expected
    assert crio["config_path"] == "/etc/crio/crio.conf"
    assert facts["read_errors"] == []


def test_crio_not_installed_has_no_driver(fake_root):
    _crio_files(fake_root, [("/etc/crio/crio.conf", "cgroupfs")])

    crio = gather_facts(str(fake_root))["runtimes"]["crio"]

    assert crio["installed"] is False
    assert crio["cgroup_driver"] is None
    assert crio["config_path"] == "/etc/crio/crio.conf"


def test_malformed_crio_drop_in_is_null_and_a_read_error_naming_it(fake_root):
    _install(fake_root, "crio")
    _crio_files(fake_root, [("/etc/crio/crio.conf", "cgroupfs")])
    fake_root.write("/etc/crio/crio.conf.d/50-broken.conf", '[crio.runtime\ncgroup_manager = "systemd"\n')
    _crio_files(fake_root, [("/etc/crio/crio.conf.d/90-late.conf", "systemd")])

    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["crio"]["cgroup_driver"] is None
    assert [e["path"] for e in facts["read_errors"]] == ["/etc/crio/crio.conf.d/50-broken.conf"]
    assert facts["read_errors"][0]["reason"].startswith("not valid TOML")


def test_crio_value_crio_refuses_is_null_and_a_read_error(fake_root):
    _install(fake_root, "crio")
    fake_root.write("/etc/crio/crio.conf.d/10-crio.conf", '[crio.runtime]\ncgroup_manager = "Systemd"\n')

    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["crio"]["cgroup_driver"] is None
    assert "found the string 'Systemd'" in facts["read_errors"][0]["reason"]


def test_crio_fifo_dangling_link_and_link_loop_in_crio_conf_d_are_refused_not_followed(fake_root):
    _install(fake_root, "crio")
    drop_ins = fake_root.mkdir("/etc/crio/crio.conf.d")
    os.mkfifo(str(drop_ins / "20-fifo.conf"))
    os.symlink("/etc/crio/gone.conf", str(drop_ins / "30-gone.conf"))
    os.symlink(".", str(drop_ins / "40-loop"))
    _crio_files(fake_root, [("/etc/crio/crio.conf.d/10-crio.conf", "cgroupfs")])

    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["crio"]["cgroup_driver"] is None
    reasons = {e["path"]: e["reason"] for e in facts["read_errors"]}
    assert reasons["/etc/crio/crio.conf.d/20-fifo.conf"] == "is a FIFO (named pipe), not a regular file; not read"
    assert reasons["/etc/crio/crio.conf.d/30-gone.conf"] == "is a link to nothing; CRI-O fails to start on it"
    deepest = "/etc/crio/crio.conf.d" + "/40-loop" * runtime_cgroups.MAX_DROP_IN_DEPTH
    assert reasons[deepest].startswith("is more than")


def test_crio_drop_ins_beyond_the_bound_are_not_read(fake_root, monkeypatch):
    monkeypatch.setattr(runtime_cgroups, "MAX_DROP_INS", 3)
    _install(fake_root, "crio")
    for index in range(5):
        _crio_files(fake_root, [("/etc/crio/crio.conf.d/%02d.conf" % index, "cgroupfs")])

    reader = RootReader(str(fake_root))
    found = runtime_cgroups.crio_drop_ins(reader)

    assert found == ["/etc/crio/crio.conf.d/00.conf", "/etc/crio/crio.conf.d/01.conf", "/etc/crio/crio.conf.d/02.conf"]
    assert reader.errors == [
        {"path": "/etc/crio/crio.conf.d", "reason": "holds more than 3 files; only the first 3 are read"}
    ]


# --- systemd as init ------------------------------------------------------------------------


def test_init_systemd_when_run_systemd_system_is_a_directory(fake_root):
    fake_root.mkdir("/run/systemd/system")

    assert gather_facts(str(fake_root))["init_systemd"] is True


def test_no_init_systemd_without_it_or_when_it_is_a_file(fake_root):
    assert gather_facts(str(fake_root))["init_systemd"] is False

    fake_root.write("/run/systemd/system", "not a directory\n")
    assert gather_facts(str(fake_root))["init_systemd"] is False


def test_init_systemd_follows_links_inside_the_root_only(fake_root, tmp_path):
    # /run -> /var/run-real inside the root: a directory there counts.
    fake_root.mkdir("/var/run-real/systemd/system")
    fake_root.symlink("/run", "/var/run-real")
    assert gather_facts(str(fake_root))["init_systemd"] is True

    # A link to a host directory that the root does not hold does not.
    other = FakeRoot(tmp_path / "other")
    host_dir = tmp_path / "host-systemd"
    host_dir.mkdir()
    other.symlink("/run/systemd/system", str(host_dir))
    assert os.path.isdir(str(host_dir))
    assert gather_facts(str(other))["init_systemd"] is False


# --- CRI-O: the files in order, on parsed data ------------------------------------------------


@pytest.mark.parametrize(
    ("managers", "expected"),
    [([], "systemd"), ([None], "systemd"), (["cgroupfs", None], "cgroupfs"), (["cgroupfs", "systemd"], "systemd")],
)
def test_crio_driver_from_data_is_the_last_file_that_sets_it(managers, expected):
    files = [{} if m is None else {"crio": {"runtime": {"cgroup_manager": m}}} for m in managers]

    assert runtime_cgroups.crio_cgroup_driver_from_data(files) == expected


# --- a node without tomllib: the texts go to the controller -----------------------------------


def test_no_tomllib_below_another_root_sends_the_containerd_file_and_decides_nothing(fake_root, no_tomllib):
    _install(fake_root, "containerd")
    text = _config(3, True)
    fake_root.write(CONFIG, text)

    facts = gather_facts(str(fake_root), run_command=_no_command)

    containerd = facts["runtimes"]["containerd"]
    assert (containerd["cgroup_driver"], containerd["cgroup_driver_source"]) == (None, None)
    assert containerd["config_texts"] == [{"path": CONFIG, "text": text}]
    assert containerd["config_version"] == 3  # read by the regex, which needs no tomllib
    assert facts["read_errors"] == []


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_no_tomllib_and_no_containerd_file_is_containerd_default_without_parsing(fake_root, no_tomllib, text):
    _install(fake_root, "containerd")
    if text is not None:
        fake_root.write(CONFIG, text)

    containerd = gather_facts(str(fake_root))["runtimes"]["containerd"]

    assert (containerd["cgroup_driver"], containerd["cgroup_driver_source"]) == ("cgroupfs", "config file")
    assert containerd["config_texts"] == []


def test_no_tomllib_on_the_live_root_sends_the_config_dump_under_its_command(no_tomllib):
    dump = _set_runc_systemd_cgroup(DUMPS["1.7.24"], True)
    commands = FakeCommands({("/usr/bin/containerd", "config", "dump"): (0, dump, "")})
    reader = RootReader("/")

    result = runtime_cgroups.containerd_cgroup_driver(reader, "/usr/bin/containerd", commands, CONFIG, "")

    assert result == {
        "cgroup_driver": None,
        "cgroup_driver_source": None,
        "config_texts": [{"path": "containerd config dump", "text": dump}],
        "default_runtime": None,  # the controller reads it off the dump (test_default_runtime.py)
    }
    assert reader.errors == []


def test_no_tomllib_and_a_failed_config_dump_sends_nothing(no_tomllib):
    commands = FakeCommands({("/usr/bin/containerd", "config", "dump"): (1, "", "boom\n")})
    reader = RootReader("/")

    result = runtime_cgroups.containerd_cgroup_driver(reader, "/usr/bin/containerd", commands, CONFIG, "")

    assert result["config_texts"] == []
    assert reader.errors == [{"path": CONFIG, "reason": "/usr/bin/containerd config dump exited with 1: boom"}]


def _padded(text, size):
    """``text`` followed by a comment that brings it to ``size`` bytes."""
    return text + "#" * (size - len(text.encode("utf-8")) - 1) + "\n"


def test_no_tomllib_sends_a_containerd_file_up_to_the_cap_and_not_beyond(fake_root, no_tomllib):
    _install(fake_root, "containerd")
    at_cap = _padded(_config(2, True), runtime_cgroups.MAX_CONFIG_TEXT)
    fake_root.write(CONFIG, at_cap)
    assert gather_facts(str(fake_root))["runtimes"]["containerd"]["config_texts"] == [{"path": CONFIG, "text": at_cap}]

    fake_root.write(CONFIG, at_cap + "\n")
    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["containerd"]["config_texts"] == []
    assert facts["runtimes"]["containerd"]["cgroup_driver"] is None
    assert facts["read_errors"] == [
        {
            "path": CONFIG,
            "reason": "is %d bytes, more than the %d that gpu_facts sends the controller to parse, since this node's "
            "Python has no tomllib (3.11+); the cgroup driver is unknown"
            % (runtime_cgroups.MAX_CONFIG_TEXT + 1, runtime_cgroups.MAX_CONFIG_TEXT),
        }
    ]


def test_no_tomllib_sends_the_crio_files_in_the_order_crio_applies_them(fake_root, no_tomllib):
    _install(fake_root, "crio")
    _crio_files(
        fake_root,
        [
            ("/etc/crio/crio.conf.d/20-cgroupfs.conf", "cgroupfs"),
            ("/etc/crio/crio.conf", "systemd"),
            ("/etc/crio/crio.conf.d/10-crio.conf", None),
        ],
    )
    fake_root.write("/etc/crio/crio.conf.d/15-blank.conf", "\n")

    facts = gather_facts(str(fake_root))

    crio = facts["runtimes"]["crio"]
    assert crio["cgroup_driver"] is None
    assert crio["config_texts"] == [
        {"path": "/etc/crio/crio.conf", "text": '[crio.runtime]\ncgroup_manager = "systemd"\n'},
        {"path": "/etc/crio/crio.conf.d/10-crio.conf", "text": CRIO_DROP_IN},
        {"path": "/etc/crio/crio.conf.d/20-cgroupfs.conf", "text": '[crio.runtime]\ncgroup_manager = "cgroupfs"\n'},
    ]
    assert facts["read_errors"] == []


def test_no_tomllib_and_no_crio_file_is_crios_default_without_parsing(fake_root, no_tomllib):
    _install(fake_root, "crio")

    crio = gather_facts(str(fake_root))["runtimes"]["crio"]

    assert (crio["cgroup_driver"], crio["config_texts"]) == ("systemd", [])


def test_no_tomllib_and_an_unreadable_crio_file_sends_none_of_them(fake_root, no_tomllib):
    # The controller must not decide from the files that could be read: CRI-O would not start.
    _install(fake_root, "crio")
    _crio_files(fake_root, [("/etc/crio/crio.conf", "cgroupfs")])
    os.mkfifo(str(fake_root.mkdir("/etc/crio/crio.conf.d") / "50-fifo.conf"))

    facts = gather_facts(str(fake_root))

    assert (facts["runtimes"]["crio"]["cgroup_driver"], facts["runtimes"]["crio"]["config_texts"]) == (None, [])
    assert [e["path"] for e in facts["read_errors"]] == ["/etc/crio/crio.conf.d/50-fifo.conf"]


def test_no_tomllib_sends_no_crio_file_when_one_is_over_the_cap(fake_root, no_tomllib):
    _install(fake_root, "crio")
    _crio_files(fake_root, [("/etc/crio/crio.conf", "cgroupfs")])
    fake_root.write("/etc/crio/crio.conf.d/10-big.conf", _padded("", runtime_cgroups.MAX_CONFIG_TEXT + 1))

    facts = gather_facts(str(fake_root))

    assert (facts["runtimes"]["crio"]["cgroup_driver"], facts["runtimes"]["crio"]["config_texts"]) == (None, [])
    assert [e["path"] for e in facts["read_errors"]] == ["/etc/crio/crio.conf.d/10-big.conf"]
    assert facts["read_errors"][0]["reason"].startswith("is %d bytes, more than the %d" % (
        runtime_cgroups.MAX_CONFIG_TEXT + 1, runtime_cgroups.MAX_CONFIG_TEXT))


def test_no_tomllib_sends_no_crio_file_when_all_together_are_over_the_total(fake_root, no_tomllib):
    _install(fake_root, "crio")
    each = runtime_cgroups.MAX_CONFIG_TEXT
    count = runtime_cgroups.MAX_CONFIG_TEXTS // each + 1
    for index in range(count):
        fake_root.write("/etc/crio/crio.conf.d/%02d.conf" % index, _padded("", each))

    facts = gather_facts(str(fake_root))

    assert facts["runtimes"]["crio"]["config_texts"] == []
    last = "/etc/crio/crio.conf.d/%02d.conf" % (count - 1)
    assert [e["path"] for e in facts["read_errors"]] == [last]
    assert "brings the configuration to %d bytes, more than the %d in all" % (
        count * each, runtime_cgroups.MAX_CONFIG_TEXTS) in facts["read_errors"][0]["reason"]


CROSS_CHECKS = [
    ("containerd", [(CONFIG, _config(1, True))]),
    ("containerd", [(CONFIG, _config(2, False))]),
    ("containerd", [(CONFIG, _config(3, True))]),
    ("containerd", [(CONFIG, TWO_RUNTIMES.format(default="nvidia", runc="false", nvidia="true"))]),
    ("containerd", [(CONFIG, 'imports = ["/etc/containerd/conf.d/*.toml"]\n' + _config(2, True))]),
    ("containerd", [(CONFIG, _config(2, True).replace("[plugins.", "[plugins", 1))]),
    ("crio", [("/etc/crio/crio.conf", CRIO_CONF), ("/etc/crio/crio.conf.d/10-crio.conf", CRIO_DROP_IN)]),
    ("crio", [("/etc/crio/crio.conf", '[crio.runtime]\ncgroup_manager = "cgroupfs"\n')]),
    (
        "crio",
        [
            ("/etc/crio/crio.conf.d/10-a.conf", '[crio.runtime]\ncgroup_manager = "cgroupfs"\n'),
            ("/etc/crio/crio.conf.d/20-b.conf", '[crio.runtime]\ncgroup_manager = "systemd"\n'),
        ],
    ),
    ("crio", [("/etc/crio/crio.conf.d/10-a.conf", '[crio.runtime]\ncgroup_manager = "none"\n')]),
]


@pytest.mark.parametrize(("runtime", "files"), CROSS_CHECKS)
def test_the_controller_decides_from_the_texts_as_the_node_with_tomllib_does(tmp_path, monkeypatch, runtime, files):
    # The decision stage's input either way: the node's driver, or the texts it sent instead.
    root = FakeRoot(tmp_path / "root")
    _install(root, runtime)
    for path, text in files:
        root.write(path, text)
    with_tomllib = gather_facts(str(root))
    monkeypatch.setattr(parsers, "tomllib", None)
    without = gather_facts(str(root))

    assert with_tomllib["runtimes"][runtime]["config_texts"] == []
    assert without["runtimes"][runtime]["cgroup_driver"] is None
    assert without["runtimes"][runtime]["config_texts"] == [{"path": p, "text": t} for p, t in files]
    assert decide_node(without)["cgroup_driver"] == decide_node(with_tomllib)["cgroup_driver"]
