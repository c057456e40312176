"""The project walker: .gitignore (nested, negated), excludes, binaries, big and minified files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from code_assistant.config import Config
from code_assistant.index.walk import (
    ALWAYS_SKIP,
    is_probably_binary,
    is_probably_minified,
    iter_project_entries,
    iter_project_files,
)


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def walked(root: Path, exclude: list[str] | None = None, **kwargs: object) -> list[str]:
    return [e.rel for e in iter_project_entries(root, exclude or [], **kwargs)]  # type: ignore[arg-type]


def test_gitignore_nested_negation_and_dirs(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "*.log\nbuild/\n/top_only.txt\n!keep.log\n",
            "a.py": "x = 1\n",
            "debug.log": "noise\n",
            "keep.log": "kept\n",
            "top_only.txt": "ignored at the root only\n",
            "build/out.py": "generated = 1\n",
            "src/top_only.txt": "not anchored here\n",
            "src/.gitignore": "secret.py\n!debug.log\n",
            "src/secret.py": "hidden = 1\n",
            "src/debug.log": "re-included below src\n",
            "src/deep/b.py": "y = 2\n",
            ".git/config": "[core]\n",
            ".ca/index.db": b"\x00db",
        },
    )
    assert walked(tmp_path) == [
        ".gitignore",
        "a.py",
        "keep.log",
        "src/.gitignore",
        "src/debug.log",
        "src/top_only.txt",
        "src/deep/b.py",
    ]


def test_git_info_exclude_is_honoured(tmp_path: Path) -> None:
    write_tree(tmp_path, {".git/info/exclude": "local.py\n", "local.py": "", "kept.py": ""})
    assert walked(tmp_path) == ["kept.py"]


def test_config_excludes_use_gitignore_syntax(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "node_modules/lib/index.js": "module.exports = 1;\n",
            "vendor/dep.go": "package dep\n",
            "app/dist/bundle.js": "x\n",
            "app/main.js": "main();\n",
            "app/lib.min.js": "a();\n",
            "target/debug/build.rs": "fn main() {}\n",
        },
    )
    assert walked(tmp_path, Config().index_exclude) == ["app/main.js"]
    assert walked(tmp_path, ["/app"]) == [
        "node_modules/lib/index.js", "target/debug/build.rs", "vendor/dep.go",
    ]  # fmt: skip


def test_virtualenvs_and_caches_are_skipped_by_their_markers(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "env/pyvenv.cfg": "home = /usr\n",
            "env/lib/site.py": "x = 1\n",
            ".pytest_cache/CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55\n",
            ".pytest_cache/v/data": "{}\n",
            "main.py": "print(1)\n",
        },
    )
    assert walked(tmp_path) == ["main.py"]


def test_binary_big_and_minified_files(tmp_path: Path) -> None:
    minified = "var a=" + ",".join(f"b{i}=function(){{return {i}}}" for i in range(190_000)) + ";"
    assert len(minified) > 5_000_000
    write_tree(
        tmp_path,
        {
            "image.py": b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 40,
            "bundle.js": minified,
            "small_minified.js": minified[:200_000],
            "ok.js": "function ok() {\n  return 1;\n}\n",
            "empty.py": "",
        },
    )
    started = time.perf_counter()
    assert walked(tmp_path) == ["empty.py", "ok.js"]
    assert walked(tmp_path, text_only=False) == [
        "empty.py", "image.py", "ok.js", "small_minified.js",
    ]  # fmt: skip
    assert walked(tmp_path, text_only=False, max_bytes=10_000_000) == [
        "bundle.js", "empty.py", "image.py", "ok.js", "small_minified.js",
    ]  # fmt: skip
    assert time.perf_counter() - started < 5


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    project = tmp_path / "project"
    write_tree(outside, {"secret.py": "x = 1\n"})
    write_tree(project, {"real.py": "y = 1\n"})
    (project / "link_dir").symlink_to(outside, target_is_directory=True)
    (project / "link_file.py").symlink_to(outside / "secret.py")
    (project / "loop").symlink_to(project, target_is_directory=True)
    assert walked(project) == ["real.py"]


def test_suffix_filter_and_paths(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "", "b.rs": "", "c.txt": "", "d/e.PY": ""})
    entries = list(iter_project_entries(tmp_path, suffixes=(".py",)))
    assert [e.rel for e in entries] == ["a.py", "d/e.PY"]
    assert entries[0].path == tmp_path / "a.py"
    assert entries[0].size == 0
    assert list(iter_project_files(tmp_path, suffixes=(".rs",))) == [tmp_path / "b.rs"]


def test_unreadable_directory_is_skipped(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ok.py": "", "locked/x.py": ""})
    (tmp_path / "locked").chmod(0)
    try:
        result = walked(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert "ok.py" in result


def test_sniffers() -> None:
    assert is_probably_binary(b"abc\x00def")
    assert not is_probably_binary("héllo\n".encode())
    assert is_probably_minified(b"x" * 9000)
    assert not is_probably_minified(b"short line\n" * 900)
    assert not is_probably_minified(b"x" * 100)


NAMES = st.text(alphabet="abcxyz_-.", min_size=1, max_size=6).filter(
    lambda n: n not in (".", "..", *ALWAYS_SKIP) and not n.startswith(".git")
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.sets(st.lists(NAMES, min_size=1, max_size=3).map("/".join), max_size=12),
    ignored=st.lists(NAMES, max_size=3),
)
def test_walk_matches_pathspec_on_random_trees(
    tmp_path_factory: pytest.TempPathFactory, files: set[str], ignored: list[str]
) -> None:
    import pathspec

    root = tmp_path_factory.mktemp("walk")
    kept_files = set()
    for rel in sorted(files):
        path = root / rel
        # A name used both as a file and as a directory cannot exist: keep the first.
        if any((root / p).is_file() for p in Path(rel).parents if str(p) != "."):
            continue
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")
        kept_files.add(rel)
    (root / ".gitignore").write_text("\n".join(ignored) + "\n")
    spec = pathspec.GitIgnoreSpec.from_lines(ignored)
    expected = {
        rel
        for rel in kept_files | {".gitignore"}
        if not spec.match_file(rel)
        and not any(spec.match_file(str(p) + "/") for p in Path(rel).parents if str(p) != ".")
    }
    assert set(walked(root)) == expected
