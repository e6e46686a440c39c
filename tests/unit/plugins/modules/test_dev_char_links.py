# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dev_char_links through the real AnsibleModule, on real character devices (/dev/null, /dev/zero).

The links go to a temporary directory standing in for /dev/char; the devices are the build
machine's own, so every link is checked by resolving it to the device's number.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.kubegpu.nvidia.plugins.modules import dev_char_links
from ansible_collections.kubegpu.nvidia.tests.unit.plugins.modules.module_run import run_module


def _number(path):
    rdev = os.stat(path).st_rdev
    return "{0}:{1}".format(os.major(rdev), os.minor(rdev))


NULL, ZERO = _number("/dev/null"), _number("/dev/zero")


@pytest.fixture
def char_dir(tmp_path):
    return tmp_path / "char"


def _args(char_dir, **more):
    return dict({"dev_dir": "/dev", "patterns": ["null", "zero"], "char_dir": str(char_dir)}, **more)


def _resolved(char_dir):
    return {name: _number(str(char_dir / name)) for name in os.listdir(str(char_dir))}


def test_links_each_device_by_its_number_then_changes_nothing(char_dir, capsys):
    code, first = run_module(dev_char_links, _args(char_dir), capsys)
    assert code == 0 and first["changed"] is True
    # Each link is named by the number of the device it reaches.
    assert _resolved(char_dir) == {NULL: NULL, ZERO: ZERO}
    assert os.readlink(str(char_dir / NULL)) == os.path.relpath("/dev/null", str(char_dir))
    assert {d["path"] for d in first["devices"]} == {"/dev/null", "/dev/zero"}
    code, second = run_module(dev_char_links, _args(char_dir), capsys)
    assert code == 0 and second["changed"] is False
    assert {link["action"] for link in second["links"]} == {"keep"}


def test_check_mode_with_diff_tells_the_links_and_makes_none(char_dir, capsys):
    code, result = run_module(dev_char_links, _args(char_dir, _ansible_check_mode=True, _ansible_diff=True), capsys)
    assert code == 0 and result["changed"] is True
    assert not char_dir.exists()
    assert result["diff"]["before"] == ""
    assert "{0}/{1} -> ".format(char_dir, NULL) in result["diff"]["after"]


def test_a_link_that_reaches_another_device_is_replaced_and_one_that_reaches_it_is_kept(char_dir, capsys):
    char_dir.mkdir()
    # udev's link to the same device, written its own way: kept.
    os.symlink("/dev/zero", str(char_dir / ZERO))
    # A link left by an earlier driver, reaching another device: replaced.
    os.symlink("/dev/zero", str(char_dir / NULL))
    code, result = run_module(dev_char_links, _args(char_dir, _ansible_diff=True), capsys)
    assert code == 0 and result["changed"] is True
    assert _resolved(char_dir) == {NULL: NULL, ZERO: ZERO}
    assert os.readlink(str(char_dir / ZERO)) == "/dev/zero"
    actions = {os.path.basename(link["link"]): link["action"] for link in result["links"]}
    assert actions == {NULL: "replace", ZERO: "keep"}
    assert "{0}/{1} -> /dev/zero".format(char_dir, NULL) in result["diff"]["before"]


def test_an_entry_that_is_not_a_link_is_refused_and_left_as_it_is(char_dir, capsys):
    char_dir.mkdir()
    (char_dir / NULL).write_text("mine\n")
    code, result = run_module(dev_char_links, _args(char_dir), capsys)
    assert code == 1
    assert str(char_dir / NULL) in result["msg"] and "not a link" in result["msg"] and "Fix:" in result["msg"]
    assert (char_dir / NULL).read_text() == "mine\n"
    assert not (char_dir / ZERO).exists()


def test_a_char_dir_that_is_a_link_is_not_written_through(tmp_path, char_dir, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(str(elsewhere), str(char_dir))
    code, result = run_module(dev_char_links, _args(char_dir), capsys)
    assert code == 1 and "not a directory" in result["msg"] and str(elsewhere) in result["msg"]
    assert os.listdir(str(elsewhere)) == []


def test_absent_removes_the_links_to_the_devices_and_no_other(char_dir, capsys):
    assert run_module(dev_char_links, _args(char_dir), capsys)[0] == 0
    os.symlink("/dev/random", str(char_dir / _number("/dev/random")))
    code, result = run_module(dev_char_links, _args(char_dir, state="absent", _ansible_diff=True), capsys)
    assert code == 0 and result["changed"] is True
    assert os.listdir(str(char_dir)) == [_number("/dev/random")]
    assert result["diff"]["after"] == ""
    assert run_module(dev_char_links, _args(char_dir, state="absent"), capsys)[1]["changed"] is False


def test_a_link_whose_device_now_has_another_number_is_removed(char_dir, capsys):
    char_dir.mkdir()
    # Ours, to /dev/null, under a number that is not /dev/null's (a module loaded again with a new major).
    os.symlink(os.path.relpath("/dev/null", str(char_dir)), str(char_dir / "999:0"))
    code, _result = run_module(dev_char_links, _args(char_dir), capsys)
    assert code == 0
    assert sorted(os.listdir(str(char_dir))) == sorted([NULL, ZERO])


def test_only_character_devices_matching_the_patterns_are_linked(tmp_path, char_dir, capsys):
    # A pattern one directory deep; a regular file and a link that match are not devices.
    dev = tmp_path / "dev"
    (dev / "nvidia-caps").mkdir(parents=True)
    (dev / "nvidia-caps" / "nvidia-cap1").write_text("")
    os.symlink("/dev/null", str(dev / "nvidia0"))
    code, result = run_module(dev_char_links, {"dev_dir": str(dev), "char_dir": str(char_dir)}, capsys)
    assert code == 0 and result["changed"] is False and result["devices"] == []
    code, result = run_module(
        dev_char_links, {"dev_dir": "/", "patterns": ["dev/nul*"], "char_dir": str(char_dir)}, capsys
    )
    assert [d["path"] for d in result["devices"]] == ["/dev/null"]
