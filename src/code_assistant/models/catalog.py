"""Models `ca models pull` knows by name: official Qwen2.5-Coder GGUFs on the Hugging Face Hub."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogModel:
    name: str
    repo: str
    filename: str
    size: int  # bytes
    sha256: str  # "" when only the Hub's own checksum is known
    about: str


CATALOG = {
    m.name: m
    for m in (
        CatalogModel(
            "qwen2.5-coder-1.5b",
            "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            "the embedded default: about 13 tokens/s on 2 CPU cores",
        ),
        CatalogModel(
            "qwen2.5-coder-0.5b",
            "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            "fastest, weakest: about 24 tokens/s on 2 CPU cores",
        ),
        CatalogModel(
            "qwen2.5-coder-3b",
            "Qwen/Qwen2.5-Coder-3B-Instruct-GGUF",
            "qwen2.5-coder-3b-instruct-q4_k_m.gguf",
            0,
            "",
            "stronger, about half the speed of 1.5B",
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"
