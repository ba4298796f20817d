"""`truss delete-account --email ...`: an operator deletes an account (or finishes a deletion
that stopped: the same ticket is picked up again)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from truss.data.creators import find_creator_by_email
from truss.deletion import service
from truss.deletion.jobs import collaborators, enqueue_deletion
from truss.extensions import get_table


@click.command("delete-account")
@click.option("--email", required=True, help="The email of the account to delete.")
@click.option("--queue", "use_queue", is_flag=True, help="Queue the job for a worker instead.")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@with_appcontext
def delete_account_command(email: str, use_queue: bool, yes: bool) -> None:
    """Delete an account and everything in it, for good (runs here unless --queue)."""
    table = get_table()
    creator = find_creator_by_email(table, email)
    if creator is None:
        raise click.ClickException(
            f"No account has the email {email!r} (already deleted, or a typo?). Nothing deleted."
        )
    if not yes:
        click.confirm(f"Delete the account {creator.email} ({creator.id}) for good?", abort=True)
    ticket = service.begin(table, creator)
    if use_queue:
        enqueue_deletion(ticket)
        click.echo(f"account deletion {ticket}: queued")
        return
    done = service.run(collaborators(), ticket)
    click.echo(
        f"account {creator.email} deleted: {done.items_removed} records and "
        f"{done.objects_removed} files removed ({', '.join(done.steps_done)})"
    )
