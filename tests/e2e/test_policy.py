"""Relay policy on the MX listener: only local recipients (and aliases)
unless the client is in relay.allow_networks; tricky address forms must
never turn into relaying; addresses are data, never shell input."""

import time

import pytest

from conftest import QUEUED_RE


def open_transaction(srv, source=None):
    c = srv.connect("mx", source=source)
    c.ehlo()
    c.expect("MAIL FROM:<sender@remote.example>", 250, "2.1.0")
    return c


def finish(c, body=b"Subject: policy\r\n\r\nx\r\n"):
    c.expect("DATA", 354)
    c.send(body + b".\r\n")
    r = c.read_reply()
    assert QUEUED_RE.match(str(r)), str(r)
    return r.queue_id


def test_non_local_domain_relay_denied(volley):
    c = open_transaction(volley)
    r = c.cmd("RCPT TO:<victim@remote.example>")
    assert (r.code, r.enhanced) == (550, "5.7.1"), str(r)
    r = c.cmd("DATA")
    assert r.code in (503, 554), str(r)
    c.quit()
    assert volley.spool_ids() == []
    assert volley.events("smtp.relay_denied"), "relay refusals should be logged"


def test_relay_denied_even_with_local_sender(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<alice@local.test>", 250)
    r = c.cmd("RCPT TO:<victim@remote.example>")
    assert (r.code, r.enhanced) == (550, "5.7.1"), str(r)
    c.quit()


def test_unknown_local_user(volley):
    c = open_transaction(volley)
    r = c.cmd("RCPT TO:<nosuchuser@local.test>")
    assert (r.code, r.enhanced) == (550, "5.1.1"), str(r)
    r = c.cmd("RCPT TO:<nosuchuser@other.test>")
    assert (r.code, r.enhanced) == (550, "5.1.1"), str(r)
    c.quit()


@pytest.mark.parametrize("rcpt", [
    "user%evil.example@local.test",
    "alice%evil.example@local.test",
    "evil.example!alice@local.test",
    "alice@local.test@evil.example",
    '"alice@evil.example"@local.test',
    '"alice"@evil.example',
    "alice@local.test.",
    "alice@[127.0.0.1]",
    "alice@[IPv6:::1]",
    "@local.test:alice@evil.example",
    "alice@evil.example,alice@local.test",
    "alice@local.test>,<victim@evil.example",
])
def test_tricky_recipient_never_relays(volley, rcpt):
    c = open_transaction(volley)
    r = c.cmd(f"RCPT TO:<{rcpt}>")
    assert 500 <= r.code < 600, f"RCPT TO:<{rcpt}> got {r}"
    # A refused recipient leaves nothing to send.
    r = c.cmd("DATA")
    assert r.code in (503, 554), str(r)
    c.quit()
    assert volley.spool_ids() == []


def test_percent_hack_is_unknown_user(volley):
    c = open_transaction(volley)
    r = c.cmd("RCPT TO:<alice%evil.example@local.test>")
    assert (r.code, r.enhanced) == (550, "5.1.1"), str(r)
    c.quit()


def test_trailing_dot_domain_is_syntax_error(volley):
    c = open_transaction(volley)
    r = c.cmd("RCPT TO:<alice@local.test.>")
    assert (r.code, r.enhanced) == (501, "5.1.3"), str(r)
    c.quit()


def test_source_route_to_local_user(volley):
    """<@evil.example:alice@local.test>: either delivered to alice or refused,
    never stored with a recipient outside the local domains."""
    c = open_transaction(volley)
    r = c.cmd("RCPT TO:<@evil.example:alice@local.test>")
    if r.code == 250:
        finish(c)
        (m,) = volley.spool_messages()
        assert m.rcpt_addresses == ["alice@local.test"]
        assert all("evil" not in x.address for x in m.rcpts)
    else:
        assert 500 <= r.code < 600, str(r)
    c.quit()


def test_mixed_case_local_recipient(volley):
    c = open_transaction(volley)
    c.expect("RCPT TO:<ALICE@LOCAL.TEST>", 250, "2.1.5")
    c.expect("RCPT TO:<Carol@Other.Test>", 250, "2.1.5")
    finish(c)
    c.quit()
    (m,) = volley.spool_messages()
    assert sorted(m.rcpt_addresses) == ["alice@local.test", "carol@other.test"]


def test_duplicate_recipient_stored_once(volley):
    c = open_transaction(volley)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("RCPT TO:<ALICE@local.test>", 250)
    finish(c)
    c.quit()
    (m,) = volley.spool_messages()
    assert m.rcpt_addresses == ["alice@local.test"]


def test_allow_networks_relay(volley_factory):
    srv = volley_factory(relay_networks=["127.0.0.2/32"])
    # 127.0.0.2 may relay.
    c = open_transaction(srv, source="127.0.0.2")
    c.expect("RCPT TO:<far@remote.example>", 250, "2.1.5")
    qid = finish(c)
    c.quit()
    m = srv.spool(qid)
    assert m.rcpt_addresses == ["far@remote.example"]
    assert m.fields["client_ip"] == "127.0.0.2"
    # 127.0.0.1 and 127.0.0.3 may not.
    for src in ("127.0.0.1", "127.0.0.3"):
        c = open_transaction(srv, source=src)
        r = c.cmd("RCPT TO:<far@remote.example>")
        assert (r.code, r.enhanced) == (550, "5.7.1"), f"{src}: {r}"
        c.quit()
    assert srv.spool_ids() == [qid]


def test_postmaster_without_domain(volley):
    c = open_transaction(volley)
    c.expect("RCPT TO:<Postmaster>", 250, "2.1.5")
    finish(c)
    c.quit()
    (m,) = volley.spool_messages()
    assert m.rcpt_addresses == ["postmaster@local.test"]


@pytest.mark.parametrize("rcpt", ["postmaster@local.test", "postmaster@other.test", "POSTMASTER@Other.Test",
                                  "postmaster"])
def test_postmaster_each_local_domain(volley, rcpt):
    c = open_transaction(volley)
    r = c.cmd(f"RCPT TO:<{rcpt}>")
    assert (r.code, r.enhanced) == (250, "2.1.5"), f"{rcpt}: {r}"
    c.quit()


def test_postmaster_alias(volley_factory):
    srv = volley_factory(aliases={"postmaster": ["alice@local.test"],
                                  "postmaster@other.test": ["carol@other.test"]})
    c = open_transaction(srv)
    c.expect("RCPT TO:<Postmaster>", 250)
    c.expect("RCPT TO:<postmaster@other.test>", 250)
    finish(c)
    c.quit()
    (m,) = srv.spool_messages()
    by_addr = {r.address: r for r in m.rcpts}
    assert set(by_addr) == {"alice@local.test", "carol@other.test"}
    assert by_addr["alice@local.test"].original.lower() == "postmaster"
    assert by_addr["carol@other.test"].original == "postmaster@other.test"


def test_alias_resolution(volley_factory):
    srv = volley_factory(aliases={"sales@local.test": ["alice@local.test", "bob@local.test"],
                                  "info@other.test": ["alice@local.test"]})
    c = open_transaction(srv)
    c.expect("RCPT TO:<sales@local.test>", 250, "2.1.5")
    qid = finish(c)
    c.expect("MAIL FROM:<sender@remote.example>", 250)
    c.expect("RCPT TO:<Info@Other.Test>", 250, "2.1.5")
    qid2 = finish(c)
    c.quit()
    m = srv.spool(qid)
    assert sorted(m.rcpt_addresses) == ["alice@local.test", "bob@local.test"]
    assert all(r.original == "sales@local.test" for r in m.rcpts), m.rcpts
    m2 = srv.spool(qid2)
    assert m2.rcpt_addresses == ["alice@local.test"]
    assert m2.rcpts[0].original.lower() == "info@other.test"


def test_too_many_recipients(volley_factory):
    srv = volley_factory(limits={"max_recipients": 3},
                         aliases={"a1@local.test": ["alice@local.test"], "a2@local.test": ["alice@local.test"]})
    c = open_transaction(srv)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("RCPT TO:<bob@local.test>", 250)
    c.expect("RCPT TO:<carol@other.test>", 250)
    r = c.cmd("RCPT TO:<postmaster@local.test>")
    assert (r.code, r.enhanced) == (452, "4.5.3"), str(r)
    r = c.cmd("RCPT TO:<postmaster@other.test>")
    assert (r.code, r.enhanced) == (452, "4.5.3"), str(r)
    qid = finish(c)
    c.quit()
    assert sorted(srv.spool(qid).rcpt_addresses) == ["alice@local.test", "bob@local.test", "carol@other.test"]


def test_shell_metacharacters_in_sender_are_syntax_errors(volley):
    c = volley.connect("mx")
    c.ehlo()
    t0 = time.monotonic()
    r = c.cmd("MAIL FROM:<;sleep 5;>")
    assert time.monotonic() - t0 < 2.0, "the reply was delayed: was something executed?"
    assert r.code == 501 and r.enhanced == "5.1.7", str(r)
    for bad in ("MAIL FROM:<$(id)@x.test>", "MAIL FROM:<a@x.test|id>", "MAIL FROM:<a@x.test;id>",
                "MAIL FROM:<a b@x.test>", "MAIL FROM:<a@x.test> <b@y.test>"):
        r = c.cmd(bad)
        assert r.code >= 500, f"{bad}: {r}"
    c.expect("NOOP", 250)
    c.quit()


def test_backticks_never_execute(volley, marker_path):
    sender = f"`touch${{IFS}}{marker_path}`@x.test"
    rcpt_local = f"$(touch${{IFS}}{marker_path})"
    c = volley.connect("mx")
    c.ehlo()
    r = c.cmd(f"MAIL FROM:<{sender}>")
    if r.code == 250:
        c.cmd(f"RCPT TO:<{rcpt_local}@local.test>")  # refused or not, nothing may run
        r = c.cmd("RCPT TO:<alice@local.test>")
        assert r.code == 250
        c.expect("DATA", 354)
        c.send(f"Subject: `touch {marker_path}`\r\nX-Cmd: $(touch {marker_path})\r\n\r\n"
               f"`touch {marker_path}`\r\n.\r\n".encode())
        r = c.read_reply()
        assert r.code == 250, str(r)
        (m,) = volley.spool_messages()
        assert m.sender == sender, "the address must be stored literally"
    else:
        assert r.code == 501, str(r)
    c.quit()
    # Give any (wrongly) spawned process time to run, then check.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert not marker_path.exists(), "a shell command embedded in an address was executed"
        time.sleep(0.1)


def test_header_injection_in_helo_not_reflected(volley):
    c = volley.connect("mx")
    r = c.cmd("EHLO evil.example\rX-Injected: yes")
    assert r.code >= 500, str(r)
    c.ehlo("client.test")
    c.expect("MAIL FROM:<sender@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    finish(c)
    c.quit()
    (m,) = volley.spool_messages()
    assert b"X-Injected" not in m.content


def test_reply_never_echoes_crlf_injection(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.send(b"MAIL FROM:<a@x.test> ENVID=x\r\n")
    r = c.read_reply()
    assert r.code == 250
    r = c.cmd("RCPT TO:<alice@local.test> ORCPT=rfc822;a+0D+0A250+20fake@x.test")
    # Whatever the verdict, the reply is one reply and the dialogue stays in step.
    assert r.code in (250, 501), str(r)
    c.expect("NOOP", 250)
    assert c.nothing_pending(0.2)
    c.quit()
