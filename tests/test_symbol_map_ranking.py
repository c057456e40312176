"""Symbol map ranking on a small real package: central modules first, overloads once.

Issue 17.14: on click the map led with `_winconsole.py` and `_compat.py` (classes lifted by
members named `name` and `__init__`, which every file uses), showed `core.py` last and
listed `def command` five times. The tree below has the same shape, in miniature.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from code_assistant.config import Config
from code_assistant.index.build import update_index
from code_assistant.index.symbol_map import render_symbol_map

# Each helper module uses the generic names (`name`, `write`, `close`) and the core classes.
_USER = """
from pkg.core import Command, Group

def {fn}(stream):
    stream.write(stream.name)
    stream.close()
    return Group(Command(stream.name))
"""

FILES = {
    "src/pkg/__init__.py": """
        from .api import get, post
        from .core import Command, Group
        from .decorators import command
        """,
    "src/pkg/core.py": """
        class Command:
            def __init__(self, name):
                self.name = name

            def invoke(self, ctx):
                return ctx


        class Group(Command):
            def add_command(self, cmd: Command):
                self.commands = [cmd]
        """,
    "src/pkg/api.py": """
        from pkg.core import Command

        def get(url):
            return Command(url)

        def post(url):
            return Command(url)
        """,
    "src/pkg/decorators.py": """
        from typing import overload

        from pkg.core import Command, Group

        @overload
        def command(name: str) -> Command: ...
        @overload
        def command(name: None = None) -> Command: ...
        def command(name=None):
            return Command(name)

        class Registry:
            @overload
            def lookup(self, key: str) -> Group: ...
            @overload
            def lookup(self, key: int) -> Group: ...
            def lookup(self, key):
                return Group(key)
        """,
    "src/pkg/_compat.py": """
        class _Stream:
            def __init__(self, raw):
                self.raw = raw

            def name(self):
                return "stream"

            def write(self, text):
                return self.raw.write(text)

            def close(self):
                self.raw.close()

            def get(self, key):
                return key
        """,
    "src/pkg/_winconsole.py": """
        class _ConsoleStream:
            def __init__(self, handle):
                self.handle = handle

            def name(self):
                return "console"

            def write(self, text):
                return len(text)

            def close(self):
                self.handle = None
        """,
    "tests/test_core.py": """
        from pkg import Command, command, get

        class FakeStream:
            def __init__(self):
                self.name = "fake"

            def write(self, text):
                return text

        def test_command():
            assert get("x").name == Command("x").name == command("x").name
        """,
    **{f"src/pkg/helpers{i}.py": _USER.format(fn=f"helper{i}") for i in range(4)},
}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ranking")
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    update_index(root, Config(), static=False)
    return root


def _file_order(text: str) -> list[str]:
    body = text.split("\n", 1)[1]  # after the header line
    return [m.group(1) for m in re.finditer(r"^(\S[^:\n]*): ", body, re.MULTILINE)]


CENTRAL = {"src/pkg/core.py", "src/pkg/api.py", "src/pkg/decorators.py"}


def test_the_modules_the_package_is_built_from_lead(package: Path) -> None:
    order = _file_order(render_symbol_map(package, 10_000))
    assert set(order[:3]) == CENTRAL, order
    # Private modules and tests, whose classes only share generic member names (`name`,
    # `write`) with what everyone uses, follow.
    last = max(order.index(path) for path in CENTRAL)
    for side in ("src/pkg/_compat.py", "src/pkg/_winconsole.py", "tests/test_core.py"):
        assert order.index(side) > last, order


def test_a_small_budget_keeps_the_central_modules(package: Path) -> None:
    text = render_symbol_map(package, 60)
    assert set(_file_order(text)) <= CENTRAL, text
    assert "Command (class, line 1" in text, text


def test_re_exported_functions_outrank_methods_of_the_same_name(package: Path) -> None:
    """`from .api import get` names api.py's function, not `_Stream.get`."""
    order = _file_order(render_symbol_map(package, 10_000))
    assert order.index("src/pkg/api.py") < order.index("src/pkg/_compat.py"), order
    assert order.index("src/pkg/api.py") < order.index("src/pkg/helpers0.py"), order


def test_overloads_are_one_entry_at_the_definition_that_runs(package: Path) -> None:
    text = render_symbol_map(package, 10_000)
    line = next(x for x in text.splitlines() if x.startswith("src/pkg/decorators.py"))
    block = text[text.index(line) :].split("\nsrc/", 1)[0].split("\ntests/", 1)[0]
    assert block.count("command (function") == 1, block
    assert "command (function, line 9, 3 definitions)" in block, block
    assert "members: lookup)" in block, block  # the overloaded method listed once


def test_rust_impl_blocks_of_one_type_stay_apart(tmp_path: Path) -> None:
    """Only definitions collapse: each `impl` block keeps its own line and members."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "walk.rs").write_text(textwrap.dedent("""
        pub struct Walker { depth: usize }

        impl Walker {
            pub fn new() -> Self { Walker { depth: 0 } }
        }

        impl Default for Walker {
            fn default() -> Self { Walker::new() }
        }
        """).lstrip("\n"), encoding="utf-8")
    update_index(tmp_path, Config(), static=False)
    text = render_symbol_map(tmp_path, 10_000)
    assert "Walker (impl, line 3, members: new)" in text, text
    assert "Walker (impl, line 7, members: default)" in text, text
    assert "definitions" not in text, text
