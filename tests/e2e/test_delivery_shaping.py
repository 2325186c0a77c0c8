"""Shaping: a stuck destination never delays the others, connection limits
(per domain and in total), max_rate, back-off after 421 / 4.7.x, and no mail
lost when Volley is killed in the middle of a batch (at-least-once)."""

import re
import time

import pytest

from conftest import delivery_events, inject, message, wait_queue_empty, wait_until

SENDER = "alice@local.test"


def peer_for(world, domain="example.net", ip="127.0.0.2", **kw):
    peer = world.peer(ip, **kw)
    world.route(domain, ip)
    return peer


def max_overlap(intervals):
    """Most intervals (start, end) open at one instant."""
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda p: (p[0], p[1]))
    best = cur = 0
    for _, d in points:
        cur += d
        best = max(best, cur)
    return best


@pytest.mark.parametrize("stuck_kind", ["black_hole", "tarpit", "slow_data"])
def test_a_stuck_destination_does_not_delay_others(mail_world, stuck_kind):
    good = peer_for(mail_world, "good.test", "127.0.0.2")
    if stuck_kind == "slow_data":
        stuck = mail_world.peer("127.0.0.3", data_delay=60)

        def contacted():
            return sum("DATA" in c.verbs for c in stuck.connections)
    else:
        stuck = mail_world.black_hole("127.0.0.3", mode="silent" if stuck_kind == "black_hole" else "tarpit",
                                      interval=0.5)

        def contacted():
            return len(stuck.accepted)
    mail_world.route("stuck.test", "127.0.0.3")
    srv = mail_world.volley(delivery={"command_timeout": "20s", "data_timeout": "20s"})
    for i in range(5):
        inject(srv, SENDER, [f"u{i}@stuck.test"], message(f"stuck {i}"))
    wait_until(contacted, 10, what="Volley to be stuck at the bad destination")
    t0 = time.monotonic()
    inject(srv, SENDER, ["x@good.test"], message("good"))
    (m,) = good.wait_messages(1, timeout=5)
    assert m.at - t0 < 2.0, f"the good destination waited {m.at - t0:.1f}s"
    assert [e["rcpt"] for e in delivery_events(srv, status="sent")] == ["x@good.test"]


@pytest.mark.parametrize("how", ["shaping_rule", "default"])
def test_connection_limit_per_domain(mail_world, how):
    peer = peer_for(mail_world, data_delay=0.3)
    other = peer_for(mail_world, "other.example", "127.0.0.3", data_delay=0.3)
    if how == "shaping_rule":
        srv = mail_world.volley(delivery={"default_max_messages_per_connection": 1},
                                shaping=[{"match": "example.net", "max_connections": 2}])
    else:
        srv = mail_world.volley(delivery={"default_max_messages_per_connection": 1,
                                          "default_max_connections_per_domain": 2})
    for i in range(8):
        inject(srv, SENDER, [f"u{i}@example.net"], message(f"limited {i}"))
        inject(srv, SENDER, [f"u{i}@other.example"], message(f"other {i}"))
    peer.wait_messages(8, timeout=20)
    other.wait_messages(8, timeout=20)
    assert peer.max_concurrent <= 2, peer.max_concurrent
    if how == "default":
        assert other.max_concurrent <= 2
    wait_queue_empty(srv)


def test_total_outbound_connection_limit(mail_world):
    a = peer_for(mail_world, "a.test", "127.0.0.2", data_delay=0.3)
    b = peer_for(mail_world, "b.test", "127.0.0.3", data_delay=0.3)
    srv = mail_world.volley(delivery={"max_connections": 2, "default_max_messages_per_connection": 1})
    for i in range(4):
        inject(srv, SENDER, [f"u{i}@a.test"], message(f"a {i}"))
        inject(srv, SENDER, [f"u{i}@b.test"], message(f"b {i}"))
    a.wait_messages(4, timeout=20)
    b.wait_messages(4, timeout=20)
    now = time.monotonic()
    intervals = [(c.opened_at, c.closed_at or now) for p in (a, b) for c in p.connections]
    assert max_overlap(intervals) <= 2


def test_max_rate(mail_world):
    peer = peer_for(mail_world)
    srv = mail_world.volley(delivery={"enabled": False})
    for i in range(4):
        inject(srv, SENDER, [f"u{i}@example.net"], message(f"rate {i}"))
    mail_world.restart(srv, shaping=[{"match": "example.net", "max_rate": "1/s"}])
    msgs = peer.wait_messages(4, timeout=15)
    assert msgs[-1].at - msgs[0].at >= 1.8, [round(m.at - msgs[0].at, 2) for m in msgs]
    wait_queue_empty(srv)


@pytest.mark.parametrize("where", ["greeting_421", "mail_421", "rcpt_450_4.7.1"])
def test_throttling_reply_backs_off_then_delivers(mail_world, where):
    peer = peer_for(mail_world)
    if where == "greeting_421":
        peer.refuse_greeting(times=2)
    elif where == "mail_421":
        peer.refuse_mail(times=2)
    else:
        peer.defer_rcpt(times=2, reply="450 4.7.1 Too much mail from you, slow down")
    srv = mail_world.volley()
    qid = inject(srv, SENDER, ["bob@example.net"], message("throttled"))
    (m,) = peer.wait_messages(1, timeout=25)
    deferred = delivery_events(srv, "bob@example.net", "deferred")
    assert deferred and all(re.search(r"\b(421 4\.7\.0|450 4\.7\.1)\b", e["reply"]) for e in deferred), deferred
    wait_queue_empty(srv)
    time.sleep(0.5)
    assert len(peer.messages) == 1 and delivery_events(srv, status="bounced") == []
    assert qid not in srv.spool_ids()


def test_kill9_during_a_batch_loses_nothing(mail_world):
    n = 200
    peer = peer_for(mail_world, data_delay=0.05)
    srv = mail_world.volley(delivery={"enabled": False})
    c = srv.connect("mx")
    c.ehlo()
    for i in range(n):
        r = c.send_message(SENDER, [f"u{i % 10}@example.net"], message(f"crash {i}"))
        assert r.code == 250, str(r)
    c.quit()
    mail_world.restart(srv, delivery={"default_max_connections_per_domain": 2})
    wait_until(lambda: len(peer.messages) >= 40, 20, what="the batch to be under way")
    srv.kill9()
    before = len(peer.messages)
    assert before < n, "the batch finished before the kill: make the peer slower"
    srv.start()

    def delivered():
        return {re.search(rb"Message-ID: <(crash-\d+)@", m.content).group(1) for m in peer.messages}
    wait_until(lambda: len(delivered()) == n, 40, interval=0.2,
               what=f"all {n} messages at the peer (have {len(delivered())})")
    wait_queue_empty(srv)
    assert srv.spool_tmp_files() == []


def test_sigterm_with_a_hanging_destination_exits_promptly_and_keeps_the_mail(mail_world):
    # A transaction stuck at a black hole may run out its grace period, but
    # mail merely waiting for a connection must not hold the shutdown; all of
    # it is still queued afterwards and delivered after the restart.
    mail_world.black_hole("127.0.0.3", mode="silent")
    mail_world.route("stuck.test", "127.0.0.3")
    srv = mail_world.volley(delivery={"command_timeout": "60s", "default_max_connections_per_domain": 1})
    ids = [inject(srv, SENDER, [f"u{i}@stuck.test"], message(f"stuck {i}")) for i in range(5)]
    time.sleep(1.0)
    t0 = time.monotonic()
    assert srv.stop(timeout=20) == 0
    took = time.monotonic() - t0
    assert took < 5, f"SIGTERM took {took:.1f}s (waiting for mail that was not in a transaction?)"
    assert sorted(srv.spool_ids()) == sorted(ids), "everything not delivered stays queued"
    good = peer_for(mail_world, "stuck.test", "127.0.0.2")
    mail_world.restart(srv)
    good.wait_messages(5, timeout=10)
    wait_queue_empty(srv, timeout=10)
