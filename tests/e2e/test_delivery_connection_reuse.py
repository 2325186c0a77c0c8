"""Defect 1e (issue 9): a cached connection the receiver closed is not a
delivery attempt.

Relaying bursts a few seconds apart, every burst after the first had its last
messages delivered 10 s late: the receiver had closed Volley's idle cached
connections, the next MAIL FROM failed ("lost connection ... while sending
MAIL FROM") and the messages were deferred. A failure on a reused connection
before any reply to the transaction now sends the job again at once on a
fresh connection (as Postfix's connection cache does), unrecorded; once per
job, so a receiver that drops every transaction is still deferred."""

import time

from conftest import delivery_events, inject, message, wait_delivery, wait_queue_empty

SENDER = "alice@local.test"


def peer_for(world, **kw):
    peer = world.peer("127.0.0.2", **kw)
    world.route("example.net", "127.0.0.2")
    return peer


def burst(srv, tag, n):
    return [inject(srv, SENDER, [f"{tag}{i}@example.net"], message(f"{tag} {i}")) for i in range(n)]


def test_defect_1e_receiver_closing_idle_connections_delays_nothing(mail_world):
    # The receiver drops a connection idle for 0.3 s; Volley keeps idle ones
    # up to 2 s, so the second burst finds its cached connections closed.
    peer = peer_for(mail_world, idle_timeout=0.3)
    srv = mail_world.volley(delivery={"default_max_connections_per_domain": 2})
    burst(srv, "first", 5)
    wait_delivery(srv, status="sent", count=5)
    time.sleep(1.0)
    assert peer.open_connections == 0, "the receiver closed the idle connections"
    t0 = time.monotonic()
    burst(srv, "second", 5)
    wait_delivery(srv, status="sent", count=10, timeout=1.5)
    assert time.monotonic() - t0 < 1.5, "the second burst went out at once"
    assert delivery_events(srv, status="deferred") == [], "a closed cached connection is not a deferral"
    assert all(e["attempt"] == "1" for e in delivery_events(srv)), delivery_events(srv)
    assert "deferred" not in srv.log()
    wait_queue_empty(srv)


def test_defect_1e_connection_lost_before_the_mail_reply_is_sent_again_at_once(mail_world):
    # The race the idle check cannot see: the receiver closes the cached
    # connection just as our MAIL FROM goes out.
    peer = peer_for(mail_world, drop_reused_mail=1)
    srv = mail_world.volley(delivery={"default_max_connections_per_domain": 1})
    first = inject(srv, SENDER, ["one@example.net"], message("one"))
    wait_delivery(srv, "one@example.net", "sent")
    t0 = time.monotonic()
    second = inject(srv, SENDER, ["two@example.net"], message("two"))  # on the cached connection
    (ev,) = wait_delivery(srv, "two@example.net", "sent", timeout=1.5)
    assert time.monotonic() - t0 < 1.5
    assert ev["id"] == second and ev["attempt"] == "1", ev
    assert delivery_events(srv, status="deferred") == []
    assert peer.drop_reused_mail == 0, "the receiver did drop the reused connection"
    assert [m.rcpt_tos for m in peer.messages] == [["one@example.net"], ["two@example.net"]]
    assert len(peer.connections) == 2, "a fresh connection for the second message"
    (rc,) = srv.events("delivery.reconnect")
    assert rc["id"] == second and "MAIL FROM" in rc["reason"], rc
    assert first != second
    wait_queue_empty(srv)


def test_defect_1e_the_immediate_resend_is_bounded(mail_world):
    # A receiver that drops MAIL on every reused connection and whose fresh
    # connections also fail: after one immediate resend the job is a normal
    # deferral, retried on the schedule, never a loop.
    peer = peer_for(mail_world, drop_reused_mail=1)
    srv = mail_world.volley(delivery={"default_max_connections_per_domain": 1})
    inject(srv, SENDER, ["one@example.net"], message("one"))
    wait_delivery(srv, "one@example.net", "sent")
    peer.add_rule("mail", "421 4.3.2 closing for maintenance", times=1)  # the fresh connection's MAIL
    inject(srv, SENDER, ["two@example.net"], message("two"))
    (d,) = wait_delivery(srv, "two@example.net", "deferred", timeout=5)
    assert d["attempt"] == "1" and d["reply"].startswith("421"), d
    wait_delivery(srv, "two@example.net", "sent", timeout=10)
    assert len(srv.events("delivery.reconnect")) == 1
    wait_queue_empty(srv)
