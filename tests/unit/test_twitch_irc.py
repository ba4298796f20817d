"""Twitch IRC: tag parsing, and the client against a fake server speaking real IRC over TCP."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.fake_twitch_irc import FakeTwitchIrc
from tests.support.waits import wait_until
from truss.streams.model import ChatMessage
from truss.streams.twitch_irc import (
    MAX_LINE_BUFFER,
    IrcSettings,
    TwitchChatClient,
    _Connection,
    chat_message,
    emote_names,
    parse_line,
)

STARTED = 1_700_000_000.0


def test_privmsg_tags_become_a_chat_message() -> None:
    line = parse_line(
        "@badge-info=;badges=;display-name=Some\\sOne;emotes=25:0-4,12-16/1902:6-10;"
        "id=b34ccfc7-4977-403a-8a94-33c6bac34fb8;tmi-sent-ts=1700000012345;user-id=1337 "
        ":someone!someone@someone.tmi.twitch.tv PRIVMSG #chan :Kappa Keepo Kappa"
    )
    message = chat_message(line, STARTED)
    assert message == ChatMessage(
        id="b34ccfc7-4977-403a-8a94-33c6bac34fb8",
        offset_s=12.345,
        author_id="1337",
        author="Some One",
        text="Kappa Keepo Kappa",
        emotes=("Kappa", "Keepo", "Kappa"),
    )


def test_emote_positions_count_characters_not_bytes() -> None:
    assert emote_names("héé KEKW", "e1:4-7") == ("KEKW",)
    assert emote_names("short", "e1:3-40") == ()  # out of range: ignored, not a crash


def test_lines_that_are_not_chat_give_no_message() -> None:
    assert chat_message(parse_line("PING :tmi.twitch.tv"), STARTED) is None
    assert parse_line(":tmi.twitch.tv RECONNECT").command == "RECONNECT"


@pytest.fixture
def server() -> Iterator[FakeTwitchIrc]:
    with FakeTwitchIrc() as fake:
        yield fake


class Captured:
    def __init__(self) -> None:
        self.messages: list[ChatMessage] = []
        self.gaps: list[tuple[float, float]] = []
        self.lock = threading.Lock()

    def add(self, batch: list[ChatMessage]) -> None:
        with self.lock:
            self.messages.extend(batch)

    def ids(self) -> set[str]:
        with self.lock:
            return {m.id for m in self.messages}


@pytest.fixture
def client(server: FakeTwitchIrc) -> Iterator[tuple[TwitchChatClient, Captured]]:
    got = Captured()
    settings = IrcSettings(host="127.0.0.1", port=server.port, tls=False, backoff_initial_s=0.05)
    chat = TwitchChatClient(
        "Streamer", STARTED, got.add, lambda a, b: got.gaps.append((a, b)), settings
    )
    thread = threading.Thread(target=chat.run, daemon=True)
    thread.start()
    assert server.wait_joined("streamer")
    yield chat, got
    chat.stop()
    thread.join(timeout=5)


def test_reads_the_channel_and_answers_ping(
    server: FakeTwitchIrc, client: tuple[TwitchChatClient, Captured]
) -> None:
    _, got = client
    server.say("streamer", "hello KEKW", user="Alice", user_id="42", message_id="m1")
    server.ping()
    wait_until(lambda: got.ids() == {"m1"} and server.pongs != [], poll_s=0.01)
    assert got.messages[0].author == "Alice"
    assert got.messages[0].emotes == ("KEKW",)
    assert server.pongs == [":tmi.twitch.tv"]


def test_reconnect_joins_the_new_connection_before_leaving_the_old(
    server: FakeTwitchIrc, client: tuple[TwitchChatClient, Captured]
) -> None:
    chat, got = client
    sent = [f"a{i}" for i in range(50)]
    for message_id in sent:
        assert server.say("streamer", "pog", message_id=message_id) >= 1
    wait_until(lambda: got.ids() >= set(sent), poll_s=0.01)
    old = server.open_clients()
    server.reconnect(grace_s=30)
    n = 0
    while set(old) & set(server.open_clients()):  # until the client has closed the old one
        message_id = f"b{n}"
        assert server.say("streamer", "during", message_id=message_id) >= 1, "nobody in channel"
        sent.append(message_id)
        n += 1
        time.sleep(0.002)
    for i in range(50):
        assert server.say("streamer", "after", message_id=f"c{i}") == 1
        sent.append(f"c{i}")
    wait_until(lambda: got.ids() >= set(sent), poll_s=0.01)
    assert got.ids() == set(sent)
    assert got.gaps == []
    assert chat.connections == 2


def test_a_dropped_connection_is_reconnected_and_the_gap_recorded(
    server: FakeTwitchIrc, client: tuple[TwitchChatClient, Captured]
) -> None:
    chat, got = client
    for i in range(20):
        server.say("streamer", "before", message_id=f"a{i}")
    wait_until(lambda: len(got.ids()) == 20, poll_s=0.01)
    server.drop_all()
    lost = server.say("streamer", "nobody hears this", message_id="lost")
    assert server.wait_joined("streamer")
    for i in range(20):
        server.say("streamer", "after", message_id=f"c{i}")
    wait_until(lambda: len(got.ids()) == 40 and len(got.gaps) == 1, poll_s=0.01)
    if lost == 0:  # sent before the client was back: nobody heard it
        assert "lost" not in got.ids()
    ((start, end),) = got.gaps
    assert start <= end
    assert chat.connections == 2
    assert len(got.messages) == 40  # nothing delivered twice


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake tmi")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_reads_chat_over_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    got = Captured()
    with FakeTwitchIrc(tls=context) as server:
        settings = IrcSettings(host="127.0.0.1", port=server.port, tls=True, ca_file=str(cert))
        chat = TwitchChatClient("streamer", STARTED, got.add, lambda a, b: None, settings)
        thread = threading.Thread(target=chat.run, daemon=True)
        thread.start()
        assert server.wait_joined("streamer")
        sent = {f"t{i}" for i in range(500)}
        for message_id in sorted(sent):
            server.say("streamer", "over TLS", message_id=message_id)
        wait_until(lambda: got.ids() == sent, poll_s=0.01)
        chat.stop()
        thread.join(timeout=5)
    assert got.messages[0].text == "over TLS"


def send_raw(server: FakeTwitchIrc, data: str) -> None:
    for connection in server._snapshot():
        connection.send(data)


def privmsg(message_id: str, sent_ts: str, emotes: str = "") -> str:
    return (
        f"@emotes={emotes};id={message_id};tmi-sent-ts={sent_ts};user-id=7 "
        f":x!x@x.tmi.twitch.tv PRIVMSG #streamer :Kappa hello"
    )


def test_hostile_tag_values_give_a_message_not_a_crash() -> None:
    for sent_ts in ("²", "9" * 5000, "١٢٣", "-5", ""):
        message = chat_message(parse_line(privmsg("m", sent_ts)), STARTED)
        assert message is not None and message.text == "Kappa hello"
    assert emote_names("Kappa hello", "25:0-4") == ("Kappa",)
    for hostile in ("25:²-4", "25:0-" + "9" * 5000, "25:0-٤", "25:" + "9" * 5000 + "-4"):
        assert emote_names("Kappa hello", hostile) == ()


def test_a_hostile_line_is_skipped_and_capture_goes_on(
    server: FakeTwitchIrc, client: tuple[TwitchChatClient, Captured]
) -> None:
    _, got = client
    send_raw(server, privmsg("odd1", "²"))
    send_raw(server, privmsg("odd2", "9" * 5000, emotes="25:0-" + "9" * 5000))
    server.say("streamer", "still here", message_id="after")
    wait_until(lambda: "after" in got.ids(), poll_s=0.01)
    assert got.ids() == {"odd1", "odd2", "after"}
    assert got.gaps == []


def test_a_line_longer_than_the_buffer_cap_drops_the_connection_with_a_gap(
    server: FakeTwitchIrc, client: tuple[TwitchChatClient, Captured]
) -> None:
    chat, got = client
    send_raw(server, "@" + "a" * (4 * MAX_LINE_BUFFER))  # no CRLF until far past the cap
    wait_until(lambda: chat.connections == 2 and len(got.gaps) == 1, poll_s=0.01)
    assert server.wait_joined("streamer")
    server.say("streamer", "back", message_id="back")
    wait_until(lambda: "back" in got.ids(), poll_s=0.01)


def test_lines_split_across_reads_are_joined() -> None:
    left, right = socket.socketpair()
    conn = _Connection(left)
    left.setblocking(False)
    right.sendall(b"PING :a\r")
    assert conn.read_lines() == []
    right.sendall(b"\nPING :b\r\nPI")
    assert conn.read_lines() == ["PING :a", "PING :b"]
    right.sendall(b"NG :c\r\n")
    assert conn.read_lines() == ["PING :c"]
    left.close(), right.close()
