"""DNS messages on the wire (RFC 1035), as much as the embedded resolver needs: a query's question,
and replies carrying A, AAAA or PTR records. What the resolver does not answer itself it forwards as
the bytes it got (network/resolver.py), so nothing else is parsed.

A dozen lines of struct beat a library here: the resolver lives in every container's supervisor,
and dnslib or dnspython would add their import time and memory to each.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

A, PTR, MX, AAAA = 1, 12, 15, 28
CLASS_IN = 1
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
TTL = 600                 # what Docker's resolver gives its own answers (respTTL)
UDP_LIMIT = 512           # a UDP reply without EDNS: larger ones are truncated (TC set, no answers)
_QR, _RD, _RA, _TC = 0x8000, 0x0100, 0x0080, 0x0200


@dataclass(frozen=True)
class Question:
    """A standard query's one question: its id, lower-cased name (no trailing dot), type and class."""

    id: int
    name: str
    qtype: int
    qclass: int
    flags: int
    end: int    # where the question ends in the message (the reply copies it)


def _name(data: bytes, offset: int) -> tuple[str, int]:
    """The name at offset (following compression pointers, never in a loop) and the offset after it."""
    labels, end, jumps = [], None, 0
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if jumps > 16:
                raise ValueError("compression loop")
            jumps += 1
            end = offset + 2 if end is None else end
            offset = struct.unpack_from("!H", data, offset)[0] & 0x3FFF
            continue
        if length == 0:
            return ".".join(labels), (offset + 1 if end is None else end)
        labels.append(data[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length


def parse_query(data: bytes) -> Question | None:
    """The question of a standard query (QR 0, opcode 0, one question); None for anything else."""
    try:
        qid, flags, qdcount = struct.unpack_from("!HHH", data)
        if flags & 0xF800 or qdcount != 1:
            return None
        name, offset = _name(data, 12)
        qtype, qclass = struct.unpack_from("!HH", data, offset)
    except (struct.error, IndexError, ValueError):
        return None
    return Question(qid, name.lower().rstrip("."), qtype, qclass, flags, offset + 4)


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii", "replace")[:63]
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def reply(query: bytes, q: Question, rtype: int = 0, rdatas: list[bytes] = (), rcode: int = NOERROR,
          limit: int = UDP_LIMIT) -> bytes:
    """The reply to q: its question copied, one record of rtype per rdata (the name a pointer to the
    question's), recursion available and desired as asked, as Docker's resolver sets them."""
    question = query[12:q.end]
    answers = b"".join(struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, TTL, len(rd)) + rd for rd in rdatas)
    flags = _QR | _RA | (q.flags & _RD) | rcode
    count = len(rdatas)
    if 12 + len(question) + len(answers) > limit:
        flags, answers, count = flags | _TC, b"", 0
    return struct.pack("!HHHHHH", q.id, flags, 1, count, 0, 0) + question + answers


def error(query: bytes, q: Question, rcode: int) -> bytes:
    return reply(query, q, rcode=rcode)


def a_record(ip: str) -> bytes:
    return socket.inet_aton(ip)


def reverse_ipv4(name: str) -> str | None:
    """The address a PTR question asks about ("4.3.2.1.in-addr.arpa" -> "1.2.3.4"), None if it is not one."""
    head, dot, tail = name.partition(".in-addr.arpa")
    parts = head.split(".")
    if not dot or tail or len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        return None
    return ".".join(reversed(parts))


def udp_limit(query: bytes, q: Question) -> int:
    """The reply size the asker accepts: 512, or more as its EDNS OPT record says (RFC 6891)."""
    try:
        ancount, nscount, arcount = struct.unpack_from("!HHH", query, 6)
        if arcount and not ancount and not nscount:
            offset = q.end
            name, offset = _name(query, offset)
            rtype, size = struct.unpack_from("!HH", query, offset)
            if rtype == 41 and not name:
                return max(UDP_LIMIT, size)
    except (struct.error, IndexError, ValueError):
        pass
    return UDP_LIMIT
