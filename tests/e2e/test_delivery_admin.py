"""Queue administration of deferred mail: list --state deferred, show --json
(recipient states and attempts), retry ID, retry --all, flush DOMAIN,
delete. The retry schedule is one hour, so only the command can explain a
delivery that happens within the test."""

import time

from conftest import (delivery_events, inject, message, queue_list, queue_show, wait_delivery, wait_queue_empty,
                      wait_until)

SENDER = "alice@local.test"


def deferring_world(mail_world, domains=("example.net",), **peer_kw):
    """A peer for `domains` that answers 451 to every RCPT until told otherwise."""
    peer = mail_world.peer("127.0.0.2", **peer_kw)
    for d in domains:
        mail_world.route(d, "127.0.0.2")
    peer.defer_rcpt(times=None)
    srv = mail_world.volley(queue={"retry_schedule": ["1h"]})
    return peer, srv


def deferred_ids(srv, *args):
    return sorted(m["id"] for m in queue_list(srv, "--state", "deferred", *args))


def inject_deferred(srv, rcpt: str, subject: str) -> str:
    qid = inject(srv, SENDER, [rcpt], message(subject))
    wait_delivery(srv, rcpt, "deferred", qid=qid)
    wait_until(lambda: qid in deferred_ids(srv), 5, what=f"{qid} to be listed as deferred")
    return qid


def subjects(peer):
    return sorted(m.content.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode() for m in peer.messages)


def test_list_and_show_deferred(mail_world):
    peer = mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    peer.defer_rcpt(times=None, address="later@example.net")
    srv = mail_world.volley(queue={"retry_schedule": ["1h"]})
    qid = inject(srv, SENDER, ["now@example.net", "later@example.net"], message("half deferred"))
    wait_delivery(srv, "later@example.net", "deferred")
    wait_until(lambda: deferred_ids(srv) == [qid], 5, what="the message to be deferred")
    assert queue_list(srv, "--state", "queued") == []
    assert deferred_ids(srv, "--domain", "example.net") == [qid]
    table = srv.cli("queue", "list", "--state", "deferred")
    assert table.returncode == 0 and qid in table.stdout and "deferred" in table.stdout, table.stdout

    shown = queue_show(srv, qid)
    states = {r["address"]: r["state"] for r in shown["envelope"]["recipients"]}
    assert states == {"now@example.net": "delivered", "later@example.net": "deferred"}, states
    by_rcpt = {a["recipient"]: a for a in shown["attempts"]}
    assert set(by_rcpt) == {"now@example.net", "later@example.net"}, shown["attempts"]
    later = by_rcpt["later@example.net"]
    assert later["status"] == "deferred" and later["reply"].startswith("451"), later
    assert "127.0.0.2" in later["relay"], later
    assert isinstance(later["at"], int) and abs(later["at"] - time.time()) < 60, later
    assert by_rcpt["now@example.net"]["status"] in ("delivered", "sent"), by_rcpt["now@example.net"]

    time.sleep(1.5)
    assert len(queue_show(srv, qid)["attempts"]) == 2, "nothing retried before the hour is up"
    assert [a.address for a in peer.rcpt_attempts].count("later@example.net") == 1


def test_retry_one_message(mail_world):
    peer, srv = deferring_world(mail_world)
    first = inject_deferred(srv, "a@example.net", "first")
    second = inject_deferred(srv, "b@example.net", "second")
    peer.clear_rules()
    r = srv.cli("queue", "retry", first)
    assert r.returncode == 0, r.stderr
    peer.wait_messages(1, timeout=5)
    time.sleep(1.0)
    assert subjects(peer) == ["first"]
    assert deferred_ids(srv) == [second]
    assert [m["id"] for m in queue_list(srv)] == [second]


def test_retry_all(mail_world):
    peer, srv = deferring_world(mail_world)
    for i in range(3):
        inject_deferred(srv, f"u{i}@example.net", f"all {i}")
    peer.clear_rules()
    r = srv.cli("queue", "retry", "--all")
    assert r.returncode == 0, r.stderr
    peer.wait_messages(3, timeout=5)
    assert subjects(peer) == ["all 0", "all 1", "all 2"]
    wait_queue_empty(srv, timeout=5)


def test_flush_domain(mail_world):
    peer, srv = deferring_world(mail_world, domains=("example.net", "example.org"))
    net = inject_deferred(srv, "a@example.net", "to net")
    org = inject_deferred(srv, "b@example.org", "to org")
    peer.clear_rules()
    r = srv.cli("queue", "flush", "example.net")
    assert r.returncode == 0, r.stderr
    peer.wait_messages(1, timeout=5)
    time.sleep(1.0)
    assert subjects(peer) == ["to net"]
    assert deferred_ids(srv) == [org]
    assert net not in [m["id"] for m in queue_list(srv)]


def test_delete_deferred_message(mail_world):
    peer, srv = deferring_world(mail_world)
    qid = inject_deferred(srv, "a@example.net", "doomed")
    r = srv.cli("queue", "delete", qid)
    assert r.returncode == 0, r.stderr
    assert queue_list(srv) == [] and qid not in srv.spool_ids()
    peer.clear_rules()
    assert srv.cli("queue", "retry", "--all").returncode == 0
    time.sleep(1.5)
    assert peer.messages == []
    assert len(delivery_events(srv, "a@example.net")) == 1


def test_retry_unknown_message_fails(mail_world):
    srv = mail_world.volley()
    r = srv.cli("queue", "retry", "0" * 20)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "0" * 20 in r.stderr, r.stderr
    r = srv.cli("queue", "flush", "bad domain")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_bare_flush_flushes_the_whole_queue(mail_world):
    # SPEC section 7 lists `volley queue flush` without a domain: like
    # Postfix's `postqueue -f`, every deferred message is due now.
    peer, srv = deferring_world(mail_world, domains=("example.net", "example.org"))
    inject_deferred(srv, "a@example.net", "to net")
    inject_deferred(srv, "b@example.org", "to org")
    peer.clear_rules()
    r = srv.cli("queue", "flush")
    assert r.returncode == 0, r.stderr
    assert "2 message(s) scheduled now" in r.stdout, r.stdout
    peer.wait_messages(2, timeout=5)
    assert sorted(subjects(peer)) == ["to net", "to org"]
    wait_queue_empty(srv, timeout=5)
    assert any("event=admin.retry" in l for l in srv.log_lines())  # sent as retry --all


def test_list_refuses_an_unknown_state(mail_world):
    srv = mail_world.volley()
    r = srv.cli("queue", "list", "--state", "deferd")
    assert r.returncode != 0
