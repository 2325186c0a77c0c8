"""POP3 protocol details and hostile input against the real binary, with raw
sockets (and poplib where a real client's view matters): CAPA before and
after STLS, no login in clear, STLS pipelining, AUTH PLAIN, response codes,
overlong lines, unknown and wrong-state commands, NUL and binary garbage,
bad base64, brute force (the failure budget shared with SMTP AUTH), many
sessions from one address, slow loris, shutdown.

Tests that log in and then touch the mailbox (STAT on an empty mailbox is
"+OK 0 0") need the mailbox store; until it is merged, opening a maildrop
answers -ERR [SYS/TEMP]."""

from __future__ import annotations

import poplib
import signal
import socket
import ssl
import time
from typing import List, Optional

import pytest

import peers
from conftest import DEFAULT_USERS, SMTPClient, plain_auth
from pop3_util import TLS_NAME, client_context, pop3_connect, start_pop3_volley, volley_endpoint

ALICE = "alice@local.test"
PASSWORD = DEFAULT_USERS[ALICE]
CLEARTEXT_REFUSED = b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca = peers.PrivateCA(tmp_path_factory.mktemp("pop3-protocol-ca"))
    return ca.ca_file, ca.issue(TLS_NAME)


@pytest.fixture
def srv(volley_factory, pki):
    return start_pop3_volley(volley_factory, pki[1])


class RawPop3:
    """A POP3 client over a plain socket that says exactly what it is told."""

    def __init__(self, host: str, port: int, cafile: Optional[str] = None, implicit_tls: bool = False,
                 timeout: float = 10):
        self.cafile = cafile
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if implicit_tls:
            self.sock = client_context(cafile).wrap_socket(self.sock, server_hostname=TLS_NAME)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def line(self, timeout: Optional[float] = None) -> bytes:
        if timeout is not None:
            self.sock.settimeout(timeout)
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; pending {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, line: str) -> bytes:
        self.send(line.encode() + b"\r\n")
        return self.line()

    def multiline(self) -> List[bytes]:
        out = []
        while True:
            l = self.line()
            if l == b".":
                return out
            out.append(l[1:] if l.startswith(b".") else l)

    def stls(self):
        assert self.cmd("STLS").startswith(b"+OK")
        self.sock = client_context(self.cafile).wrap_socket(self.sock, server_hostname=TLS_NAME)

    def closed(self, timeout: float = 5) -> bool:
        """True once the server has closed the connection (anything still sent is read first)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw(srv, pki, listener: str = "pop3", **kw) -> RawPop3:
    host, port = volley_endpoint(srv, listener)
    return RawPop3(host, port, pki[0], implicit_tls=listener == "pop3s", **kw)


def logged_in(srv, pki) -> RawPop3:
    c = raw(srv, pki)
    c.stls()
    assert c.cmd(f"USER {ALICE}") == b"+OK"
    reply = c.cmd(f"PASS {PASSWORD}")
    assert reply.startswith(b"+OK"), reply
    return c


# --------------------------------------------------------------------------
# protocol
# --------------------------------------------------------------------------

def test_greeting_and_capa_in_clear_and_after_stls(srv, pki):
    c = raw(srv, pki)
    assert c.greeting.startswith(b"+OK")
    assert c.cmd("CAPA").startswith(b"+OK")
    caps = c.multiline()
    for cap in (b"TOP", b"UIDL", b"RESP-CODES", b"AUTH-RESP-CODE", b"PIPELINING", b"STLS", b"IMPLEMENTATION Volley"):
        assert cap in caps, caps
    assert b"USER" not in caps and not any(x.startswith(b"SASL") for x in caps), "no login offered in clear"
    c.stls()
    assert c.cmd("CAPA").startswith(b"+OK")
    caps = c.multiline()
    assert b"USER" in caps and b"SASL PLAIN" in caps and b"STLS" not in caps, caps
    assert c.cmd("QUIT").startswith(b"+OK")
    assert c.closed()


def test_implicit_tls_listener(srv, pki):
    c = raw(srv, pki, "pop3s")
    assert c.greeting.startswith(b"+OK")
    assert c.cmd("STLS").startswith(b"-ERR"), "no STLS inside TLS"
    assert c.cmd("CAPA").startswith(b"+OK")
    caps = c.multiline()
    assert b"USER" in caps and b"STLS" not in caps


def test_no_password_check_in_clear(srv, pki):
    c = raw(srv, pki)
    assert c.cmd(f"USER {ALICE}") == CLEARTEXT_REFUSED
    assert c.cmd(f"PASS {PASSWORD}") == CLEARTEXT_REFUSED
    assert c.cmd("AUTH PLAIN " + plain_auth(ALICE, PASSWORD)) == CLEARTEXT_REFUSED
    assert c.cmd("NOOP") == b"+OK"
    assert srv.events("pop3.login") == [], "no password was looked at"


def test_stls_discards_pipelined_commands(srv, pki):
    c = raw(srv, pki)
    # Commands sent in clear behind STLS (an injection in the clear part of
    # the stream) must not be run inside TLS.
    c.send(f"STLS\r\nUSER {ALICE}\r\n".encode())
    assert c.line().startswith(b"+OK")
    c.sock = client_context(pki[0]).wrap_socket(c.sock, server_hostname=TLS_NAME)
    assert c.cmd(f"PASS {PASSWORD}") == b"-ERR No username given."


def test_login_then_stat_on_an_empty_mailbox(srv, pki):
    c = logged_in(srv, pki)
    assert c.cmd("STAT") == b"+OK 0 0"
    assert c.cmd("LIST").startswith(b"+OK") and c.multiline() == []
    assert c.cmd("UIDL").startswith(b"+OK") and c.multiline() == []
    assert c.cmd("RETR 1").startswith(b"-ERR")
    assert c.cmd("QUIT").startswith(b"+OK")
    (login,) = [e for e in srv.events("pop3.login") if e.get("result") == "ok"]
    assert login["user"] == ALICE


def test_auth_plain_initial_response_and_continuation(srv, pki):
    c = raw(srv, pki, "pop3s")
    assert c.cmd("AUTH PLAIN " + plain_auth(ALICE, PASSWORD)).startswith(b"+OK")
    assert c.cmd("QUIT").startswith(b"+OK")
    c = raw(srv, pki, "pop3s")
    assert c.cmd("AUTH PLAIN") == b"+ "
    assert c.cmd(plain_auth(ALICE, PASSWORD)).startswith(b"+OK")


def test_auth_bad_base64_cancel_and_unknown_mechanism(srv, pki):
    c = raw(srv, pki, "pop3s")
    assert c.cmd("AUTH PLAIN !!notbase64!!").startswith(b"-ERR")
    assert c.cmd("AUTH PLAIN") == b"+ "
    assert c.cmd("*").startswith(b"-ERR")
    assert c.cmd("AUTH CRAM-MD5").startswith(b"-ERR")
    assert c.cmd("NOOP") == b"+OK", "the session goes on"


def test_wrong_password_and_poplib(srv, pki):
    host, port = volley_endpoint(srv, "pop3")
    p = pop3_connect(host, port, "stls", pki[0])
    p.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Authentication failed"):
        p.pass_("wrong")
    (failed,) = srv.wait_event("pop3.login")
    assert failed["result"] == "failed" and failed["user"] == ALICE


def test_unknown_user_is_the_same_failure(srv, pki):
    c = raw(srv, pki, "pop3s")
    assert c.cmd("USER nobody@local.test") == b"+OK", "USER does not reveal whether a user exists"
    assert c.cmd("PASS whatever") == b"-ERR [AUTH] Authentication failed."


def test_refusal_at_accept_is_err(volley_factory, pki):
    srv = start_pop3_volley(volley_factory, pki[1], limits={"max_connections_per_ip": 3})
    held = [raw(srv, pki) for _ in range(3)]
    host, port = volley_endpoint(srv, "pop3")
    s = socket.create_connection((host, port), timeout=5)
    data = s.recv(1024)
    assert data.startswith(b"-ERR") and b"Too many connections" in data, data
    for c in held:
        assert c.cmd("NOOP") == b"+OK", "the others keep being served"


# --------------------------------------------------------------------------
# hostile input
# --------------------------------------------------------------------------

def test_overlong_lines(srv, pki):
    c = raw(srv, pki)
    assert c.cmd("NOOP " + "a" * 2000) == b"-ERR Line too long."
    c.send(b"x" * 100_000)  # no line end at all: answered once, skipped to its end
    assert c.line() == b"-ERR Line too long."
    c.send(b"xxx\r\n")
    assert c.cmd("NOOP") == b"+OK"


def test_unknown_commands_then_closed(srv, pki):
    c = raw(srv, pki)
    replies = []
    for i in range(10):
        replies.append(c.cmd(f"XYZZY{i}"))
    assert all(r.startswith(b"-ERR") for r in replies), replies
    assert c.line() == b"-ERR Too many bad commands."
    assert c.closed()
    assert raw(srv, pki).cmd("NOOP") == b"+OK", "the server serves everyone else"


def test_nul_and_binary_garbage(srv, pki):
    c = raw(srv, pki)
    assert c.cmd("US\x00ER alice") == b"-ERR Invalid characters in command."
    c.send(bytes(b for b in range(256) if b != 0x0A) * 4 + b"\r\n")  # one line of every other byte
    assert c.line().startswith(b"-ERR")
    c.send(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64 + b"\r\n")  # a TLS ClientHello
    assert c.line().startswith(b"-ERR")
    assert c.cmd("NOOP") == b"+OK"
    # A flood of garbage lines is closed after the bad-command limit.
    c.send(b"\xff\xfe\x00garbage\r\n" * 1000)
    assert c.closed()
    assert b"-ERR Too many bad commands." in c.buf


def test_commands_in_the_wrong_state(srv, pki):
    c = raw(srv, pki)
    for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "TOP 1 1", "UIDL", "RSET"):
        assert c.cmd(cmd).startswith(b"-ERR"), cmd
    assert c.cmd("PASS secret") == CLEARTEXT_REFUSED


def test_commands_in_the_wrong_state_after_login(srv, pki):
    c = logged_in(srv, pki)
    for cmd in (f"USER {ALICE}", f"PASS {PASSWORD}", "AUTH PLAIN", "STLS"):
        assert c.cmd(cmd).startswith(b"-ERR"), cmd
    assert c.cmd("LIST 0").startswith(b"-ERR")
    assert c.cmd("RETR 99999999999999999999").startswith(b"-ERR")
    assert c.cmd("NOOP") == b"+OK"


def test_brute_force_budget_is_shared_with_smtp(volley_factory, pki):
    srv = start_pop3_volley(volley_factory, pki[1], limits={"max_auth_failures_per_ip": 3,
                                                            "auth_failures_per_ip_window": "1m"})
    for _ in range(3):
        c = raw(srv, pki, "pop3s")
        assert c.cmd(f"USER {ALICE}") == b"+OK"
        assert c.cmd("PASS wrong") == b"-ERR [AUTH] Authentication failed."
        c.close()
    # The budget is spent: even the right password is not checked, over POP3 ...
    c = raw(srv, pki, "pop3s")
    c.cmd(f"USER {ALICE}")
    assert c.cmd(f"PASS {PASSWORD}").startswith(b"-ERR [SYS/TEMP]")
    # ... nor over SMTP AUTH: one budget per address, all protocols.
    s = SMTPClient(srv.port("submission"))
    s.ehlo()
    s.starttls(context=_no_verify())
    s.ehlo()
    assert s.cmd("AUTH PLAIN " + plain_auth(ALICE, PASSWORD)).code == 454


def _no_verify() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_slow_loris_is_cut_and_others_are_served(volley_factory, pki):
    srv = start_pop3_volley(volley_factory, pki[1], limits={"command_timeout": "2s"})
    c = raw(srv, pki)
    started = time.monotonic()
    try:
        for ch in b"NOOP AAAAAAAAAAAAAAAAAAAAAAAA":
            c.send(bytes([ch]))
            time.sleep(0.25)
    except OSError:
        pass
    assert c.line(timeout=5) == b"-ERR Disconnected for inactivity."
    assert c.closed()
    assert time.monotonic() - started < 8
    assert raw(srv, pki).cmd("NOOP") == b"+OK"
    srv.wait_event("pop3.timeout")


def test_idle_client_told_at_shutdown(srv, pki):
    c = raw(srv, pki)
    assert c.cmd("NOOP") == b"+OK"
    srv.expected_exit = True
    srv.signal(signal.SIGTERM)
    assert c.line(timeout=10) == b"-ERR Server shutting down."
    assert c.closed()
