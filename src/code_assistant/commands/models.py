"""`ca models list|pull|add|rm|path`: the machine's GGUF files for the embedded backend."""

from __future__ import annotations

from pathlib import Path

import typer

from code_assistant.commands import JsonOut

models_app = typer.Typer(
    help="GGUF models for the embedded llama.cpp backend (stored in CA_HOME/models).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


def _home(ctx: typer.Context) -> Path:
    from code_assistant.cli import options_of

    return options_of(ctx).load().home


@models_app.command("list", help="Stored models, then the catalogue of names `pull` knows.")
def models_list(
    ctx: typer.Context, json_out: JsonOut = False
) -> None:

    from code_assistant.cli import options_of
    from code_assistant.models.catalog import CATALOG, DEFAULT_MODEL
    from code_assistant.models.store import stored_models

    home = _home(ctx)
    stored = stored_models(home)
    if json_out or options_of(ctx).json:
        rows = [{"name": m.name, "path": str(m.path), "size": m.size, "added": m.added}
                for m in stored]
        from code_assistant.jsonlines import result

        result("models list", stored=rows, catalogue=list(CATALOG))
        return
    if stored:
        for model in stored:
            origin = " (added)" if model.added else ""
            print(f"{model.name:24} {model.size / 1e9:6.2f} GB  {model.path}{origin}")
    else:
        print("no models stored yet")
    print("\ncan pull:")
    for entry in CATALOG.values():
        mark = " (default)" if entry.name == DEFAULT_MODEL else ""
        size = f"{entry.size / 1e9:.2f} GB" if entry.size else "size on the Hub"
        print(f"  {entry.name:22} {size:>15}  {entry.about}{mark}")


@models_app.command("pull", help="Download a model from the Hugging Face Hub (resumes).")
def models_pull(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A catalogue name, or OWNER/REPO:FILE.gguf."),
) -> None:
    from code_assistant.models.pull import pull

    path = pull(_home(ctx), name)
    print(path)


@models_app.command("add", help="Register a GGUF file already on this machine (linked).")
def models_add(ctx: typer.Context, path: str = typer.Argument(..., help="The .gguf file.")) -> None:
    from pathlib import Path

    from code_assistant.models.store import add

    model = add(_home(ctx), Path(path))
    print(f"added {model.name}: {model.path}")


@models_app.command("rm", help="Delete a stored model (only the link of an added one).")
def models_rm(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    from code_assistant.models.store import remove

    model = remove(_home(ctx), name)
    print(f"removed {model.path}")


@models_app.command("path", help="Print the file of a stored model.")
def models_path(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    from code_assistant.models.store import find

    print(find(_home(ctx), name).path)
