"""A fake Twitch chat server: real IRC over TCP on localhost (tests, `truss fake-twitch`, which
the CLI offers only where the `local` extra is installed).

It answers CAP REQ, NICK and JOIN like tmi.twitch.tv, sends PRIVMSGs with IRCv3 tags to every
connection joined to a channel, and can be scripted: PING (and records the PONGs), RECONNECT
(the old connections stay open until the client closes them or `grace_s` runs out), dropping
every connection, and replaying a chat log as a live channel at real speed. TLS is optional
(pass a server-side `ssl.SSLContext`).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterable

import click

from truss.streams.model import ChatMessage


def _escape_tag(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\:")
        .replace(" ", "\\s")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )


def emotes_tag(text: str, emote_ids: dict[str, str]) -> str:
    """The `emotes` tag Twitch would send for the words of `text` that are known emotes."""
    spans: dict[str, list[str]] = {}
    position = 0
    for word in text.split(" "):
        if word in emote_ids:
            spans.setdefault(emote_ids[word], []).append(f"{position}-{position + len(word) - 1}")
        position += len(word) + 1
    return "/".join(f"{eid}:{','.join(ranges)}" for eid, ranges in spans.items())


DEFAULT_EMOTES = {"Kappa": "25", "PogChamp": "88", "LUL": "425618", "KEKW": "e1", "OMEGALUL": "e2"}


class _Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.nick = ""
        self.channels: set[str] = set()
        self.lock = threading.Lock()
        self.closed = False

    def send(self, line: str) -> bool:
        with self.lock:
            if self.closed:
                return False
            try:
                self.sock.sendall(line.encode() + b"\r\n")
                return True
            except OSError:
                self.closed = True
                return False

    def close(self) -> None:
        with self.lock:
            self.closed = True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()


class FakeTwitchIrc:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self.tls = tls
        self.clients: list[_Client] = []
        self.pongs: list[str] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._running = False
        self._joined = threading.Condition(self._lock)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeTwitchIrc:
        self._running = True
        threading.Thread(target=self._accept_loop, daemon=True, name="fake-irc").start()
        return self

    def stop(self) -> None:
        self._running = False
        self._listener.close()
        for client in self._snapshot():
            client.close()

    def __enter__(self) -> FakeTwitchIrc:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _snapshot(self) -> list[_Client]:
        with self._lock:
            return [c for c in self.clients if not c.closed]

    def _accept_loop(self) -> None:
        while self._running:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True)
                except (OSError, ssl.SSLError):
                    continue
            client = _Client(sock)
            with self._lock:
                self.clients.append(client)
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: _Client) -> None:
        buffer = b""
        while True:
            try:
                chunk = client.sock.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\r\n")
            for line in lines:
                self._command(client, line.decode("utf-8", "replace"))
        with self._lock:
            client.closed = True
            self._joined.notify_all()

    def _command(self, client: _Client, line: str) -> None:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "CAP":
            client.send(f":tmi.twitch.tv CAP * ACK :{rest.partition(':')[2]}")
        elif word == "NICK":
            client.nick = rest.strip()
            for code, text in (("001", "Welcome, GLHF!"), ("376", ">")):
                client.send(f":tmi.twitch.tv {code} {client.nick} :{text}")
        elif word == "JOIN":
            for channel in rest.strip().split(","):
                with self._lock:  # in the channel before the client hears it is
                    client.channels.add(channel.lower())
                    self._joined.notify_all()
                nick = client.nick
                client.send(f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN {channel}")
                client.send(f":{nick}.tmi.twitch.tv 353 {nick} = {channel} :{nick}")
                client.send(f":{nick}.tmi.twitch.tv 366 {nick} {channel} :End of /NAMES list")
        elif word == "PONG":
            self.pongs.append(rest)
        elif word == "PART":
            with self._lock:
                client.channels.discard(rest.strip().lower())

    # --- scripting -------------------------------------------------------------------------
    def open_clients(self) -> list[object]:
        """The connections open now (compare before/after a RECONNECT)."""
        return list(self._snapshot())

    def joined(self, channel: str) -> int:
        """How many open connections are in the channel."""
        channel = "#" + channel.lower().lstrip("#")
        return sum(1 for c in self._snapshot() if channel in c.channels)

    def wait_joined(self, channel: str, count: int = 1, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._joined:
            while self.joined_locked(channel) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._joined.wait(left)
        return True

    def joined_locked(self, channel: str) -> int:
        channel = "#" + channel.lower().lstrip("#")
        return sum(1 for c in self.clients if not c.closed and channel in c.channels)

    def say(
        self,
        channel: str,
        text: str,
        user: str = "viewer",
        user_id: str = "",
        message_id: str | None = None,
        sent_ms: int | None = None,
        emote_ids: dict[str, str] | None = None,
        to: Iterable[object] | None = None,
    ) -> int:
        """A chat line to every connection in the channel (or only those of `to`, from
        `open_clients()`); returns how many got it."""
        channel = "#" + channel.lower().lstrip("#")
        tags = {
            "badge-info": "",
            "badges": "",
            "display-name": user,
            "emotes": emotes_tag(text, DEFAULT_EMOTES if emote_ids is None else emote_ids),
            "first-msg": "0",
            "id": message_id or str(uuid.uuid4()),
            "room-id": "1",
            "tmi-sent-ts": str(sent_ms if sent_ms is not None else int(time.time() * 1000)),
            "user-id": user_id or str(abs(hash(user)) % 10**8),
        }
        raw = ";".join(f"{k}={_escape_tag(v)}" for k, v in tags.items())
        login = user.lower()
        line = f"@{raw} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG {channel} :{text}"
        targets = self._snapshot() if to is None else [c for c in self._snapshot() if c in to]
        return sum(c.send(line) for c in targets if channel in c.channels)

    def ping(self) -> None:
        for client in self._snapshot():
            client.send("PING :tmi.twitch.tv")

    def reconnect(self, grace_s: float = 30.0) -> None:
        """RECONNECT to every connection; the server closes them itself after `grace_s`."""
        clients = self._snapshot()
        for client in clients:
            client.send(":tmi.twitch.tv RECONNECT")
        timer = threading.Timer(grace_s, self._close_all, args=(clients,))
        timer.daemon = True
        timer.start()

    @staticmethod
    def _close_all(clients: list[_Client]) -> None:
        for client in clients:
            client.close()

    def drop_all(self) -> None:
        """Cut every connection with no goodbye (a network failure)."""
        for client in self._snapshot():
            client.close()

    def replay(
        self, channel: str, messages: Iterable[ChatMessage], speed: float = 1.0, loop: bool = False
    ) -> threading.Thread:
        """Play a chat log into the channel at its own pace (offset_s), as if live."""
        log = sorted(messages, key=lambda m: m.offset_s)

        def play() -> None:
            while self._running:
                begin = time.monotonic()
                for message in log:
                    wait = message.offset_s / speed - (time.monotonic() - begin)
                    if wait > 0:
                        time.sleep(wait)
                    if not self._running:
                        return
                    self.say(channel, message.text, user=message.author, user_id=message.author_id)
                if not loop:
                    return

        thread = threading.Thread(target=play, daemon=True, name="fake-irc-replay")
        thread.start()
        return thread


DEMO_BURST_S = 90
BURST_LENGTH_S = 6


def demo_trace(
    minutes: int = 10, seed: int = 1, burst_every_s: int = DEMO_BURST_S
) -> list[ChatMessage]:
    """A chat log for the local stack: a few messages a second, and every `burst_every_s`
    seconds (90: about one a minute and a half) a 6-second burst of laughter or hype from many
    chatters (a spike the listener should find), two thirds into each period."""
    period = max(burst_every_s, 3 * BURST_LENGTH_S)
    burst_start = period * 2 // 3
    import random

    rng = random.Random(seed)
    talk = ["hi", "gg", "what is this build", "lol ok", "true", "LUL", "nice", "Kappa", "o7"]
    bursts = [
        ["KEKW", "KEKW KEKW", "OMEGALUL", "LMAO"],
        ["PogChamp", "POGGERS", "clip it", "no way"],
    ]
    log = []
    for second in range(minutes * 60):
        burst = second % period in range(burst_start, burst_start + BURST_LENGTH_S)
        kind = bursts[(second // period) % 2]
        for n in range(rng.randint(25, 45) if burst else rng.randint(0, 4)):
            author = f"viewer{rng.randint(1, 600)}"
            text = rng.choice(kind if burst else talk)
            log.append(ChatMessage(f"{second}-{n}", second + rng.random(), author, author, text))
    return log


def read_log(path: str) -> list[ChatMessage]:
    """A chat log as JSON lines of the listener's archive format (gzip or plain)."""
    import gzip
    import json

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [
            ChatMessage(
                str(d["id"]), float(d["offset_s"]), str(d["author_id"]), str(d["author"]), d["text"]
            )
            for d in map(json.loads, lines)
            if d
        ]


@click.command("fake-twitch")
@click.option("--port", default=6667, show_default=True, help="Plain-text IRC on 127.0.0.1.")
@click.option("--channel", default="truss_demo", show_default=True)
@click.option("--log", "log_path", default="", help="JSON lines (a stream's chat archive).")
@click.option("--speed", default=1.0, show_default=True)
@click.option(
    "--burst-every",
    default=DEMO_BURST_S,
    show_default=True,
    help="Seconds between the generated chat's bursts (without --log).",
)
def fake_twitch_command(
    port: int, channel: str, log_path: str, speed: float, burst_every: int
) -> None:
    """A fake Twitch chat replaying a chat log as a live channel, for the local stack: start a
    Twitch stream on CHANNEL and run `truss chat` with TWITCH_IRC_HOST=127.0.0.1,
    TWITCH_IRC_PORT=PORT, TWITCH_IRC_TLS=false."""
    server = FakeTwitchIrc(port=port).start()
    log = read_log(log_path) if log_path else demo_trace(burst_every_s=burst_every)
    server.replay(channel, log, speed=speed, loop=True)
    click.echo(f"fake Twitch chat on 127.0.0.1:{server.port}, #{channel}: {len(log)} messages")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop()
