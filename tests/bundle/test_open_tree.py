"""open_tree: an archive or folder that is not a bundle, read with a bundle's caps and refusals."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from k8s_bundle.bundle.reader import ReaderLimits, find_bundle_dir, open_bundle, open_tree
from k8s_bundle.errors import UserError


def _tar(path: Path, names: list[str]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = len(name)
            tf.addfile(info, io.BytesIO(name.encode()))
    return path


def test_members_keep_their_full_names_and_node_directories_are_not_counted(tmp_path: Path) -> None:
    names = ["top/a.log", "top/nodes/n1/x", "top/nodes/n2/x", "other/b.log", "../c.log"]
    reader = open_tree(_tar(tmp_path / "t.tgz", names), ReaderLimits(max_nodes=1))
    got = {m.path: m.read() for m in reader}
    assert got == {n: n.encode() for n in names[:4]}
    assert [p.message for p in reader.problems] == ["refused member with an absolute or escaping path '../c.log'"]
    assert reader.node_names == []


def test_as_a_bundle_the_same_archive_is_refused_outside_its_top_directory(tmp_path: Path) -> None:
    path = _tar(tmp_path / "t.tgz", ["top/a.log", "top/nodes/n1/x", "top/nodes/n2/x", "other/b.log"])
    reader = open_bundle(path, ReaderLimits(max_nodes=1))
    assert [m.path for m in reader] == ["a.log", "nodes/n1/x"]
    assert [p.kind for p in reader.problems] == ["rejected", "limit"]


def test_a_folder_and_its_bundle_directory(tmp_path: Path) -> None:
    (tmp_path / "plain" / "etc").mkdir(parents=True)
    (tmp_path / "plain" / "etc" / "app.env").write_text("x=1\n")
    (tmp_path / "plain" / "link").symlink_to("/etc/hostname")
    reader = open_tree(tmp_path / "plain")
    assert [m.path for m in reader] == ["etc/app.env"]
    assert reader.problems[0].path == "link" and reader.problems[0].message.startswith("refused symlink")
    assert find_bundle_dir(tmp_path / "plain") is None
    (tmp_path / "wrap" / "b").mkdir(parents=True)
    (tmp_path / "wrap" / "b" / "manifest.json").write_text("{}")
    assert find_bundle_dir(tmp_path / "wrap") == tmp_path / "wrap" / "b"
    assert [m.path for m in open_tree(tmp_path / "wrap", plain=False)] == ["manifest.json"]


def test_what_is_neither_an_archive_nor_a_folder_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "notes.tgz").write_text("not an archive\n")
    with pytest.raises(UserError, match="not a bundle"):
        open_tree(tmp_path / "notes.tgz")
    with pytest.raises(UserError, match="no such file"):
        open_tree(tmp_path / "missing")
