"""A simulated authoritative DNS zone on loopback UDP and TCP (dnspython wire format).

Who calls it: `lc_clustersim.sim.ClusterSim` starts it; the admin API and the CLI
(`dns set/delete/fault`) change its records; the domain verifier's tests start one of
their own and point `dns.asyncresolver.Resolver` at `(host, port)`.

What it owns: A, AAAA, CNAME and TXT records (any name, compared case-insensitively;
every answer is authoritative), TXT records made of chosen strings (`set_txt`), CNAME
chasing inside the zone, NXDOMAIN for unknown names and an empty NOERROR answer
(NoAnswer) for a known name without the asked type or with names below it, per-name
faults (`servfail` answers SERVFAIL, `timeout` never answers) and a log of the
questions asked (`questions`, `wait_for_question`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

log = logging.getLogger(__name__)

RECORD_TYPES: Final = ("A", "AAAA", "CNAME", "TXT")
FAULT_MODES: Final = ("servfail", "timeout")


def _normalise(name: str) -> str:
    return name.lower().rstrip(".") + "."


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split_255(value: str) -> tuple[str, ...]:
    raw = value.encode()
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return tuple(c.decode(errors="replace") for c in chunks)


@dataclass(frozen=True)
class Record:
    name: str
    type: str
    value: str
    ttl: int = 60
    strings: tuple[str, ...] = ()
    """A TXT record's character-strings; by default `value` split every 255 bytes."""


class DnsZone:
    """Records and faults, plus the UDP/TCP servers that answer from them."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], list[Record]] = {}
        self._faults: dict[str, str] = {}
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self.host = "127.0.0.1"
        self.port = 0
        self.queries = 0
        self.questions: list[tuple[str, str]] = []
        """(name as asked, type) of every question received, in order."""
        self._asked = asyncio.Event()

    # -- records -----------------------------------------------------------------

    def set_record(self, type_: str, name: str, values: list[str] | str, ttl: int = 60) -> None:
        """Replace the `type_` records of `name` with `values`."""
        type_ = type_.upper()
        if type_ not in RECORD_TYPES:
            raise ValueError(f"record type must be one of {', '.join(RECORD_TYPES)}")
        values = [values] if isinstance(values, str) else list(values)
        if type_ == "CNAME" and len(values) != 1:
            raise ValueError("a CNAME has exactly one target")
        self._set(name, type_, [Record(_normalise(name), type_, v, ttl) for v in values])

    def set_txt(self, name: str, *records: str | Sequence[str], ttl: int = 60) -> None:
        """Replace the TXT records of `name`: one per argument; a sequence is one record
        made of those strings (a resolver joins them without separators)."""
        owner = _normalise(name)
        self._set(
            name,
            "TXT",
            [
                Record(owner, "TXT", r, ttl)
                if isinstance(r, str)
                else Record(owner, "TXT", "".join(r), ttl, tuple(r))
                for r in records
            ],
        )

    def _set(self, name: str, type_: str, records: list[Record]) -> None:
        key = (_normalise(name), type_)
        ttl = records[0].ttl if records else 60
        try:  # validate now, not at query time
            dns.rrset.from_text_list(
                key[0], ttl, dns.rdataclass.IN, type_, [self._rdata_text(r) for r in records]
            )
        except Exception as exc:
            raise ValueError(f"invalid {type_} value for {name}: {exc}") from None
        self._records[key] = records

    def add_record(self, type_: str, name: str, value: str, ttl: int = 60) -> None:
        key = (_normalise(name), type_.upper())
        existing = [r.value for r in self._records.get(key, [])]
        self.set_record(type_, name, [*existing, value], ttl)

    def delete_record(self, type_: str, name: str, value: str | None = None) -> int:
        """Remove records of `name` (all of `type_`, or the one with `value`); returns how many."""
        key = (_normalise(name), type_.upper())
        records = self._records.get(key, [])
        kept = [r for r in records if value is not None and r.value != value]
        if kept:
            self._records[key] = kept
        else:
            self._records.pop(key, None)
        return len(records) - len(kept)

    def remove(self, name: str) -> int:
        """Remove every record of `name`; returns how many."""
        owner = _normalise(name)
        removed = [key for key in self._records if key[0] == owner]
        count = sum(len(self._records.pop(key)) for key in removed)
        return count

    def records(self) -> list[Record]:
        return [r for rs in self._records.values() for r in rs]

    def set_fault(self, name: str, mode: str | None) -> None:
        """Make `name` answer SERVFAIL or time out; `None` (or "none") clears it."""
        if mode in (None, "none", ""):
            self._faults.pop(_normalise(name), None)
            return
        if mode not in FAULT_MODES:
            raise ValueError(f"fault mode must be one of {', '.join(FAULT_MODES)} or none")
        self._faults[_normalise(name)] = mode

    # -- answering ---------------------------------------------------------------

    @staticmethod
    def _rdata_text(record: Record) -> str:
        if record.type == "TXT":
            return " ".join(_quoted(s) for s in record.strings or _split_255(record.value))
        if record.type == "CNAME":
            return _normalise(record.value)
        return record.value

    def _rrset(self, name: str, type_: str) -> dns.rrset.RRset | None:
        records = self._records.get((name, type_))
        if not records:
            return None
        return dns.rrset.from_text_list(
            name, records[0].ttl, dns.rdataclass.IN, type_, [self._rdata_text(r) for r in records]
        )

    def answer(self, wire: bytes) -> bytes | None:
        """The response to one query in wire format; None means do not answer."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None
        self.queries += 1
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        self.questions.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
        self._asked.set()
        name = question.name.to_text().lower()
        fault = self._faults.get(name)
        if fault == "timeout":
            return None
        if fault == "servfail":
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        wanted = dns.rdatatype.to_text(question.rdtype)
        current = name
        for _ in range(8):  # CNAME chain bound
            exact = self._rrset(current, wanted)
            if exact is not None:
                response.answer.append(exact)
                break
            cname = self._rrset(current, "CNAME") if wanted != "CNAME" else None
            if cname is None:
                break
            response.answer.append(cname)
            current = _normalise(self._records[(current, "CNAME")][0].value)
        if not response.answer and not self._exists(name):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def _exists(self, name: str) -> bool:
        """A name exists if it owns records or names below it do (RFC 8020)."""
        return any(owner == name or owner.endswith("." + name) for owner, _ in self._records)

    async def wait_for_question(self, name: str, timeout: float = 10.0) -> None:
        """Until a question for `name` (any type, any case) has been received."""
        wanted = _normalise(name)
        async with asyncio.timeout(timeout):
            while not any(_normalise(asked) == wanted for asked, _ in self.questions):
                self._asked.clear()
                await self._asked.wait()

    # -- servers -----------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        zone = self

        class _Udp(asyncio.DatagramProtocol):
            transport: Any = None

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                reply = zone.answer(data)
                if reply is not None and self.transport is not None:
                    self.transport.sendto(reply, addr)

        # TCP first on the requested port, then UDP on the same number.
        for _ in range(20):
            self._tcp = await asyncio.start_server(self._serve_tcp, host, port)
            bound = self._tcp.sockets[0].getsockname()[1]
            try:
                transport, _ = await loop.create_datagram_endpoint(_Udp, local_addr=(host, bound))
            except OSError:
                self._tcp.close()
                await self._tcp.wait_closed()
                if port:
                    raise
                continue
            self._udp = transport
            self.host, self.port = host, bound
            return
        raise OSError("could not bind the same UDP and TCP port for the DNS zone")

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(2)
                (length,) = struct.unpack("!H", header)
                reply = self.answer(await reader.readexactly(length))
                if reply is None:
                    continue
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)
