"""Reads Volley's queue log (data_dir/queue/seg-NNNNNNNN.log) without the
daemon, as an independent check of what is on disk.

Record: u32 magic "VQR1", u32 payload length, u32 zlib CRC-32 of (type byte +
payload), u8 type (1 message, 2 delete, 3 update, 4 stored message), payload. Message
payload: u32 envelope length, envelope text ("key value" lines,
percent-escaped), content. Update payload: a newer envelope text for a message
already logged. Stored message (a large body streamed to its own file):
u32 envelope length, envelope text, u64 body size, u32 CRC-32 of the body,
head (trace headers); the content is head + the file body-<id> beside the
segments.
"""

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

MAGIC = 0x31525156
HEADER = 13


@dataclass
class LogScan:
    messages: Dict[str, Tuple[bytes, bytes]] = field(default_factory=dict)  # id -> (envelope text, content)
    order: List[str] = field(default_factory=list)
    torn_tail: List[str] = field(default_factory=list)      # "segment: N bytes" for an unfinished record at a tail
    body_files: List[str] = field(default_factory=list)     # body-<id> files present
    bad_bodies: List[str] = field(default_factory=list)     # stored messages whose body file is missing or wrong
    corrupt: List[str] = field(default_factory=list)        # bad records before the tail
    records: int = 0


def segments(queue_dir: Path) -> List[Path]:
    if not queue_dir.is_dir():
        return []
    return sorted(p for p in queue_dir.iterdir() if p.name.startswith("seg-") and p.name.endswith(".log"))


def scan(queue_dir: Path) -> LogScan:
    out = LogScan()
    segs = segments(queue_dir)
    for si, seg in enumerate(segs):
        data = seg.read_bytes()
        pos = 0
        while pos < len(data):
            if len(data) - pos < HEADER:
                out.torn_tail.append(f"{seg.name}: {len(data) - pos} bytes")
                break
            magic, length, crc = struct.unpack_from("<III", data, pos)
            rtype = data[pos + 12]
            if magic != MAGIC or rtype not in (1, 2, 3, 4):
                out.corrupt.append(f"{seg.name}@{pos}: bad header")
                break
            if pos + HEADER + length > len(data):
                out.torn_tail.append(f"{seg.name}: {len(data) - pos} bytes")
                break
            if zlib.crc32(data[pos + 12:pos + HEADER + length]) & 0xFFFFFFFF != crc:
                out.corrupt.append(f"{seg.name}@{pos}: bad CRC")
                break
            payload = data[pos + HEADER:pos + HEADER + length]
            out.records += 1
            if rtype in (1, 3, 4):
                if rtype in (1, 4):
                    (env_len,) = struct.unpack_from("<I", payload, 0)
                    env = payload[4:4 + env_len]
                    content = payload[4 + env_len:]
                else:
                    env, content = payload, None
                mid = None
                for line in env.split(b"\n"):
                    if line.startswith(b"id "):
                        mid = line[3:].decode()
                assert mid, f"{seg.name}@{pos}: record without id"
                if rtype == 4:
                    content = stored_content(queue_dir, mid, content, out)
                if rtype == 3:
                    if mid in out.messages:  # else: updated after a delete, dead
                        out.messages[mid] = (env, out.messages[mid][1])
                else:
                    if mid not in out.messages:
                        out.order.append(mid)
                    out.messages[mid] = (env, content)
            else:
                mid = payload.decode()
                if mid in out.messages:
                    del out.messages[mid]
                    out.order.remove(mid)
            pos += HEADER + length
    if queue_dir.is_dir():
        out.body_files = sorted(p.name for p in queue_dir.iterdir() if p.name.startswith("body-"))
    return out


def stored_content(queue_dir: Path, mid: str, rest: bytes, out: LogScan) -> bytes:
    """head + body file of a stored message (record type 4)."""
    size_lo, size_hi, crc = struct.unpack_from("<III", rest, 0)
    size = size_lo | (size_hi << 32)
    head = rest[12:]
    path = queue_dir / f"body-{mid}"
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        out.bad_bodies.append(f"{mid}: body file missing")
        return head
    if len(body) != size or zlib.crc32(body) & 0xFFFFFFFF != crc:
        out.bad_bodies.append(f"{mid}: body file has {len(body)} bytes, record says {size}")
    return head + body
