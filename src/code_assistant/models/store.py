"""Where the machine's GGUF files live (CA_HOME/models) and what is in it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from code_assistant.errors import UsageError
from code_assistant.models.catalog import CATALOG, CatalogModel


@dataclass(frozen=True)
class StoredModel:
    name: str  # catalogue name, else the file's stem
    path: Path  # in the store (a symlink for `ca models add`)
    size: int
    added: bool  # registered from elsewhere, not downloaded


def models_dir(home: Path) -> Path:
    return home / "models"


def catalog_entry(name: str) -> CatalogModel | None:
    """The catalogue entry for a name or a file name (`qwen2.5-coder-1.5b`, its .gguf)."""
    for model in CATALOG.values():
        if name in (model.name, model.filename, Path(model.filename).stem):
            return model
    return None


def stored_models(home: Path) -> list[StoredModel]:
    found = []
    directory = models_dir(home)
    for path in sorted(directory.glob("*.gguf")) if directory.is_dir() else ():
        entry = catalog_entry(path.name)
        try:
            size = path.stat().st_size
        except OSError:  # an added file that has since gone: still listed, so it can be removed
            size = 0
        name = entry.name if entry else path.stem
        found.append(StoredModel(name, path, size, path.is_symlink()))
    return found


def find(home: Path, name: str) -> StoredModel:
    """The stored model called `name` (catalogue name, file name or stem)."""
    entry = catalog_entry(name)
    for model in stored_models(home):
        if name in (model.name, model.path.name, model.path.stem) or (
            entry is not None and model.path.name == entry.filename
        ):
            return model
    names = ", ".join(m.name for m in stored_models(home)) or "none yet"
    raise UsageError(f"no model {name!r} in {models_dir(home)} (stored: {names}); "
                     "`ca models list` shows them, `ca models pull NAME` fetches one")


def add(home: Path, source: Path) -> StoredModel:
    """Register a local GGUF by linking it into the store (no copy of gigabytes)."""
    source = source.expanduser().resolve()
    if not source.is_file():
        raise UsageError(f"no file at {source}")
    with source.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise UsageError(f"{source} is not a GGUF file (it does not start with 'GGUF')")
    directory = models_dir(home)
    directory.mkdir(parents=True, exist_ok=True)
    name = source.name if source.name.endswith(".gguf") else f"{source.name}.gguf"
    link = directory / name
    if link.exists() or link.is_symlink():
        raise UsageError(f"{link} already exists: `ca models rm {link.stem}` first")
    link.symlink_to(source)
    return StoredModel(link.stem, link, source.stat().st_size, True)


def remove(home: Path, name: str) -> StoredModel:
    """Delete a downloaded file, or only the link of an added one."""
    model = find(home, name)
    model.path.unlink()
    return model
