"""``syncline crds`` and ``syncline errors``: the generated artefacts of the API and catalog."""

from __future__ import annotations

import json
from pathlib import Path

import click

from syncline import errors as catalog
from syncline.api import crdgen


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=None, help="crds directory.")
@click.option("--check", is_flag=True, help="Exit non-zero when the files are stale.")
def crds(out: Path | None, check: bool) -> None:
    """Write the CRDs generated from the API models (or check they are current)."""
    argv = (["--out", str(out)] if out else []) + (["--check"] if check else [])
    code = crdgen.main(argv)
    if code:
        raise click.exceptions.Exit(code)


@click.command()
@click.option("--markdown", "fmt", flag_value="markdown", help="docs/errors.md format.")
@click.option("--json", "fmt", flag_value="json", help="JSON list of entries.")
@click.option(
    "--check",
    type=click.Path(path_type=Path),
    default=None,
    help="Exit non-zero when this Markdown file differs from the catalog.",
)
def errors(fmt: str | None, check: Path | None) -> None:
    """Print the error catalog: code, name, HTTP status, category, message."""
    if check is not None:
        if not check.exists() or check.read_text() != catalog.render_markdown():
            raise click.ClickException(f"{check} is stale; run `make docs`")
        click.echo(f"{check} is up to date ({len(catalog.CATALOG)} codes)")
        return
    if fmt == "markdown":
        click.echo(catalog.render_markdown(), nl=False)
    elif fmt == "json":
        rows = [
            {
                "code": e.code,
                "name": e.name,
                "httpStatus": e.http_status,
                "category": e.category.value,
                "message": e.message,
            }
            for e in catalog.CATALOG
        ]
        click.echo(json.dumps(rows, indent=2))
    else:
        for e in catalog.CATALOG:
            click.echo(f"{e.code:>5}  {e.name:<32} {e.http_status}  {e.category.value}")
