"""A tiny authoritative DNS server on a loopback UDP port, for the verifier's tests.

Real DNS over a real socket (dnspython messages on an asyncio datagram endpoint) with the
few behaviours the tests need: TXT records (multi-string too), CNAMEs, names that answer
SERVFAIL, names that never answer, and a log of the questions asked. Names compare
case-insensitively, as in DNS. The platform's simulated zone lives in lc_clustersim; this
one exists so these tests depend on nothing but dnspython.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL = 5


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


def _quoted(part: str) -> str:
    return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class TestZone(asyncio.DatagramProtocol):
    records: dict[tuple[dns.name.Name, int], dns.rrset.RRset] = field(default_factory=dict)
    servfail: set[dns.name.Name] = field(default_factory=set)
    silent: set[dns.name.Name] = field(default_factory=set)
    questions: list[tuple[str, str]] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None
    port: int = 0
    _asked: asyncio.Event = field(default_factory=asyncio.Event)

    __test__ = False  # not a pytest test class

    # -- what the zone holds ------------------------------------------------------------

    def set_txt(self, name: str, *records: str | Sequence[str]) -> None:
        """One TXT record per argument; a sequence is one record split into strings."""
        owner = _name(name)
        texts = [
            _quoted(r) if isinstance(r, str) else " ".join(_quoted(p) for p in r) for r in records
        ]
        self.records[(owner, dns.rdatatype.TXT)] = dns.rrset.from_text_list(
            owner, TTL, dns.rdataclass.IN, dns.rdatatype.TXT, texts
        )

    def set_cname(self, name: str, target: str) -> None:
        owner = _name(name)
        self.records[(owner, dns.rdatatype.CNAME)] = dns.rrset.from_text_list(
            owner, TTL, dns.rdataclass.IN, dns.rdatatype.CNAME, [_name(target).to_text()]
        )

    def set_a(self, name: str, address: str) -> None:
        owner = _name(name)
        self.records[(owner, dns.rdatatype.A)] = dns.rrset.from_text_list(
            owner, TTL, dns.rdataclass.IN, dns.rdatatype.A, [address]
        )

    def remove(self, name: str) -> None:
        owner = _name(name)
        for key in [k for k in self.records if k[0] == owner]:
            del self.records[key]

    def fail_with_servfail(self, name: str) -> None:
        self.servfail.add(_name(name))

    def never_answer(self, name: str) -> None:
        self.silent.add(_name(name))

    def heal(self, name: str) -> None:
        self.servfail.discard(_name(name))
        self.silent.discard(_name(name))

    async def wait_for_question(self, name: str, timeout: float = 10.0) -> None:
        """Until a question for `name` (any type, any case) has been received."""
        wanted = _name(name)
        async with asyncio.timeout(timeout):
            while not any(_name(q) == wanted for q, _ in self.questions):
                self._asked.clear()
                await self._asked.wait()

    # -- serving ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return
        if not query.question:
            return
        question = query.question[0]
        self.questions.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
        self._asked.set()
        if question.name in self.silent:
            return
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if question.name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        else:
            self._answer(question.name, question.rdtype, response)
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)

    def _answer(self, name: dns.name.Name, rdtype: int, response: dns.message.Message) -> None:
        rrset = self.records.get((name, rdtype))
        if rrset is None and rdtype != dns.rdatatype.CNAME:
            rrset = self.records.get((name, dns.rdatatype.CNAME))
        if rrset is not None:
            response.answer.append(rrset)
            return
        exists = any(owner == name or owner.is_subdomain(name) for owner, _ in self.records)
        if not exists:
            response.set_rcode(dns.rcode.NXDOMAIN)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def start_zone() -> TestZone:
    loop = asyncio.get_running_loop()
    zone = TestZone()
    await loop.create_datagram_endpoint(lambda: zone, local_addr=("127.0.0.1", 0))
    assert zone.transport is not None
    zone.port = zone.transport.get_extra_info("sockname")[1]
    return zone
