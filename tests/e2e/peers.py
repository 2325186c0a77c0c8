"""Loopback peers for the outbound delivery tests.

- DnsServer: an authoritative DNS server (UDP and TCP, python3-dnslib) whose
  zone is a dict the test changes at run time; answers MX/A/AAAA, NXDOMAIN,
  SERVFAIL, null MX, or no answer at all.
- SmtpPeer: a receiving SMTP server (python3-aiosmtpd) with scripted
  replies (451/550/421 at a given stage, N times), delays, STARTTLS, AUTH,
  and a record of every connection, command and message, content as bytes.
- BlackHole: accepts TCP and never speaks (or closes at once, or drips a
  greeting one byte at a time).
- PostfixReceiver: a private Postfix delivering to Maildirs under a temporary
  directory, as a real receiving MTA.
- PrivateDovecot: a private Dovecot serving POP3/IMAP (and its LDA writing)
  over Maildirs the test chooses, for the mailbox interop tests.

Every peer runs on a loopback address, is started by start() (or `with`),
and stop() closes its sockets and ends only its own threads and processes.
Peers that play MX hosts share one port (Volley's delivery.mx_port) and differ
by address: free_port_on() finds a port free on all of them.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import os
import grp
import hashlib
import pwd
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from aiosmtpd.smtp import SMTP, AuthResult
from dnslib import AAAA, MX, QTYPE, RCODE, RR, TXT, A, DNSError, DNSRecord
from dnslib.server import DNSHandler, DNSLogger, DNSServer

logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd logs every command at INFO


# --------------------------------------------------------------------------
# ports and certificates
# --------------------------------------------------------------------------

def _family(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port_on(ips: Sequence[str], attempts: int = 100) -> int:
    """A TCP port that is free on every address in `ips` (e.g. 127.0.0.2..9, ::1)."""
    for _ in range(attempts):
        with socket.socket(_family(ips[0]), socket.SOCK_STREAM) as first:
            first.bind((ips[0], 0))
            port = first.getsockname()[1]
            ok = True
            for ip in ips[1:]:
                with socket.socket(_family(ip), socket.SOCK_STREAM) as s:
                    try:
                        s.bind((ip, port))
                    except OSError:
                        ok = False
                        break
            if ok:
                return port
    raise RuntimeError(f"no port free on all of {list(ips)}")


def free_udp_tcp_port(ip: str = "127.0.0.1", attempts: int = 100) -> int:
    """A port free for both UDP and TCP on `ip` (a DNS server listens on both)."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((ip, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((ip, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port free for UDP and TCP on {ip}")


def make_self_signed_cert(directory: Union[str, Path], cn: str = "peer.test") -> Tuple[str, str]:
    """Writes cert.pem and key.pem (P-256, self-signed, 2 days) with `openssl req`."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, capture_output=True, timeout=30)
    return str(cert), str(key)


class PrivateCA:
    """A certificate authority of our own (P-256, `openssl`), for peers whose
    certificates must validate: Volley trusts `ca_file` via delivery.ca_file
    or SSL_CERT_FILE."""

    def __init__(self, directory: Union[str, Path], name: str = "Volley Test CA"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_file, self.ca_key = str(self.dir / "ca.pem"), str(self.dir / "ca.key")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", self.ca_key, "-out", self.ca_file, "-days", "2", "-subj", f"/CN={name}",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    @staticmethod
    def _openssl(*args: str):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)

    def issue(self, dns_name: str) -> Tuple[str, str]:
        """(cert.pem, key.pem) for `dns_name`, signed by this CA."""
        stem = self.dir / dns_name.replace("*", "_wild")
        key, csr, cert, ext = (str(stem) + s for s in (".key", ".csr", ".pem", ".ext"))
        Path(ext).write_text(f"subjectAltName=DNS:{dns_name}\nbasicConstraints=CA:FALSE\n"
                             "extendedKeyUsage=serverAuth\n")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", key, "-out", csr, "-subj", f"/CN={dns_name}")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", self.ca_key, "-CAcreateserial",
                      "-days", "2", "-out", cert, "-extfile", ext)
        return cert, key


# --------------------------------------------------------------------------
# DNS
# --------------------------------------------------------------------------

NXDOMAIN = "NXDOMAIN"   # the name does not exist
SERVFAIL = "SERVFAIL"   # the server failed (a temporary error for the asker)
REFUSED = "REFUSED"
DROP = "DROP"           # no answer at all: the client times out
NULL_MX = [(0, ".")]    # RFC 7505: the domain accepts no mail
SPECIALS = (NXDOMAIN, SERVFAIL, REFUSED, DROP)

ZoneEntry = Union[str, Dict[str, Union[str, list]]]


@dataclass
class DnsQuery:
    name: str       # lower case, no trailing dot
    qtype: str      # "MX", "A", "AAAA", ...
    protocol: str   # "udp" or "tcp"
    client: Tuple[str, int]
    at: float       # time.monotonic()


class _DropQuery(DNSError):
    pass


class _Resolver:
    def __init__(self, owner: "DnsServer"):
        self.owner = owner

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        return self.owner._answer(request, handler)


class _QuietLogger(DNSLogger):
    def __init__(self):
        super().__init__(log="-request,-reply,-truncated,-error", prefix=False, logf=lambda _s: None)


class DnsServer:
    """Authoritative server for a dict zone, on 127.0.0.1 (UDP and TCP, one port).

    zone = {
        "example.net": {"MX": [(10, "mx1.example.net")]},
        "mx1.example.net": {"A": ["127.0.0.2"], "AAAA": []},
        "gone.test": NXDOMAIN,                  # any question about the name
        "flaky.test": {"MX": SERVFAIL},         # one type only
        "nomail.test": {"MX": NULL_MX},
    }
    A name in the zone without records of the asked type answers NOERROR with
    no records (NODATA); a name not in the zone answers NXDOMAIN.
    """

    def __init__(self, zone: Optional[Dict[str, ZoneEntry]] = None, host: str = "127.0.0.1", port: int = 0,
                 ttl: int = 1):
        self.host = host
        self.port = port
        self.ttl = ttl
        self._lock = threading.Lock()
        self._zone: Dict[str, ZoneEntry] = {}
        self._queries: List[DnsQuery] = []
        self._servers: List[DNSServer] = []
        self._threads: List[threading.Thread] = []
        for name, entry in (zone or {}).items():
            self.set(name, entry)

    # -- zone ----------------------------------------------------------------
    @staticmethod
    def _key(name: str) -> str:
        return name.rstrip(".").lower()

    def set(self, name: str, entry: ZoneEntry):
        """Replaces everything known about `name`."""
        if isinstance(entry, str):
            assert entry in SPECIALS, entry
        else:
            entry = {k.upper(): (list(v) if not isinstance(v, str) else v) for k, v in entry.items()}
        with self._lock:
            self._zone[self._key(name)] = entry

    def set_records(self, name: str, rtype: str, value: Union[str, list]):
        """Replaces one record type of `name` (a list, or a special answer)."""
        with self._lock:
            entry = self._zone.get(self._key(name))
            if not isinstance(entry, dict):
                entry = {}
            entry[rtype.upper()] = value if isinstance(value, str) else list(value)
            self._zone[self._key(name)] = entry

    def mx(self, name: str, *records: Tuple[int, str]):
        self.set_records(name, "MX", list(records))

    def a(self, name: str, *ips: str):
        self.set_records(name, "A", list(ips))

    def aaaa(self, name: str, *ips: str):
        self.set_records(name, "AAAA", list(ips))

    def remove(self, name: str):
        with self._lock:
            self._zone.pop(self._key(name), None)

    # -- what was asked --------------------------------------------------------
    @property
    def queries(self) -> List[DnsQuery]:
        with self._lock:
            return list(self._queries)

    def queries_for(self, name: str, qtype: Optional[str] = None) -> List[DnsQuery]:
        key = self._key(name)
        return [q for q in self.queries if q.name == key and (qtype is None or q.qtype == qtype.upper())]

    # -- answering -------------------------------------------------------------
    def _answer(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        qname = request.q.qname
        name = self._key(str(qname))
        qtype = QTYPE.get(request.q.qtype, str(request.q.qtype))
        with self._lock:
            self._queries.append(DnsQuery(name, qtype, handler.protocol, tuple(handler.client_address[:2]),
                                          time.monotonic()))
            entry = self._zone.get(name)
            if isinstance(entry, dict):
                entry = entry.get(qtype, [])
                entry = entry if isinstance(entry, str) else list(entry)
        reply = request.reply()
        # dnslib copies the query's flags; this server validates nothing, so
        # it must never claim DNSSEC-authenticated data (AD) back.
        reply.header.ad = 0
        if entry is None:
            entry = NXDOMAIN
        if entry == DROP:
            raise _DropQuery(f"dropping {qtype} {name}")
        if isinstance(entry, str):
            reply.header.rcode = getattr(RCODE, entry)
            return reply
        for value in entry:
            if qtype == "MX":
                pref, host = value
                reply.add_answer(RR(qname, QTYPE.MX, rdata=MX(host, pref), ttl=self.ttl))
            elif qtype == "A":
                reply.add_answer(RR(qname, QTYPE.A, rdata=A(value), ttl=self.ttl))
            elif qtype == "AAAA":
                reply.add_answer(RR(qname, QTYPE.AAAA, rdata=AAAA(value), ttl=self.ttl))
            elif qtype == "TXT":
                reply.add_answer(RR(qname, QTYPE.TXT, rdata=TXT(value), ttl=self.ttl))
        return reply

    # -- lifecycle -------------------------------------------------------------
    @property
    def address(self) -> str:
        """For Volley's delivery.resolver."""
        return f"{self.host}:{self.port}"

    def start(self) -> "DnsServer":
        assert not self._servers, "already started"
        for attempt in range(20):
            port = self.port or free_udp_tcp_port(self.host)
            servers = []
            try:
                for tcp in (False, True):
                    servers.append(DNSServer(_Resolver(self), address=self.host, port=port, tcp=tcp,
                                             logger=_QuietLogger()))
            except OSError:
                for s in servers:
                    s.server.server_close()
                if self.port:
                    raise
                continue
            self.port = port
            self._servers = servers
            break
        else:
            raise RuntimeError("could not bind the DNS server")
        for s in self._servers:
            t = threading.Thread(target=s.server.serve_forever, kwargs={"poll_interval": 0.05},
                                 name=f"dns-{self.port}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        for s in self._servers:
            s.server.shutdown()
            s.server.server_close()
        for t in self._threads:
            t.join(5)
        self._servers, self._threads = [], []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------
# SMTP peer
# --------------------------------------------------------------------------

@dataclass
class Rule:
    """A scripted reply: at `stage` ("connect", "mail", "rcpt" or "data"),
    answer `reply` instead of accepting, `times` times (None: always), only
    for `address` when given (rcpt: the recipient, mail: the sender).
    A 421 reply, or close=True, closes the connection after it."""
    stage: str
    reply: str
    times: Optional[int] = None
    address: Optional[str] = None
    close: bool = False
    used: int = 0


@dataclass
class PeerConnection:
    id: int
    client_ip: str
    client_port: int
    opened_at: float                      # time.monotonic()
    closed_at: Optional[float] = None
    tls: Optional[str] = None             # "TLSv1.3" once STARTTLS is done
    auth_user: Optional[str] = None
    commands: List[str] = field(default_factory=list)   # "EHLO mx.test.local", "AUTH PLAIN ***", ...
    messages: int = 0                     # transactions answered 250 after DATA

    @property
    def verbs(self) -> List[str]:
        return [c.split(" ", 1)[0].upper() for c in self.commands]


@dataclass
class RcptAttempt:
    connection: int
    address: str
    options: List[str]
    reply: str
    at: float


@dataclass
class PeerMessage:
    connection: int
    index: int                 # 1 = first message accepted on its connection
    client_ip: str
    client_port: int
    helo: Optional[str]
    esmtp: bool
    tls: Optional[str]
    auth_user: Optional[str]
    mail_from: str             # "" for the null sender
    mail_options: List[str]    # upper-cased by aiosmtpd ("BODY=8BITMIME", "SMTPUTF8", "SIZE=123")
    rcpt_tos: List[str]        # accepted recipients only
    rcpt_options: List[List[str]]
    content: bytes             # exactly as received, dot-stuffing removed
    reply: str
    accepted: bool
    at: float                  # time.monotonic() when the final dot arrived
    wall: float                # time.time()


class _PeerSMTP(SMTP):
    # Real servers accept far longer lines than RFC 5321's 1000; the tests
    # check long lines arrive intact, so the peer must not be the limit.
    line_length_limit = 1 << 20

    def __init__(self, peer: "SmtpPeer", *args, **kw):
        self._peer = peer
        self._conn: Optional[PeerConnection] = None
        super().__init__(*args, **kw)
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._recorded(verb, method)

    def _recorded(self, verb: str, method):
        @functools.wraps(method)
        async def run(arg):
            if self._conn is not None:
                shown = arg if verb != "AUTH" or not arg else arg.split(" ", 1)[0] + " ***"
                with self._peer._lock:
                    self._conn.commands.append(verb if arg is None else f"{verb} {shown}")
                if verb == "QUIT":
                    # The client is done: count the connection as closed now, so
                    # a client that opens its next one right after the 221 is
                    # not seen as holding two (max_concurrent).
                    self._peer._close_connection(self, self._conn)
            return await method(arg)
        return run

    def _getparams(self, params):
        if self._peer.dsn:
            params = [p for p in params
                      if p.partition("=")[0].upper() not in ("RET", "ENVID", "NOTIFY", "ORCPT")]
        return super()._getparams(params)

    def connection_made(self, transport):
        super().connection_made(transport)
        if self._conn is None:
            ip, port = transport.get_extra_info("peername")[:2]
            self._conn = self._peer._open_connection(self, ip, port)
        elif self._tls_protocol is not None and self._conn.tls is None:
            obj = transport.get_extra_info("ssl_object")
            with self._peer._lock:
                self._conn.tls = obj.version() if obj else "TLS"

    def connection_lost(self, error):
        if self._conn is not None:
            self._peer._close_connection(self, self._conn)
        super().connection_lost(error)

    async def _handle_client(self):
        peer = self._peer
        if peer.greeting_delay:
            await asyncio.sleep(peer.greeting_delay)
        rule = peer._take_rule("connect", None)
        if rule is not None:
            await self.push(rule.reply)
            self.transport.close()
            return
        await super()._handle_client()


class _PeerHandler:
    def __init__(self, peer: "SmtpPeer"):
        self.peer = peer

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        peer = self.peer
        if not peer.ehlo:
            session.extended_smtp = False
            return ["502 5.5.1 EHLO not supported here, use HELO"]
        session.host_name = hostname
        drop = set()
        if peer.auth is None:
            drop.add("AUTH")
        if not peer.eightbitmime:
            drop.add("8BITMIME")
        out = [r for r in responses if r[4:].split(" ")[0].upper() not in drop]
        if peer.dsn:
            out.insert(len(out) - 1, "250-DSN")
        out.insert(len(out) - 1, "250-PIPELINING")
        out.insert(len(out) - 1, "250-ENHANCEDSTATUSCODES")
        return out

    def _close_after(self, server, rule: Rule):
        if rule.close or rule.reply.startswith("421"):
            server.loop.call_soon(server.transport.close)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        peer = self.peer
        if peer.mail_delay:
            await asyncio.sleep(peer.mail_delay)
        with peer._lock:
            drop = peer.drop_reused_mail > 0 and server._conn.messages > 0
            if drop:
                peer.drop_reused_mail -= 1
        if drop:
            server.transport.abort()  # no reply at all; the client sees the connection die
            return "421 4.4.2 never sent"
        if not peer.eightbitmime and "BODY=8BITMIME" in [o.upper() for o in mail_options]:
            return "555 5.5.4 BODY=8BITMIME is not supported here"
        rule = peer._take_rule("mail", address)
        if rule is not None:
            self._close_after(server, rule)
            return rule.reply
        # aiosmtpd gives the null sender as "<>" (truthy, which its "need MAIL
        # first" check relies on); PeerMessage.mail_from records it as "".
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        if session.authenticated and session.auth_data is not None:
            login = getattr(session.auth_data, "login", b"")
            with peer._lock:
                server._conn.auth_user = login.decode("utf-8", "replace") if isinstance(login, bytes) else str(login)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        peer = self.peer
        rule = peer._take_rule("rcpt", address)
        reply = rule.reply if rule is not None else "250 2.1.5 Ok"
        with peer._lock:
            peer._rcpts.append(RcptAttempt(server._conn.id, address, list(rcpt_options), reply, time.monotonic()))
        if rule is not None:
            self._close_after(server, rule)
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(list(rcpt_options))
        return reply

    async def handle_DATA(self, server, session, envelope):
        peer = self.peer
        at, wall = time.monotonic(), time.time()
        if peer.data_delay:
            await asyncio.sleep(peer.data_delay)
        rule = peer._take_rule("data", None)
        reply = rule.reply if rule is not None else "250 2.0.0 Ok: queued"
        accepted = rule is None
        conn = server._conn
        with peer._lock:
            if accepted:
                conn.messages += 1
            peer._messages.append(PeerMessage(
                connection=conn.id, index=conn.messages, client_ip=conn.client_ip, client_port=conn.client_port,
                helo=session.host_name, esmtp=bool(session.extended_smtp), tls=conn.tls, auth_user=conn.auth_user,
                mail_from="" if envelope.mail_from == "<>" else envelope.mail_from,
                mail_options=list(envelope.mail_options), rcpt_tos=list(envelope.rcpt_tos),
                rcpt_options=[list(o) for o in envelope.rcpt_options], content=bytes(envelope.original_content),
                reply=reply, accepted=accepted, at=at, wall=wall))
        if rule is not None:
            self._close_after(server, rule)
        return reply


class SmtpPeer:
    """A receiving SMTP server on (ip, port) with scripted behaviour.

    Behaviour (attributes may be changed while it runs):
      starttls       offer STARTTLS (needs tls_cert, or makes its own cert)
      require_tls    530 to MAIL before STARTTLS
      eightbitmime   advertise 8BITMIME (False: BODY=8BITMIME is refused)
      smtputf8       advertise SMTPUTF8 (fixed at start)
      dsn            advertise DSN and accept its parameters
      ehlo           False: EHLO answered 502, only HELO works
      auth           {user: password}: AUTH PLAIN/LOGIN offered (after
                     STARTTLS unless auth_require_tls=False); auth_required
                     makes MAIL need it
      greeting_delay / mail_delay / data_delay   seconds before the greeting,
                     the MAIL reply, the reply after the final dot
      idle_timeout   close a connection silently after this many seconds
                     without a command (default 300)
      drop_reused_mail   this many times, a MAIL on a connection that already
                     carried a transaction closes it without any reply (the
                     receiver closed a cached connection as MAIL went out)
      rules          scripted replies, see Rule and the shorthands below
    Records: connections, messages (every DATA that completed, accepted or
    not), rcpt_attempts, max_concurrent.
    """

    def __init__(self, ip: str = "127.0.0.2", port: int = 0, *, hostname: str = "peer.test",
                 starttls: bool = False, require_tls: bool = False, tls_cert: Optional[Tuple[str, str]] = None,
                 eightbitmime: bool = True, smtputf8: bool = True, dsn: bool = False, ehlo: bool = True,
                 auth: Optional[Dict[str, str]] = None, auth_require_tls: bool = True, auth_required: bool = False,
                 greeting_delay: float = 0.0, mail_delay: float = 0.0, data_delay: float = 0.0,
                 max_size: int = 64 * 1024 * 1024, rules: Iterable[Rule] = (), idle_timeout: float = 300,
                 drop_reused_mail: int = 0):
        self.ip, self.port, self.hostname = ip, port, hostname
        self.starttls, self.require_tls, self.tls_cert = starttls, require_tls, tls_cert
        self.eightbitmime, self.smtputf8, self.dsn, self.ehlo = eightbitmime, smtputf8, dsn, ehlo
        self.auth, self.auth_require_tls, self.auth_required = auth, auth_require_tls, auth_required
        self.greeting_delay, self.mail_delay, self.data_delay = greeting_delay, mail_delay, data_delay
        self.max_size = max_size
        self.idle_timeout = idle_timeout
        self.drop_reused_mail = drop_reused_mail
        self._lock = threading.RLock()
        self.rules: List[Rule] = list(rules)
        self._connections: List[PeerConnection] = []
        self._messages: List[PeerMessage] = []
        self._rcpts: List[RcptAttempt] = []
        self._live: set = set()
        self._max_concurrent = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._server = None
        self._tmpdir: Optional[tempfile.TemporaryDirectory] = None
        self._ssl_context: Optional[ssl.SSLContext] = None

    # -- scripting -------------------------------------------------------------
    def add_rule(self, stage: str, reply: str, times: Optional[int] = None, address: Optional[str] = None,
                 close: bool = False) -> Rule:
        assert stage in ("connect", "mail", "rcpt", "data"), stage
        rule = Rule(stage, reply, times, address, close)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear_rules(self):
        with self._lock:
            self.rules.clear()

    def defer_rcpt(self, times: Optional[int] = 1, address: Optional[str] = None,
                   reply: str = "451 4.3.0 Temporary failure, try again later") -> Rule:
        return self.add_rule("rcpt", reply, times, address)

    def reject_rcpt(self, address: Optional[str] = None, reply: str = "550 5.1.1 No such user here",
                    times: Optional[int] = None) -> Rule:
        return self.add_rule("rcpt", reply, times, address)

    def defer_data(self, times: Optional[int] = 1, reply: str = "451 4.3.0 Temporary failure, try again later") -> Rule:
        return self.add_rule("data", reply, times)

    def reject_data(self, reply: str = "554 5.6.0 Message rejected", times: Optional[int] = None) -> Rule:
        return self.add_rule("data", reply, times)

    def refuse_greeting(self, times: Optional[int] = 1,
                        reply: str = "421 4.7.0 Too many connections, slow down") -> Rule:
        return self.add_rule("connect", reply, times)

    def refuse_mail(self, times: Optional[int] = 1, reply: str = "421 4.7.0 Rate limited, try again later") -> Rule:
        return self.add_rule("mail", reply, times)

    def _take_rule(self, stage: str, address: Optional[str]) -> Optional[Rule]:
        with self._lock:
            for rule in self.rules:
                if rule.stage != stage or (rule.times is not None and rule.used >= rule.times):
                    continue
                if rule.address is not None and (address or "").lower() != rule.address.lower():
                    continue
                rule.used += 1
                return rule
        return None

    # -- records -----------------------------------------------------------------
    @property
    def connections(self) -> List[PeerConnection]:
        with self._lock:
            return list(self._connections)

    @property
    def messages(self) -> List[PeerMessage]:
        """Accepted messages (250 after DATA), in arrival order."""
        with self._lock:
            return [m for m in self._messages if m.accepted]

    @property
    def transactions(self) -> List[PeerMessage]:
        """Every transaction that completed DATA, accepted or not."""
        with self._lock:
            return list(self._messages)

    @property
    def rcpt_attempts(self) -> List[RcptAttempt]:
        with self._lock:
            return list(self._rcpts)

    @property
    def max_concurrent(self) -> int:
        with self._lock:
            return self._max_concurrent

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._live)

    def delivered_to(self, address: str) -> List[PeerMessage]:
        return [m for m in self.messages if any(r.lower() == address.lower() for r in m.rcpt_tos)]

    def wait_messages(self, count: int, timeout: float = 10.0) -> List[PeerMessage]:
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages
            if len(msgs) >= count:
                return msgs
            if time.monotonic() >= deadline:
                raise AssertionError(f"peer {self.ip}:{self.port} got {len(msgs)} message(s), expected {count} "
                                     f"within {timeout}s; connections: {self.connections}")
            time.sleep(0.02)

    def _open_connection(self, proto, ip: str, port: int) -> PeerConnection:
        with self._lock:
            conn = PeerConnection(len(self._connections) + 1, ip, port, time.monotonic())
            self._connections.append(conn)
            self._live.add(proto)
            self._max_concurrent = max(self._max_concurrent, len(self._live))
            return conn

    def _close_connection(self, proto, conn: PeerConnection):
        with self._lock:
            if conn.closed_at is None:
                conn.closed_at = time.monotonic()
            self._live.discard(proto)

    # -- lifecycle -----------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext:
        if self.tls_cert is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="volley-peer-cert-")
            self.tls_cert = make_self_signed_cert(self._tmpdir.name, self.hostname)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*self.tls_cert)
        return ctx

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = self.auth is not None and self.auth.get(login) == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def _factory(self):
        kw = dict(hostname=self.hostname, decode_data=False, enable_SMTPUTF8=self.smtputf8,
                  data_size_limit=self.max_size, loop=self._loop, timeout=self.idle_timeout)
        if self._ssl_context is not None:
            kw.update(tls_context=self._ssl_context, require_starttls=self.require_tls)
        if self.auth is not None:
            kw.update(authenticator=self._authenticate, auth_require_tls=self.auth_require_tls,
                      auth_required=self.auth_required)
        else:
            kw.update(auth_exclude_mechanism=["PLAIN", "LOGIN"], auth_require_tls=True)
        with warnings.catch_warnings():  # AUTH without TLS is on purpose when asked for
            warnings.simplefilter("ignore")
            return _PeerSMTP(self, _PeerHandler(self), **kw)

    def start(self) -> "SmtpPeer":
        assert self._thread is None, "already started"
        if self.starttls or self.require_tls:
            self._ssl_context = self._tls_context()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"smtp-peer-{self.ip}", daemon=True)
        self._thread.start()

        async def create():
            return await self._loop.create_server(self._factory, host=self.ip, port=self.port, reuse_address=True)
        try:
            self._server = asyncio.run_coroutine_threadsafe(create(), self._loop).result(10)
        except BaseException:
            self._stop_loop()
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _stop_loop(self):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._thread = None

    def stop(self):
        if self._thread is None:
            return

        async def shutdown():
            self._server.close()
            with self._lock:
                live = list(self._live)
            for proto in live:
                t = getattr(proto, "_original_transport", None) or proto.transport  # the socket's own transport
                if t is not None:
                    t.abort()
            await asyncio.sleep(0)
            tasks = [t for t in asyncio.all_tasks(self._loop) if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._server.wait_closed()
        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        finally:
            self._stop_loop()
            if self._tmpdir is not None:
                self._tmpdir.cleanup()
                self._tmpdir = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------
# black hole / tarpit
# --------------------------------------------------------------------------

class BlackHole:
    """A TCP listener that accepts and then:
       mode "silent": never sends anything (holds the connection open);
       mode "close":  closes at once;
       mode "tarpit": sends "220 " + text one byte every `interval` seconds."""

    def __init__(self, ip: str = "127.0.0.2", port: int = 0, mode: str = "silent", interval: float = 1.0):
        assert mode in ("silent", "close", "tarpit"), mode
        self.ip, self.port, self.mode, self.interval = ip, port, mode, interval
        self._lock = threading.Lock()
        self._accepted: List[Tuple[Tuple[str, int], float]] = []
        self._open: Dict[socket.socket, int] = {}
        self._listener: Optional[socket.socket] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._drip = b"220 tarpit.test ESMTP " + b"." * 4096

    @property
    def accepted(self) -> List[Tuple[Tuple[str, int], float]]:
        """(client address, time.monotonic()) of every accepted connection."""
        with self._lock:
            return list(self._accepted)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def start(self) -> "BlackHole":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.ip, self.port))
        s.listen(128)
        s.setblocking(False)
        self._listener = s
        self.port = s.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name=f"blackhole-{self.ip}", daemon=True)
        self._thread.start()
        return self

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ)
        next_drip = time.monotonic() + self.interval
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.05):
                    sock = key.fileobj
                    if sock is self._listener:
                        try:
                            conn, addr = self._listener.accept()
                        except BlockingIOError:
                            continue
                        with self._lock:
                            self._accepted.append((addr, time.monotonic()))
                        if self.mode == "close":
                            conn.close()
                            continue
                        conn.setblocking(False)
                        with self._lock:
                            self._open[conn] = 0
                        sel.register(conn, selectors.EVENT_READ)
                    else:
                        try:
                            data = sock.recv(65536)  # read and ignore whatever the client says
                        except (BlockingIOError, InterruptedError):
                            continue
                        except OSError:
                            data = b""
                        if not data:
                            sel.unregister(sock)
                            with self._lock:
                                self._open.pop(sock, None)
                            sock.close()
                if self.mode == "tarpit" and time.monotonic() >= next_drip:
                    next_drip += self.interval
                    with self._lock:
                        items = list(self._open.items())
                    for sock, pos in items:
                        try:
                            sock.send(self._drip[pos:pos + 1])
                            with self._lock:
                                self._open[sock] = min(pos + 1, len(self._drip) - 1)
                        except OSError:
                            pass
        finally:
            with self._lock:
                socks = list(self._open)
                self._open.clear()
            for sock in socks:
                try:
                    sel.unregister(sock)
                except (KeyError, ValueError):
                    pass
                sock.close()
            sel.close()

    def stop(self):
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(5)
        self._thread = None
        self._listener.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------
# Postfix as a receiving MTA
# --------------------------------------------------------------------------

POSTFIX = "/usr/sbin/postfix"
POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"

_MASTER_SERVICES = """\
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
local      unix  - n n -     - local
virtual    unix  - n n -     - virtual
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
"""


def wait_for_greeting(ip: str, port: int, greeting: bytes, timeout: float, what: str,
                      log: Callable[[], str], exited: Callable[[], Optional[str]] = lambda: None):
    """Waits until a server on ip:port sends a greeting starting with
    `greeting` (then says QUIT); RuntimeError with `log()` after `timeout`
    seconds, or as soon as `exited()` returns a reason."""
    deadline = time.monotonic() + timeout
    while True:
        reason = exited()
        if reason:
            raise RuntimeError(f"{what} {reason}:\n{log()}")
        try:
            with socket.create_connection((ip, port), timeout=2) as s:
                s.settimeout(5)
                if s.recv(1024).startswith(greeting):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise RuntimeError(f"{what} did not answer on {ip}:{port}:\n{log()}")
        time.sleep(0.05)


def read_log(path: Optional[Path]) -> str:
    try:
        return path.read_text(errors="replace")
    except (FileNotFoundError, TypeError, AttributeError):
        return ""


def split_address(address: str) -> Tuple[str, str]:
    """(local part, domain), lower-cased: the Maildir path components."""
    local, _, domain = address.lower().rpartition("@")
    return local, domain


def postfix_available() -> bool:
    return all(os.path.isfile(p) and os.access(p, os.X_OK) for p in (POSTFIX, POSTFIX_MASTER))


class PostfixReceiver:
    """A private Postfix instance receiving mail for `domains` on ip:port and
    delivering it with its virtual agent into Maildirs:
    <base>/<domain>/<localpart>/new/ for each address in `mailboxes`, and
    <base>/<domain>/catchall/ for any other address of those domains.

    Postfix's own processes drop to the postfix user, so its directory lives
    under /tmp with traversable modes (pytest's tmp dirs are 0700); it is
    removed at stop(), after its log has been copied to `keep_log_in`."""

    def __init__(self, ip: str = "127.0.0.2", port: int = 0, *, domains: Sequence[str] = ("example.net",),
                 mailboxes: Sequence[str] = (), tls_cert: Optional[Tuple[str, str]] = None,
                 hostname: str = "postfix.peer.test", keep_log_in: Optional[Union[str, Path]] = None,
                 extra_main_cf: str = ""):
        self.ip, self.port, self.hostname = ip, port, hostname
        self.domains = [d.lower() for d in domains]
        self.mailboxes = [m.lower() for m in mailboxes]
        self.tls_cert = tls_cert
        self.keep_log_in = Path(keep_log_in) if keep_log_in else None
        self.extra_main_cf = extra_main_cf
        self.dir: Optional[Path] = None
        self.master_pid: Optional[int] = None

    # -- paths ------------------------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.dir / "conf"

    @property
    def mail_base(self) -> Path:
        return self.dir / "vmail"

    @property
    def log_path(self) -> Path:
        return self.dir / "postfix.log"

    def log(self) -> str:
        return read_log(self.log_path) if self.dir else ""

    def maildir(self, address: str) -> Path:
        local, _, domain = address.lower().rpartition("@")
        box = local if address.lower() in self.mailboxes else "catchall"
        return self.mail_base / domain / box

    def messages(self, address: Optional[str] = None) -> List[bytes]:
        """Delivered files (Postfix writes LF line endings), oldest first."""
        roots = [self.maildir(address)] if address else [p for d in self.mail_base.glob("*") for p in d.glob("*")]
        files = [f for r in roots for f in (r / "new").glob("*") if f.is_file()]
        files.sort(key=lambda f: (f.stat().st_mtime, f.name))
        return [f.read_bytes() for f in files]

    def wait_messages(self, count: int, address: Optional[str] = None, timeout: float = 10.0) -> List[bytes]:
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages(address)
            if len(msgs) >= count:
                return msgs
            if time.monotonic() >= deadline:
                raise AssertionError(f"postfix got {len(msgs)} message(s), expected {count}; log:\n"
                                     f"{self.log()[-3000:]}")
            time.sleep(0.05)

    # -- lifecycle ---------------------------------------------------------------
    def _write_config(self):
        pf = pwd.getpwnam("postfix")
        d = self.dir
        for sub in ("conf", "queue", "data", "vmail"):
            (d / sub).mkdir()
        os.chown(d / "data", pf.pw_uid, pf.pw_gid)
        os.chown(d / "vmail", pf.pw_uid, pf.pw_gid)
        maps = [f"{m} {m.rpartition('@')[2]}/{m.rpartition('@')[0]}/" for m in self.mailboxes]
        maps += [f"@{dom} {dom}/catchall/" for dom in self.domains]
        (d / "conf" / "vmailbox").write_text("\n".join(maps) + "\n")
        tls = ""
        if self.tls_cert:
            shutil.copy(self.tls_cert[0], d / "conf" / "cert.pem")
            shutil.copy(self.tls_cert[1], d / "conf" / "key.pem")
            os.chmod(d / "conf" / "key.pem", 0o600)
            tls = (f"smtpd_tls_cert_file = {d}/conf/cert.pem\n"
                   f"smtpd_tls_key_file = {d}/conf/key.pem\n"
                   "smtpd_tls_security_level = may\n"
                   "smtpd_tls_received_header = yes\n"
                   "smtpd_tls_loglevel = 1\n")
        (d / "conf" / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {self.hostname}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file_prefixes = {d}
maillog_file = {self.log_path}
mynetworks = 127.0.0.0/8
local_header_rewrite_clients =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
virtual_mailbox_domains = {", ".join(self.domains)}
virtual_mailbox_base = {d}/vmail
virtual_mailbox_maps = texthash:{d}/conf/vmailbox
virtual_uid_maps = static:{pf.pw_uid}
virtual_gid_maps = static:{pf.pw_gid}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
default_transport = error:this test peer does not send mail
smtp_dns_support_level = disabled
{tls}{self.extra_main_cf}
""")
        (d / "conf" / "master.cf").write_text(f"{self.ip}:{self.port} inet n - n - - smtpd\n" + _MASTER_SERVICES)

    def _make_queue_dirs(self):
        """What `postfix check` would create (it takes seconds; this does not)."""
        pf = pwd.getpwnam("postfix")
        postdrop = grp.getgrnam("postdrop").gr_gid
        q = self.dir / "queue"
        for name in ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
                     "private", "saved", "trace"):
            (q / name).mkdir(mode=0o700)
            os.chown(q / name, pf.pw_uid, 0)
        for name, mode in (("maildrop", 0o730), ("public", 0o710)):
            (q / name).mkdir()
            os.chmod(q / name, mode)
            os.chown(q / name, pf.pw_uid, postdrop)
        (q / "pid").mkdir(mode=0o755)

    def start(self, timeout: float = 15.0) -> "PostfixReceiver":
        if not postfix_available():
            raise RuntimeError(f"{POSTFIX} is not installed")
        if not self.port:
            self.port = free_port_on([self.ip])
        self.dir = Path(tempfile.mkdtemp(prefix="volley-postfix-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        try:
            self._write_config()
            self._make_queue_dirs()
            # `postfix start` spends seconds in its checks; the master itself
            # starts at once. -w: return when it is up, exit status says how.
            r = subprocess.run([POSTFIX_MASTER, "-w"], env={**os.environ, "MAIL_CONFIG": str(self.conf_dir)},
                               capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                raise RuntimeError(f"postfix master did not start ({r.returncode}): {r.stderr}{self.log()}")
            self.master_pid = self._read_master_pid(timeout)
            wait_for_greeting(self.ip, self.port, b"220", timeout, "postfix", self.log)
        except BaseException:
            self.stop()
            raise
        return self

    def _read_master_pid(self, timeout: float) -> int:
        pid_file = self.dir / "queue" / "pid" / "master.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = pid_file.read_text().strip()
                if text:
                    return int(text.split()[0])
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"postfix wrote no master.pid:\n{self.log()}")

    def stop(self, timeout: float = 10.0):
        if self.dir is None:
            return
        pid = self.master_pid
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)  # the master stops its own children
            except ProcessLookupError:
                pid = None
            deadline = time.monotonic() + timeout
            while pid is not None and time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            self.master_pid = None
        if self.keep_log_in is not None and self.log_path.exists():
            self.keep_log_in.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.log_path, self.keep_log_in / "postfix.log")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------
# Dovecot: POP3/IMAP over a Maildir the test chooses
# --------------------------------------------------------------------------

DOVECOT = "/usr/sbin/dovecot"
DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"
# Dovecot never opens a mailbox as root ("Mail access not allowed for root"):
# its mail processes run as Debian's `mail` account, and the Maildirs it
# serves are handed to that account first (PrivateDovecot.adopt), as an
# administrator moving a mailbox to Dovecot would `chown -R vmail:`.
DOVECOT_MAIL_USER = "mail"


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaps yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rindex(")") + 2:].split()[0] != "Z"


def dovecot_available() -> bool:
    return all(os.path.isfile(p) and os.access(p, os.X_OK) for p in (DOVECOT, DOVECOT_LDA))


def yescrypt_hash(password: str) -> str:
    """A `$y$` hash from libxcrypt's crypt(3), as `volley user add` stores and
    Dovecot's CRYPT scheme verifies (default cost, random salt)."""
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    setting = lib.crypt_gensalt(b"$y$", 0, None, 0)
    hashed = lib.crypt(password.encode(), setting) if setting else None
    if not hashed or not hashed.startswith(b"$y$"):
        raise RuntimeError("libcrypt cannot make yescrypt hashes")
    return hashed.decode()


def traversable_by_others(path: Path) -> Optional[Path]:
    """The first directory on the way to `path` that other users cannot
    enter (pytest's tmp dirs are 0700), or None."""
    for d in [*reversed(Path(path).resolve().parents), Path(path).resolve()]:
        if d.is_dir() and not (d.stat().st_mode & 0o001):
            return d
    return None


class PrivateDovecot:
    """A private Dovecot (`dovecot -F -c CONF`, stopped by its PID) with its
    own base_dir, state_dir and log file under a temporary directory in /tmp.

    Listens on `ip` (default 127.0.0.2: Dovecot treats a client whose address
    equals its own as secured, so clients connect from 127.0.0.1 and its TLS
    policy applies) with POP3 (STLS), POP3S, IMAP (STARTTLS) and IMAPS, the
    certificate `tls_cert` (cert.pem, key.pem). Users come from a passwd-file
    with `{CRYPT}` yescrypt hashes; mailboxes are Maildir++ at
    `mail_root/<domain>/<user>/` with INBOX at that root — Volley's layout, so
    `mail_root` may be a Volley data_dir's mail/ directory. Everything else is
    Dovecot's default (pop3_uidl_format %08Xu%08Xv), plus pop3_lock_session.
    `extra_conf` is appended to dovecot.conf (e.g. "auth_cache_size = 10M").

    Every directory on the way to mail_root must be enterable by the `mail`
    account, and the mailboxes readable by it: call adopt() after another
    program wrote them."""

    def __init__(self, mail_root: Union[str, Path], users: Dict[str, str], tls_cert: Tuple[str, str], *,
                 ip: str = "127.0.0.2", keep_log_in: Optional[Union[str, Path]] = None, extra_conf: str = ""):
        self.mail_root = Path(mail_root)
        self.users = dict(users)
        self.tls_cert = tls_cert
        self.ip = ip
        self.keep_log_in = Path(keep_log_in) if keep_log_in else None
        self.extra_conf = extra_conf
        self.ports: Dict[str, int] = {}
        self.dir: Optional[Path] = None
        self.proc: Optional[subprocess.Popen] = None
        self.mail_uid, self.mail_gid = self.mail_owner()

    @staticmethod
    def mail_owner() -> Tuple[int, int]:
        """(uid, gid) Dovecot's mail processes run as."""
        pw = pwd.getpwnam(DOVECOT_MAIL_USER)
        return pw.pw_uid, pw.pw_gid

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def config_path(self) -> Path:
        return self.dir / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.dir / "dovecot.log"

    def log(self) -> str:
        return read_log(self.log_path) if self.dir else ""

    def maildir(self, address: str) -> Path:
        local, domain = split_address(address)
        return self.mail_root / domain / local

    def adopt(self, address: Optional[str] = None):
        """Hands a user's Maildir (or all of mail_root) to Dovecot's mail
        account, and the directories above it up to mail_root."""
        root = self.maildir(address) if address else self.mail_root
        for d in [root.parent, root.parent.parent] if address else []:
            if d.is_dir() and (d == self.mail_root or self.mail_root in d.parents):
                os.chown(d, self.mail_uid, self.mail_gid)
        for dirpath, dirs, files in os.walk(root):
            for name in [dirpath, *(os.path.join(dirpath, f) for f in dirs + files)]:
                os.lchown(name, self.mail_uid, self.mail_gid)

    # -- lifecycle ---------------------------------------------------------------
    def _write_config(self):
        d = self.dir
        for sub in ("run", "state"):
            (d / sub).mkdir()
        shutil.copy(self.tls_cert[0], d / "cert.pem")
        shutil.copy(self.tls_cert[1], d / "key.pem")
        os.chmod(d / "key.pem", 0o600)
        # user:password:uid:gid:gecos:home:shell:extra — uid/gid come from mail_uid/mail_gid.
        (d / "passwd").write_text("".join(f"{u}:{{CRYPT}}{yescrypt_hash(p)}::::::\n" for u, p in self.users.items()))
        os.chmod(d / "passwd", 0o600)  # read by the auth process, which runs as `dovecot`
        dovecot_user = pwd.getpwnam("dovecot")
        os.chown(d / "passwd", dovecot_user.pw_uid, dovecot_user.pw_gid)
        def listeners(*names: str) -> str:
            return "".join(f"  inet_listener {n} {{\n    port = {self.ports[n]}\n"
                           f"{'    ssl = yes' + chr(10) if n.endswith('s') else ''}  }}\n" for n in names)
        self.config_path.write_text(f"""\
base_dir = {d}/run
state_dir = {d}/state
log_path = {self.log_path}
instance_name = volley-test-dovecot-{os.getpid()}-{d.name}
protocols = pop3 imap
listen = {self.ip}
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
mail_uid = {self.mail_uid}
mail_gid = {self.mail_gid}
first_valid_uid = {self.mail_uid}
first_valid_gid = {self.mail_gid}
mail_location = maildir:{self.mail_root}/%d/%n
pop3_lock_session = yes
passdb {{
  driver = passwd-file
  args = scheme=CRYPT {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
service pop3-login {{
{listeners("pop3", "pop3s")}}}
service imap-login {{
{listeners("imap", "imaps")}}}
{self.extra_conf}
""")

    def start(self, timeout: float = 15.0) -> "PrivateDovecot":
        if not dovecot_available():
            raise RuntimeError(f"{DOVECOT} is not installed")
        blocked = traversable_by_others(self.mail_root)
        if blocked is not None:
            raise RuntimeError(f"{blocked} is mode {blocked.stat().st_mode & 0o777:o}: Dovecot's mail processes "
                               f"(user {DOVECOT_MAIL_USER}) cannot reach {self.mail_root}")
        port = free_port_on([self.ip])
        taken = {port}
        self.ports = {"pop3": port}
        for name in ("pop3s", "imap", "imaps"):
            while port in taken:
                port = free_port_on([self.ip])
            taken.add(port)
            self.ports[name] = port
        self.dir = Path(tempfile.mkdtemp(prefix="volley-dovecot-", dir="/tmp"))
        os.chmod(self.dir, 0o755)  # login processes chroot below base_dir as dovenull
        try:
            self._write_config()
            with open(self.dir / "stderr.txt", "wb") as stderr:
                self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config_path)], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=stderr)
            wait_for_greeting(self.ip, self.ports["pop3"], b"+OK", timeout, "dovecot", self.log,
                              lambda: None if self.proc.poll() is None else
                              f"exited with {self.proc.returncode}: {read_log(self.dir / 'stderr.txt')}")
        except BaseException:
            self.stop()
            raise
        return self

    def deliver(self, address: str, message: bytes, sender: str = "sender@example.net"):
        """Delivers `message` with Dovecot's own LDA, which writes the Maildir
        file (and updates dovecot-uidlist and the index) the way Dovecot does."""
        r = subprocess.run([DOVECOT_LDA, "-c", str(self.config_path), "-d", address, "-f", sender],
                           input=message, capture_output=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"dovecot-lda exited {r.returncode}: {r.stderr!r}\n{self.log()[-2000:]}")

    def _children(self) -> List[int]:
        """PIDs of the master's processes (login, pop3, auth, ...)."""
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        data = f.read()
                except OSError:
                    continue
                if int(data[data.rindex(")") + 2:].split()[1]) == self.proc.pid:
                    out.append(int(entry))
        return out

    def stop(self, timeout: float = 10.0):
        if self.proc is not None:
            if self.proc.poll() is None:
                children = self._children()
                self.proc.send_signal(signal.SIGTERM)  # the master stops its own children
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
                # The master does not wait for them: a mail process still
                # writing its index would race the removal of the Maildir.
                deadline = time.monotonic() + timeout
                while children and time.monotonic() < deadline:
                    children = [c for c in children if _alive(c)]
                    time.sleep(0.02)
            self.proc = None
        if self.dir is None:
            return
        if self.keep_log_in is not None and self.log_path.exists():
            self.keep_log_in.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.log_path, self.keep_log_in / "dovecot.log")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------
# DNSSEC: a signed private zone served and validated by a private unbound
# --------------------------------------------------------------------------

def dnssec_tools_available() -> bool:
    return all(shutil.which(t) for t in ("unbound", "ldns-keygen", "ldns-signzone"))


def spki_sha256(cert_pem: str) -> str:
    """Hex SHA-256 of the certificate's SubjectPublicKeyInfo: the data of a
    TLSA 3 1 1 record for it."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_pem, "-pubkey", "-noout"], check=True,
                         capture_output=True, timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True, timeout=30).stdout
    return hashlib.sha256(der).hexdigest()


def cert_sha256(cert_pem: str) -> str:
    """Hex SHA-256 of the whole certificate (DER): the data of a TLSA x 0 1 record."""
    der = subprocess.run(["openssl", "x509", "-in", cert_pem, "-outform", "DER"], check=True,
                         capture_output=True, timeout=30).stdout
    return hashlib.sha256(der).hexdigest()


class ValidatingResolver:
    """unbound on 127.0.0.1:<port> (its own config in `directory`, no chroot,
    no privilege change, in the foreground) serving zones as auth-zones and
    validating them: `signed` zones are signed with ldns-signzone under a
    fresh ECDSA P-256 key that is the resolver's trust anchor, so their
    answers carry AD; `unsigned` zones have no anchor and are insecure.

    zones = {"dane.test": ["@ IN MX 10 mx1", "mx1 IN A 127.0.0.2", ...]}
    tamper(zone, old, new) edits the signed file afterwards (a bogus
    signature), before start()."""

    def __init__(self, directory: Union[str, Path], signed: Dict[str, List[str]],
                 unsigned: Optional[Dict[str, List[str]]] = None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_udp_tcp_port("127.0.0.1")
        self.proc: Optional[subprocess.Popen] = None
        self.zone_files: Dict[str, Path] = {}
        self.anchors: List[str] = []
        for zone, records in signed.items():
            self._write(zone, records)
            key = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone], cwd=self.dir, check=True,
                                 capture_output=True, text=True, timeout=30).stdout.strip()
            subprocess.run(["ldns-signzone", "-f", f"{zone}.signed", zone, key], cwd=self.dir, check=True,
                           capture_output=True, timeout=30)
            self.zone_files[zone] = self.dir / f"{zone}.signed"
            self.anchors.append(str(self.dir / f"{key}.ds"))
        for zone, records in (unsigned or {}).items():
            self.zone_files[zone] = self._write(zone, records)

    def _write(self, zone: str, records: List[str]) -> Path:
        path = self.dir / zone
        head = [f"$ORIGIN {zone}.", "$TTL 60",
                f"@ IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60", f"@ IN NS ns.{zone}.",
                "ns IN A 127.0.0.1"]
        path.write_text("\n".join(head + records) + "\n")
        return path

    def tamper(self, zone: str, old: str, new: str):
        path = self.zone_files[zone]
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new))

    def start(self) -> "ValidatingResolver":
        conf = [
            "server:",
            f"  interface: 127.0.0.1@{self.port}", f"  port: {self.port}",
            "  do-daemonize: no", '  chroot: ""', '  username: ""', f'  directory: "{self.dir}"',
            f'  pidfile: "{self.dir}/unbound.pid"', "  use-syslog: no", '  logfile: ""', "  verbosity: 1",
            "  val-log-level: 2", "  log-queries: yes", "  do-ip6: no", "  access-control: 127.0.0.0/8 allow",
            '  module-config: "validator iterator"',
            # RFC 6761's test. is a static NXDOMAIN zone by default in unbound.
            '  local-zone: "test." nodefault',
        ] + [f'  trust-anchor-file: "{a}"' for a in self.anchors]
        for zone, path in self.zone_files.items():
            conf += ["auth-zone:", f'  name: "{zone}."', f'  zonefile: "{path}"', "  for-upstream: yes",
                     "  for-downstream: no", "  fallback-enabled: no"]
        (self.dir / "unbound.conf").write_text("\n".join(conf) + "\n")
        self._log = open(self.dir / "unbound.log", "wb")
        self.proc = subprocess.Popen(["unbound", "-d", "-c", str(self.dir / "unbound.conf")],
                                     stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"unbound exited: {(self.dir / 'unbound.log').read_text()}")
            try:
                q = DNSRecord.question(next(iter(self.zone_files)), "SOA")
                DNSRecord.parse(q.send("127.0.0.1", self.port, timeout=0.5))
                return self
            except (OSError, DNSError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("unbound did not answer within 10 s")

    def log(self) -> str:
        return (self.dir / "unbound.log").read_text(errors="replace")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
