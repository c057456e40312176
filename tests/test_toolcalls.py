"""Tool calls recovered from the text of small models' replies, and code that must stay text."""

from __future__ import annotations

import json
import keyword
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from code_assistant.agent import jsonrepair
from code_assistant.agent.toolcalls import (
    _extract_spans,
    canonical_call,
    cut_call,
    cut_call_note,
    extract_tool_calls,
    known_aliases,
    resolve_tool_name,
    strip_tool_calls,
)
from code_assistant.backends.base import ToolCall

TOOLS = ["read_file", "write_file", "edit_file", "run_shell", "list_dir", "glob_files"]
PARAMS = {
    "read_file": ["path", "start", "end"],
    "write_file": ["path", "content"],
    "edit_file": ["path", "old", "new"],
    "run_shell": ["command", "timeout"],
    "list_dir": ["path"],
    "glob_files": ["pattern"],
}
READ_A = '{"name": "read_file", "arguments": {"path": "a.py"}}'


def calls(text: str, tools: list[str] = TOOLS, **kwargs: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, c.arguments) for c in extract_tool_calls(text, tools, **kwargs)]


def one(name: str, **arguments: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(name, arguments)]


# --- JSON, bare and wrapped -------------------------------------------------------------


def test_bare_json_object() -> None:
    text = '{"name": "write_file", "arguments": {"path": "a.py", "content": "x = 1\\n"}}'
    assert calls(text) == one("write_file", path="a.py", content="x = 1\n")


def test_bare_json_with_prose_around() -> None:
    text = f"I will look at the file first.\n\n{READ_A}\n\nThen I will fix it."
    assert calls(text) == one("read_file", path="a.py")


def test_json_list_of_calls() -> None:
    text = '[{"name": "read_file", "arguments": {"path": "a"}},\n {"name": "list_dir"}]'
    assert calls(text) == [("read_file", {"path": "a"}), ("list_dir", {})]


@pytest.mark.parametrize("lang", ["json", "tool_call", ""])
def test_fenced_json(lang: str) -> None:
    text = f"Reading it now.\n```{lang}\n{READ_A}\n```\nDone."
    assert calls(text) == one("read_file", path="a.py")


def test_fence_inside_a_json_string_does_not_end_the_fence() -> None:
    args = {"path": "README.md", "content": "# Use\n```bash\nca run\n```\n"}
    text = "```json\n" + json.dumps({"name": "write_file", "arguments": args}) + "\n```"
    assert calls(text) == [("write_file", args)]


EDIT_PARAMS = {**PARAMS, "edit_file": ["path", "old", "new", "replace_all"]}


def twice_encoded(value: str) -> str:
    """`value` as the body of a JSON string inside a JSON string (newline: `\\\\n`)."""
    return json.dumps(json.dumps(value)[1:-1])[1:-1]


def test_a_value_encoded_twice_with_the_next_key_escaped_is_undone() -> None:
    # Real 1.5B on js-add-function (s26a): nothing parsed, and the task ended on this text.
    new = "function product(numbers) {\n  if (numbers.length === 0) return 1;\n}"
    text = ('```json\n{\n  "name": "edit_file",\n  "arguments": {\n    "path": "m.js",\n'
            '    "old": "function sum(xs) {\\n}",\n'
            f'    "new": "{twice_encoded(new)}\\", \\"replace_all\\": false\n  }}\n}}\n```')
    assert calls(text, params=EDIT_PARAMS) == one(
        "edit_file", path="m.js", old="function sum(xs) {\n}", new=new, replace_all=False)


@given(st.text(alphabet="ab (){};=+'\"\\\n", min_size=1, max_size=40))
def test_a_twice_encoded_value_comes_back_as_the_model_meant_it(new: str) -> None:
    text = ('```json\n{"name": "edit_file", "arguments": {"path": "m.js", "old": "x", '
            f'"new": "{twice_encoded(new)}\\", \\"replace_all\\": false}}}}\n```')
    assert calls(text, params=EDIT_PARAMS) == one(
        "edit_file", path="m.js", old="x", new=new, replace_all=False)


def test_tool_call_tag() -> None:
    assert calls(f"<tool_call>\n{READ_A}\n</tool_call>") == one("read_file", path="a.py")


def test_several_tool_call_tags() -> None:
    text = (
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "b"}}\n</tool_call>'
    )
    assert calls(text) == [("read_file", {"path": "a"}), ("read_file", {"path": "b"})]


def test_unterminated_last_tool_call_tag() -> None:
    text = (
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "list_dir", "arguments": {"path": "src"}}'
    )
    assert calls(text) == [("read_file", {"path": "a"}), ("list_dir", {"path": "src"})]


def test_unterminated_tag_followed_by_another() -> None:
    text = f"<tool_call>{READ_A}\n<tool_call>{READ_A}"
    assert calls(text) == one("read_file", path="a.py") * 2


def test_closing_tag_inside_a_string_does_not_end_the_tag() -> None:
    args = {"path": "notes.md", "content": "write </tool_call> after the JSON"}
    text = "<tool_call>" + json.dumps({"name": "write_file", "arguments": args}) + "</tool_call>"
    assert calls(text) == [("write_file", args)]


def test_mistral_tool_calls_list() -> None:
    text = '[TOOL_CALLS] [{"name": "run_shell", "arguments": {"command": "pytest -q"}}]'
    assert calls(text) == one("run_shell", command="pytest -q")


def test_mistral_v11_name_and_args() -> None:
    text = '[TOOL_CALLS]read_file[ARGS]{"path": "a.py"}'
    assert calls(text) == one("read_file", path="a.py")


def test_llama_python_tag_json() -> None:
    text = '<|python_tag|>{"name": "read_file", "parameters": {"path": "a.py"}}<|eom_id|>'
    assert calls(text) == one("read_file", path="a.py")


def test_llama_python_tag_call_syntax() -> None:
    assert calls('<|python_tag|>read_file.call(path="a.py")') == one("read_file", path="a.py")


def test_llama_function_tag() -> None:
    text = '<function=write_file>{"path": "a.py", "content": "pass"}</function>'
    assert calls(text) == one("write_file", path="a.py", content="pass")


def test_qwen3_coder_xml_parameters() -> None:
    text = (
        "<tool_call>\n<function=write_file>\n<parameter=path>\na.py\n</parameter>\n"
        "<parameter=content>\ndef f():\n    return 1\n</parameter>\n</function>\n</tool_call>"
    )
    assert calls(text) == one("write_file", path="a.py", content="def f():\n    return 1")


def test_functools_list() -> None:
    text = 'functools[{"name": "list_dir", "arguments": {"path": "."}}]'
    assert calls(text) == one("list_dir", path=".")


def test_deepseek_tool_call_markers() -> None:
    text = (
        "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>read_file\n"
        '```json\n{"path": "a.py"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>'
    )
    assert calls(text) == one("read_file", path="a.py")


# --- key variants and argument shapes ---------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        {"name": "read_file", "arguments": {"path": "a.py"}},
        {"function": "read_file", "parameters": {"path": "a.py"}},
        {"tool": "read_file", "args": {"path": "a.py"}},
        {"tool_name": "read_file", "tool_input": {"path": "a.py"}},
        {"type": "function", "function": {"name": "read_file", "arguments": {"path": "a.py"}}},
        {"type": "function", "name": "read_file", "parameters": {"path": "a.py"}},
        {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "a.py"}},
        {"name": "read_file", "path": "a.py"},
        {"read_file": {"path": "a.py"}},
        {"tool_calls": [{"function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}]},
    ],
)
def test_key_variants(obj: dict[str, Any]) -> None:
    assert calls(json.dumps(obj)) == one("read_file", path="a.py")


def test_arguments_as_a_json_string() -> None:
    obj = {"name": "edit_file", "arguments": json.dumps({"path": "a", "old": "x", "new": "y"})}
    assert calls(json.dumps(obj)) == one("edit_file", path="a", old="x", new="y")


def test_plain_string_arguments_go_to_the_first_parameter_when_known() -> None:
    text = '{"name": "run_shell", "arguments": "ls -la"}'
    assert calls(text, params=PARAMS) == one("run_shell", command="ls -la")
    assert calls(text) == []


def test_missing_arguments_mean_none() -> None:
    assert calls('{"name": "list_dir"}') == one("list_dir")


def test_tool_spec_echo_is_not_a_call() -> None:
    schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    assert calls(json.dumps({"name": "read_file", "parameters": schema})) == []
    assert calls(json.dumps({"name": "read_file", "description": "Read a file."})) == []


# --- sloppy JSON ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("{'name': 'read_file', 'arguments': {'path': 'a.py'}}", {"path": "a.py"}),
        ('{"name": "read_file", "arguments": {"path": "a.py",},}', {"path": "a.py"}),
        ('{"name": "write_file", "arguments": {"path": "a", "content": "x\n\ty"}}',
         {"path": "a", "content": "x\n\ty"}),
        ('{"name": "read_file", "arguments": {"path": "a", "start": None, "x": True}}',
         {"path": "a", "start": None, "x": True}),
        ('{"name": "write_file", "arguments": {"path": "a", "content": "print("hi")"}}',
         {"path": "a", "content": 'print("hi")'}),
        ('{\n  // read it\n  "name": "read_file",\n  "arguments": {"path": "a"} // done\n}',
         {"path": "a"}),
        ("{name: 'read_file', arguments: {path: 'a', end: -2.5e1}}", {"path": "a", "end": -25.0}),
        ("{'name': 'write_file', 'arguments': {'path': 'a', 'content': 'it\\'s \"q\"'}}",
         {"path": "a", "content": "it's \"q\""}),
        ('{"name": "write_file", "arguments": {"path": "a", "content": "re\\d+\\w"}}',
         {"path": "a", "content": "re\\d+\\w"}),
    ],
)  # fmt: skip
def test_sloppy_json(text: str, arguments: dict[str, Any]) -> None:
    assert len(calls(text)) == 1
    assert calls(text)[0][1] == arguments


def test_jsonrepair_rejects_what_it_cannot_repair() -> None:
    for text in ['{"a": ', "{'a' 'b'}", "[1, 2", '{"a": "unterminated}', "", "nope"]:
        with pytest.raises(ValueError):
            jsonrepair.loads(text)


def test_jsonrepair_depth_is_bounded_not_a_recursion_error() -> None:
    with pytest.raises(jsonrepair.JSONRepairError):
        jsonrepair.loads("{'a': " * 5000)
    assert jsonrepair.loads("[" * 30 + "]" * 30) == json.loads("[" * 30 + "]" * 30)


# --- Python call syntax -----------------------------------------------------------------


def test_call_syntax_whole_message() -> None:
    text = 'write_file(path="a.py", content="x = 1\\n")'
    assert calls(text) == one("write_file", path="a.py", content="x = 1\n")


def test_call_syntax_single_quotes() -> None:
    assert calls("read_file(path='a.py')") == one("read_file", path="a.py")


def test_call_syntax_triple_quoted_content() -> None:
    text = 'write_file(path="a.py", content="""def f():\n    return \'x\'\n""")'
    assert calls(text) == one("write_file", path="a.py", content="def f():\n    return 'x'\n")


def test_call_syntax_raw_newline_inside_a_plain_string() -> None:
    text = 'write_file(path="a.py", content="one\ntwo")'
    assert calls(text) == one("write_file", path="a.py", content="one\ntwo")


def test_call_syntax_invalid_escape_is_no_warning() -> None:
    # filterwarnings=error would turn a leaked SyntaxWarning into a failure here
    text = 'write_file(path="a.py", content="pat = \'\\d+\'")'
    assert calls(text) == one("write_file", path="a.py", content="pat = '\\d+'")


def test_call_syntax_positional_args_need_parameter_names() -> None:
    text = 'edit_file("a.py", "old", new="new")'
    assert calls(text, params=PARAMS) == one("edit_file", path="a.py", old="old", new="new")
    assert calls(text) == []
    assert calls('read_file("a", 1, 2, 3)', params=PARAMS) == []  # more than the tool takes


def test_call_syntax_python_literals_and_numbers() -> None:
    text = "read_file(path='a', start=-3, end=2.5, follow=True, x=None, y=false, z=[1, (2,)])"
    expected = {"path": "a", "start": -3, "end": 2.5, "follow": True, "x": None, "y": False}
    assert calls(text) == [("read_file", {**expected, "z": [1, [2]]})]


def test_call_syntax_on_its_own_line_after_prose() -> None:
    text = "I'll check the config first.\n\n    read_file(path='config.toml')\n\nThen edit it."
    assert calls(text) == one("read_file", path="config.toml")


def test_call_syntax_in_a_tag_and_a_tool_code_fence() -> None:
    assert calls("<tool_call>list_dir(path='src')</tool_call>") == one("list_dir", path="src")
    assert calls("```tool_code\nlist_dir(path='src')\n```") == one("list_dir", path="src")


def test_llama_pythonic_list_of_calls() -> None:
    text = '[read_file(path="a"), list_dir(path=".")]'
    assert calls(text) == [("read_file", {"path": "a"}), ("list_dir", {"path": "."})]


def test_several_call_lines_and_functions_prefix() -> None:
    text = "read_file(path='a')  # first\nfunctions.read_file(path='b');\n"
    assert calls(text) == [("read_file", {"path": "a"}), ("read_file", {"path": "b"})]


# --- several calls, ids, names ----------------------------------------------------------


def test_several_calls_in_one_message_keep_their_order_and_get_ids() -> None:
    text = (
        f"First:\n{READ_A}\nthen\n<tool_call>"
        '{"name": "run_shell", "arguments": {"command": "ls"}}</tool_call>\n'
        "list_dir(path='.')"
    )
    found = extract_tool_calls(text, TOOLS)
    assert found == [
        ToolCall("read_file", {"path": "a.py"}, "call_text_0"),
        ToolCall("run_shell", {"command": "ls"}, "call_text_1"),
        ToolCall("list_dir", {"path": "."}, "call_text_2"),
    ]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("writefile", "write_file"), ("Write-File", "write_file"), ("WRITE_FILE", "write_file"),
        ("create_file", "write_file"), ("save_file", "write_file"), ("write", "write_file"),
        ("open_file", "read_file"), ("cat", "read_file"), ("view_file", "read_file"),
        ("replace_in_file", "edit_file"), ("str_replace", "edit_file"),
        ("apply_edit", "edit_file"), ("bash", "run_shell"), ("shell", "run_shell"),
        ("execute", "run_shell"), ("run_command", "run_shell"), ("exec", "run_shell"),
        ("ls", "list_dir"), ("list_files", "list_dir"), ("list_directory", "list_dir"),
        ("find_files", "glob_files"), ("glob", "glob_files"), ("read_fille", "read_file"),
        ("edit_files", "edit_file"),
    ],
)  # fmt: skip
def test_near_miss_names(written: str, meant: str) -> None:
    assert resolve_tool_name(written, TOOLS) == meant
    text = json.dumps({"name": written, "arguments": {"path": "p"}})
    assert calls(text) == one(meant, path="p")


def test_names_map_only_to_tools_that_exist() -> None:
    assert calls('{"name": "bash", "arguments": {"command": "ls"}}', ["read_file"]) == []
    assert calls('{"name": "delete_everything", "arguments": {}}') == []
    assert calls('{"name": "create_file", "arguments": {"path": "a"}}', ["save_file"]) == one(
        "save_file", path="a"
    )


def test_known_aliases_is_a_plain_mapping_to_real_tool_names() -> None:
    assert known_aliases["create_file"] == "write_file"
    assert known_aliases["cat"] == "read_file"
    assert known_aliases["glob"] == "glob_files"
    assert set(known_aliases.values()) >= set(TOOLS)


# --- what small models write that other agents taught them ------------------------------

FULL_PARAMS = {
    **PARAMS,
    "read_file": ["path", "start_line", "end_line"],
    "search_code": ["query", "top_k"],
    "find_symbols": ["name", "kind", "path"],
}
ALL_TOOLS = [*TOOLS, "search_code", "find_symbols"]


def full(text: str) -> list[tuple[str, dict[str, Any]]]:
    return calls(text, ALL_TOOLS, params=FULL_PARAMS)


@pytest.mark.parametrize(
    ("name", "arguments", "meant"),
    [
        ("create_file", {"file_path": "a.py", "file_text": "x\n"},
         one("write_file", path="a.py", content="x\n")),
        ("write_to_file", {"path": "a.py", "contents": "x\n"},
         one("write_file", path="a.py", content="x\n")),
        ("str_replace_editor", {"command": "create", "path": "a.py", "file_text": "x\n"},
         one("write_file", path="a.py", content="x\n")),
        ("str_replace_based_edit_tool",
         {"command": "str_replace", "path": "a.py", "old_str": "x", "new_str": "y"},
         one("edit_file", path="a.py", old="x", new="y")),
        ("str_replace_editor", {"command": "view", "path": "a.py", "view_range": [3, 9]},
         one("read_file", path="a.py", start_line=3, end_line=9)),
        ("replace_in_file", {"file_path": "a.py", "old_string": "x", "new_string": "y"},
         one("edit_file", path="a.py", old="x", new="y")),
        # real 1.5B: edit_file with old_lines / new_lines
        ("edit_file", {"path": "a.py", "old_lines": "x", "new_lines": "y"},
         one("edit_file", path="a.py", old="x", new="y")),
        ("bash", {"cmd": "pytest -q"}, one("run_shell", command="pytest -q")),
        ("execute_command", {"command": "npm test", "requires_approval": False},
         one("run_shell", command="npm test")),
        ("run_terminal_cmd", {"command": "ls", "is_background": False, "explanation": "look"},
         one("run_shell", command="ls")),
        ("shell", {"command": ["bash", "-lc", "ls -a"]}, one("run_shell", command="ls -a")),
        ("shell", {"cmd": ["python", "-m", "pytest", "tests dir"]},
         one("run_shell", command="python -m pytest 'tests dir'")),
        ("cat", {"file": "a.py"}, one("read_file", path="a.py")),
        ("open_file", {"filename": "a.py"}, one("read_file", path="a.py")),
        ("list_files", {"directory": "src"}, one("list_dir", path="src")),
        ("grep", {"pattern": "def main"}, one("search_code", query="def main")),
        ("find_symbol", {"symbol": "main"}, [("find_symbols", {"name": "main"})]),
    ],
)  # fmt: skip
def test_other_agents_tools_and_argument_names(
    name: str, arguments: dict[str, Any], meant: list[tuple[str, dict[str, Any]]]
) -> None:
    assert full(json.dumps({"name": name, "arguments": arguments})) == meant


def test_argument_names_are_only_renamed_to_parameters_the_tool_has() -> None:
    # edit_file has no `content`; an unknown name stays so the tool can say what is wrong.
    text = '{"name": "edit_file", "arguments": {"path": "a.py", "file_text": "x", "zzz": 1}}'
    assert full(text) == one("edit_file", path="a.py", file_text="x", zzz=1)
    # The tool's own name wins over an alias of it.
    text = '{"name": "read_file", "arguments": {"path": "a.py", "file_path": "b.py"}}'
    assert full(text) == one("read_file", path="a.py", file_path="b.py")
    # Without parameter names nothing is renamed.
    assert calls('{"name": "cat", "arguments": {"file": "a.py"}}') == one("read_file", file="a.py")


def test_a_native_call_with_other_names_becomes_ours() -> None:
    native = ToolCall("str_replace_editor", {"command": "create", "path": "a", "file_text": "x"})
    native.id = "call_7"
    assert canonical_call(native, ALL_TOOLS, FULL_PARAMS) == ToolCall(
        "write_file", {"path": "a", "content": "x"}, "call_7"
    )
    unknown = ToolCall("delete_everything", {"file_path": "a"}, "c")
    assert canonical_call(unknown, ALL_TOOLS, FULL_PARAMS) is unknown


def test_python_call_syntax_and_xml_get_argument_names_too() -> None:
    assert full('create_file(file_path="a.py", file_text="x")') == one(
        "write_file", path="a.py", content="x"
    )
    text = "<function=bash>\n<parameter=cmd>\nls\n</parameter>\n</function>"
    assert full(text) == one("run_shell", command="ls")


@pytest.mark.parametrize(
    "text",
    [
        '[TOOL_REQUEST]\n{"name": "read_file", "arguments": {"path": "a.py"}}\n[END_TOOL_REQUEST]',
        '[TOOL_REQUEST] read_file(path="a.py") [/TOOL_REQUEST]',
        '<tool>{"name": "read_file", "arguments": {"path": "a.py"}}</tool>',
        '<tool_request>read_file(path="a.py")</tool_request>',
        '<action>{"name": "read_file", "arguments": {"path": "a.py"}}</action>',
        '<|tool_call|>{"name": "read_file", "arguments": {"path": "a.py"}}<|/tool_call|>',
        '<|tool_call|>read_file(path="a.py")<|tool_call_end|>',
        '<|tool_call|>read_file(path="a.py")<|im_end|>',
        '<function>{"name": "read_file", "arguments": {"path": "a.py"}}</function>',
        '<invoke name="read_file">\n<parameter name="path">a.py</parameter>\n</invoke>',
        "<tool_call>\n<function=read_file>\n<parameter=path>\na.py\n</parameter>\n</function>\n"
        "</tool_call>",
        "<read_file>\n<path>a.py</path>\n</read_file>",
        "<tool_call>\n<read_file>\n<path>a.py</path>\n</read_file>\n</tool_call>",
        "I will look at it first.\n<open_file>\n<file_path>a.py</file_path>\n</open_file>",
        '<think>\nThe user wants a.py. {"name": "list_dir", "arguments": {}}\n</think>\n'
        '{"name": "read_file", "arguments": {"path": "a.py"}}',
        'Okay.</think>\n\n<tool_call>{"name": "read_file", "arguments": {"path": "a.py"}}'
        "</tool_call>",
        'Sure! Here it is: {"name": "read_file", "arguments": {"path": "a.py"}} Let me know.',
    ],
)
def test_markers_xml_and_think_blocks(text: str) -> None:
    assert full(text) == one("read_file", path="a.py")


@pytest.mark.parametrize(
    "before",
    [
        "The syntax error is on line 3. Fixing it:",
        "I will create the template file.",
        "The bug looks like a typo, so I read the file first:",
        "This uses a JSON schema; reading it:",
        "Helpers such as slugify live there; reading it:",
        "Now I write an example.py with the demo:",
    ],
)
def test_words_near_a_real_call_do_not_make_it_an_example(before: str) -> None:
    text = f"{before}\n```json\n{READ_A}\n```"
    assert full(text) == one("read_file", path="a.py")
    assert full(f"{before}\n{READ_A}") == one("read_file", path="a.py")


def test_cline_elements_with_several_arguments() -> None:
    text = (
        "Creating the file.\n<write_to_file>\n<path>src/app.py</path>\n<content>\n"
        "def main():\n    return '<ok>'\n</content>\n</write_to_file>\n"
        "<execute_command>\n<command>python src/app.py</command>\n</execute_command>"
    )
    assert full(text) == [
        ("write_file", {"path": "src/app.py", "content": "def main():\n    return '<ok>'"}),
        ("run_shell", {"command": "python src/app.py"}),
    ]
    shown = "```xml\n<read_file>\n<path>a.py</path>\n</read_file>\n```"
    assert full(shown) == []  # an XML example in a fence is code being shown


# --- replies cut short by max_tokens ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ('{"name": "read_file", "arguments": {"path": "a.py"', one("read_file", path="a.py")),
        ('{"name": "read_file", "arguments": {"path": "a.py"},',
         one("read_file", path="a.py")),
        ('<tool_call>\n{"name": "run_shell", "arguments": {"command": "pytest -q"}}',
         one("run_shell", command="pytest -q")),
        ('<tool_call>\n{"name": "run_shell", "arguments": {"command": "pytest -q"}',
         one("run_shell", command="pytest -q")),
        ('```json\n{"name": "edit_file", "arguments": {"path": "a.py", "old": "x", "new": "y"}',
         one("edit_file", path="a.py", old="x", new="y")),
        ('Reading.\n{"name": "read_file", "arguments": {"path": "a.py"<|im_end|>',
         one("read_file", path="a.py")),
        ('<tool_call>{"name": "read_file", "arguments": {"path": "a.py"}</tool_call>',
         one("read_file", path="a.py")),  # a forgotten brace
    ],
)  # fmt: skip
def test_json_cut_short_is_completed_when_only_closers_are_missing(
    text: str, meant: list[tuple[str, dict[str, Any]]]
) -> None:
    assert full(text) == meant
    assert cut_call(text, ALL_TOOLS) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "write_file", "arguments": {"path": "a.py", "content": "def f():\\n    ret',
        '<tool_call>\n{"name": "write_file", "arguments": {"path": "a.py", "content": "x = ',
        '```json\n{"name": "edit_file", "arguments": {"path": "a.py", "old": "x", "new": "y',
        '{"name": "write_file", "arguments": {"path": "src/a',
    ],
)
def test_a_call_cut_inside_an_argument_is_never_run_and_is_reported(text: str) -> None:
    # Completing the string would write half a file over the whole one.
    assert full(text) == []
    tool = cut_call(text, ALL_TOOLS)
    assert tool in ("write_file", "edit_file")
    note = cut_call_note(tool)
    assert f"Your {tool} call was cut off" in note and "NOT run" in note


def test_cut_json_that_is_not_a_call_or_not_at_the_end_is_left_alone() -> None:
    assert full('{"name": "read_file", "arguments": {"path": "a.py" and then prose.') == []
    assert full('{"name": "read_file", "arguments": {"path": 12') == []  # a cut number
    assert full('{"name": "read_file", "arguments": {"path": "a.py", "start_line":') == []
    assert cut_call("Just prose.", ALL_TOOLS) is None
    assert cut_call('{"name": "nothing_known", "arguments": {"x": "y', ALL_TOOLS) is None


# --- what must stay text ----------------------------------------------------------------

NOT_CALLS = [
    "```python\ndef save(path, data):\n    write_file(path, data)\n```",
    "```python\ndef write_file(path, content):\n    open(path, 'w').write(content)\n```",
    "def write_file(path, content):\n    pass\n\nwrite_file('a.py', 'x')",
    "To see it, call read_file(path) to see it.",
    "read_file(path)",
    "write_file(path, data)",
    'read_file(os.path.join("a", "b"))',
    'Example config:\n```json\n{"name": "my-app", "version": "1.0.0"}\n```',
    'The response looks like {"status": "ok", "items": [1, 2]} on success.',
    'The listing gives entries like {"name": "ls", "size": 3}.',
    '```js\nread_file("a.js")\n```',
    "```bash\nls -la\n```",
    'Use `read_file("a.py")` in your own code.',
    "We could run print('hi') here.",
    "<tool_call>\nthis is not json\n</tool_call>",
    # JSON a model shows while explaining, or holds in code: never run
    'The config format is JSON, for example:\n```json\n{"name": "read_file", "arguments": '
    '{"path": "src/app.py"}}\n```',
    'A call looks like `{"name": "run_shell", "arguments": {"command": "ls"}}` in this format.',
    'In your code write:\nconfig = {"name": "run_shell", "arguments": {"command": "ls"}}\n',
    'return {"name": "write_file", "arguments": {"path": "a.py", "content": "x"}}',
    'handler({"name": "read_file", "arguments": {"path": "a.py"}})',
    'For instance:\n{"tool": "bash", "args": {"command": "rm -rf build"}}',
    '{"name": "read_file", "arguments": {"path": "path/to/file.py"}}',
    '<tool_call>{"name": "read_file", "arguments": {"path": "<path>"}}</tool_call>',
    "For example:\nread_file(path=\"a.py\")",
    "<read_file>a.py</read_file>",  # not children: prose with a tag
    "<read_file>\n<path>a.py</path>\n",  # never closed
    # drafts while thinking are not calls
    '<think>First {"name": "run_shell", "arguments": {"command": "ls"}}</think>Nothing to do.',
    '<think>\nI will call {"name": "run_shell", "arguments": {"command": "ls"}} and then',
    "",
]


@pytest.mark.parametrize("text", NOT_CALLS)
def test_code_and_prose_are_not_calls(text: str) -> None:
    assert extract_tool_calls(text, TOOLS, params=PARAMS) == []


# --- strip_tool_calls -------------------------------------------------------------------


def test_strip_tool_calls_leaves_the_prose() -> None:
    text = f"Let me look.\n\n<tool_call>\n{READ_A}\n</tool_call>\n\nThen I will edit it."
    assert strip_tool_calls(text, TOOLS) == "Let me look.\n\nThen I will edit it."
    assert strip_tool_calls("Just prose.", TOOLS) == "Just prose."
    shown = "```python\nwrite_file(path, data)\n```"
    assert strip_tool_calls(shown, TOOLS) == shown


# --- robustness: properties and adversarial input ---------------------------------------

FRAGMENTS = [
    "{", "}", "[", "]", "(", ")", '"', "'", '"""', ":", ",", "\n", " ", "\\", "`", "```",
    "```json\n", "<tool_call>", "</tool_call>", "<|python_tag|>", "[TOOL_CALLS]", "functools[",
    "<function=read_file>", "</function>", '"name"', '"arguments"', "read_file", "write_file(",
    "name=", "True", "null", "//", "/*", "#", "def ", "1.5e", "-", "<parameter=path>",
    "[TOOL_REQUEST]", "[END_TOOL_REQUEST]", "<|tool_call|>", "<|/tool_call|>", "<tool>",
    "</tool>", "<read_file>", "</read_file>", "<path>", "</path>", '<invoke name="cat">',
    "</invoke>", '<parameter name="file">', "</parameter>", "<think>", "</think>",
    "<|im_end|>", "For example", "= ", "path/to/", '"file_path"', '"command"', "create",
]  # fmt: skip


@settings(max_examples=300)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    spans = _extract_spans(text, TOOLS, PARAMS)  # unguarded: a bug here must fail the test
    assert all(isinstance(call.arguments, dict) for span in spans for call in span.calls)
    strip_tool_calls(text, TOOLS)


@settings(max_examples=500)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=60).map("".join))
def test_never_raises_on_call_like_fragments(text: str) -> None:
    for span in _extract_spans(text, TOOLS, PARAMS):
        assert span.calls
        assert all(call.name in TOOLS for call in span.calls)
        assert all(isinstance(call.arguments, dict) for call in span.calls)


ARGUMENTS = st.dictionaries(
    st.text(min_size=1, max_size=12),
    st.one_of(
        st.text(),
        st.text(alphabet="\"'\n\\`{}<>|é中😀", max_size=20),
        st.integers(),
        st.booleans(),
    ),
    max_size=4,
)
WRAPPERS = {
    "bare": "{}",
    "bare_in_prose": "Sure, doing it now.\n{}\nThat should do it.",
    "fence": "```json\n{}\n```",
    "plain_fence": "```\n{}\n```",
    "tag": "<tool_call>\n{}\n</tool_call>",
    "python_tag": "<|python_tag|>{}<|eom_id|>",
    "bracket_marker": "[TOOL_REQUEST]\n{}\n[END_TOOL_REQUEST]",
    "pipe_marker": "<|tool_call|>{}<|/tool_call|>",
    "tool_tag": "<tool>{}</tool>",
    "after_think": '<think>\nMaybe {"name": "list_dir", "arguments": {}} first.\n</think>\n{}',
}


@settings(max_examples=300)
@given(
    st.sampled_from(TOOLS),
    ARGUMENTS,
    st.sampled_from(sorted(WRAPPERS)),
    st.booleans(),
)
def test_round_trip_through_every_wrapper(
    name: str, arguments: dict[str, Any], wrapper: str, ascii_only: bool
) -> None:
    payload = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=ascii_only)
    text = WRAPPERS[wrapper].replace("{}", payload)
    assert extract_tool_calls(text, TOOLS) == [ToolCall(name, arguments, "call_text_0")]


@settings(max_examples=200)
@given(
    st.sampled_from(TOOLS),
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
            lambda k: not keyword.iskeyword(k)  # `del=None` is not a call a model can write
        ),
        st.one_of(st.text(), st.integers(), st.booleans(), st.none()),
        max_size=4,
    ),
)
def test_round_trip_python_call_syntax(name: str, arguments: dict[str, Any]) -> None:
    text = f"{name}({', '.join(f'{key}={value!r}' for key, value in arguments.items())})"
    assert calls(text) == [(name, arguments)]


@settings(max_examples=150, deadline=None)  # one example parses every prefix of a reply
@given(
    st.sampled_from(TOOLS),
    st.dictionaries(
        st.sampled_from(["path", "content", "old", "new", "command", "n", "flag", "view_range"]),
        st.one_of(
            st.text(max_size=12),
            st.text(alphabet="\"'\n\\{}[],:", max_size=8),
            st.integers(-999, 999),
            st.booleans(),
            st.lists(st.integers(0, 99), max_size=3),
        ),
        max_size=4,
    ),
    st.sampled_from(["{}", "<tool_call>\n{}", "```json\n{}", "[{}"]),
)
def test_a_reply_cut_anywhere_never_runs_a_cut_value(
    name: str, arguments: dict[str, Any], wrapper: str
) -> None:
    # Cut after every character: a recovered call holds only values complete in the text.
    full_text = wrapper.replace("{}", json.dumps({"name": name, "arguments": arguments}))
    for cut in range(len(full_text) + 1):
        for found in extract_tool_calls(full_text[:cut], TOOLS):
            assert found.name == name
            for key, value in found.arguments.items():
                assert key in arguments and arguments[key] == value, (full_text[:cut], key)


SHOWN = [
    "For example:\n```json\n{}\n```",
    "The format is:\n{}",
    "config = {}",
    "Use `{}` for that.",
    "return {}",
    "<think>\nI could send {}\n</think>\nNothing needs to change.",
]


@settings(max_examples=150)
@given(st.sampled_from(TOOLS), ARGUMENTS, st.sampled_from(SHOWN))
def test_a_call_shown_as_an_example_or_held_in_code_is_never_run(
    name: str, arguments: dict[str, Any], shown: str
) -> None:
    payload = json.dumps({"name": name, "arguments": arguments})
    assert extract_tool_calls(shown.replace("{}", payload), TOOLS) == []


# The forms put values on lines of their own: one newline at each end belongs to the tags.
XML_VALUE = st.text(
    alphabet=st.characters(blacklist_characters="<\r", codec="utf-8"), max_size=30
).filter(lambda value: not value.startswith("\n") and not value.endswith("\n"))


@settings(max_examples=150)
@given(
    st.sampled_from(TOOLS),
    st.dictionaries(st.sampled_from(["path", "content", "command", "old", "new"]), XML_VALUE,
                    min_size=1, max_size=3),
    st.sampled_from(["cline", "qwen3", "invoke"]),
)  # fmt: skip
def test_round_trip_xml_calls(name: str, arguments: dict[str, str], form: str) -> None:
    if form == "cline":
        body = "".join(f"<{key}>{value}</{key}>\n" for key, value in arguments.items())
        text = f"<{name}>\n{body}</{name}>"
    elif form == "qwen3":
        body = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in arguments.items())
        text = f"<tool_call>\n<function={name}>\n{body}</function>\n</tool_call>"
    else:
        body = "".join(f'<parameter name="{k}">{v}</parameter>' for k, v in arguments.items())
        text = f'<invoke name="{name}">{body}</invoke>'
    assert calls(text) == [(name, arguments)]


def _normal_message() -> str:
    content = "".join(f"line {i}: x = {{'k': \"v\"}}  # don't (stop)\n" for i in range(500))
    call = {"name": "write_file", "arguments": {"path": "big.py", "content": content}}
    return "Writing the file.\n```json\n" + json.dumps(call) + "\n```\nDone."


ADVERSARIAL = {
    "braces": "{" * 10_000,
    "quotes": '"' * 10_000,
    "brace_quotes": '{"' * 10_000,
    "nested_keys": '{"a":' * 4_000,
    "nested_lists": "[{" * 10_000,
    "parens": "read_file(" * 2_000,
    "paren_lines": "read_file(\n" * 2_000,
    "open_tags": '<tool_call>{"a": "' * 1_000,
    "fences": "```" * 6_000,
    "comments": '{"a":/*' * 3_000,
    "half_calls": '{"name": "read_file", "arguments": {"path": "' * 400,
    "unknown_call_lines": "\n".join(f"w{i}(" for i in range(3_000)),
    "backslashes": '{"a": "' + "\\" * 20_000,
    "fence_then_blanks": "```json" + " " * 20_000,
    "tag_then_newlines": "<tool_call>" + "\n" * 20_000,
    "python_tag_then_blanks": "<|python_tag|>" + " " * 20_000,
    "function_tag_then_blanks": "<function=read_file>" + " \t" * 10_000,
    "string_then_blanks": '{"a": "' + '" ' * 10_000,
    "open_elements": "<read_file>\n<path>a.py</path>\n" * 2_000,
    "element_children": "<read_file>" + "<path>" * 10_000,
    "unclosed_elements": "<write_file><path>a</path><content>" * 4_000,
    "late_element_closer": "<read_file><path>" * 8_000 + "</read_file>",
    "bracket_markers": "[TOOL_REQUEST]{" * 5_000,
    "pipe_markers": '<|tool_call|>{"a": "' * 3_000,
    "invokes": '<invoke name="read_file"><parameter name="p">' * 2_000,
    "think_ends": "</think>{" * 5_000,
    "cut_content": '{"name": "write_file", "arguments": {"content": "' + "x\\n" * 20_000,
    "cut_brackets": '{"a": [' * 5_000,
    "example_cues": 'For example {"name": "read_file", "arguments": {}} ' * 2_000,
    "code_values": 'x = {"name": "read_file", "arguments": {"path": "a"}}\n' * 2_000,
    "blank_then_turn_end": '{"a": 1' + " " * 20_000 + "<|im_end|>" * 3_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_input_is_fast(name: str) -> None:
    text = ADVERSARIAL[name]
    started = time.perf_counter()
    _extract_spans(text, TOOLS, PARAMS)
    assert time.perf_counter() - started < 1.0


def test_a_20kb_message_parses_quickly() -> None:
    text = _normal_message()
    assert len(text) > 20_000
    best = min(_timed(text) for _ in range(5))
    assert extract_tool_calls(text, TOOLS)[0].arguments["path"] == "big.py"
    assert best < 0.05  # measured well under 5 ms; loose so a busy machine does not flake


def _timed(text: str) -> float:
    started = time.perf_counter()
    extract_tool_calls(text, TOOLS)
    return time.perf_counter() - started


def test_a_triple_quoted_value_holding_a_docstring_ends_where_the_json_goes_on() -> None:
    # Real 1.5B: a ```json fence with "old": """...""" around code whose first line is a docstring.
    text = (
        '```json\n{"name": "edit_file", "arguments": {"path": "shapes.py", "old": """\n'
        '"""Shapes."""\nimport math\n""",\n "new": """\n"""Shapes."""\nimport math, sys\n"""}}\n```'
    )
    (found,) = extract_tool_calls(text, ["edit_file"])
    assert found.arguments == {
        "path": "shapes.py",
        "old": '\n"""Shapes."""\nimport math\n',
        "new": '\n"""Shapes."""\nimport math, sys\n',
    }
