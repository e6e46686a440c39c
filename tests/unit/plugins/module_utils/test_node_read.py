# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils._node_read on real files: what the node-side read of the configuration modules sees.

Every case is a file, link or directory made in tmp_path, read with the functions the
containerd_runtime and crio_runtime modules run on the node.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.kubegpu.nvidia.plugins.module_utils._node_read import (
    NodeReadError,
    list_files,
    read_text_file,
)
from ansible_collections.kubegpu.nvidia.tests.unit.deadline import deadline

WHAT = "the module's test drop-in"
TEXT = '# ünïcode comment\n[crio.runtime]\ndefault_runtime = "crun"\n'


def write(path, text=TEXT, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


# ----------------------------------------------------------------------------- read_text_file


def test_missing_file_is_none(tmp_path):
    assert read_text_file(str(tmp_path / "nope.toml"), WHAT) is None
    assert read_text_file(str(tmp_path / "nope.toml"), WHAT, links=True) is None


def test_missing_parent_directory_is_none_too(tmp_path):
    assert read_text_file(str(tmp_path / "no-dir" / "nope.toml"), WHAT) is None


def test_regular_utf8_file_gives_its_text_and_mode_as_four_octal_digits(tmp_path):
    path = write(tmp_path / "crio.conf", mode=0o640)
    assert read_text_file(str(path), WHAT) == {"text": TEXT, "mode": "0640"}


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o755])
def test_mode_follows_the_file(tmp_path, mode):
    path = write(tmp_path / "f", mode=mode)
    assert read_text_file(str(path), WHAT)["mode"] == format(mode, "04o")


def test_empty_file_is_empty_text_not_none(tmp_path):
    path = write(tmp_path / "empty", text="")
    assert read_text_file(str(path), WHAT) == {"text": "", "mode": "0644"}


def test_symlink_is_refused_without_links_and_the_message_says_what_to_pass(tmp_path):
    target = write(tmp_path / "real.toml")
    link = tmp_path / "99-nvidia.toml"
    link.symlink_to(target)
    with pytest.raises(NodeReadError) as err:
        read_text_file(str(link), WHAT)
    message = str(err.value)
    assert message.startswith(f"{link}: ")
    assert "symbolic link" in message
    assert f"(to {target})" in message
    assert "Pass the link's target" in message
    assert target.read_text(encoding="utf-8") == TEXT  # refusing touches nothing


def test_relative_symlink_target_is_named_as_the_link_holds_it(tmp_path):
    write(tmp_path / "real.toml")
    link = tmp_path / "link.toml"
    link.symlink_to("real.toml")
    with pytest.raises(NodeReadError, match=r"\(to real\.toml\)"):
        read_text_file(str(link), WHAT)


def test_symlink_is_followed_with_links_and_gives_the_target_text_and_mode(tmp_path):
    target = write(tmp_path / "share" / "10-crio.conf", mode=0o600)
    link = tmp_path / "crio.conf.d" / "10-crio.conf"
    link.parent.mkdir()
    link.symlink_to(target)
    assert read_text_file(str(link), WHAT, links=True) == {"text": TEXT, "mode": "0600"}


def test_dangling_symlink_followed_reads_as_missing(tmp_path):
    link = tmp_path / "dangling.toml"
    link.symlink_to(tmp_path / "gone.toml")
    assert read_text_file(str(link), WHAT, links=True) is None


def test_dangling_symlink_not_followed_is_still_refused(tmp_path):
    link = tmp_path / "dangling.toml"
    link.symlink_to(tmp_path / "gone.toml")
    with pytest.raises(NodeReadError, match="symbolic link"):
        read_text_file(str(link), WHAT)


def test_directory_is_not_a_regular_file_and_the_message_names_what_was_expected(tmp_path):
    directory = tmp_path / "crio.conf"
    directory.mkdir()
    with pytest.raises(NodeReadError) as err:
        read_text_file(str(directory), WHAT)
    assert str(err.value).startswith(f"{directory}: ")
    assert "is not a regular file" in str(err.value)
    assert WHAT in str(err.value)


def test_symlink_to_a_directory_followed_is_not_a_regular_file(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    link = tmp_path / "link"
    link.symlink_to(directory)
    with pytest.raises(NodeReadError, match="is not a regular file"):
        read_text_file(str(link), WHAT, links=True)


def test_non_utf8_bytes_are_refused_naming_the_path_and_utf8(tmp_path):
    path = tmp_path / "latin1.conf"
    path.write_bytes("# caf\u00e9\n[crio]\n".encode("latin-1"))
    with pytest.raises(NodeReadError) as err:
        read_text_file(str(path), WHAT)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert "UTF-8" in message
    assert WHAT in message


# ----------------------------------------------------------------------------- list_files


def test_list_files_of_a_missing_directory_is_none(tmp_path):
    assert list_files(str(tmp_path / "crio.conf.d")) is None


def test_list_files_of_an_empty_directory_is_an_empty_list(tmp_path):
    (tmp_path / "crio.conf.d").mkdir()
    assert list_files(str(tmp_path / "crio.conf.d")) == []


def test_list_files_of_a_file_is_an_error_naming_it(tmp_path):
    path = write(tmp_path / "crio.conf.d")
    with pytest.raises(NodeReadError) as err:
        list_files(str(path))
    assert str(err.value) == f"{path}: is not a directory"


def test_list_files_lists_nested_hidden_and_linked_files_sorted_without_directories(tmp_path):
    top = tmp_path / "crio.conf.d"
    outside = write(tmp_path / "share" / "10-crio.conf")
    write(top / "99-nvidia.toml")
    write(top / "20-x")
    write(top / ".hidden")
    write(top / "50.d" / "b")
    write(top / "50.d" / "deeper" / "a.conf")
    (top / "60.d").mkdir()  # an empty directory lists nothing
    (top / "10-crio.conf").symlink_to(outside)
    (top / "70-dangling").symlink_to(tmp_path / "gone")  # listed; reading it (links=True) gives None
    expected = [
        f"{top}/.hidden",
        f"{top}/10-crio.conf",
        f"{top}/20-x",
        f"{top}/50.d/b",
        f"{top}/50.d/deeper/a.conf",
        f"{top}/70-dangling",
        f"{top}/99-nvidia.toml",
    ]
    assert list_files(str(top)) == expected
    assert read_text_file(f"{top}/10-crio.conf", WHAT, links=True)["text"] == TEXT
    assert read_text_file(f"{top}/70-dangling", WHAT, links=True) is None


def test_list_files_refuses_a_linked_subdirectory_as_crio_does(tmp_path):
    # CRI-O v1.36.3 (crio config --config-dir) fails on it: "read <link>: is a directory".
    top = tmp_path / "crio.conf.d"
    top.mkdir()
    elsewhere = tmp_path / "vendor"
    write(elsewhere / "runc.conf")
    (top / "vendor.d").symlink_to(elsewhere)
    with pytest.raises(NodeReadError) as err:
        list_files(str(top))
    assert str(err.value).startswith(f"{top}/vendor.d: is a symbolic link to a directory ({elsewhere})")
    assert "is a directory" in str(err.value) and "Remove the link" in str(err.value)


def test_list_files_refuses_a_drop_in_directory_that_is_a_link_as_crio_does(tmp_path):
    real = tmp_path / "real.d"
    write(real / "a")
    link = tmp_path / "crio.conf.d"
    link.symlink_to(real)
    with pytest.raises(NodeReadError, match=r"is a symbolic link to a directory .*Make it a directory"):
        list_files(str(link))


@pytest.mark.parametrize("target", ["..", "/", "."])
def test_list_files_ends_on_a_link_loop_or_a_link_to_the_root(tmp_path, target):
    # Before: os.walk(followlinks=True) went round the loop (or through all of /) until killed.
    top = tmp_path / "crio.conf.d"
    write(top / "10-crio.conf")
    (top / "sub").mkdir()
    (top / "sub" / "loop").symlink_to(target)
    with deadline(20, "list_files"), pytest.raises(NodeReadError, match=r"sub/loop: is a symbolic link to a dir"):
        list_files(str(top))


def test_list_files_stops_past_its_bound_and_says_so(tmp_path):
    top = tmp_path / "crio.conf.d"
    for index in range(12):
        write(top / "many" / f"{index:02d}.conf")
    assert len(list_files(str(top), limit=13)) == 12
    with pytest.raises(NodeReadError, match=r"holds more than 12 entries; CRI-O reads every file below it"):
        list_files(str(top), limit=12)


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    # Before: open() of a FIFO waited for a writer for ever.
    fifo = tmp_path / "crio.conf.d" / "50-pipe.conf"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    for links in (False, True):
        refused = pytest.raises(NodeReadError, match=r"50-pipe.conf: is not a regular file \(it is a FIFO")
        with deadline(10, "read_text_file"), refused:
            read_text_file(str(fifo), WHAT, links=links)


def test_a_link_to_a_huge_file_is_refused_unread(tmp_path):
    # Before: read whole; a link to /dev/zero or a sparse file grew the module until the OOM killer came.
    huge = tmp_path / "huge"
    with open(huge, "wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse
    link = tmp_path / "crio.conf.d" / "60-huge.conf"
    link.parent.mkdir()
    link.symlink_to(huge)
    with pytest.raises(NodeReadError, match=r"60-huge.conf: is 67108864 bytes, larger than the 8388608 bytes"):
        read_text_file(str(link), WHAT, links=True)
    with pytest.raises(NodeReadError, match=r"is not a regular file \(it is a character device\)"):
        os.symlink("/dev/zero", tmp_path / "crio.conf.d" / "70-zero.conf")
        read_text_file(str(tmp_path / "crio.conf.d" / "70-zero.conf"), WHAT, links=True)
