"""Does an object's first bytes look like a video container? (SNIFF_BYTES, never the file.)"""

from __future__ import annotations

MP4_ATOMS = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"}
SIGNATURES = (b"\x1a\x45\xdf\xa3", b"FLV", b"OggS", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")
TS_SYNC = 0x47
TS_PACKET = 188  # MPEG-TS: a sync byte at the start of every 188-byte packet
M2TS_PACKET = 192  # Blu-ray/AVCHD .m2ts/.mts: a 4-byte timecode, then a TS packet
TS_PACKETS_CHECKED = 4
TEXT_CONTROLS = frozenset(b"\t\n\r\f")
# enough for the longest rule: four .m2ts packets' sync bytes (4 + 3 * 192 = 580)
SNIFF_BYTES = 1024


def looks_like_video(head: bytes) -> bool:
    """True for the containers in the upload allow-list: MP4/MOV/3GP, Matroska/WebM, AVI,
    MPEG program and transport streams, FLV, Ogg. `head` is the first SNIFF_BYTES.

    Every rule also needs a binary head: the short signatures are plain words a text file
    can hold at the same place ("I'm free..." has "free" at bytes 4-8, like an MP4 box),
    while every real container has control bytes in its first bytes (box sizes, versions)."""
    return _has_signature(head) and not _is_text(head)


def _has_signature(head: bytes) -> bool:
    if len(head) >= 8 and head[4:8] in MP4_ATOMS:
        return True
    if head.startswith(SIGNATURES):
        return True
    if head[:4] == b"RIFF" and head[8:12] in {b"AVI ", b"AVIX"}:
        return True
    return _synced(head, 0, TS_PACKET) or _synced(head, 4, M2TS_PACKET)


def _is_text(head: bytes) -> bool:
    """No control bytes but tabs and line breaks: text (a 47-byte line repeated puts a "G"
    every 188 bytes, "I'm free" a "free" box; real containers carry binary sizes, headers,
    tables and stuffing)."""
    return not any(byte < 0x20 and byte not in TEXT_CONTROLS for byte in head)


def _synced(head: bytes, first: int, packet: int) -> bool:
    """A transport stream: the sync byte at the start of each of the first packets.

    A file too short to hold that many packets is not a video anyone can clip."""
    offsets = [first + i * packet for i in range(TS_PACKETS_CHECKED)]
    return len(head) > offsets[-1] and all(head[at] == TS_SYNC for at in offsets)
