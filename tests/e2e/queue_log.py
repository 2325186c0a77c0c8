"""Reads Volley's queue log (data_dir/queue/seg-NNNNNNNN.log) without the
daemon, as an independent check of what is on disk.

Record: u32 magic "VQR1", u32 payload length, u32 zlib CRC-32 of (type byte +
payload), u8 type (1 message, 2 delete, 3 update), payload. Message payload:
u32 envelope length, envelope text ("key value" lines, percent-escaped),
content. Update payload: a newer envelope text for a message already logged.
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
            if magic != MAGIC or rtype not in (1, 2, 3):
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
            if rtype in (1, 3):
                if rtype == 1:
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
    return out
