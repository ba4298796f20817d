"""Twitch chat over IRC: IRCv3 line parsing and an anonymous read-only client.

The client logs in as `justinfan<n>` (no token), asks for tags and commands, joins one
channel and hands every chat line to a callback as a `ChatMessage`. It answers PING, and on
RECONNECT it opens and joins the new connection, then keeps reading the old one for a short
overlap before closing it (IRC never replays missed lines, and the two connections aren't ordered
with each other; lines seen on both are de-duplicated by the listener on the tag `id`). A hard drop
is reconnected with backoff and reported as a gap (epoch seconds from/to).
"""

from __future__ import annotations

import contextlib
import logging
import random
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from truss.streams.model import ChatMessage

log = logging.getLogger(__name__)

MAX_LINE_BUFFER = 64 * 1024  # an unfinished line longer than this: the connection is dropped
MAX_TAG_DIGITS = 15  # tmi-sent-ts is 13 digits (ms); emote positions far fewer
_TAG_ESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


@dataclass(frozen=True)
class IrcLine:
    command: str
    params: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    prefix: str = ""

    @property
    def trailing(self) -> str:
        return self.params[-1] if self.params else ""


def unescape_tag(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            out.append(_TAG_ESCAPES.get(value[i + 1], value[i + 1]))
            i += 2
            continue
        if char != "\\":  # a lone trailing backslash is dropped (IRCv3)
            out.append(char)
        i += 1
    return "".join(out)


def _parse_tags(raw: str) -> dict[str, str]:
    tags = {}
    for item in raw.split(";"):
        if item:
            key, _, value = item.partition("=")
            tags[key] = unescape_tag(value)
    return tags


def parse_line(line: str) -> IrcLine:
    """One IRC line (without CRLF): `@tags :prefix COMMAND params :trailing`."""
    rest = line.rstrip("\r\n")
    tags: dict[str, str] = {}
    prefix = ""
    if rest.startswith("@"):
        raw, _, rest = rest[1:].partition(" ")
        tags = _parse_tags(raw)
    rest = rest.lstrip(" ")
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
    head, sep, trailing = rest.partition(" :")
    words = head.split()
    command = words[0].upper() if words else ""
    params = [*words[1:], trailing] if sep else words[1:]
    return IrcLine(command=command, params=tuple(params), tags=tags, prefix=prefix)


def tag_int(value: str, max_digits: int = MAX_TAG_DIGITS) -> int | None:
    """A tag's non-negative integer (ASCII digits only, at most `max_digits`); None otherwise."""
    if value.isascii() and value.isdecimal() and len(value) <= max_digits:
        return int(value)
    return None


def emote_names(text: str, emotes_tag: str) -> tuple[str, ...]:
    """`emotes=25:0-4,12-16/1902:6-10` → the emote names cut from the text, in text order.

    Positions count characters (code points), which is how Python indexes a str."""
    found: list[tuple[int, str]] = []
    for group in emotes_tag.split("/"):
        _, _, ranges = group.partition(":")
        for span in ranges.split(","):
            first, _, last = span.partition("-")
            start, end = tag_int(first, 7), tag_int(last, 7)
            if start is not None and end is not None and start <= end < len(text):
                found.append((start, text[start : end + 1]))
    return tuple(name for _, name in sorted(found))


def chat_message(line: IrcLine, started_at: float) -> ChatMessage | None:
    """A PRIVMSG as a ChatMessage (offset from `started_at`, epoch seconds); None otherwise."""
    if line.command != "PRIVMSG" or not line.tags.get("id"):
        return None
    text = line.trailing
    if text.startswith("\x01ACTION ") and text.endswith("\x01"):
        text = text[8:-1]  # /me
    sent_ms = tag_int(line.tags.get("tmi-sent-ts", ""))
    sent = sent_ms / 1000 if sent_ms is not None else time.time()
    login = line.prefix.partition("!")[0]
    return ChatMessage(
        id=line.tags["id"],
        offset_s=round(sent - started_at, 3),
        author_id=line.tags.get("user-id", "") or login,
        author=line.tags.get("display-name", "") or login,
        text=text,
        emotes=emote_names(text, line.tags.get("emotes", "")),
    )


class _Connection:
    """One IRC connection: line framing over a (TLS) socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.joined = False

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def read_lines(self) -> list[str] | None:
        """The complete lines available now; None once the peer has closed, or sent an
        unfinished line longer than MAX_LINE_BUFFER (the caller drops the connection)."""
        try:
            chunk = self.sock.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError):
            return []
        except OSError:
            return None
        if not chunk:
            return None
        while isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            chunk += self.sock.recv(self.sock.pending())  # decrypted already: select won't wake
        searched = max(len(self.buffer) - 1, 0)  # a CR at the end may meet its LF now
        self.buffer += chunk
        end = self.buffer.rfind(b"\r\n", searched)
        lines: list[bytes] = []
        if end >= 0:
            lines = bytes(self.buffer[:end]).split(b"\r\n")
            del self.buffer[: end + 2]
        if len(self.buffer) > MAX_LINE_BUFFER:
            log.warning("IRC line longer than %d bytes: dropping the connection", MAX_LINE_BUFFER)
            return None
        return [line.decode("utf-8", "replace") for line in lines]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass(frozen=True)
class IrcSettings:
    host: str = "irc.chat.twitch.tv"
    port: int = 6697
    tls: bool = True
    connect_timeout_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    idle_timeout_s: float = 360.0  # Twitch PINGs about every 5 minutes: silence longer = dead
    overlap_s: float = 2.0  # after a RECONNECT, keep reading the old connection this long
    ca_file: str = ""  # trust only this CA (a private or fake server); else the system CAs


class TwitchChatClient:
    """Reads one channel until `stop()`; `on_messages(batch)` and `on_gap(from, to)` callbacks."""

    def __init__(
        self,
        channel: str,
        started_at: float,
        on_messages: Callable[[list[ChatMessage]], None],
        on_gap: Callable[[float, float], None],
        settings: IrcSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.channel = "#" + channel.lower().lstrip("#")
        self.started_at = started_at
        self.on_messages = on_messages
        self.on_gap = on_gap
        self.settings = settings or IrcSettings()
        self.clock = clock
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self.connections = 0  # connections opened (for tests and logs)
        self._delay = 0.0  # before the next connection attempt; 0 once a connection joined

    def stop(self) -> None:
        self._stop.set()

    def _open(self) -> _Connection:
        s = self.settings
        sock = socket.create_connection((s.host, s.port), timeout=s.connect_timeout_s)
        if s.tls:
            context = ssl.create_default_context(cafile=s.ca_file or None)
            sock = context.wrap_socket(sock, server_hostname=s.host)
        sock.setblocking(False)
        conn = _Connection(sock)
        conn.send("CAP REQ :twitch.tv/tags twitch.tv/commands")
        conn.send("PASS SCHMOOPIIE")
        conn.send(f"NICK justinfan{random.randint(10000, 99999)}")
        conn.send(f"JOIN {self.channel}")
        self._selector.register(sock, selectors.EVENT_READ, conn)
        self.connections += 1
        return conn

    def _close(self, conn: _Connection) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        conn.close()

    def _connect_with_backoff(self) -> _Connection | None:
        """A new connection; waits first (doubling, with jitter) unless the last one joined, so
        a server that accepts and hangs up at once isn't hammered."""
        while not self._stop.is_set():
            if self._delay:
                self._stop.wait(self._delay * (0.5 + random.random() / 2))
            self._delay = min(
                max(self._delay * 2, self.settings.backoff_initial_s), self.settings.backoff_max_s
            )
            try:
                return self._open()
            except OSError:
                continue
        return None

    def run(self) -> None:
        """Blocks until stop(); reconnects on its own."""
        current = self._connect_with_backoff()
        pending: _Connection | None = None  # the RECONNECT's new connection, not joined yet
        retiring: _Connection | None = None  # the connection a RECONNECT replaced, still read
        retire_at = 0.0
        gap_from: float | None = None
        last_heard = self.clock()
        while current is not None and not self._stop.is_set():
            events = self._selector.select(timeout=0.2)
            for key, _ in events:
                conn: _Connection = key.data
                lines = conn.read_lines()
                if lines is None:  # this connection is gone
                    self._close(conn)
                    if conn is retiring:
                        retiring = None
                    elif conn is pending:
                        pending = None
                    elif conn is current:
                        current, pending = pending, None
                        if current is None or not current.joined:
                            gap_from = self.clock() if gap_from is None else gap_from
                    continue
                last_heard = self.clock()
                reconnect = self._hand_on(conn, lines)
                if reconnect and conn is current and pending is None:
                    pending = self._connect_with_backoff()
                if pending is not None and pending.joined and current is not None:
                    # The new one is in the channel. The old one may still hold lines sent before
                    # the join (the server's connections aren't ordered with each other), so it
                    # is read for a little longer; lines heard on both are de-duplicated by id.
                    if retiring is not None:  # a second RECONNECT within the overlap
                        self._retire(retiring)
                    retiring, current, pending = current, pending, None
                    retire_at = self.clock() + self.settings.overlap_s
            if retiring is not None and self.clock() >= retire_at:
                self._retire(retiring)
                retiring = None
            if current is not None and self.clock() - last_heard > self.settings.idle_timeout_s:
                self._close(current)
                current = None
            if current is None and not self._stop.is_set():
                gap_from = self.clock() if gap_from is None else gap_from
                current = self._connect_with_backoff()
                last_heard = self.clock()
            if gap_from is not None and current is not None and current.joined:
                self.on_gap(gap_from, self.clock())
                gap_from = None
        for leftover in (current, pending, retiring):
            if leftover is not None:
                self._close(leftover)

    def _hand_on(self, conn: _Connection, lines: list[str]) -> bool:
        """Handle a connection's lines and pass their chat on; True when asked to reconnect."""
        batch: list[ChatMessage] = []
        reconnect = False
        for raw in lines:
            try:
                reconnect = self._handle(conn, parse_line(raw), batch) or reconnect
            except Exception:  # one odd line must not end the capture
                log.exception("skipped an IRC line that could not be read: %.200r", raw)
        if batch:
            self.on_messages(batch)
        return reconnect

    def _retire(self, conn: _Connection) -> None:
        """Hand on what the replaced connection still holds, then close it."""
        while lines := conn.read_lines():
            self._hand_on(conn, lines)
        self._close(conn)

    def _handle(self, conn: _Connection, line: IrcLine, batch: list[ChatMessage]) -> bool:
        """Handle one line; True when the server asks us to reconnect."""
        if line.command == "PING":
            conn.send(f"PONG :{line.trailing}")
        elif line.command == "RECONNECT":
            return True
        elif line.command in {"JOIN", "366", "ROOMSTATE"}:
            conn.joined = True
            self._delay = 0.0
        elif line.command == "PRIVMSG":
            message = chat_message(line, self.started_at)
            if message is not None:
                batch.append(message)
        return False
