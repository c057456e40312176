"""Confinement of tool paths to the project root, wrong-cwd recovery, did-you-mean, the walker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from code_assistant.errors import ToolError
from code_assistant.tools.paths import (
    closest_paths,
    locate,
    resolve_in_root,
    walk_files,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "myproj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("print('a')\n")
    (root / "src" / "nslookup.rs").write_text("fn main() {}\n")
    (root / "README.md").write_text("# myproj\n")
    (tmp_path / "outside.txt").write_text("secret\n")
    return root


# --- resolve_in_root ---------------------------------------------------------------------


def test_relative_paths_resolve_inside(project: Path) -> None:
    assert resolve_in_root(project, "src/a.py") == project / "src" / "a.py"
    assert resolve_in_root(project, "./src/../README.md") == project / "README.md"
    assert resolve_in_root(project, ".") == project
    assert resolve_in_root(project, "  src/new.py  ") == project / "src" / "new.py"


def test_absolute_path_inside_root_is_fine(project: Path) -> None:
    assert resolve_in_root(project, str(project / "src" / "a.py")) == project / "src" / "a.py"


@pytest.mark.parametrize("path", ["../outside.txt", "src/../../outside.txt", "/etc/passwd", ".."])
def test_escapes_are_refused(project: Path, path: str) -> None:
    with pytest.raises(ToolError, match="outside the project root"):
        resolve_in_root(project, path)


@pytest.mark.parametrize(
    ("path", "message"),
    [("", "empty"), ("   ", "empty"), ("src/a\0.py", "NUL"), ("\0", "NUL")],
)
def test_empty_and_nul_paths_are_refused(project: Path, path: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        resolve_in_root(project, path)


def test_symlink_escaping_root_is_refused(project: Path) -> None:
    (project / "link").symlink_to(project.parent)
    (project / "evil.txt").symlink_to(project.parent / "outside.txt")
    (project / "dangling").symlink_to(project.parent / "not-there-yet.txt")
    for path in ("link/outside.txt", "evil.txt", "dangling", "link"):
        with pytest.raises(ToolError, match="outside the project root"):
            resolve_in_root(project, path)


def test_symlink_staying_inside_is_followed(project: Path) -> None:
    (project / "alias.py").symlink_to(project / "src" / "a.py")
    assert resolve_in_root(project, "alias.py") == project / "src" / "a.py"


def test_symlink_loop_is_a_tool_error(project: Path) -> None:
    (project / "loop").symlink_to(project / "loop")
    try:
        target = resolve_in_root(project, "loop/x")
    except ToolError:
        return
    assert target.is_relative_to(project)


def test_unresolved_root_is_accepted(project: Path) -> None:
    odd_root = project / "src" / ".."
    assert resolve_in_root(odd_root, "src/a.py") == project / "src" / "a.py"


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("prop")
    root = base / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "f.txt").write_text("x")
    (root / "up").symlink_to(base)
    (root / "sub" / "abs").symlink_to("/")
    (root / "inside").symlink_to(root / "sub")
    (base / "sibling").mkdir()
    return root


_SEGMENTS = st.one_of(
    st.sampled_from(["..", ".", "", "sub", "up", "abs", "inside", "f.txt", "root", "sibling",
                     "\0", "~", "é", "\ud800", "a" * 300, " ", "etc", "passwd"]),
    st.text(max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(_SEGMENTS, max_size=8), absolute=st.booleans())
def test_resolve_never_escapes(hostile_root: Path, parts: list[str], absolute: bool) -> None:
    path = ("/" if absolute else "") + "/".join(parts)
    try:
        target = resolve_in_root(hostile_root, path)
    except ToolError:
        return
    real_root = hostile_root.resolve()
    assert target == real_root or target.is_relative_to(real_root)
    # The answer is already symlink-free: resolving again must not move it outside.
    assert target.resolve() == target or target.resolve().is_relative_to(real_root)


@settings(max_examples=200, deadline=None)
@given(path=st.text(max_size=40))
def test_resolve_handles_any_text(hostile_root: Path, path: str) -> None:
    try:
        target = resolve_in_root(hostile_root, path)
    except ToolError:
        return
    assert target.is_relative_to(hostile_root.resolve())


# --- locate: wrong working directory and did-you-mean --------------------------------------


def test_path_starting_with_project_name_is_recovered(project: Path) -> None:
    found = locate(project, "myproj/src/a.py", must_exist=True)
    assert found.path == project / "src" / "a.py"
    assert found.rel == "src/a.py"
    assert found.note == (
        f"note: 'myproj/src/a.py' was taken as 'src/a.py': paths are relative to the "
        f"project root {project}"
    )


def test_project_name_prefix_also_applies_to_new_files(project: Path) -> None:
    found = locate(project, "myproj/lib/new.py", must_exist=False)
    assert found.rel == "lib/new.py"
    assert "was taken as 'lib/new.py'" in found.note


def test_real_subdirectory_named_like_project_wins(project: Path) -> None:
    (project / "myproj").mkdir()
    (project / "myproj" / "x.py").write_text("")
    found = locate(project, "myproj/x.py", must_exist=True)
    assert found.rel == "myproj/x.py"
    assert found.note == ""


def test_absolute_path_from_another_checkout_is_recovered(project: Path) -> None:
    found = locate(project, "/home/someone/work/myproj/src/a.py", must_exist=True)
    assert found.rel == "src/a.py"
    assert "was taken as 'src/a.py'" in found.note
    other = locate(project, "/srv/checkout/src/nslookup.rs", must_exist=True)
    assert other.rel == "src/nslookup.rs"


def test_absolute_new_file_under_project_name_is_recovered(project: Path) -> None:
    found = locate(project, "/elsewhere/myproj/src/new.py", must_exist=False)
    assert found.path == project / "src" / "new.py"


def test_existing_outside_file_is_never_remapped(project: Path) -> None:
    (project / "passwd").write_text("decoy")
    with pytest.raises(ToolError, match="outside the project root"):
        locate(project, "/etc/passwd", must_exist=True)


def test_unknown_absolute_path_stays_refused(project: Path) -> None:
    with pytest.raises(ToolError, match="outside the project root"):
        locate(project, "/nowhere/at/all.txt", must_exist=True)


def test_did_you_mean_similar_name(project: Path) -> None:
    with pytest.raises(ToolError) as info:
        locate(project, "ns.rs", must_exist=True)
    assert str(info.value) == (
        "no such file or directory 'ns.rs' in the project; did you mean src/nslookup.rs?"
    )


def test_did_you_mean_same_basename_elsewhere(project: Path) -> None:
    (project / "tests").mkdir()
    (project / "tests" / "a.py").write_text("")
    with pytest.raises(ToolError) as info:
        locate(project, "lib/a.py", must_exist=True)
    assert "did you mean src/a.py, tests/a.py?" in str(info.value)


def test_nothing_similar_points_to_listing_tools(project: Path) -> None:
    with pytest.raises(ToolError, match="use list_dir or glob_files"):
        locate(project, "zzzzqqqq.xyz", must_exist=True)


def test_closest_paths_include_directories(project: Path) -> None:
    assert "src/" in closest_paths(project, "srcs")


# --- walk_files ------------------------------------------------------------------------------


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def test_walk_honours_gitignore_and_skips_git(tmp_path: Path) -> None:
    _tree(tmp_path, ["a.py", "build/out.py", "keep.log", "x.log", ".git/config",
                     "pkg/b.py", "pkg/gen/c.py", "pkg/local.tmp", "node_modules/m.js"])
    (tmp_path / ".gitignore").write_text("build/\n*.log\n!keep.log\nnode_modules\n")
    (tmp_path / "pkg" / ".gitignore").write_text("gen/\n*.tmp\n")
    assert sorted(walk_files(tmp_path)) == [
        ".gitignore", "a.py", "keep.log", "pkg/.gitignore", "pkg/b.py",
    ]


def test_walk_honours_git_info_exclude(tmp_path: Path) -> None:
    _tree(tmp_path, ["a.py", "secret.env", ".git/info/exclude"])
    (tmp_path / ".git" / "info" / "exclude").write_text("*.env\n")
    assert list(walk_files(tmp_path)) == ["a.py"]


def test_walk_does_not_follow_directory_symlinks(tmp_path: Path) -> None:
    _tree(tmp_path, ["root/a.py", "elsewhere/b.py"])
    (tmp_path / "root" / "loop").symlink_to(tmp_path / "root")
    (tmp_path / "root" / "out").symlink_to(tmp_path / "elsewhere")
    # Symlinks are not walked at all: no loops, nothing from outside the root.
    assert sorted(walk_files(tmp_path / "root")) == ["a.py"]


def test_walk_stops_at_limit(tmp_path: Path) -> None:
    _tree(tmp_path, [f"f{i:03}.txt" for i in range(50)])
    assert len(list(walk_files(tmp_path, limit=10))) == 10


def test_walk_skips_unreadable_directories_quietly(tmp_path: Path) -> None:
    _tree(tmp_path, ["ok.py"])
    (tmp_path / "broken").symlink_to(tmp_path / "missing")
    os.mkfifo(tmp_path / "pipe")
    # Only regular files: a dangling link and a FIFO are neither read nor listed.
    assert sorted(walk_files(tmp_path)) == ["ok.py"]
