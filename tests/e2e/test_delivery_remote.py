"""Remote delivery: MX routing and DNS outcomes, smarthost, exact bodies,
extensions (8BITMIME, SMTPUTF8, SIZE), transactions and connections,
STARTTLS policy (also against a real Postfix), source addresses."""

import hashlib

import pytest

from conftest import (HOSTNAME, delivery_events, inject, maildir_messages, message, parse_dsn, strip_received,
                      skip_unless_ci, wait_delivery, wait_maildir, wait_queue_empty, wait_until)
import peers
from peers import DROP, NULL_MX, NXDOMAIN, SERVFAIL


def peer_for(world, domain="example.net", ip="127.0.0.2", **kw):
    peer = world.peer(ip, **kw)
    world.route(domain, ip)
    return peer


# --------------------------------------------------------------- routing


def test_delivery_via_mx(mail_world):
    peer = peer_for(mail_world)
    srv = mail_world.volley()
    data = message("remote one")
    qid = inject(srv, "alice@local.test", ["bob@example.net"], data)
    (m,) = peer.wait_messages(1)
    assert m.mail_from == "alice@local.test" and m.rcpt_tos == ["bob@example.net"]
    assert m.helo == HOSTNAME and m.esmtp
    assert m.content.startswith(b"Received: ") and strip_received(m.content) == data
    (ev,) = wait_delivery(srv, "bob@example.net", "sent")
    assert ev["id"] == qid and ev["attempt"] == "1", ev
    assert ev["relay"] == f"mx1.example.net[127.0.0.2]:{mail_world.mx_port}", ev
    assert ev["reply"].startswith("250"), ev
    assert float(ev["delay"]) >= 0
    wait_queue_empty(srv)
    assert mail_world.dns.queries_for("example.net", "MX")
    assert maildir_messages(srv, "alice@local.test") == [], "no DSN unless asked for"


def test_mx_preference_order(mail_world):
    preferred = mail_world.peer("127.0.0.3")
    backup = mail_world.peer("127.0.0.2")
    mail_world.dns.a("backup.example.net", "127.0.0.2")
    mail_world.dns.a("main.example.net", "127.0.0.3")
    mail_world.dns.mx("example.net", (20, "backup.example.net"), (10, "main.example.net"))  # best one last
    srv = mail_world.volley(delivery={"default_max_messages_per_connection": 1})  # a connection per message
    for i in range(4):
        inject(srv, "alice@local.test", [f"u{i}@example.net"], message(f"pref {i}"))
    preferred.wait_messages(4)
    wait_queue_empty(srv)
    assert backup.connections == []


def test_equal_preference_mx_hosts_share_the_load(mail_world):
    # RFC 5321 5.1: equal preferences in random order, per connection (not
    # once per cached DNS answer), so both hosts get mail.
    one = mail_world.peer("127.0.0.2")
    two = mail_world.peer("127.0.0.3")
    mail_world.dns.a("one.example.net", "127.0.0.2")
    mail_world.dns.a("two.example.net", "127.0.0.3")
    mail_world.dns.mx("example.net", (10, "one.example.net"), (10, "two.example.net"))
    srv = mail_world.volley(delivery={"default_max_messages_per_connection": 1,
                                      "default_max_connections_per_domain": 1})
    for i in range(16):
        inject(srv, "alice@local.test", [f"u{i}@example.net"], message(f"spread {i}"))
    wait_delivery(srv, status="sent", count=16, timeout=20)
    # 16 independent fair coin flips all landing on one side: p = 2**-15.
    assert len(one.messages) > 0 and len(two.messages) > 0, (len(one.messages), len(two.messages))
    assert len(one.messages) + len(two.messages) == 16


@pytest.mark.parametrize("down", ["127.0.0.2", "127.0.0.3"])
def test_equal_preference_mx_hosts_are_all_tried(mail_world, down):
    up_ip = "127.0.0.3" if down == "127.0.0.2" else "127.0.0.2"
    up = mail_world.peer(up_ip)  # nothing listens on `down`: connection refused
    mail_world.dns.a("one.example.net", "127.0.0.2")
    mail_world.dns.a("two.example.net", "127.0.0.3")
    mail_world.dns.mx("example.net", (10, "one.example.net"), (10, "two.example.net"))
    srv = mail_world.volley()
    for i in range(3):
        inject(srv, "alice@local.test", [f"u{i}@example.net"], message(f"equal {i}"))
    up.wait_messages(3)
    assert [e["attempt"] for e in wait_delivery(srv, status="sent", count=3)] == ["1", "1", "1"]
    assert delivery_events(srv, status="deferred") == []
    wait_queue_empty(srv)


def test_mx_host_with_only_an_ipv6_address(mail_world):
    if not peers.ipv6_loopback_available():
        skip_unless_ci("no IPv6 loopback")
    peer = mail_world.peer("::1")
    mail_world.dns.aaaa("mx6.example.net", "::1")
    mail_world.dns.mx("example.net", (10, "mx6.example.net"))
    srv = mail_world.volley()
    inject(srv, "alice@local.test", ["bob@example.net"], message("over v6"))
    (m,) = peer.wait_messages(1)
    assert m.client_ip == "::1"
    (ev,) = wait_delivery(srv, "bob@example.net", "sent")
    assert "::1" in ev["relay"], ev
    wait_queue_empty(srv)


@pytest.mark.parametrize("first", ["refused", "closes", "silent"])
def test_first_mx_down_second_used(mail_world, first):
    if first == "closes":
        mail_world.black_hole("127.0.0.2", mode="close")
    elif first == "silent":
        mail_world.black_hole("127.0.0.2")  # accepts, never greets: command_timeout
    second = mail_world.peer("127.0.0.3")
    mail_world.route("example.net", "127.0.0.2", "127.0.0.3")
    srv = mail_world.volley(delivery={"command_timeout": "2s"})
    inject(srv, "alice@local.test", ["bob@example.net"], message("fallback"))
    (m,) = second.wait_messages(1, timeout=10)
    (ev,) = wait_delivery(srv, "bob@example.net", "sent")
    assert ev["attempt"] == "1" and "[127.0.0.3]" in ev["relay"], "the next MX in the same attempt"
    assert delivery_events(srv, status="bounced") == []


def test_implicit_mx_from_a_record(mail_world):
    peer = mail_world.peer("127.0.0.2")
    mail_world.dns.a("implicit.test", "127.0.0.2")  # no MX record at all
    srv = mail_world.volley()
    inject(srv, "alice@local.test", ["x@implicit.test"], message("implicit"))
    (m,) = peer.wait_messages(1)
    assert m.rcpt_tos == ["x@implicit.test"]
    assert mail_world.dns.queries_for("implicit.test", "MX"), "MX is asked first"
    wait_queue_empty(srv)


@pytest.mark.parametrize("answer", ["null_mx", "nxdomain"])
def test_domain_that_takes_no_mail_bounces_at_once(mail_world, answer):
    peer = mail_world.peer("127.0.0.2")
    if answer == "null_mx":
        mail_world.dns.mx("nomail.test", *NULL_MX)
        mail_world.dns.a("nomail.test", "127.0.0.2")  # must not be used as an implicit MX
    else:
        mail_world.dns.set("nomail.test", NXDOMAIN)
    srv = mail_world.volley()
    qid = inject(srv, "alice@local.test", ["x@nomail.test"], message("no mail here"))
    (ev,) = wait_delivery(srv, "x@nomail.test", "bounced")
    assert ev["id"] == qid and ev["attempt"] == "1"
    (raw,) = wait_maildir(srv, "alice@local.test")
    (r,) = parse_dsn(raw).recipients
    assert r["action"] == "failed" and r["status"].startswith("5."), r
    assert r["final-recipient"].lower().endswith("x@nomail.test")
    wait_queue_empty(srv)
    assert delivery_events(srv, "x@nomail.test", "deferred") == []
    assert peer.connections == []


@pytest.mark.parametrize("failure", ["servfail", "no_answer", "mx_host_servfail"])
def test_dns_failure_defers_then_delivers_once_fixed(mail_world, failure):
    peer = mail_world.peer("127.0.0.2")
    dns = mail_world.dns
    if failure == "servfail":
        dns.set("example.net", SERVFAIL)
    elif failure == "no_answer":
        dns.set("example.net", DROP)
    else:
        dns.mx("example.net", (10, "mx1.example.net"))
        dns.set("mx1.example.net", SERVFAIL)
    srv = mail_world.volley(delivery={"dns_timeout": "1s"})
    qid = inject(srv, "alice@local.test", ["bob@example.net"], message("dns trouble"))
    wait_delivery(srv, "bob@example.net", "deferred", timeout=10)
    assert peer.connections == []
    mail_world.route("example.net", "127.0.0.2")
    peer.wait_messages(1, timeout=10)
    (ev,) = wait_delivery(srv, "bob@example.net", "sent")
    assert ev["id"] == qid and int(ev["attempt"]) >= 2, ev
    wait_queue_empty(srv)
    assert delivery_events(srv, "bob@example.net", "bounced") == []
    assert maildir_messages(srv, "alice@local.test") == [], "a temporary failure is not a bounce"


# ------------------------------------------------------------- smarthost


def test_smarthost_with_auth_over_starttls(mail_world):
    relay = mail_world.peer("127.0.0.4", starttls=True, auth={"volley-out": "relay Pass"}, auth_required=True)
    srv = mail_world.volley(delivery={"smarthost": f"127.0.0.4:{mail_world.mx_port}",
                                      "smarthost_auth": {"user": "volley-out", "password": "relay Pass"}})
    # No DNS records anywhere: the smarthost takes all remote mail without a lookup.
    inject(srv, "alice@local.test", ["x@nowhere.test", "y@example.org"], message("via smarthost"))
    inject(srv, "alice@local.test", ["z@elsewhere.test"], message("via smarthost 2"))
    msgs = relay.wait_messages(2)
    assert sorted(r for m in msgs for r in m.rcpt_tos) == ["x@nowhere.test", "y@example.org", "z@elsewhere.test"]
    for m in msgs:
        assert m.auth_user == "volley-out" and m.tls in ("TLSv1.2", "TLSv1.3"), m
    conn = relay.connections[0]
    assert conn.verbs.index("STARTTLS") < conn.verbs.index("AUTH"), conn.commands
    for ev in wait_delivery(srv, status="sent", count=3):
        assert "127.0.0.4" in ev["relay"], ev
    assert mail_world.dns.queries == []
    wait_queue_empty(srv)


def test_smarthost_credentials_never_sent_in_clear(mail_world):
    relay = mail_world.peer("127.0.0.4", auth={"volley-out": "secret"}, auth_require_tls=False)  # AUTH, no STARTTLS
    srv = mail_world.volley(delivery={"smarthost": f"127.0.0.4:{mail_world.mx_port}",
                                      "smarthost_auth": {"user": "volley-out", "password": "secret"}})
    inject(srv, "alice@local.test", ["x@example.org"], message("no auth in clear"))
    wait_until(lambda: delivery_events(srv, "x@example.org"), 10, what="a delivery attempt")
    assert relay.connections, "the smarthost was tried"
    for conn in relay.connections:
        assert "AUTH" not in conn.verbs, conn.commands


# --------------------------------------------------------------- content


def test_body_reaches_the_peer_byte_for_byte(mail_world):
    peer = peer_for(mail_world)
    srv = mail_world.volley(delivery={"enabled": False})
    body = (b".\r\n..\r\n.leading dot\r\n. dot space\r\nmiddle\r\n"
            + b"L" * 5000 + b"\r\n"                          # a long line
            + b"8-bit: caf\xc3\xa9 \xe9\xff\x80\r\n"            # 8-bit bytes, not all UTF-8
            + b"trailing spaces   \r\n\ttab\r\n\r\n\r\n"
            + b".\r\n")                                        # last line a lone dot
    data = message("exact bytes", body)
    qid = inject(srv, "alice@local.test", ["bob@example.net"], data, mail_params="BODY=8BITMIME")
    queued = srv.spool(qid).content
    assert strip_received(queued) == data
    mail_world.restart(srv)
    (m,) = peer.wait_messages(1)
    assert m.content == queued
    assert "BODY=8BITMIME" in m.mail_options
    wait_queue_empty(srv)


def test_large_message(mail_world):
    peer = peer_for(mail_world)
    srv = mail_world.volley()
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_+/0123456789\r\n"
    chunks = []
    for i in range(5 * 1024 * 1024 // len(line)):
        chunks.append(b"%08d " % i + line)
    data = message("large", b"".join(chunks))
    inject(srv, "alice@local.test", ["bob@example.net"], data)
    (m,) = peer.wait_messages(1, timeout=30)
    got = strip_received(m.content)
    assert len(got) == len(data) and hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    wait_queue_empty(srv)


def test_8bit_to_server_without_8bitmime_bounces_5_6_3(mail_world):
    peer = peer_for(mail_world, eightbitmime=False)
    srv = mail_world.volley()
    inject(srv, "alice@local.test", ["bob@example.net"], message("8bit", b"caf\xc3\xa9\r\n"),
           mail_params="BODY=8BITMIME")
    wait_delivery(srv, "bob@example.net", "bounced")
    (raw,) = wait_maildir(srv, "alice@local.test")
    (r,) = parse_dsn(raw).recipients
    assert r["action"] == "failed" and r["status"] == "5.6.3", r
    assert peer.transactions == [], "never sent (possibly corrupted) 8-bit data"
    wait_queue_empty(srv)


UTF8_RCPT = "δοκιμή@example.net"


def test_smtputf8_message_to_smtputf8_server(mail_world):
    peer = peer_for(mail_world)
    srv = mail_world.volley()
    data = message("utf8", "Grüße\r\n".encode())
    inject(srv, "alice@local.test", [UTF8_RCPT], data, mail_params="SMTPUTF8 BODY=8BITMIME")
    (m,) = peer.wait_messages(1)
    assert m.rcpt_tos == [UTF8_RCPT] and "SMTPUTF8" in m.mail_options
    assert strip_received(m.content) == data
    wait_queue_empty(srv)


def test_smtputf8_message_to_server_without_it_bounces_5_6_7(mail_world):
    peer = peer_for(mail_world, smtputf8=False)
    srv = mail_world.volley()
    inject(srv, "alice@local.test", [UTF8_RCPT], message("utf8 no"), mail_params="SMTPUTF8")
    wait_until(lambda: delivery_events(srv, status="bounced"), 10, what="a bounce")
    (raw,) = wait_maildir(srv, "alice@local.test")
    (r,) = parse_dsn(raw).recipients
    assert r["action"] == "failed" and r["status"] == "5.6.7", r
    assert peer.transactions == []
    wait_queue_empty(srv)


def test_message_over_the_peers_size_limit_bounces(mail_world):
    peer = peer_for(mail_world, max_size=4000)  # EHLO advertises SIZE 4000
    srv = mail_world.volley()
    inject(srv, "alice@local.test", ["bob@example.net"], message("small"))
    inject(srv, "alice@local.test", ["carol@example.net"], message("too big", (b"y" * 70 + b"\r\n") * 200))
    wait_delivery(srv, "carol@example.net", "bounced")
    (raw,) = wait_maildir(srv, "alice@local.test")
    (r,) = parse_dsn(raw).recipients
    assert r["status"].startswith("5.") and r["final-recipient"].endswith("carol@example.net"), r
    assert [m.rcpt_tos for m in peer.messages] == [["bob@example.net"]], "the small one went through"
    wait_queue_empty(srv)


def test_helo_when_ehlo_is_refused(mail_world):
    peer = peer_for(mail_world, ehlo=False)
    srv = mail_world.volley()
    data = message("helo only")
    inject(srv, "alice@local.test", ["bob@example.net"], data)
    (m,) = peer.wait_messages(1)
    assert not m.esmtp and m.helo == HOSTNAME and strip_received(m.content) == data
    assert peer.connections[0].verbs[:2] == ["EHLO", "HELO"]
    wait_queue_empty(srv)


# ------------------------------------------------- transactions, connections


def test_many_recipients_in_one_transaction(mail_world):
    peer = peer_for(mail_world)
    srv = mail_world.volley()
    rcpts = [f"user{i:02d}@example.net" for i in range(40)]
    qid = inject(srv, "alice@local.test", rcpts, message("many rcpts"))
    (m,) = peer.wait_messages(1)
    assert sorted(m.rcpt_tos) == rcpts
    wait_delivery(srv, status="sent", qid=qid, count=40)
    wait_queue_empty(srv)
    assert len(peer.transactions) == 1


def test_connection_reuse_up_to_max_messages_per_connection(mail_world):
    peer = peer_for(mail_world)
    srv = mail_world.volley(delivery={"enabled": False})
    for i in range(5):
        inject(srv, "alice@local.test", [f"u{i}@example.net"], message(f"reuse {i}"))
    mail_world.restart(srv, delivery={"default_max_connections_per_domain": 1,
                                      "default_max_messages_per_connection": 3})
    peer.wait_messages(5)
    per_connection = sorted(c.messages for c in peer.connections if c.messages)
    assert per_connection == [2, 3], [(c.id, c.messages, c.commands) for c in peer.connections]
    assert peer.max_concurrent == 1
    wait_queue_empty(srv)


def test_source_addresses_are_used_in_turn(mail_world):
    peer = peer_for(mail_world, ip="127.0.0.4")
    srv = mail_world.volley(delivery={"source_addresses": ["127.0.0.2", "127.0.0.3"],
                                      "default_max_messages_per_connection": 1})
    for i in range(4):
        inject(srv, "alice@local.test", [f"u{i}@example.net"], message(f"source {i}"))
    peer.wait_messages(4)
    assert {c.client_ip for c in peer.connections} == {"127.0.0.2", "127.0.0.3"}
    wait_queue_empty(srv)


# ------------------------------------------------------------------ TLS


def test_starttls_used_when_offered(mail_world):
    peer = peer_for(mail_world, starttls=True)
    srv = mail_world.volley()  # tls = "opportunistic" (default), certificate not verified
    inject(srv, "alice@local.test", ["bob@example.net"], message("tls"))
    (m,) = peer.wait_messages(1)
    assert m.tls in ("TLSv1.2", "TLSv1.3") and m.helo == HOSTNAME and m.esmtp
    verbs = peer.connections[0].verbs
    assert verbs[:3] == ["EHLO", "STARTTLS", "EHLO"], verbs
    (ev,) = wait_delivery(srv, "bob@example.net", "sent")
    assert ev["tls"].split()[0] == m.tls, ev  # the protocol (a cipher name may follow)


def test_tls_required_defers_when_not_offered(mail_world):
    peer = peer_for(mail_world)  # no STARTTLS
    srv = mail_world.volley(delivery={"tls": "required"})
    qid = inject(srv, "alice@local.test", ["bob@example.net"], message("must be tls"))
    wait_delivery(srv, "bob@example.net", "deferred", count=2, timeout=10)  # and retried
    assert peer.transactions == []
    for conn in peer.connections:
        assert "MAIL" not in conn.verbs, conn.commands
    assert delivery_events(srv, "bob@example.net", "bounced") == []
    assert maildir_messages(srv, "alice@local.test") == []
    assert qid in srv.spool_ids()


def test_tls_none_never_starts_tls(mail_world):
    peer = peer_for(mail_world, starttls=True)
    srv = mail_world.volley(delivery={"tls": "none"})
    inject(srv, "alice@local.test", ["bob@example.net"], message("clear"))
    (m,) = peer.wait_messages(1)
    assert m.tls is None and "STARTTLS" not in peer.connections[0].verbs
    (ev,) = wait_delivery(srv, "bob@example.net", "sent")
    assert ev["tls"] == "none"


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_delivery_to_postfix(mail_world, tls):
    pf = mail_world.postfix("127.0.0.5", tls=tls, domains=["example.net"], mailboxes=["bob@example.net"])
    mail_world.route("example.net", "127.0.0.5")
    srv = mail_world.volley()
    data = message("to postfix", b".dot line\r\n..two dots\r\nbody\r\n")
    inject(srv, "alice@local.test", ["bob@example.net", "carol@example.net"], data)
    (bob,) = pf.wait_messages(1, "bob@example.net")
    (carol,) = pf.wait_messages(1, "carol@example.net")
    for got in (bob, carol):
        assert got.startswith(b"Return-Path: <alice@local.test>\n"), got[:300]
        assert got.endswith(data.replace(b"\r\n", b"\n")), got  # Postfix stores LF line endings
        assert (b"(using TLSv1." in got) == tls, got[:600]
    for ev in wait_delivery(srv, status="sent", count=2):
        assert ev["tls"].startswith("TLSv1.") if tls else ev["tls"] == "none", ev
    wait_queue_empty(srv)
