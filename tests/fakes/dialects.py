"""How each popular local server answers /v1/chat/completions where they differ.

`openai` is the default and accepts everything. The others refuse what the real server
refuses, with its status code and error body, and drop `tool_calls` where it never returns
them (the model's tool call then arrives as text, in Qwen's <tool_call> form).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.fakes.script import Reply
from tests.fakes.state import Response

# llama-cpp-python's server (0.3.36, FastAPI 0.165): its pydantic request model allows only
# "text" and "json_object"; its RouteErrorHandler turns the validation error into HTTP 500 with
# str(RequestValidationError) as the message. Captured from the real server.
LLAMA_CPP_PYTHON_FORMAT_ERROR = (
    "1 validation error:\n"
    "  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n"
    '  File "/usr/lib/python3/site-packages/llama_cpp/server/app.py", line 376, '
    "in create_chat_completion\n    POST /v1/chat/completions"
)
LMSTUDIO_FORMAT_ERROR = "'response_format.type' must be 'json_schema' or 'text'"
VLLM_TOOLS_ERROR = (
    '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
)


@dataclass(frozen=True)
class Dialect:
    name: str
    formats: frozenset[str]  # response_format types it takes
    native_tools: bool = True  # returns parsed `tool_calls`
    takes_tools: bool = True  # False: refuses any request with `tools`
    stream_usage: bool = True  # honours stream_options.include_usage
    max_model_len: int | None = None  # refuses a prompt + max_tokens longer than this

    def refusal(self, body: dict[str, Any]) -> Response | None:
        """The server's error answer for a request shape it does not take, else None."""
        if self.max_model_len and body.get("max_tokens"):
            prompt = len(json.dumps(body.get("messages", []))) // 4
            wanted = prompt + int(body["max_tokens"])
            if wanted > self.max_model_len:
                return Response(400, _vllm_error(
                    f"This model's maximum context length is {self.max_model_len} tokens. "
                    f"However, you requested {wanted} tokens ({prompt} in the messages, "
                    f"{body['max_tokens']} in the completion). Please reduce the length of "
                    "the messages or completion."))
        kind = (body.get("response_format") or {}).get("type", "text")
        if kind != "text" and kind not in self.formats:
            return _format_error(self.name, kind)
        if body.get("tools") and not self.takes_tools:
            return Response(400, _vllm_error(VLLM_TOOLS_ERROR))
        return None

    def rewrite(self, reply: Reply) -> Reply:
        """The reply as this server delivers it."""
        if self.native_tools or not reply.get("tool_calls"):
            return reply
        tagged = [
            "<tool_call>\n"
            + json.dumps({"name": c["name"], "arguments": c.get("arguments", {})})
            + "\n</tool_call>"
            for c in reply["tool_calls"]
        ]
        text = "\n".join([reply.get("text") or "", *tagged]).strip()
        return {k: v for k, v in reply.items() if k != "tool_calls"} | {"text": text}


def _format_error(dialect: str, kind: str) -> Response:
    if dialect == "llama-cpp-python":
        message = LLAMA_CPP_PYTHON_FORMAT_ERROR.replace("'json_schema'", repr(kind))
        return Response(500, {"error": {"message": message, "type": "internal_server_error",
                                        "param": None, "code": None}})
    if dialect == "lmstudio":
        return Response(400, {"error": LMSTUDIO_FORMAT_ERROR})
    if dialect.startswith("vllm"):
        return Response(400, _vllm_error(f"Unsupported response_format type: {kind}"))
    message = f'response_format type must be one of "text", "json_object", "json_schema", ' \
              f"but got: {kind}"
    return Response(400, {"error": {"code": 400, "message": message,
                                    "type": "invalid_request_error"}})


def _vllm_error(message: str) -> dict[str, Any]:
    """vLLM's error body is flat, not nested under "error"."""
    return {"object": "error", "message": message, "type": "BadRequestError", "param": None,
            "code": 400}


_ALL = frozenset({"json_schema", "json_object"})
DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect("openai", _ALL),
        Dialect("llama-server", _ALL),  # llama.cpp's server, --jinja (the default now)
        Dialect("llama-cpp-python", frozenset({"json_object"}), native_tools=False,
                stream_usage=False),
        # started with --enable-auto-tool-choice --tool-call-parser (and --max-model-len)
        Dialect("vllm", _ALL, max_model_len=8192),
        Dialect("vllm-no-tool-parser", _ALL, native_tools=False, takes_tools=False,
                max_model_len=8192),
        Dialect("lmstudio", frozenset({"json_schema"})),
        Dialect("ollama", _ALL),  # Ollama's own /v1
        # A minimal server: no response_format at all, no parsed tool calls.
        Dialect("text-only", frozenset(), native_tools=False),
    )
}


def get(name: str) -> Dialect:
    if name not in DIALECTS:
        raise ValueError(f"unknown dialect {name!r} (known: {', '.join(DIALECTS)})")
    return DIALECTS[name]
