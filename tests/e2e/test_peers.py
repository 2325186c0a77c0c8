"""Self-tests of the delivery test peers (peers.py), driven by plain Python
clients (dnslib, smtplib, sockets), so the delivery tests can trust them."""

import os
import shutil
import smtplib
import socket
import ssl
import struct
import tempfile
import threading
import time
from pathlib import Path

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

import peers
from peers import DROP, NULL_MX, NXDOMAIN, SERVFAIL, BlackHole, DnsServer, SmtpPeer
from conftest import skip_unless_ci


# --------------------------------------------------------------------------
# DNS
# --------------------------------------------------------------------------

def ask(dns: DnsServer, name: str, qtype: str, tcp: bool = False, timeout: float = 2.0) -> DNSRecord:
    raw = DNSRecord.question(name, qtype).send(dns.host, dns.port, tcp=tcp, timeout=timeout)
    return DNSRecord.parse(raw)


def answers(reply: DNSRecord):
    return [(QTYPE[rr.rtype], str(rr.rdata)) for rr in reply.rr]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_dns_records(dns_server, tcp):
    dns_server.set("Example.NET", {"MX": [(20, "mx2.example.net"), (10, "mx1.example.net")]})
    dns_server.a("mx1.example.net", "127.0.0.2", "127.0.0.3")
    dns_server.aaaa("mx1.example.net", "::1")
    r = ask(dns_server, "example.net", "MX", tcp)
    assert r.header.rcode == RCODE.NOERROR
    assert answers(r) == [("MX", "20 mx2.example.net."), ("MX", "10 mx1.example.net.")]
    assert answers(ask(dns_server, "MX1.example.net.", "A", tcp)) == [("A", "127.0.0.2"), ("A", "127.0.0.3")]
    assert answers(ask(dns_server, "mx1.example.net", "AAAA", tcp)) == [("AAAA", "::1")]
    nodata = ask(dns_server, "example.net", "A", tcp)
    assert nodata.header.rcode == RCODE.NOERROR and nodata.rr == []
    q = dns_server.queries_for("example.net", "MX")
    assert len(q) == 1 and q[0].protocol == ("tcp" if tcp else "udp")


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_dns_special_answers(dns_server, tcp):
    dns_server.set("gone.test", NXDOMAIN)
    dns_server.set("broken.test", SERVFAIL)
    dns_server.set("half.test", {"MX": SERVFAIL, "A": ["127.0.0.2"]})
    dns_server.mx("nomail.test", *NULL_MX)
    assert ask(dns_server, "gone.test", "MX", tcp).header.rcode == RCODE.NXDOMAIN
    assert ask(dns_server, "never-heard-of.test", "A", tcp).header.rcode == RCODE.NXDOMAIN
    assert ask(dns_server, "broken.test", "A", tcp).header.rcode == RCODE.SERVFAIL
    assert ask(dns_server, "half.test", "MX", tcp).header.rcode == RCODE.SERVFAIL
    assert answers(ask(dns_server, "half.test", "A", tcp)) == [("A", "127.0.0.2")]
    assert answers(ask(dns_server, "nomail.test", "MX", tcp)) == [("MX", "0 .")]


def test_dns_drop_means_no_answer(dns_server):
    dns_server.set("silent.test", DROP)
    t0 = time.monotonic()
    with pytest.raises(socket.timeout):
        ask(dns_server, "silent.test", "MX", timeout=0.5)
    assert time.monotonic() - t0 >= 0.45
    # Over TCP the server closes without answering (dnslib then fails to read the length).
    with pytest.raises(struct.error):
        ask(dns_server, "silent.test", "MX", tcp=True, timeout=0.5)
    assert len(dns_server.queries_for("silent.test")) == 2


def test_dns_zone_changes_at_run_time(dns_server):
    dns_server.set("flaky.test", SERVFAIL)
    assert ask(dns_server, "flaky.test", "MX").header.rcode == RCODE.SERVFAIL
    dns_server.set("flaky.test", {"MX": [(5, "mx.flaky.test")]})
    assert answers(ask(dns_server, "flaky.test", "MX")) == [("MX", "5 mx.flaky.test.")]
    dns_server.remove("flaky.test")
    assert ask(dns_server, "flaky.test", "MX").header.rcode == RCODE.NXDOMAIN
    assert dns_server.address == f"127.0.0.1:{dns_server.port}"


def test_dns_zone_from_constructor():
    with DnsServer({"a.test": {"A": ["127.0.0.9"]}, "b.test": NXDOMAIN}) as d:
        assert answers(ask(d, "a.test", "A")) == [("A", "127.0.0.9")]
        assert ask(d, "b.test", "A").header.rcode == RCODE.NXDOMAIN


# --------------------------------------------------------------------------
# SMTP peer
# --------------------------------------------------------------------------

def smtp(peer: SmtpPeer, source: str = "127.0.0.1", timeout: float = 10) -> smtplib.SMTP:
    return smtplib.SMTP(peer.ip, peer.port, local_hostname="client.test", timeout=timeout,
                        source_address=(source, 0))


def test_peer_records_exact_bytes(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2")
    body = (b"Subject: t\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nmid\r\n" + b"x" * 5000 + b"\r\n"
            b"8bit \xe9\xff\x80\r\n")
    with smtp(peer, source="127.0.0.3") as s:
        assert s.ehlo()[0] == 250
        assert s.has_extn("8bitmime") and s.has_extn("smtputf8") and s.has_extn("pipelining")
        assert not s.has_extn("starttls") and not s.has_extn("auth")
        s.sendmail("a@sender.test", ["x@example.net", "Y@example.net"], body, mail_options=["BODY=8BITMIME"])
        s.sendmail("", ["z@example.net"], b"Subject: 2\r\n\r\nsecond\r\n")
    (m1, m2) = peer.wait_messages(2)
    assert m1.content == body  # smtplib dot-stuffed; the peer un-stuffed
    assert m1.mail_from == "a@sender.test" and m1.rcpt_tos == ["x@example.net", "Y@example.net"]
    assert "BODY=8BITMIME" in m1.mail_options
    assert m1.client_ip == "127.0.0.3" and m1.helo == "client.test" and m1.esmtp and m1.tls is None
    assert m2.mail_from == "" and m2.content == b"Subject: 2\r\n\r\nsecond\r\n"
    assert (m1.connection, m1.index, m2.connection, m2.index) == (1, 1, 1, 2)
    (conn,) = peer.connections
    assert conn.messages == 2 and conn.verbs[:2] == ["EHLO", "MAIL"] and conn.verbs[-1] == "QUIT"
    peers_wait(lambda: conn.closed_at is not None)


def peers_wait(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_peer_scripted_rcpt_and_data_replies(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2")
    peer.defer_rcpt(times=2, address="later@example.net")
    peer.reject_rcpt("gone@example.net")
    peer.defer_data(times=1)
    with smtp(peer) as s:
        for attempt in range(3):
            s.ehlo()
            s.mail("a@sender.test")
            assert s.rcpt("ok@example.net")[0] == 250
            code, msg = s.rcpt("gone@example.net")
            assert code == 550 and msg.startswith(b"5.1.1")
            code, _ = s.rcpt("LATER@example.net")
            assert code == (451 if attempt < 2 else 250)
            code, _ = s.data(b"Subject: x\r\n\r\nbody\r\n")
            assert code == (451 if attempt == 0 else 250), attempt
    assert [m.rcpt_tos for m in peer.transactions] == [["ok@example.net"], ["ok@example.net"],
                                                       ["ok@example.net", "LATER@example.net"]]
    assert [m.accepted for m in peer.transactions] == [False, True, True]
    assert len(peer.messages) == 2
    replies = [(a.address, a.reply[:3]) for a in peer.rcpt_attempts if a.address.lower() != "ok@example.net"]
    assert replies == [("gone@example.net", "550"), ("LATER@example.net", "451")] * 2 + \
        [("gone@example.net", "550"), ("LATER@example.net", "250")]


def test_peer_421_at_greeting_then_accepts(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2")
    peer.refuse_greeting(times=2)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPConnectError) as e:
            smtp(peer)
        assert e.value.smtp_code == 421 and b"4.7.0" in e.value.smtp_error
    with smtp(peer) as s:
        s.sendmail("a@sender.test", ["x@example.net"], b"Subject: x\r\n\r\nok\r\n")
    assert len(peer.messages) == 1 and len(peer.connections) == 3


def test_peer_421_after_mail_closes(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2")
    peer.refuse_mail(times=1)
    s = smtp(peer)
    s.ehlo()
    code, msg = s.mail("a@sender.test")
    assert code == 421 and msg.startswith(b"4.7.0")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        s.noop()
    s.close()
    with smtp(peer) as s:
        s.sendmail("a@sender.test", ["x@example.net"], b"Subject: x\r\n\r\nok\r\n")
    assert len(peer.messages) == 1
    peers_wait(lambda: peer.connections[0].closed_at is not None)


def test_peer_delays(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2", greeting_delay=0.5, data_delay=0.7)
    t0 = time.monotonic()
    with smtp(peer) as s:
        t1 = time.monotonic()
        s.ehlo()
        s.mail("a@sender.test")
        s.rcpt("x@example.net")
        t2 = time.monotonic()
        s.data(b"Subject: x\r\n\r\nslow\r\n")
        t3 = time.monotonic()
    assert 0.45 <= t1 - t0 < 2 and 0.65 <= t3 - t2 < 2


def test_peer_starttls_and_auth(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2", starttls=True, require_tls=True, auth={"relay-user": "s3cret"},
                             auth_required=True)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with smtp(peer) as s:
        s.ehlo()
        assert s.has_extn("starttls") and not s.has_extn("auth")
        assert s.mail("a@sender.test")[0] == 530  # TLS first
        s.starttls(context=ctx)
        s.ehlo()
        assert "PLAIN" in s.esmtp_features["auth"]
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("relay-user", "wrong")
        s.login("relay-user", "s3cret")
        s.sendmail("a@sender.test", ["x@example.net"], b"Subject: x\r\n\r\nover tls\r\n")
    (m,) = peer.wait_messages(1)
    assert m.tls in ("TLSv1.2", "TLSv1.3") and m.auth_user == "relay-user"
    conn = peer.connections[0]
    assert "STARTTLS" in conn.verbs and "AUTH PLAIN ***" in conn.commands, conn.commands
    assert not any("s3cret" in c for c in conn.commands)


def test_peer_auth_required_without_tls(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2", auth={"u": "p"}, auth_require_tls=False, auth_required=True)
    with smtp(peer) as s:
        s.ehlo()
        assert s.has_extn("auth")
        assert s.mail("a@sender.test")[0] == 530
        s.rset()
        s.login("u", "p")
        s.sendmail("a@sender.test", ["x@example.net"], b"Subject: x\r\n\r\nclear\r\n")
    assert peer.messages[0].auth_user == "u" and peer.messages[0].tls is None


def test_peer_without_8bitmime_and_smtputf8(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2", eightbitmime=False, smtputf8=False)
    with smtp(peer) as s:
        s.ehlo()
        assert not s.has_extn("8bitmime") and not s.has_extn("smtputf8")
        assert s.mail("a@sender.test", ["BODY=8BITMIME"])[0] == 555
        s.rset()
        assert s.docmd("MAIL FROM:<a@sender.test> SMTPUTF8")[0] == 501  # smtplib itself would refuse to send it
        s.rset()
        assert s.mail("a@sender.test")[0] == 250
    assert peer.messages == []


def test_peer_helo_only(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2", ehlo=False)
    with smtp(peer) as s:
        s.sendmail("a@sender.test", ["x@example.net"], b"Subject: x\r\n\r\nhelo\r\n")  # EHLO 502, then HELO
    (m,) = peer.messages
    assert not m.esmtp and m.helo == "client.test"
    assert peer.connections[0].verbs[:2] == ["EHLO", "HELO"]


def test_peer_dsn_parameters(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2", dsn=True)
    with smtp(peer) as s:
        s.ehlo()
        assert s.has_extn("dsn")
        s.sendmail("a@sender.test", ["x@example.net"], b"Subject: x\r\n\r\ndsn\r\n",
                   mail_options=["RET=HDRS", "ENVID=Env-1"], rcpt_options=["NOTIFY=SUCCESS", "ORCPT=rfc822;o@x.test"])
    (m,) = peer.messages
    assert "RET=HDRS" in m.mail_options and m.rcpt_options == [["NOTIFY=SUCCESS", "ORCPT=RFC822;O@X.TEST"]]
    (mail,) = [c for c in peer.connections[0].commands if c.startswith("MAIL")]
    assert mail.endswith(" RET=HDRS ENVID=Env-1"), mail  # the raw command keeps the case


def test_peer_concurrency_and_source_addresses(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2", data_delay=0.3)

    def send(src):
        with smtp(peer, source=src) as s:
            s.sendmail("a@sender.test", ["x@example.net"], b"Subject: x\r\n\r\nc\r\n")
    threads = [threading.Thread(target=send, args=(f"127.0.0.{3 + i % 2}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(peer.messages) == 4 and peer.max_concurrent == 4
    assert {c.client_ip for c in peer.connections} == {"127.0.0.3", "127.0.0.4"}
    assert all(c.messages == 1 for c in peer.connections)


def test_peer_stop_closes_open_connections(smtp_peer_factory):
    peer = smtp_peer_factory("127.0.0.2")
    s = smtp(peer)
    s.ehlo()
    assert peer.open_connections == 1
    peer.stop()
    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        s.noop()
    s.close()
    with pytest.raises(OSError):
        socket.create_connection((peer.ip, peer.port), timeout=1).close()


def test_free_port_on_several_addresses():
    ips = [f"127.0.0.{i}" for i in range(2, 7)]
    port = peers.free_port_on(ips)
    socks = []
    try:
        for ip in ips:
            s = socket.socket()
            s.bind((ip, port))
            socks.append(s)
    finally:
        for s in socks:
            s.close()


# --------------------------------------------------------------------------
# black holes
# --------------------------------------------------------------------------

def test_black_hole_silent():
    with BlackHole("127.0.0.2") as hole:
        s = socket.create_connection((hole.ip, hole.port), timeout=5)
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(10)
        s.sendall(b"EHLO x\r\n")
        with pytest.raises(socket.timeout):
            s.recv(10)
        assert len(hole.accepted) == 1 and hole.open_connections == 1
    s.settimeout(2)
    assert s.recv(10) == b""  # stop() closed it
    s.close()


def test_black_hole_close_and_tarpit():
    with BlackHole("127.0.0.2", mode="close") as hole:
        s = socket.create_connection((hole.ip, hole.port), timeout=5)
        assert s.recv(10) == b""
        s.close()
    with BlackHole("127.0.0.2", mode="tarpit", interval=0.1) as pit:
        s = socket.create_connection((pit.ip, pit.port), timeout=5)
        got = b""
        deadline = time.monotonic() + 0.55
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                got += s.recv(100)
            except socket.timeout:
                break
        assert got.startswith(b"220") and 2 <= len(got) <= 7, got  # one byte per 0.1 s
        s.close()


# --------------------------------------------------------------------------
# Postfix
# --------------------------------------------------------------------------

@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_postfix_receiver(tmp_path, peer_cert, tls):
    if not peers.postfix_available():
        skip_unless_ci("postfix is not installed")
    t0 = time.monotonic()
    with peers.PostfixReceiver("127.0.0.2", domains=["example.net"], mailboxes=["known@example.net"],
                               tls_cert=peer_cert if tls else None, keep_log_in=tmp_path) as pf:
        assert time.monotonic() - t0 < 10
        with smtplib.SMTP(pf.ip, pf.port, local_hostname="client.test", timeout=10) as s:
            s.ehlo()
            assert s.has_extn("starttls") == tls
            if tls:
                ctx = ssl.create_default_context()
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                s.starttls(context=ctx)
                s.ehlo()
            s.sendmail("a@sender.test", ["Known@example.net", "other@example.net"],
                       b"Subject: pf\r\n\r\n.dot\r\nbody\r\n")
        (known,) = pf.wait_messages(1, "known@example.net")
        (other,) = pf.wait_messages(1, "other@example.net")
        for m in (known, other):
            assert m.startswith(b"Return-Path: <a@sender.test>\n")
            assert m.endswith(b"Subject: pf\n\n.dot\nbody\n")
            assert (b"using TLSv1" in m) == tls
        assert len(pf.messages()) == 2
        master = pf.master_pid
    # Stopped: the master is gone and the port is closed.
    with pytest.raises(ProcessLookupError):
        os.kill(master, 0)
    assert (tmp_path / "postfix.log").exists()


# --------------------------------------------------------------------------
# Dovecot
# --------------------------------------------------------------------------

def test_private_dovecot_serves_a_handwritten_maildir(tmp_path, peer_cert):
    """The Dovecot peer starts in well under 10 s, refuses plaintext login
    from 127.0.0.1 (it listens on 127.0.0.2), serves a Maildir written by
    hand over STLS and POP3S with Dovecot's default UIDL format, holds the
    POP3 lock, its LDA writes Dovecot-style files, and stop() ends it."""
    import poplib
    if not peers.dovecot_available():
        skip_unless_ci("dovecot-pop3d is not installed")
    base = Path(tempfile.mkdtemp(prefix="volley-dovecot-mail-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        box = base / "local.test" / "alice"
        for sub in ("new", "cur", "tmp"):
            (box / sub).mkdir(parents=True)
        written = b"Subject: by hand\n\nline 1\n.starts with a dot\n"
        (box / "new" / "1700000000.M1P1.handwritten").write_bytes(written)
        t0 = time.monotonic()
        with peers.PrivateDovecot(base, {"alice@local.test": "alice-Pw-1"}, peer_cert, keep_log_in=tmp_path) as dv:
            assert time.monotonic() - t0 < 10
            dv.adopt()
            ctx = ssl.create_default_context(cafile=peer_cert[0])
            ctx.check_hostname = False
            clear = poplib.POP3(dv.ip, dv.ports["pop3"], timeout=10)
            assert "STLS" in clear.capa()
            with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
                clear.user("alice@local.test")
                clear.pass_("alice-Pw-1")
            clear.quit()

            p = poplib.POP3(dv.ip, dv.ports["pop3"], timeout=10)
            p.stls(ctx)
            p.user("alice@local.test")
            p.pass_("alice-Pw-1")
            (uidl_line,) = p.uidl()[1]
            uidlist = (box / "dovecot-uidlist").read_text().splitlines()
            version, uidvalidity = uidlist[0].split()[:2]
            assert version == "3" and uidvalidity.startswith("V")
            # %08Xu%08Xv: note that Dovecot 2.3 prints the hex digits in lower case.
            assert uidl_line.decode() == f"1 {1:08x}{int(uidvalidity[1:]):08x}"
            _resp, lines, octets = p.retr(1)
            assert b"\r\n".join(lines) + b"\r\n" == written.replace(b"\n", b"\r\n")
            assert octets == len(written.replace(b"\n", b"\r\n"))

            # Dovecot waits about 10 s for the lock before it answers [IN-USE].
            second = poplib.POP3_SSL(dv.ip, dv.ports["pop3s"], context=ctx, timeout=30)
            second.user("alice@local.test")
            with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
                second.pass_("alice-Pw-1")
            second.close()
            p.quit()
            assert [f.name for f in (box / "cur").iterdir()] == ["1700000000.M1P1.handwritten:2,S"]

            dv.deliver("alice@local.test", b"Subject: lda\n\nfrom the LDA\n")
            (lda_file,) = (box / "new").iterdir()
            assert ",S=" in lda_file.name and ",W=" in lda_file.name, lda_file.name
            assert lda_file.read_bytes().endswith(b"\n\nfrom the LDA\n")
            pid = dv.pid
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert "starting up" in (tmp_path / "dovecot.log").read_text()
    finally:
        shutil.rmtree(base, ignore_errors=True)
