"""Symbol extraction with tree-sitter: exact names, kinds, parents, lines and visibility."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from code_assistant.index.parse import EXTENSIONS, Symbol, language_for, parse_source


def symbols(source: str, language: str) -> list[tuple[str, str, str, int, int, int, str]]:
    parsed = parse_source(textwrap.dedent(source).lstrip("\n").encode(), language)
    return [
        (s.kind, s.name, s.parent, s.line, s.start_line, s.end_line, s.visibility)
        for s in parsed.symbols
    ]


PYTHON = '''
"""Module docstring."""
import os

MAX_SIZE = 10
_private_value = 3
lower_case = 4


@dataclass
class Cache(Base):
    """An LRU cache."""

    size: int = 1

    def get(self, key):
        def helper():
            return key
        return helper()

    @property
    def _hidden(self):
        return 1

    def __len__(self):
        return 0

    class Inner:
        def deep(self):
            pass


async def fetch(url: str) -> bytes:
    class Local:
        pass
    return b""
'''


def test_python_definitions_parents_lines_and_visibility() -> None:
    assert symbols(PYTHON, "python") == [
        ("constant", "MAX_SIZE", "", 4, 4, 4, "public"),
        ("class", "Cache", "", 10, 9, 29, "public"),
        ("method", "get", "Cache", 15, 15, 18, "public"),
        ("function", "helper", "get", 16, 16, 17, "local"),
        ("method", "_hidden", "Cache", 21, 20, 22, "private"),
        ("method", "__len__", "Cache", 24, 24, 25, "public"),
        ("class", "Inner", "Cache", 27, 27, 29, "public"),
        ("method", "deep", "Inner", 28, 28, 29, "public"),
        ("function", "fetch", "", 32, 32, 35, "public"),
        ("class", "Local", "fetch", 33, 33, 34, "local"),
    ]


def test_python_signature_is_the_name_line() -> None:
    parsed = parse_source(textwrap.dedent(PYTHON).lstrip("\n").encode(), "python")
    by_name = {s.name: s for s in parsed.symbols}
    assert by_name["fetch"].signature == "async def fetch(url: str) -> bytes:"
    assert by_name["Cache"].signature == "class Cache(Base):"
    assert by_name["get"].qualname == "Cache.get"


RUST = """
use std::fmt;

/// The terminal's state.
#[derive(Debug)]
pub struct TerminalState {
    rows: u16,
}

impl TerminalState {
    pub fn new() -> Self {
        Self { rows: 0 }
    }

    pub fn update(&mut self) {}

    fn reset(&mut self) {}
}

impl<T> fmt::Display for Wrapper<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        Ok(())
    }
}

pub trait Render {
    fn render(&self) -> String;
}

pub const MAX_ROWS: usize = 3;
static COUNTER: u32 = 0;
enum Mode { A, B }
pub type Grid = Vec<u8>;

mod inner {
    pub fn helper() {}
}

fn main() {
    fn nested() {}
}

macro_rules! square { ($x:expr) => { $x * $x }; }
"""


def test_rust_impl_blocks_traits_and_doc_comments() -> None:
    assert symbols(RUST, "rust") == [
        ("struct", "TerminalState", "", 5, 3, 7, "public"),
        ("impl", "TerminalState", "", 9, 9, 17, "public"),
        ("method", "new", "TerminalState", 10, 10, 12, "public"),
        ("method", "update", "TerminalState", 14, 14, 14, "public"),
        ("method", "reset", "TerminalState", 16, 16, 16, "private"),
        ("impl", "Wrapper", "", 19, 19, 23, "public"),
        ("method", "fmt", "Wrapper", 20, 20, 22, "public"),
        ("trait", "Render", "", 25, 25, 27, "public"),
        ("method", "render", "Render", 26, 26, 26, "public"),
        ("constant", "MAX_ROWS", "", 29, 29, 29, "public"),
        ("constant", "COUNTER", "", 30, 30, 30, "private"),
        ("enum", "Mode", "", 31, 31, 31, "private"),
        ("type", "Grid", "", 32, 32, 32, "public"),
        ("module", "inner", "", 34, 34, 36, "private"),
        ("function", "helper", "inner", 35, 35, 35, "public"),
        ("function", "main", "", 38, 38, 40, "private"),
        ("function", "nested", "main", 39, 39, 39, "local"),
        ("macro", "square", "", 42, 42, 42, "private"),
    ]


JAVASCRIPT = """
import x from "y";

export const API_URL = "http://localhost";
const helper = (a) => a + 1;
let counter = 0;

/** A service. */
export class Service extends Base {
  #secret() {}
  _internal() {}
  run(task) {
    return task;
  }
  handler = () => 2;
}

export function make() {
  function inner() {}
  return new Service();
}

function* ids() { yield 1; }
var legacy = function () {};
"""


def test_javascript_classes_methods_arrows_and_exports() -> None:
    assert symbols(JAVASCRIPT, "javascript") == [
        ("constant", "API_URL", "", 3, 3, 3, "public"),
        ("function", "helper", "", 4, 4, 4, "private"),
        ("class", "Service", "", 8, 7, 15, "public"),
        ("method", "#secret", "Service", 9, 9, 9, "private"),
        ("method", "_internal", "Service", 10, 10, 10, "private"),
        ("method", "run", "Service", 11, 11, 13, "public"),
        ("method", "handler", "Service", 14, 14, 14, "public"),
        ("function", "make", "", 17, 17, 20, "public"),
        ("function", "inner", "make", 18, 18, 18, "local"),
        ("function", "ids", "", 22, 22, 22, "private"),
        ("function", "legacy", "", 23, 23, 23, "private"),
    ]


TYPESCRIPT = """
export interface Shape {
  area(): number;
  name: string;
}

export type Id = string;
enum Color { Red, Green }

export abstract class Base implements Shape {
  private cache = new Map<string, number>();
  protected abstract compute(): number;
  public area(): number {
    return this.compute();
  }
  private reset(): void {}
  name = "base";
}

export const DEFAULT_COLOR: Color = Color.Red;
export function draw(shape: Shape): void {}
"""


def test_typescript_interfaces_types_enums_and_access_modifiers() -> None:
    expected = [
        ("interface", "Shape", "", 1, 1, 4, "public"),
        ("method", "area", "Shape", 2, 2, 2, "public"),
        ("type", "Id", "", 6, 6, 6, "public"),
        ("enum", "Color", "", 7, 7, 7, "private"),
        ("class", "Base", "", 9, 9, 17, "public"),
        ("method", "compute", "Base", 11, 11, 11, "private"),
        ("method", "area", "Base", 12, 12, 14, "public"),
        ("method", "reset", "Base", 15, 15, 15, "private"),
        ("constant", "DEFAULT_COLOR", "", 19, 19, 19, "public"),
        ("function", "draw", "", 20, 20, 20, "public"),
    ]
    assert symbols(TYPESCRIPT, "typescript") == expected
    assert symbols(TYPESCRIPT, "tsx") == expected


def test_tsx_components_with_jsx() -> None:
    source = """
    export function Button({ label }: Props) {
      return <button className="b">{label}</button>;
    }
    export const Card = ({ title }: { title: string }) => (
      <div>
        <h1>{title}</h1>
      </div>
    );
    """
    assert symbols(source, "tsx") == [
        ("function", "Button", "", 1, 1, 3, "public"),
        ("function", "Card", "", 4, 4, 8, "public"),
    ]


GO = """
package server

// Server serves.
type Server struct {
	addr string
}

type Handler interface {
	Serve(req string) error
}

type ID int

const Version = "1"

func (s *Server) Start() error { return nil }

func (s Server) addr2() string { return s.addr }

func New(addr string) *Server {
	return &Server{addr: addr}
}
"""


def test_go_receivers_become_parents() -> None:
    assert symbols(GO, "go") == [
        ("struct", "Server", "", 4, 3, 6, "public"),
        ("interface", "Handler", "", 8, 8, 10, "public"),
        ("method", "Serve", "Handler", 9, 9, 9, "public"),
        ("type", "ID", "", 12, 12, 12, "public"),
        ("constant", "Version", "", 14, 14, 14, "public"),
        ("method", "Start", "Server", 16, 16, 16, "public"),
        ("method", "addr2", "Server", 18, 18, 18, "private"),
        ("function", "New", "", 20, 20, 22, "public"),
    ]


def test_syntax_errors_keep_what_parses() -> None:
    source = """
    def good_one():
        return 1

    def broken(:
        pass

    class Fine:
        def method(self):
            return 2
    """
    parsed = parse_source(textwrap.dedent(source).lstrip("\n").encode(), "python")
    assert parsed.has_errors
    names = [s.qualname for s in parsed.symbols]
    assert "good_one" in names
    assert "Fine" in names
    assert "Fine.method" in names


def test_language_for_extensions() -> None:
    assert language_for("src/a.py") == "python"
    assert language_for("web/App.TSX") == "tsx"
    assert language_for("lib/x.mjs") == "javascript"
    assert language_for("main.rs") == "rust"
    assert language_for("cmd/main.go") == "go"
    assert language_for("README.md") is None
    assert language_for("Makefile") is None


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(set(EXTENSIONS.values()))),
    st.lists(
        st.sampled_from(
            ["def f(:", "class A:", "  def g(self): pass", "fn x() {", "}", "{", "impl X {",
             "function y() {", "export const Z = () => 1;", "type T struct {", "func (s *T) M()",
             "<div>", "'''", '"', "é\u2028", "\t", "", "pub struct S;", "interface I { m(): void }"]
        ),
        max_size=30,
    ),
)  # fmt: skip
def test_any_input_parses_to_sane_symbols(language: str, lines: list[str]) -> None:
    source = "\n".join(lines)
    parsed = parse_source(source.encode(), language)
    total = source.count("\n") + 1
    for symbol in parsed.symbols:
        assert isinstance(symbol, Symbol)
        assert 1 <= symbol.start_line <= symbol.line <= symbol.end_line <= total
        assert symbol.name
        assert symbol.visibility in ("public", "private", "local")


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02", b"\xff\xfe" * 100, b"x" * 10000])
def test_odd_bytes_do_not_crash(data: bytes) -> None:
    for language in sorted(set(EXTENSIONS.values())):
        parse_source(data, language)


# The shapes of express's lib/ (CommonJS): functions assigned to members and exports.
EXPRESS_SHAPES = """
/**
 * Module exports.
 */
var app = exports = module.exports = {};

/**
 * Initialize the server.
 */

app.init = function init() {
  this.cache = Object.create(null);
};

res.send = function send(body) {
  function done() {}
  return this;
};

exports.compileETag = function(val) {
  return val;
};

module.exports.raw = (opts) => opts;

View.prototype.lookup = function lookup(name) {
  return name;
};

module.exports = function renderFile(fileName) {
  function onReadFile(err) {}
};

var helpers = {
  format: function (x) { return x; },
  parse(text) { return text; },
  'to-json': () => 1,
};

defineGetter(req, 'protocol', function protocol() {
  return 'http';
});

class Router {
  constructor() {
    this.handle = function handle(req) {};
  }
}
"""


@pytest.mark.parametrize("language", ["javascript", "typescript"])
def test_javascript_assigned_prototype_object_and_nested_functions(language: str) -> None:
    assert symbols(EXPRESS_SHAPES, language) == [
        ("method", "init", "app", 10, 6, 12, "public"),  # the doc block a blank line above
        ("method", "send", "res", 14, 14, 17, "public"),
        ("function", "done", "send", 15, 15, 15, "local"),
        ("function", "compileETag", "", 19, 19, 21, "public"),
        ("function", "raw", "", 23, 23, 23, "public"),
        ("method", "lookup", "View", 25, 25, 27, "public"),
        ("function", "renderFile", "", 29, 29, 31, "public"),
        ("function", "onReadFile", "renderFile", 30, 30, 30, "local"),
        ("method", "format", "helpers", 34, 34, 34, "public"),
        ("method", "parse", "helpers", 35, 35, 35, "public"),
        ("method", "to-json", "helpers", 36, 36, 36, "public"),
        ("function", "protocol", "", 39, 39, 41, "private"),
        ("class", "Router", "", 43, 43, 47, "private"),
        ("method", "constructor", "Router", 44, 44, 46, "public"),
        ("method", "handle", "Router", 45, 45, 45, "public"),
    ]


# The shapes of ripgrep: doc comments and attributes, trait defaults, generic trait impls.
RIPGREP_SHAPES = """
/// Parses the flags.
///
/// Returns an error when a flag is unknown.
#[inline]
pub fn parse(args: &[String]) -> Result<(), Error> {
    fn is_flag(arg: &str) -> bool {
        arg.starts_with('-')
    }
    Ok(())
}

pub trait Sink {
    /// Called for every match.
    fn matched(&mut self) -> bool;

    /// Called once at the end; does nothing by default.
    fn finish(&mut self) {}
}

impl<'a, M: Matcher> Sink for StandardSink<'a, M> {
    fn matched(&mut self) -> bool {
        true
    }
}

fn run() {
    struct Local;
    impl Local {
        fn go(&self) {}
    }
}
"""


def test_rust_doc_comments_trait_defaults_and_nested_items() -> None:
    assert symbols(RIPGREP_SHAPES, "rust") == [
        ("function", "parse", "", 5, 1, 10, "public"),
        ("function", "is_flag", "parse", 6, 6, 8, "local"),
        ("trait", "Sink", "", 12, 12, 18, "public"),
        ("method", "matched", "Sink", 14, 13, 14, "public"),
        ("method", "finish", "Sink", 17, 16, 17, "public"),
        ("impl", "StandardSink", "", 20, 20, 24, "public"),
        ("method", "matched", "StandardSink", 21, 21, 23, "public"),
        ("function", "run", "", 26, 26, 31, "private"),
        ("struct", "Local", "run", 27, 27, 27, "local"),
        ("impl", "Local", "run", 28, 28, 30, "local"),
        ("method", "go", "Local", 29, 29, 29, "local"),
    ]


def test_go_function_values_and_generic_receivers() -> None:
    source = """
    package main

    // handler answers every request.
    var handler = func(w Writer) {
    \tw.Write(nil)
    }

    func (s *Server[T]) Close() error {
    \treturn nil
    }
    """
    assert symbols(source, "go") == [
        ("function", "handler", "", 4, 3, 6, "private"),
        ("method", "Close", "Server", 8, 8, 10, "public"),
    ]


def test_typescript_overloads_and_named_class_expressions() -> None:
    source = """
    export function get(url: string): Promise<Response>;
    export function get(url: string, body?: string): Promise<Response> {
      return fetch(url);
    }
    globalThis.Headers = class Headers extends Base {
      has(name: string) { return true; }
    };
    """
    assert symbols(source, "typescript") == [
        ("function", "get", "", 1, 1, 1, "public"),
        ("function", "get", "", 2, 2, 4, "public"),
        ("class", "Headers", "", 5, 5, 7, "private"),
        ("method", "has", "Headers", 6, 6, 6, "public"),
    ]


def test_typescript_function_typed_members_of_types_and_interfaces() -> None:
    source = """
    export type KyInstance = {
      get: <T>(url: Input, options?: Options) => ResponsePromise<T>;
      name: string;
    };
    export interface Options {
      stringifyJson?: (data: unknown) => string;
      retry?: number;
    }
    """
    assert symbols(source, "typescript") == [
        ("type", "KyInstance", "", 1, 1, 4, "public"),
        ("method", "get", "KyInstance", 2, 2, 2, "public"),
        ("interface", "Options", "", 5, 5, 8, "public"),
        ("method", "stringifyJson", "Options", 6, 6, 6, "public"),
    ]
