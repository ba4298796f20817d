"""Sending email: SMTP in production; on the local stack, the console and a dev outbox in Redis.

Mail always goes through the queue (`enqueue("default", send_email_job, ...)`), so a slow or
failing mail server never holds up a page, and retries happen in the worker.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import sys
import time
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app
from redis import Redis
from rq import Retry

from truss.config import LOCAL
from truss.extensions import get_redis
from truss.queue import enqueue

OUTBOX_KEY = "truss:dev:outbox"
OUTBOX_SIZE = 50
OUTBOX_TTL_S = 24 * 3600
SMTP_TIMEOUT_S = 20


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    sent_at: int = 0


class MailNotConfigured(RuntimeError):
    """Production without TRUSS_SMTP_URL: mail cannot leave this machine."""


def queue_email(to: str, subject: str, text: str) -> None:
    """Hand a message to the worker (inline when RQ_ASYNC is off, as in unit tests)."""
    enqueue(
        "default",
        send_email_job,
        to,
        subject,
        text,
        job_timeout=60,
        result_ttl=0,
        failure_ttl=24 * 3600,
        retry=Retry(max=3, interval=[10, 60, 300]),
    )


def send_email_job(to: str, subject: str, text: str) -> None:
    """The RQ job: deliver one plain-text message (in the app's context, like every job:
    `truss worker` runs them)."""
    settings = current_app.config
    mail = Mail(to=to, subject=subject, text=text, sent_at=int(time.time()))
    if settings.get("SMTP_URL"):
        send_smtp(settings["SMTP_URL"], settings["MAIL_FROM"], mail)
    elif settings.get("TRUSS_ENV") == LOCAL:
        print_to_console(mail)
        push_to_outbox(get_redis(), mail)
    else:
        raise MailNotConfigured("TRUSS_SMTP_URL is not set: set it to smtp(s)://user:pass@host")


def send_smtp(url: str, sender: str, mail: Mail) -> None:
    """smtps://user:pass@host:465 uses TLS from the start; smtp:// upgrades with STARTTLS."""
    parts = urlsplit(url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, mail.to, mail.subject
    message.set_content(mail.text)
    context = ssl.create_default_context()
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=SMTP_TIMEOUT_S, context=context
        )
    else:
        server = smtplib.SMTP(host, parts.port or 587, timeout=SMTP_TIMEOUT_S)
    with server:
        server.ehlo()
        if parts.scheme != "smtps":
            if not server.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError(
                    "The mail server does not offer STARTTLS; refusing to send sign-in links "
                    "in clear text. Use an smtps:// TRUSS_SMTP_URL or a server with STARTTLS."
                )
            server.starttls(context=context)
            server.ehlo()
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
        server.send_message(message)


def print_to_console(mail: Mail) -> None:
    rule = "-" * 60
    print(f"{rule}\nTo: {mail.to}\nSubject: {mail.subject}\n\n{mail.text}\n{rule}", file=sys.stderr)


def push_to_outbox(redis: Redis, mail: Mail) -> None:
    """Newest first, capped, forgotten after a day: only the local stack's outbox page reads it."""
    pipe = redis.pipeline()
    pipe.lpush(OUTBOX_KEY, json.dumps(asdict(mail)))
    pipe.ltrim(OUTBOX_KEY, 0, OUTBOX_SIZE - 1)
    pipe.expire(OUTBOX_KEY, OUTBOX_TTL_S)
    pipe.execute()


def read_outbox(redis: Redis, limit: int = OUTBOX_SIZE) -> list[Mail]:
    raw = redis.lrange(OUTBOX_KEY, 0, limit - 1)
    return [Mail(**json.loads(entry)) for entry in raw]
