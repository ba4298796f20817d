"""`truss export --email ...` and `truss import FILE --email ...` for operators: run here, in
this process (no worker needed), with the same services as the page's jobs."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from truss.data import exports
from truss.data.creators import Creator, find_creator_by_email
from truss.extensions import get_storage, get_table
from truss.portability.export import run_export
from truss.portability.importer import run_import


def _creator(email: str) -> Creator:
    creator = find_creator_by_email(get_table(), email)
    if creator is None:
        raise click.ClickException(f"No account has the email {email!r}: check it and try again.")
    return creator


@click.command("export")
@click.option("--email", required=True, help="The account to export.")
@click.option("--sources", is_flag=True, help="Include the uploaded source videos.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save it here too.")
@with_appcontext
def export_command(email: str, sources: bool, out: Path | None) -> None:
    """Export an account into one archive in the bucket (and download it with --out)."""
    creator, table, storage = _creator(email), get_table(), get_storage()
    export = exports.create_export(table, creator.id, sources)
    done = run_export(table, storage, creator.id, export.id)
    click.echo(f"export {done.id}: {done.files_done} files, {done.archive_bytes:,} bytes")
    click.echo(f"s3://{storage.bucket}/{done.archive_key} (kept for a week)")
    if out is not None:
        storage.download(done.archive_key, str(out))
        click.echo(f"saved to {out}")


@click.command("import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--email", required=True, help="The account to import into.")
@with_appcontext
def import_command(archive: Path, email: str) -> None:
    """Import an archive a Truss export wrote into an account (checked whole first)."""
    creator, table, storage = _creator(email), get_table(), get_storage()
    imp = exports.create_import(table, creator.id, archive.stat().st_size, status=exports.QUEUED)
    storage.upload(str(archive), imp.archive_key, "application/zip", expiring=True)
    done = run_import(table, storage, creator.id, imp.id)
    if done.status != exports.DONE:
        raise click.ClickException(f"import {done.id} refused: {done.error}")
    click.echo(f"import {done.id}: {done.items_total} items and {done.files_total} files imported")
