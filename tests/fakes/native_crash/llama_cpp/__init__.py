"""A stand-in for llama_cpp whose native code misbehaves: put its folder first on PYTHONPATH.

FAKE_LLAMA_MODE picks how the first generation ends: `segv` (the AMX-kernel crash seen on
VMs), `kill` (the kernel's out-of-memory killer), `hang` (never answers), `exit` (a library
that calls exit()), `raise` (a Python error inside the library), or `ok` (answers "fine").
FAKE_LLAMA_MODE_FILE names a file to read the mode from at each call instead.
Loading always succeeds, as it did for real.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

__version__ = "0.0-fake"
LLAMA_POOLING_TYPE_NONE = 0


class LlamaGrammar:
    @classmethod
    def from_json_schema(cls, schema: str, verbose: bool = True) -> LlamaGrammar:
        return cls()


class Llama:
    def __init__(self, model_path: str = "", n_ctx: int = 512, **_: Any) -> None:
        self.model_path = model_path
        self.n_tokens = 0
        self._n_ctx = n_ctx
        self.metadata: dict[str, str] = {}  # no chat template: tools go in the prompt

    def n_ctx(self) -> int:
        return self._n_ctx

    def create_chat_completion(self, **request: Any) -> Any:
        mode = os.environ.get("FAKE_LLAMA_MODE", "segv")
        if os.environ.get("FAKE_LLAMA_MODE_FILE"):  # a test switches it between calls
            with open(os.environ["FAKE_LLAMA_MODE_FILE"]) as handle:
                mode = handle.read().strip()
        print("llama_decode: running the fake kernel", file=sys.stderr, flush=True)
        if mode == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif mode == "hang":
            time.sleep(3600)
        elif mode == "raise":
            raise KeyError("tokenizer.chat_template")
        elif mode == "exit":
            print("GGML_ASSERT: fake assertion failed", file=sys.stderr, flush=True)
            os._exit(134 - 128)
        reply = {"choices": [{"message": {"content": "fine"}, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
        if request.get("stream"):
            return iter([{"choices": [{"delta": {"content": "fine"}, "finish_reason": "stop"}]}])
        return reply

    def close(self) -> None:
        pass
