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
    again to finish a deletion that stopped. A deletion of the email's account that stopped is
    finished first, and a newer account with the email is then left alone (run again for it)."""
    table = get_table()
    unfinished = deletions.unfinished_for_email(table, email)
    if unfinished:
        _resume(unfinished, use_queue)
        _refuse_a_newer_account(table, email, unfinished)
        return
    creator = find_creator_by_email(table, email)
    if creator is None:
        raise click.ClickException(
            f"No account has the email {email!r} (already deleted, or a typo?). Nothing deleted."
        )
    if not yes:
        click.confirm(f"Delete the account {creator.email} ({creator.id}) for good?", abort=True)
    ticket = service.begin(table, creator)
    remember_creator(creator)  # the cached profile goes: every session ends at once
    _carry_out(ticket, f"account {email}", use_queue)


def _resume(unfinished: list[deletions.Deletion], use_queue: bool) -> None:
    """Each deletion that started (confirmed then) and stopped, carried on where it stopped."""
    for progress in unfinished:
        done = ", ".join(progress.steps_done) or "nothing"
        stopped = f"; the last attempt stopped on {progress.problem}" if progress.problem else ""
        click.echo(f"account deletion {progress.ticket}: resuming after {done}{stopped}")
        _carry_out(progress.ticket, f"account {progress.subject_id}", use_queue)


def _refuse_a_newer_account(table: Table, email: str, unfinished: list[deletions.Deletion]) -> None:
    """The email may lead to an account made after those deletions started (the person signed
    up again): whether it should go too isn't what the operator confirmed, so it stays."""
    creator = find_creator_by_email(table, email)
    if creator is None or creator.id in {progress.subject_id for progress in unfinished}:
        return
    raise click.ClickException(
        f"The email {email!r} now belongs to another account ({creator.id}, created "
        f"{creator.created_at}), made after the deletion above started: it was NOT deleted. "
        "If it should go too, run this command again (with --queue: once that job finished)."
    )


def _carry_out(ticket: str, what: str, use_queue: bool) -> None:
    if use_queue:
        enqueue_deletion(ticket)
        click.echo(f"account deletion {ticket}: queued")
        return
    done = run_deletion(ticket)
    click.echo(
        f"{what} deleted: {done.items_removed} records and "
        f"{done.objects_removed} files removed ({', '.join(done.steps_done)})"
    )
