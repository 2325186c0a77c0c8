"""Hostile and broken input: the server answers with a clear SMTP error,
stores nothing it should not, and keeps serving everyone else."""

import random
import socket
import threading
import time

import pytest

from conftest import QUEUED_RE, ConnectionClosed, SMTPClient, wait_until


def assert_healthy(srv, source=None):
    """A fresh client can still complete a whole transaction."""
    with srv.connect("mx", source=source) as c:
        c.ehlo()
        r = c.send_message("s@remote.example", ["alice@local.test"], b"Subject: still alive\r\n\r\nok\r\n")
        assert QUEUED_RE.match(str(r)), str(r)
        c.quit()
    return r.queue_id


def assert_spool_clean(srv):
    assert srv.spool_ids() == [], f"unexpected messages in spool: {srv.spool_ids()}"
    assert srv.spool_tmp_files() == [], f"spool/tmp not empty: {srv.spool_tmp_files()}"


# ------------------------------------------------------------ long lines

def test_overlong_line_without_newline(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.send(b"A" * 100_000)
    r = c.read_reply()
    assert (r.code, r.enhanced) == (500, "5.5.2"), str(r)
    c.send(b"B" * 50_000 + b"\r\n")
    r = c.cmd("NOOP")
    assert (r.code, r.enhanced) == (250, "2.0.0"), f"expected the NOOP reply after one 500, got {r}"
    assert c.nothing_pending(0.2)
    c.quit()
    assert_healthy(volley)


@pytest.mark.parametrize("line,limit_ok", [
    (b"NOOP " + b"x" * 505, True),        # exactly 512 octets with CRLF: the RFC 5321 limit
    (b"NOOP " + b"x" * 506, False),       # 513 octets
    (b"HELO " + b"h" * 600, False),
    (b"MAIL FROM:<" + b"a" * 2100 + b"@x.test>", False),
], ids=["noop-512", "noop-513", "helo-607", "mail-2121"])
def test_command_line_limits(volley, line, limit_ok):
    c = volley.connect("mx")
    c.ehlo()
    r = c.cmd(line)
    if limit_ok:
        assert r.code == 250, str(r)
    else:
        assert (r.code, r.enhanced) == (500, "5.5.2"), str(r)
    c.expect("NOOP", 250)
    c.quit()


def test_envelope_lines_may_exceed_512(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example> RET=FULL ENVID=" + "E" * 100, 250)
    line = "RCPT TO:<alice@local.test> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;" + "o" * 480 + "@x.test"
    assert len(line) > 512
    r = c.cmd(line)
    assert r.code == 250, f"a {len(line)}-octet RCPT line is legal (RFC 3461 ORCPT): {r}"
    c.quit()


def test_overlong_auth_line(volley):
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd("AUTH PLAIN " + "A" * 13000)
    assert (r.code, r.enhanced) == (500, "5.5.2"), str(r)
    c.expect("NOOP", 250)
    c.quit()


def test_overlong_message_line(volley_factory):
    srv = volley_factory(limits={"max_line_length": 1000})
    with srv.connect("mx") as c:
        c.ehlo()
        ok_body = b"Subject: long ok\r\n\r\n" + b"y" * 990 + b"\r\n"
        r = c.send_message("s@remote.example", ["alice@local.test"], ok_body)
        assert r.code == 250, str(r)
        ok_id = r.queue_id
        r = c.send_message("s@remote.example", ["alice@local.test"],
                           b"Subject: long\r\n\r\n" + b"z" * 5000 + b"\r\nmore\r\n")
        assert (r.code, r.enhanced) == (552, "5.3.4"), str(r)
        c.expect("NOOP", 250)
    assert srv.spool_ids() == [ok_id]
    assert srv.spool_tmp_files() == []


# ------------------------------------------------------- binary garbage

@pytest.mark.parametrize("cmd", [b"NOOP\x00\r\n", b"MAIL FROM:<a\x00b@x.test>\r\n", b"EHLO a\x01b\r\n",
                                 b"\x00\x00\x00\r\n", b"RSET\x1b[2J\r\n", b"HELO x\x7f\r\n"])
def test_nul_and_control_bytes_in_commands(volley, cmd):
    c = volley.connect("mx")
    c.ehlo()
    c.send(cmd)
    r = c.read_reply()
    assert (r.code, r.enhanced) == (500, "5.5.2"), f"{cmd!r}: {r}"
    c.expect("NOOP", 250)
    c.quit()


def test_random_binary_garbage(volley_factory):
    # Every garbage line is an error; past limits.errors_before_delay each
    # reply waits error_delay (1 s by default), so shortened here.
    volley = volley_factory(limits={"error_delay": "50ms"})
    rng = random.Random(0x5EED)
    for i in range(3):
        with volley.connect("mx") as c:
            c.send(rng.randbytes(64 * 1024))
            try:
                c.wait_closed(15)  # either a 421 after too many errors, or we give up
            except AssertionError:
                pass
    # also on the TLS listeners
    for name in ("submission", "smtps"):
        s = socket.create_connection(("127.0.0.1", volley.port(name)), timeout=5)
        s.sendall(rng.randbytes(16 * 1024))
        s.close()
    assert volley.running()
    assert_healthy(volley)
    with volley.connect("smtps") as c:
        c.ehlo()


def test_garbage_in_data_is_refused_or_stored_exactly(volley):
    rng = random.Random(42)
    blob = rng.randbytes(32 * 1024).replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")
    body = b"Subject: garbage\r\n\r\n" + b"\r\n".join(blob[i:i + 500] for i in range(0, len(blob), 500)) + b"\r\n"
    c = volley.connect("mx")
    c.ehlo()
    r = c.send_message("s@remote.example", ["alice@local.test"], body.replace(b"\r\n.", b"\r\n.."))
    assert r.code == 250, str(r)
    c.quit()
    assert volley.spool(r.queue_id).body == body


def test_nul_in_message_refused(volley):
    c = volley.connect("mx")
    c.ehlo()
    r = c.send_message("s@remote.example", ["alice@local.test"], b"Subject: nul\r\n\r\na\x00b\r\n")
    assert r.code == 550 or r.code == 554, str(r)
    c.expect("NOOP", 250)
    c.quit()
    assert_spool_clean(volley)


# ----------------------------------------------------- sequence / syntax

def test_out_of_sequence_commands(volley):
    c = volley.connect("mx")
    r = c.cmd("MAIL FROM:<s@remote.example>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), f"MAIL before EHLO: {r}"
    c.ehlo()
    r = c.cmd("RCPT TO:<alice@local.test>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), f"RCPT before MAIL: {r}"
    r = c.cmd("DATA")
    assert (r.code, r.enhanced) == (503, "5.5.1"), f"DATA before MAIL: {r}"
    c.expect("MAIL FROM:<s@remote.example>", 250)
    r = c.cmd("MAIL FROM:<s@remote.example>")
    assert (r.code, r.enhanced) == (503, "5.5.1"), f"nested MAIL: {r}"
    r = c.cmd("DATA")
    assert r.code in (503, 554) and r.enhanced.startswith("5."), f"DATA without RCPT: {r}"
    c.quit()


def test_unknown_commands(volley):
    c = volley.connect("mx")
    for cmd in ("FOO", "XYZZY bar", "MAILFROM:<a@b.c>", "TURN", "ETRN local.test"):
        r = c.cmd(cmd)
        assert (r.code, r.enhanced) == (500, "5.5.1"), f"{cmd}: {r}"
    c.expect("NOOP", 250)
    c.quit()


def test_bad_address_syntax(volley):
    c = volley.connect("mx")
    c.ehlo()
    for bad in ("MAIL FROM:<missing-at>", "MAIL FROM:<a@>", "MAIL FROM:<a..b@x.test>", "MAIL FROM:<@x.test>",
                "MAIL FROM:<" + "l" * 65 + "@x.test>"):
        r = c.cmd(bad)
        assert (r.code, r.enhanced) == (501, "5.1.7"), f"{bad}: {r}"
    r = c.cmd("MAIL FROM:no-brackets@x.test")
    assert r.code == 501, str(r)
    c.expect("MAIL FROM:<s@remote.example>", 250)
    for bad in ("RCPT TO:<missing-at>", "RCPT TO:<alice@-local.test>", "RCPT TO:<alice@local..test>"):
        r = c.cmd(bad)
        assert (r.code, r.enhanced) == (501, "5.1.3"), f"{bad}: {r}"
    c.quit()


def test_too_many_errors_closes(volley_factory):
    srv = volley_factory(limits={"max_errors": 5})
    c = srv.connect("mx")
    for i in range(4):
        r = c.cmd(f"BOGUS{i}")
        assert r.code == 500
    c.send(b"BOGUS4\r\n")
    r = c.read_reply()
    assert r.code == 500
    r = c.read_reply()
    assert (r.code, r.enhanced) == (421, "4.7.0"), str(r)
    c.wait_closed(5)
    assert_healthy(srv)


def test_http_request_closes(volley):
    c = volley.connect("mx")
    c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl\r\n\r\n")
    r = c.read_reply()
    assert (r.code, r.enhanced) == (500, "5.5.1"), str(r)
    rest = c.wait_closed(5)
    assert b"250" not in rest and b"220" not in rest, f"server kept talking to an HTTP client: {rest!r}"
    c2 = volley.connect("mx")
    c2.send(b"POST /x HTTP/1.0\r\nContent-Length: 4\r\n\r\nMAIL")
    assert c2.read_reply().code == 500
    c2.wait_closed(5)
    assert_healthy(volley)


# ------------------------------------------------------------- sizes

def test_size_parameter_over_limit(volley_factory):
    srv = volley_factory(limits={"max_message_size": 10000})
    c = srv.connect("mx")
    assert "SIZE 10000" in c.ehlo().lines
    r = c.cmd("MAIL FROM:<s@remote.example> SIZE=20000")
    assert (r.code, r.enhanced) == (552, "5.3.4"), str(r)
    c.expect("MAIL FROM:<s@remote.example> SIZE=5000", 250)
    c.quit()


def test_actual_size_over_limit(volley_factory):
    srv = volley_factory(limits={"max_message_size": 10000})
    c = srv.connect("mx")
    c.ehlo()
    body = b"Subject: big\r\n\r\n" + (b"x" * 78 + b"\r\n") * 300
    r = c.send_message("s@remote.example", ["alice@local.test"], body)
    assert (r.code, r.enhanced) == (552, "5.3.4"), str(r)
    c.expect("NOOP", 250)
    # BDAT too
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    r = c.read_reply()
    assert (r.code, r.enhanced) == (552, "5.3.4"), str(r)
    c.expect("NOOP", 250)
    c.quit()
    assert_spool_clean(srv)


def test_client_vanishes_mid_data(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: half\r\n\r\n" + b"partial line\r\n" * 1000)
    c.close()
    volley.wait_event("smtp.disconnect")
    assert_spool_clean(volley)
    assert_healthy(volley)


def test_client_vanishes_mid_bdat(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.send(b"BDAT 10\r\n0123456789")
    assert c.read_reply().code == 250
    c.send(b"BDAT 100000 LAST\r\n" + b"x" * 5000)
    c.close()
    volley.wait_event("smtp.disconnect")
    assert_spool_clean(volley)


# --------------------------------------------------------- slow clients

def test_slowloris_command_timeout(volley_factory):
    srv = volley_factory(limits={"command_timeout": "2s"})
    result = {}

    def loris():
        c = srv.connect("mx")
        t0 = time.monotonic()
        try:
            # One byte every 500 ms, never a complete line; at most 8 s of it.
            for b in b"EHLO slow.example.net.":
                c.send(bytes([b]))
                if not c.nothing_pending(0.5):
                    break
        except OSError:
            pass
        try:
            result["reply"] = c.read_reply(timeout=2)
        except (ConnectionClosed, OSError) as e:
            result["reply"] = e
        result["elapsed"] = time.monotonic() - t0
        c.close()

    t = threading.Thread(target=loris, daemon=True)
    t.start()
    time.sleep(0.3)
    # Meanwhile a normal client is served at once.
    t0 = time.monotonic()
    assert_healthy(srv, source="127.0.0.5")
    assert time.monotonic() - t0 < 1.5
    t.join(15)
    assert "reply" in result, "slow client thread did not finish"
    r = result["reply"]
    assert not isinstance(r, Exception), f"slow client got no reply after {result['elapsed']:.1f}s: {r}"
    assert (r.code, r.enhanced) == (421, "4.4.2"), str(r)
    assert 1.5 <= result["elapsed"] <= 3.8, f"timeout must be per command, not per read: {result['elapsed']:.2f}s"


def test_idle_command_timeout(volley_factory):
    srv = volley_factory(limits={"command_timeout": "1s"})
    c = srv.connect("mx")
    t0 = time.monotonic()
    c.ehlo()
    r = c.read_reply(timeout=5)
    assert (r.code, r.enhanced) == (421, "4.4.2"), str(r)
    assert 0.8 <= time.monotonic() - t0 <= 3.0
    c.wait_closed(5)


def test_slow_data_timeout(volley_factory):
    # One byte every 0.5 s is never idle for data_timeout, but far below the
    # default min_data_rate (500 B/s): cut once the first data_timeout has
    # passed (the bytes received buy next to nothing).
    srv = volley_factory(limits={"command_timeout": "30s", "data_timeout": "2s"})
    c = srv.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("DATA", 354)
    t0 = time.monotonic()
    reply = None
    for i in range(20):
        try:
            c.send(b"x")
        except OSError:
            break
        if not c.nothing_pending(0.5):
            break
    try:
        reply = c.read_reply(timeout=5)
    except (ConnectionClosed, OSError) as e:
        reply = e
    elapsed = time.monotonic() - t0
    assert not isinstance(reply, Exception), f"no reply: {reply}"
    assert (reply.code, reply.enhanced) == (421, "4.4.2"), str(reply)
    assert 1.5 <= elapsed <= 3.8, f"a sender below min_data_rate must be cut, took {elapsed:.2f}s"
    srv.wait_event("smtp.disconnect")
    assert_spool_clean(srv)


# ------------------------------------------------------------ smuggling

SMUGGLE_SEQUENCES = {
    "lf-dot-lf": b"\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "cr-dot-cr": b"\r.\r",
    "crlf-dot-cr": b"\r\n.\r",
    "cr-crlf": b"\r\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-nul-crlf": b"\r\n.\x00\r\n",
}


@pytest.mark.parametrize("name", list(SMUGGLE_SEQUENCES))
def test_smtp_smuggling(volley, name):
    seq = SMUGGLE_SEQUENCES[name]
    c = volley.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<legit@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: a\r\n\r\nfirst" + seq
           + b"MAIL FROM:<evil@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n"
           + b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n")
    replies = []
    try:
        while True:
            replies.append(c.read_reply(timeout=5))
            if replies[-1].code == 221:
                break
    except ConnectionClosed:
        pass
    c.close()
    completions = [r for r in replies if QUEUED_RE.match(str(r)) or (r.code == 550 and r.enhanced == "5.6.0")]
    assert len(completions) == 1, f"expected one DATA completion, got {[str(r) for r in replies]}"
    assert not any(r.code == 354 for r in replies), f"a smuggled DATA was accepted: {[str(r) for r in replies]}"
    assert [r.code for r in replies][-1] == 221, [str(r) for r in replies]
    msgs = volley.spool_messages()
    assert len(msgs) <= 1
    for m in msgs:
        assert m.sender == "legit@remote.example"
        assert m.rcpt_addresses == ["alice@local.test"]
        assert b"\r\n" in m.body
        stripped = m.body.replace(b"\r\n", b"")
        assert b"\r" not in stripped and b"\n" not in stripped, f"bare CR/LF stored: {m.body!r}"
    assert volley.spool_tmp_files() == []


def test_bare_lf_normalised(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: lf\n\nline one\nline two\r\nline three\n.\r\n")
    # "\n.\r\n" must not end the data: only CRLF.CRLF does.
    assert c.nothing_pending(0.5), f"data ended early: {c.buf!r}"
    c.send(b"after\r\n.\r\n")
    r = c.read_reply()
    assert QUEUED_RE.match(str(r)), str(r)
    c.quit()
    body = volley.spool(r.queue_id).body
    assert b"line one\r\nline two\r\nline three\r\n" in body
    assert body.endswith(b"after\r\n")
    assert body.count(b"\n") == body.count(b"\r\n"), f"bare LF stored: {body!r}"


def test_bare_cr_refused(volley):
    c = volley.connect("mx")
    c.ehlo()
    r = c.send_message("s@remote.example", ["alice@local.test"], b"Subject: cr\r\n\r\nbare\rcr\r\n")
    assert (r.code, r.enhanced) == (550, "5.6.0"), str(r)
    c.expect("NOOP", 250)
    c.quit()
    assert_spool_clean(volley)


# ------------------------------------------------------ connection limits

def test_max_connections_per_ip(volley_factory):
    srv = volley_factory(limits={"max_connections_per_ip": 3})
    held = [srv.connect("mx") for _ in range(3)]
    for c in held:
        assert c.greeting.code == 220
    extra = SMTPClient(srv.port("mx"), greet=False)
    r = extra.read_reply()
    assert (r.code, r.enhanced) == (421, "4.7.0"), str(r)
    assert "from your address" in r.text, str(r)
    extra.wait_closed(5)
    # The limit is per address: another source is fine.
    with srv.connect("mx", source="127.0.0.2") as other:
        assert other.greeting.code == 220
    # Freeing a slot lets the address back in.
    held.pop().quit()
    wait_until(lambda: len(srv.events("smtp.disconnect")) >= 2, 5, what="disconnects")

    def try_connect():
        c = srv.connect("mx")
        if c.greeting.code == 220:
            held.append(c)
            return True
        c.close()
        return False
    wait_until(try_connect, 5, interval=0.1, what="a free connection slot")
    for c in held:
        c.close()


def test_max_connections_total(volley_factory):
    srv = volley_factory(limits={"max_connections": 5, "max_connections_per_ip": 100})
    held = [srv.connect("mx", source=f"127.0.0.{i}") for i in range(1, 6)]
    for c in held:
        assert c.greeting.code == 220
    extra = SMTPClient(srv.port("mx"), source="127.0.0.6", greet=False)
    r = extra.read_reply()
    assert (r.code, r.enhanced) == (421, "4.7.0"), str(r)
    assert "too many connections" in r.text.lower() and "from your address" not in r.text, str(r)
    extra.wait_closed(5)
    for c in held:
        c.close()


def test_many_connections_then_recovery(volley):
    conns = [volley.connect("mx", source=f"127.0.1.{i % 50 + 1}") for i in range(50)]
    for c in conns:
        c.send(b"EHLO x\r\n")
    for c in conns:
        assert c.read_reply().code == 250
        c.close()
    assert_healthy(volley)


def test_mail_loop_too_many_received_headers(volley):
    hops = b"".join(b"Received: from hop%d.example by hop%d.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n" % (i, i + 1)
                    for i in range(60))
    c = volley.connect("mx")
    c.ehlo()
    r = c.send_message("s@remote.example", ["alice@local.test"], hops + b"Subject: loop\r\n\r\nx\r\n")
    assert r.code == 554 and r.enhanced.startswith("5.4."), str(r)
    c.expect("NOOP", 250)
    c.quit()
    assert_spool_clean(volley)


def test_every_negative_reply_has_enhanced_code(volley_factory):
    srv = volley_factory(limits={"max_errors": 100, "errors_before_delay": 100})
    c = srv.connect("mx")
    negatives = []
    for cmd in ["MAIL FROM:<a@b.test>", "FOO", "HELO", "EHLO", "RCPT TO:<a@local.test>", "DATA",
                "EHLO client.test", "MAIL FROM:<bad>", "MAIL FROM:<a@b.test> SIZE=x", "MAIL FROM:<a@b.test> X=1",
                "MAIL FROM:<a@b.test> SIZE=999999999999", "MAIL FROM:<a@b.test>", "MAIL FROM:<a@b.test>",
                "RCPT TO:<>", "RCPT TO:<nobody@local.test>", "RCPT TO:<x@remote.example>", "RCPT TO:<bad",
                "DATA", "EXPN x", "VRFY", "AUTH PLAIN", "STARTTLS x", "RSET x", "DATA x", "NOOP\x00"]:
        r = c.cmd(cmd)
        if r.code >= 400:
            negatives.append((cmd, r))
    c.quit()
    assert len(negatives) >= 15
    for cmd, r in negatives:
        assert r.code in (421, 450, 451, 452, 454, 500, 501, 502, 503, 504, 530, 535, 538, 550, 551, 552, 553, 554,
                          555), f"{cmd!r}: non-standard code {r}"
        assert r.enhanced and r.enhanced[0] == str(r.code)[0], f"{cmd!r}: no matching enhanced status code: {r}"
        assert len(r.lines[0]) > len(r.enhanced) + 3, f"{cmd!r}: no human-readable reason: {r}"


def test_large_message_is_fast_and_exact(volley):
    line = b"0123456789" * 99 + b"\r\n"  # 992 octets
    body = b"Subject: large\r\n\r\n" + line * 8000  # ~8 MB
    c = volley.connect("mx")
    c.ehlo()
    t0 = time.monotonic()
    r = c.send_message("s@remote.example", ["alice@local.test"], body)
    assert r.code == 250, str(r)
    assert time.monotonic() - t0 < 10
    c.quit()
    assert volley.spool(r.queue_id).body == body


def test_pathological_inputs_answered_quickly(volley):
    c = volley.connect("mx")
    c.ehlo()
    t0 = time.monotonic()
    c.send(b"DATA\r\n")
    assert c.read_reply().code in (503, 554)
    c.expect("MAIL FROM:<s@remote.example>", 250)
    for cmd in [b"RCPT TO:<" + b"@a," * 600 + b"@b:x@local.test>",
                b"RCPT TO:<" + b"a." * 900 + b"@local.test>",
                b"RCPT TO:<\"" + b"\\\\" * 900 + b"\"@local.test>",
                b"RCPT TO:<x@" + b"[" * 1500 + b">",
                b"RCPT TO:<alice@local.test> " + b"NOTIFY=SUCCESS " * 120]:
        r = c.cmd(cmd)
        assert r.code >= 500, f"{cmd[:40]!r}...: {r}"
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: crs\r\n\r\n" + b"\r" * 1_000_000 + b"x\r\n" + b"\n" * 200_000 + b"\r\n.\r\n")
    r = c.read_reply(timeout=15)
    assert (r.code, r.enhanced) == (550, "5.6.0"), str(r)
    assert time.monotonic() - t0 < 5, "pathological input took too long"
    c.quit()
    assert_spool_clean(volley)
