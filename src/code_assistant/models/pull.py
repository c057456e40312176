"""`ca models pull`: a GGUF from the Hugging Face Hub into the store, resumable and checked.

huggingface_hub does the transfer (HF_ENDPOINT for mirrors, resume of a partial download,
HF_TOKEN for gated repos); this module adds the sha256 check and a rich progress bar.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from code_assistant.errors import BackendUnavailable, ModelNotFound, UsageError
from code_assistant.models.catalog import CatalogModel
from code_assistant.models.store import catalog_entry, models_dir


def parse_spec(spec: str) -> CatalogModel:
    """A catalogue name, or `OWNER/REPO:FILE.gguf` for any GGUF on the Hub."""
    entry = catalog_entry(spec)
    if entry is not None:
        return entry
    repo, sep, filename = spec.partition(":")
    if sep and repo.count("/") == 1 and filename.endswith(".gguf"):
        return CatalogModel(Path(filename).stem, repo, filename, 0, "", "")
    from code_assistant.models.catalog import CATALOG

    raise UsageError(
        f"unknown model {spec!r}: use one of {', '.join(CATALOG)} or OWNER/REPO:FILE.gguf"
    )


def pull(home: Path, spec: str, *, progress: bool = True) -> Path:
    """Download `spec` into the store (resuming a partial download) and verify it."""
    model = parse_spec(spec)
    directory = models_dir(home)
    target = directory / model.filename
    if target.is_file() and (not model.sha256 or _sha256(target) == model.sha256):
        return target
    directory.mkdir(parents=True, exist_ok=True)
    expected = model.sha256 or _hub_sha256(model)
    staging = directory / ".download"
    path = Path(_download(model, staging, progress))
    actual = _sha256(path)
    if expected and actual != expected:
        path.unlink()
        raise BackendUnavailable(
            f"{model.filename} from {model.repo} failed its sha256 check (got {actual[:12]}…, "
            f"expected {expected[:12]}…); it was deleted: run the pull again"
        )
    os.replace(path, target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def _download(model: CatalogModel, staging: Path, progress: bool) -> str:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    try:
        return str(
            hf_hub_download(
                model.repo,
                model.filename,
                local_dir=staging,
                # A duck-typed tqdm: an arg-type error only where tqdm has stubs installed.
                tqdm_class=_RichTqdm if progress else None,  # type: ignore[arg-type, unused-ignore]
            )
        )
    except (RepositoryNotFoundError, EntryNotFoundError):
        raise ModelNotFound(f"{model.repo} has no file {model.filename} on the Hub") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise BackendUnavailable(
            f"cannot download {model.filename} from {_endpoint()}: {_first_line(exc)}; "
            "check the network or HF_ENDPOINT, then run the pull again (it resumes)"
        ) from None


def _hub_sha256(model: CatalogModel) -> str:
    """The Hub's checksum of an LFS file (its etag); "" when the Hub gives none."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    try:
        etag = get_hf_file_metadata(hf_hub_url(model.repo, model.filename)).etag or ""
    except (HfHubHTTPError, OSError, ValueError):  # the download reports a broken Hub itself
        return ""
    etag = etag.strip('"')
    return etag if len(etag) == 64 and all(c in "0123456789abcdef" for c in etag) else ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class _RichTqdm:
    """Enough of tqdm's interface for huggingface_hub, drawn as a rich progress bar."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.disable = bool(kwargs.get("disable"))
        self.n = int(kwargs.get("initial") or 0)
        self.total = kwargs.get("total")
        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self._task = self._progress.add_task(
            str(kwargs.get("desc") or "download"), total=self.total, completed=self.n
        )
        if not self.disable:
            self._progress.start()

    def update(self, n: float = 1) -> None:
        self.n += int(n)
        self._progress.update(self._task, completed=self.n)

    def close(self) -> None:
        if not self.disable:
            self._progress.stop()

    def __enter__(self) -> _RichTqdm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_description(self, desc: str = "", refresh: bool = True) -> None:
        self._progress.update(self._task, description=desc)

    def refresh(self) -> None:
        self._progress.refresh()

    @classmethod
    def get_lock(cls) -> Any:
        import threading

        return threading.RLock()

    @classmethod
    def set_lock(cls, lock: Any) -> None:
        pass
