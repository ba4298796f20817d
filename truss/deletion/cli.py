"""`truss delete-account --email ...`: an operator deletes an account (or finishes a deletion
that stopped: the same ticket is picked up again)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from truss.auth.session import remember_creator
from truss.data import deletions
from truss.data.creators import find_creator_by_email
from truss.data.table import Table
from truss.deletion import service
from truss.deletion.jobs import enqueue_deletion, run_deletion
from truss.extensions import get_table


@click.command("delete-account")
@click.option("--email", required=True, help="The email of the account to delete.")
@click.option("--queue", "use_queue", is_flag=True, help="Queue the job for a worker instead.")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@with_appcontext
def delete_account_command(email: str, use_queue: bool, yes: bool) -> None:
    """Delete an account and everything in it, for good (runs here unless --queue); run it
    again to finish a deletion that stopped."""
    ticket = _ticket_for(get_table(), email, yes)
    if use_queue:
        enqueue_deletion(ticket)
        click.echo(f"account deletion {ticket}: queued")
        return
    done = run_deletion(ticket)
    click.echo(
        f"account {email} deleted: {done.items_removed} records and "
        f"{done.objects_removed} files removed ({', '.join(done.steps_done)})"
    )


def _ticket_for(table: Table, email: str, yes: bool) -> str:
    """The ticket of the email's deletion: a new one (after confirmation), or the one of a
    deletion that got past removing the email and stopped."""
    creator = find_creator_by_email(table, email)
    if creator is None:
        unfinished = deletions.unfinished_for_email(table, email)
        if unfinished is None:
            raise click.ClickException(
                f"No account has the email {email!r} (already deleted, or a typo?). "
                "Nothing deleted."
            )
        done = ", ".join(unfinished.steps_done) or "nothing"
        stopped = (
            f"; the last attempt stopped on {unfinished.problem}" if unfinished.problem else ""
        )
        click.echo(f"account deletion {unfinished.ticket}: resuming after {done}{stopped}")
        return unfinished.ticket
    if not yes:
        click.confirm(f"Delete the account {creator.email} ({creator.id}) for good?", abort=True)
    ticket = service.begin(table, creator)
    remember_creator(creator)  # the cached profile goes: every session ends at once
    return ticket
