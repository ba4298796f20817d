"""The mail job: the outbox locally, SMTP when configured, a clear error otherwise."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest
from flask import Flask

from tests.support.app import make_app
from truss.mail import MailNotConfigured, read_outbox, send_email_job


def test_local_mail_goes_to_the_capped_outbox(app: Flask, redis: Any) -> None:
    with app.app_context():
        for i in range(60):
            send_email_job(f"u{i}@example.com", "Hi", "Body")
    mails = read_outbox(redis)
    assert len(mails) == 50
    assert mails[0].to == "u59@example.com"


def test_production_without_smtp_refuses_to_pretend(aws: None, redis: Any) -> None:
    app = make_app(redis, TRUSS_ENV="production")
    with app.app_context(), pytest.raises(MailNotConfigured):
        send_email_job("a@example.com", "Hi", "Body")
    assert read_outbox(redis) == []


def fake_smtp(sent: list[Any], offers_tls: bool) -> type:
    class FakeSMTP:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            sent.append((host, port))

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *args: object) -> None:
            pass

        def ehlo(self) -> None:
            pass

        def has_extn(self, name: str) -> bool:
            return offers_tls and name == "starttls"

        def starttls(self, context: Any) -> None:
            sent.append("tls")

        def login(self, user: str, password: str) -> None:
            sent.append((user, password))

        def send_message(self, message: Any) -> None:
            sent.append(message["To"])

    return FakeSMTP


def smtp_app(redis: Any) -> Any:
    return make_app(
        redis, TRUSS_ENV="production", SMTP_URL="smtp://me%40x.com:p%40ss@127.0.0.1:2525"
    )


def test_smtp_url_is_used_when_set(aws: None, redis: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(smtplib, "SMTP", fake_smtp(sent, offers_tls=True))
    with smtp_app(redis).app_context():
        send_email_job("a@example.com", "Hi", "Body")
    assert sent == [("127.0.0.1", 2525), "tls", ("me@x.com", "p@ss"), "a@example.com"]
    assert read_outbox(redis) == []


def test_a_server_without_starttls_gets_no_password_and_no_link(
    aws: None, redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(smtplib, "SMTP", fake_smtp(sent, offers_tls=False))
    with smtp_app(redis).app_context(), pytest.raises(smtplib.SMTPNotSupportedError):
        send_email_job("a@example.com", "Hi", "Body")
    assert sent == [("127.0.0.1", 2525)]
