"""Basic SMTP service on an MX listener, with real clients (swaks, curl,
smtplib) and raw sockets for the protocol details."""

import smtplib

import pytest

from conftest import HOSTNAME, QUEUED_RE, dot_stuff, queue_id_from_text, run_tool

MESSAGE = (b"From: Sender <sender@remote.example>\r\n"
           b"To: Alice <alice@local.test>\r\n"
           b"Subject: e2e basic\r\n"
           b"\r\n"
           b"Hello Alice,\r\n"
           b".a line starting with a dot\r\n"
           b"\r\n"
           b"  indented line\r\n"
           b"last line")


def test_greeting(volley):
    with volley.connect() as c:
        assert c.greeting.code == 220
        assert c.greeting.lines[0] == f"{HOSTNAME} ESMTP Volley"


def test_swaks_send_exact_body(volley, tmp_path):
    msg_file = tmp_path / "msg.eml"
    msg_file.write_bytes(MESSAGE)  # swaks appends CRLF before the final dot
    r = run_tool(["swaks", "--server", f"127.0.0.1:{volley.port('mx')}", "--helo", "client.test",
                  "--from", "sender@remote.example", "--to", "alice@local.test", "--data", str(msg_file)])
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    qid = queue_id_from_text(out)
    m = volley.spool(qid)
    assert m.sender == "sender@remote.example"
    assert m.rcpt_addresses == ["alice@local.test"]
    assert m.body == MESSAGE + b"\r\n"
    assert m.content.startswith(b"Received: from client.test ([127.0.0.1])\r\n")
    assert f"by {HOSTNAME} (Volley) with ESMTP id {qid}".encode() in m.received
    assert volley.spool_tmp_files() == []


def test_smtplib_send(volley):
    body = b"Subject: via smtplib\r\n\r\nbody line 1\r\n..two dots\r\nend\r\n"
    with smtplib.SMTP("127.0.0.1", volley.port("mx"), local_hostname="client.test", timeout=10) as s:
        refused = s.sendmail("sender@remote.example", ["alice@local.test", "bob@local.test"], body)
        assert refused == {}
        code, text = s.noop()
        assert code == 250
    msgs = volley.spool_messages()
    assert len(msgs) == 1
    m = msgs[0]
    assert m.body == body
    assert sorted(m.rcpt_addresses) == ["alice@local.test", "bob@local.test"]
    assert b"\tfor <" not in m.received  # two recipients: no single "for" clause


def test_curl_smtp_upload(volley, tmp_path):
    msg_file = tmp_path / "curl.eml"
    data = b"Subject: curl\r\n\r\nsent by curl\r\n.leading dot\r\n"
    msg_file.write_bytes(data)
    r = run_tool(["curl", "-sS", "-v", "--max-time", "20", f"smtp://127.0.0.1:{volley.port('mx')}/client.test",
                  "--mail-from", "sender@remote.example", "--mail-rcpt", "carol@other.test",
                  "--upload-file", str(msg_file)])
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    qid = queue_id_from_text(err)
    m = volley.spool(qid)
    assert m.body == data
    assert m.rcpt_addresses == ["carol@other.test"]
    assert m.fields["helo"] == "client.test"


def test_ehlo_capabilities(volley):
    with volley.connect() as c:
        r = c.ehlo()
        assert r.lines[0].startswith(HOSTNAME), r.lines[0]
        caps = [l.upper() for l in r.lines[1:]]
        for cap in ("PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "STARTTLS",
                    "HELP"):
            assert cap in caps, f"{cap} missing from {caps}"
        size = [l for l in caps if l.startswith("SIZE ")]
        assert size and int(size[0].split()[1]) == 50 * 1024 * 1024
        assert not any(l.startswith("AUTH") for l in caps), "AUTH must not be offered on an mx listener"


def test_ehlo_size_reflects_config(volley_factory):
    srv = volley_factory(limits={"max_message_size": "1MB"})
    with srv.connect() as c:
        caps = c.ehlo().lines[1:]
        assert "SIZE 1048576" in caps or "SIZE 1000000" in caps, caps


def test_helo_then_transaction(volley):
    with volley.connect() as c:
        r = c.expect("HELO client.test", 250)
        assert HOSTNAME in r.lines[0]
        r = c.send_message("s@remote.example", ["alice@local.test"], b"Subject: helo\r\n\r\nx\r\n")
        assert QUEUED_RE.match(str(r)), str(r)
        m = volley.spool(r.queue_id)
        assert b" with SMTP id " in m.received


def test_helo_without_argument(volley):
    with volley.connect() as c:
        r = c.cmd("HELO")
        assert r.code == 501
        r = c.cmd("EHLO")
        assert r.code == 501


def test_vrfy_expn_help_noop_rset_quit(volley):
    with volley.connect() as c:
        c.ehlo()
        r = c.cmd("VRFY alice@local.test")
        assert r.code == 252
        r = c.cmd("VRFY nosuchuser@local.test")
        assert r.code == 252, "VRFY must not reveal whether a user exists"
        r = c.cmd("EXPN staff")
        assert r.code == 502
        r = c.cmd("HELP")
        assert r.code == 214
        r = c.cmd("NOOP")
        assert (r.code, r.enhanced) == (250, "2.0.0")
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        r = c.cmd("RSET")
        assert (r.code, r.enhanced) == (250, "2.0.0")
        r = c.cmd("RCPT TO:<alice@local.test>")
        assert (r.code, r.enhanced) == (503, "5.5.1"), "RSET must clear the transaction"
        r = c.cmd("QUIT")
        assert r.code == 221
        c.wait_closed(3)
    assert volley.spool_ids() == []


def test_pipelining(volley):
    with volley.connect() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@local.test>\r\n"
               b"RCPT TO:<nosuch@local.test>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n")
        replies = c.read_replies(5)
        assert [(r.code, r.enhanced) for r in replies] == [
            (250, "2.1.0"), (250, "2.1.5"), (550, "5.1.1"), (250, "2.1.5"), (354, "")], [str(r) for r in replies]
        c.send(b"Subject: pipelined\r\n\r\nhi\r\n.\r\nNOOP\r\nQUIT\r\n")
        final, noop, quit_ = c.read_replies(3)
        assert QUEUED_RE.match(str(final)), str(final)
        assert noop.code == 250 and quit_.code == 221
    m = volley.spool(final.queue_id)
    assert sorted(m.rcpt_addresses) == ["alice@local.test", "bob@local.test"]


def test_multiple_messages_per_connection(volley):
    ids = []
    with volley.connect() as c:
        c.ehlo()
        for i in range(5):
            r = c.send_message(f"s{i}@remote.example", ["alice@local.test"], f"Subject: n{i}\r\n\r\nmsg {i}\r\n".encode())
            assert QUEUED_RE.match(str(r)), str(r)
            ids.append(r.queue_id)
        c.quit()
    assert len(set(ids)) == 5
    for i, qid in enumerate(ids):
        m = volley.spool(qid)
        assert m.sender == f"s{i}@remote.example"
        assert m.body == f"Subject: n{i}\r\n\r\nmsg {i}\r\n".encode()


def test_null_sender(volley):
    with volley.connect() as c:
        c.ehlo()
        r = c.send_message("", ["alice@local.test"], b"Subject: bounce\r\n\r\nx\r\n")
        assert r.code == 250, str(r)
    assert volley.spool(r.queue_id).sender == ""


def test_8bitmime(volley):
    body = "Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße aus Köln — ½ €\r\n".encode("utf-8")
    with volley.connect() as c:
        c.ehlo()
        r = c.send_message("s@remote.example", ["alice@local.test"], body, mail_params="BODY=8BITMIME")
        assert r.code == 250, str(r)
    m = volley.spool(r.queue_id)
    assert m.body == body
    assert m.fields["eight_bit"] == "1"


def test_smtputf8_existing_alias(volley_factory):
    # A UTF-8 local part that exists (as a user) is accepted under SMTPUTF8.
    srv = volley_factory(users={"alice@local.test": "pw-alice-1", "jörg@local.test": "pw-joerg-1"})
    body = "Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nFrom: sénder@remote.example\r\n\r\nÜmlaut\r\n".encode("utf-8")
    with smtplib.SMTP("127.0.0.1", srv.port("mx"), local_hostname="client.test", timeout=10) as s:
        refused = s.sendmail("sénder@remote.example", ["jörg@local.test"], body, mail_options=["SMTPUTF8"])
        assert refused == {}
    (m,) = srv.spool_messages()
    assert m.sender == "sénder@remote.example"
    assert m.rcpt_addresses == ["jörg@local.test"]
    assert m.fields["smtputf8"] == "1"
    assert m.body == body
    assert b"with UTF8SMTP" in m.received


def test_smtputf8_unknown_utf8_user(volley):
    with smtplib.SMTP("127.0.0.1", volley.port("mx"), local_hostname="client.test", timeout=10) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            s.sendmail("sénder@remote.example", ["nöbody@local.test"], b"Subject: x\r\n\r\nx\r\n",
                       mail_options=["SMTPUTF8"])
        code, text = ei.value.recipients["nöbody@local.test"]
        assert code == 550 and text.startswith(b"5.1.1"), (code, text)
    assert volley.spool_ids() == []


def test_utf8_address_without_smtputf8_refused(volley):
    with volley.connect() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<sénder@remote.example>")
        assert r.code in (501, 553, 555) and r.code >= 500, str(r)
        c.expect("MAIL FROM:<s@remote.example>", 250)
        r = c.cmd("RCPT TO:<jörg@local.test>")
        assert 500 <= r.code < 600, str(r)


def test_dsn_parameters_stored(volley):
    with volley.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example> RET=HDRS ENVID=abc", 250, "2.1.0")
        c.expect("RCPT TO:<alice@local.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y", 250, "2.1.5")
        c.expect("RCPT TO:<bob@local.test> NOTIFY=NEVER", 250, "2.1.5")
        c.expect("DATA", 354)
        c.send(b"Subject: dsn\r\n\r\nx\r\n.\r\n")
        r = c.read_reply()
        assert r.code == 250, str(r)
    m = volley.spool(r.queue_id)
    assert m.fields["dsn_ret"] == "HDRS"
    assert m.fields["dsn_envid"] == "abc"
    by_addr = {x.address: x for x in m.rcpts}
    alice = by_addr["alice@local.test"]
    assert alice.notify == 2 | 4  # SUCCESS | FAILURE
    assert (alice.orcpt_type, alice.orcpt_address) == ("rfc822", "x@y")
    assert by_addr["bob@local.test"].notify == 1  # NEVER
    assert all(x.state == "pending" for x in m.rcpts)


def test_dsn_bad_parameters(volley):
    with volley.connect() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<s@remote.example> RET=SOMETIMES")
        assert r.code == 501, str(r)
        r = c.cmd("MAIL FROM:<s@remote.example> FROBNICATE=1")
        assert r.code == 555, str(r)
        c.expect("MAIL FROM:<s@remote.example>", 250)
        r = c.cmd("RCPT TO:<alice@local.test> NOTIFY=NEVER,SUCCESS")
        assert r.code == 501, str(r)


# ----------------------------------------------------------------- BDAT

def test_bdat_chunks(volley):
    part1 = b"Subject: bdat\r\n\r\nfirst chunk\r\n"
    part2 = b".not stuffed\r\nsecond chunk\r\n"
    with volley.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        r = c.read_reply()
        assert (r.code, r.enhanced) == (250, "2.0.0") and f"{len(part1)} octets" in r.text, str(r)
        c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        r = c.read_reply()
        assert QUEUED_RE.match(str(r)), str(r)
        c.expect("NOOP", 250)
    assert volley.spool(r.queue_id).body == part1 + part2


def test_bdat_pipelined(volley):
    p1, p2, p3 = b"Subject: pipelined bdat\r\n", b"\r\nbody ", b"end\r\n"
    with volley.connect() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@local.test>\r\n"
               + b"BDAT %d\r\n" % len(p1) + p1
               + b"BDAT %d\r\n" % len(p2) + p2
               + b"BDAT %d LAST\r\n" % len(p3) + p3
               + b"QUIT\r\n")
        replies = c.read_replies(6)
        assert [r.code for r in replies] == [250, 250, 250, 250, 250, 221], [str(r) for r in replies]
        assert QUEUED_RE.match(str(replies[4])), str(replies[4])
    assert volley.spool(replies[4].queue_id).body == p1 + p2 + p3


def test_bdat_zero_last(volley):
    data = b"Subject: zero last\r\n\r\nbody\r\n"
    with volley.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        c.send(b"BDAT %d\r\n" % len(data) + data)
        assert c.read_reply().code == 250
        r = c.cmd("BDAT 0 LAST")
        assert QUEUED_RE.match(str(r)), str(r)
    assert volley.spool(r.queue_id).body == data


def test_bdat_crlf_split_across_chunks(volley):
    a, b = b"Subject: split\r\n\r\nline one\r", b"\nline two\r\n"
    with volley.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        c.send(b"BDAT %d\r\n" % len(a) + a)
        assert c.read_reply().code == 250
        c.send(b"BDAT %d LAST\r\n" % len(b) + b)
        r = c.read_reply()
        assert r.code == 250, str(r)
    assert volley.spool(r.queue_id).body == a + b


def test_bdat_without_transaction_stays_in_sync(volley):
    junk = b"NOOP\r\nQUIT\r\n"  # must be consumed as chunk data, never executed
    with volley.connect() as c:
        c.ehlo()
        c.send(b"BDAT %d\r\n" % len(junk) + junk)
        r = c.read_reply()
        assert (r.code, r.enhanced) == (503, "5.5.1"), str(r)
        r = c.cmd("NOOP")
        assert r.code == 250
        assert c.nothing_pending(0.3)
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        c.send(b"BDAT 4 LAST\r\nabc\n")
        r = c.read_reply()
        assert r.code == 250, str(r)
        r = c.cmd("DATA")
        assert r.code == 503 or r.code == 554, "DATA with no transaction"
    assert volley.spool(volley.spool_ids()[0]).body == b"abc\r\n"


def test_data_after_bdat_refused(volley):
    with volley.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        c.send(b"BDAT 3\r\nabc")
        assert c.read_reply().code == 250
        r = c.cmd("DATA")
        assert (r.code, r.enhanced) == (503, "5.5.1"), str(r)


def test_dot_stuffing_roundtrip(volley):
    original = b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nend\r\n"
    with volley.connect() as c:
        c.ehlo()
        r = c.send_message("s@remote.example", ["alice@local.test"], dot_stuff(original))
        assert r.code == 250, str(r)
    assert volley.spool(r.queue_id).body == original


def test_address_case_and_spaces(volley):
    with volley.connect() as c:
        c.ehlo()
        c.expect("mail from:<s@remote.example>", 250, "2.1.0")
        c.expect("rcpt to:<alice@local.test>", 250, "2.1.5")
        c.expect("RSET", 250)
        # RFC 5321 forbids the space, but it is common; either accept or 501.
        r = c.cmd("MAIL FROM: <s@remote.example>")
        assert r.code in (250, 501), str(r)


def test_bdat_content_is_not_dot_unstuffed(volley):
    data = b"Subject: bdat dots\r\n\r\n.leading\r\n.\r\nstill in the message\r\n"
    with volley.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        c.send(b"BDAT %d LAST\r\n" % len(data) + data)
        r = c.read_reply()
        assert QUEUED_RE.match(str(r)), str(r)
        assert c.nothing_pending(0.2), "the CRLF.CRLF inside a BDAT chunk must not end anything"
    assert volley.spool(r.queue_id).body == data


def test_bdat_bad_size_closes(volley):
    c = volley.connect()
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    r = c.cmd("BDAT twelve LAST")
    assert r.code == 501, str(r)
    c.wait_closed(5)
    assert volley.spool_ids() == []


def test_rset_after_bdat_chunk_discards(volley):
    with volley.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        c.send(b"BDAT 5\r\nhello")
        assert c.read_reply().code == 250
        c.expect("RSET", 250)
        r = c.send_message("s2@remote.example", ["bob@local.test"], b"Subject: second\r\n\r\nx\r\n")
        assert r.code == 250
    (m,) = volley.spool_messages()
    assert m.sender == "s2@remote.example" and m.body == b"Subject: second\r\n\r\nx\r\n"


def test_ehlo_resets_transaction(volley):
    with volley.connect() as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        c.ehlo()
        r = c.cmd("DATA")
        assert r.code in (503, 554), f"EHLO must reset the transaction: {r}"
        c.expect("MAIL FROM:<s@remote.example>", 250)


def test_message_size_boundary(volley_factory):
    srv = volley_factory(limits={"max_message_size": 4000})
    head = b"Subject: boundary\r\n\r\n"
    filler = 4000 - len(head) - 2
    exact = head + b"a" * filler + b"\r\n"
    assert len(exact) == 4000
    with srv.connect() as c:
        c.ehlo()
        r = c.send_message("s@remote.example", ["alice@local.test"], exact)
        assert r.code == 250, f"a message of exactly max_message_size octets is allowed: {r}"
        r = c.send_message("s@remote.example", ["alice@local.test"], head + b"a" * (filler + 1) + b"\r\n")
        assert (r.code, r.enhanced) == (552, "5.3.4"), str(r)
        c.expect("MAIL FROM:<s@remote.example> SIZE=4000", 250)
        c.expect("RSET", 250)
        r = c.cmd("MAIL FROM:<s@remote.example> SIZE=4001")
        assert (r.code, r.enhanced) == (552, "5.3.4"), str(r)
    assert len(srv.spool_ids()) == 1


def test_spool_envelope_escaping(volley):
    sender = '"john doe%x"@remote.example'
    with volley.connect() as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<{sender}>", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: esc\r\n\r\nx\r\n.\r\n")
        r = c.read_reply()
        assert r.code == 250, str(r)
    m = volley.spool(r.queue_id)
    assert m.sender == sender
    raw = m.raw_envelope.decode()
    assert 'sender "john%20doe%25x"@remote.example' in raw.splitlines(), raw
    for line in raw.splitlines():
        assert len(line.split(" ")) == (7 if line.startswith("rcpt ") else 2), f"unescaped value: {line!r}"


def test_received_header_single_recipient(volley):
    with volley.connect() as c:
        c.ehlo("client.test")
        r = c.send_message("s@remote.example", ["Alice@Local.Test"], b"Subject: for\r\n\r\nx\r\n")
    m = volley.spool(r.queue_id)
    rec = m.received.decode()
    assert rec.startswith("Received: from client.test ([127.0.0.1])\r\n"), rec
    assert f"by {HOSTNAME} (Volley) with ESMTP id {r.queue_id}" in rec
    assert "for <Alice@Local.Test>" in rec or "for <alice@local.test>" in rec
    assert rec.endswith("\r\n") and " +0000\r\n" in rec


def test_long_pipelined_batch(volley_factory):
    import threading
    n = 5000
    # NOOP is a junk command (limits.max_junk_commands): allow this many here,
    # the test is about one long pipelined batch.
    volley = volley_factory(limits={"max_junk_commands": n + 1})
    c = volley.connect()
    c.ehlo()
    got = []

    def reader():
        try:
            for _ in range(n + 1):
                got.append(c.read_reply(timeout=20))
        except Exception as e:  # noqa: BLE001
            got.append(e)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    c.send(b"".join(b"NOOP %d\r\n" % i for i in range(n)) + b"QUIT\r\n")
    t.join(30)
    assert len(got) == n + 1 and all(not isinstance(x, Exception) for x in got), got[-1:]
    assert all(r.code == 250 for r in got[:n]) and got[n].code == 221
    c.close()
