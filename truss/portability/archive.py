"""The archive: one ZIP file (stored, not compressed) written straight into an S3 multipart
upload, and read back with ranged GETs.

Layout (README, "Your data: the archive"):

    items.jsonl        line 1: {"schema_version", "creator_id", "export_id"};
                       then one item a line in DynamoDB JSON ({"PK": {"S": ...}, ...})
    clips/<title>-<id>.mp4      each clip's current render (an ordinary MP4)
    sources/<title>-<id>.<ext>  the uploaded videos, when the creator ticked it
    files/<path>                every other file of the creator (thumbnails, posters, chat)
    manifest.json      written last: schema version, creator id, export id, created, and per
                       file its path, size, sha256 and the S3 key it came from

Memory while writing: one part buffer (PART_BYTES, 8 MiB) + one read chunk (CHUNK_BYTES,
1 MiB) + the manifest's entries (~200 bytes a file); no disk at all.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from truss.storage import ObjectChanged, Storage, UploadedPart

SCHEMA_VERSION = 1
FORMAT = "truss-export"
MANIFEST = "manifest.json"
ITEMS = "items.jsonl"
PART_BYTES = 8 * 1024**2
CHUNK_BYTES = 1024**2
READ_AHEAD_BYTES = 8 * 1024**2


class ArchiveRefused(ValueError):
    """The archive can't be imported; the message says what is wrong and what to do."""


ARCHIVE_CHANGED = (
    "The archive in storage was replaced while it was being imported: the import stopped. "
    "Upload the export again (and only once)."
)


@dataclass
class Entry:
    path: str
    size: int
    sha256: str
    key: str = ""  # the S3 key under creators/<cid>/ it came from ("" for items.jsonl)
    kind: str = "file"  # items, clip, source or file


@dataclass
class Manifest:
    creator_id: str
    export_id: str
    created_at: str
    include_sources: bool
    files: list[Entry] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    format: str = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ArchiveRefused("This file is not a Truss export (its manifest says so).")
            version = int(data["schema_version"])
            if version > SCHEMA_VERSION:
                raise ArchiveRefused(
                    f"This archive was written by a newer Truss (schema version {version}; this "
                    f"one reads up to {SCHEMA_VERSION}). Update Truss, then import it again."
                )
            files = [Entry(**entry) for entry in data["files"]]
            return cls(
                creator_id=str(data["creator_id"]),
                export_id=str(data["export_id"]),
                created_at=str(data["created_at"]),
                include_sources=bool(data.get("include_sources")),
                files=files,
                schema_version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ArchiveRefused):
                raise
            raise ArchiveRefused(f"The archive's manifest.json is damaged ({exc}).") from exc


SAFE = re.compile(r"[^\w. -]+")  # letters of any script, digits, _ . - and spaces


def safe_name(title: str, item_id: str, suffix: str, id_chars: int = 6) -> str:
    """`<title>-<last 6 of the id>.<suffix>`: readable, safe on any file system (no slashes,
    colons, quotes or control characters; UTF-8 names in the ZIP)."""
    stem = re.sub(r"\s+", "-", SAFE.sub("", title).strip())[:60].strip(".-_") or "untitled"
    return f"{stem}-{item_id[-id_chars:].lower()}{suffix}"


class PartWriter(io.RawIOBase):
    """A write-only, unseekable file whose bytes go to one S3 multipart upload, part by part
    as each PART_BYTES fills. Memory holds one part, in one buffer reused for every part."""

    def __init__(self, storage: Storage, key: str, upload_id: str) -> None:
        self.storage, self.key, self.upload_id = storage, key, upload_id
        self.buffer = bytearray(PART_BYTES)
        self.filled = 0
        self.parts: list[UploadedPart] = []
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            n = min(len(view), PART_BYTES - self.filled)
            self.buffer[self.filled : self.filled + n] = view[:n]
            self.filled += n
            view = view[n:]
            if self.filled == PART_BYTES:
                self._send(self.buffer)
                self.filled = 0
        self.written += size
        return size

    def tell(self) -> int:
        return self.written

    def seekable(self) -> bool:
        return False

    def _send(self, body: bytes | bytearray) -> None:
        number = len(self.parts) + 1
        self.parts.append(self.storage.upload_part(self.key, self.upload_id, number, body))

    def finish(self) -> None:
        """Send what is left (S3 takes a short last part) and join the parts."""
        if self.filled or not self.parts:
            self._send(bytes(self.buffer[: self.filled]))
            self.filled = 0
        self.storage.complete_multipart_upload(self.key, self.upload_id, self.parts)


class ArchiveWriter:
    """Adds members to a ZIP on a PartWriter, hashing each as it streams; the manifest last."""

    def __init__(self, out: PartWriter, manifest: Manifest) -> None:
        self.out = out
        self.manifest = manifest
        self.zip = zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)

    def add(
        self, path: str, chunks: Iterator[bytes], size: int | None, key: str, kind: str
    ) -> Entry:
        info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        if size is not None:
            info.file_size = size
        digest, written = hashlib.sha256(), 0
        with self.zip.open(info, mode="w", force_zip64=size is None) as member:
            for chunk in chunks:
                digest.update(chunk)
                member.write(chunk)
                written += len(chunk)
        entry = Entry(path=path, size=written, sha256=digest.hexdigest(), key=key, kind=kind)
        self.manifest.files.append(entry)
        return entry

    def close(self) -> None:
        self.zip.writestr(MANIFEST, self.manifest.to_json())
        self.zip.close()
        self.out.finish()


def object_chunks(storage: Storage, key: str) -> Iterator[bytes]:
    """An S3 object read CHUNK_BYTES at a time (never whole)."""
    body = storage.open_object(key)
    try:
        while chunk := body.read(CHUNK_BYTES):
            yield chunk
    finally:
        body.close()


class RangeReader(io.RawIOBase):
    """A seekable, read-only view of an S3 object: each read past the buffered window is one
    ranged GET of at least READ_AHEAD_BYTES (ZipFile reads its directory, then members).
    Every GET is pinned to the version with `etag`: a replaced object is refused
    (ARCHIVE_CHANGED), so what the import writes is what it checked."""

    def __init__(self, storage: Storage, key: str, size: int, etag: str) -> None:
        self.storage, self.key, self.size, self.etag = storage, key, size, etag
        self.pos = 0
        self.window_start, self.window = 0, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self.pos
        n = min(n, self.size - self.pos)
        if n <= 0:
            return b""
        offset = self.pos - self.window_start
        if not (offset >= 0 and offset + n <= len(self.window)):
            self._fill(n)
            offset = 0
        data = self.window[offset : offset + n]
        self.pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _fill(self, n: int) -> None:
        last = min(self.size, self.pos + max(n, READ_AHEAD_BYTES)) - 1
        try:
            body = self.storage.open_range(self.key, self.pos, last, if_match=self.etag)
        except ObjectChanged as exc:
            raise ArchiveRefused(ARCHIVE_CHANGED) from exc
        try:
            self.window = body.read()
        finally:
            body.close()
        self.window_start = self.pos


def open_archive(source: IO[bytes] | io.RawIOBase) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise ArchiveRefused(
            "This file is not a ZIP archive (or it was cut short): download the export again."
        ) from exc


def member_chunks(archive: zipfile.ZipFile, path: str) -> Iterator[bytes]:
    """One member's bytes CHUNK_BYTES at a time; a damaged one refused, naming it."""
    try:
        with archive.open(path) as member:
            while chunk := member.read(CHUNK_BYTES):
                yield chunk
    except zipfile.BadZipFile as exc:
        raise ArchiveRefused(
            f"{path} in the archive has been changed or damaged ({exc}): nothing was imported. "
            "Download the export again."
        ) from exc
