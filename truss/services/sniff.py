"""Does an object's first bytes look like a video container? (64 bytes, never the file.)"""

from __future__ import annotations

SNIFF_BYTES = 64
MP4_ATOMS = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"}
MPEG_TS_PACKET = 188


def looks_like_video(head: bytes) -> bool:
    """True for the containers in the upload allow-list: MP4/MOV/3GP, Matroska/WebM, AVI,
    MPEG program and transport streams, FLV, Ogg."""
    if len(head) >= 8 and head[4:8] in MP4_ATOMS:
        return True
    signatures = (b"\x1a\x45\xdf\xa3", b"FLV", b"OggS", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")
    if head.startswith(signatures):
        return True
    if head[:4] == b"RIFF" and head[8:12] in {b"AVI ", b"AVIX"}:
        return True
    return head[:1] == b"\x47" and (len(head) < MPEG_TS_PACKET or head[MPEG_TS_PACKET] == 0x47)
