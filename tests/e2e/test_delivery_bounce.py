"""Outcomes of remote delivery: retries on the schedule, bounces as RFC 3464
DSNs to the envelope sender (a local user here, so the DSN lands in a
Maildir), partial success, expiry, DSN options (NOTIFY, RET, ENVID, ORCPT),
and never a DSN for a message from <>."""

import re
import time

from conftest import (HOSTNAME, delivery_events, inject, maildir_messages, message, parse_dsn, wait_delivery,
                      wait_maildir, wait_queue_empty)

SENDER = "alice@local.test"


def peer_for(world, domain="example.net", ip="127.0.0.2", **kw):
    peer = world.peer(ip, **kw)
    world.route(domain, ip)
    return peer


def test_451_twice_then_accepted_on_the_retry_schedule(mail_world):
    peer = peer_for(mail_world)
    peer.defer_rcpt(times=2)
    srv = mail_world.volley()  # retry_schedule = ["1s", "2s"]
    qid = inject(srv, SENDER, ["bob@example.net"], message("retried"))
    (m,) = peer.wait_messages(1, timeout=15)
    evs = wait_delivery(srv, "bob@example.net", count=3)
    assert [(e["status"], e["attempt"]) for e in evs] == [("deferred", "1"), ("deferred", "2"), ("sent", "3")], evs
    assert all(e["id"] == qid for e in evs)
    assert evs[0]["reply"].startswith("451") and "4.3.0" in evs[0]["reply"], evs[0]
    delays = [float(e["delay"]) for e in evs]
    assert 0.9 <= delays[1] - delays[0] <= 3.0, delays   # retry_schedule[0] = 1s
    assert 1.9 <= delays[2] - delays[1] <= 4.0, delays   # retry_schedule[1] = 2s
    seen = [a.at for a in peer.rcpt_attempts]            # the same, as the peer saw it
    assert len(seen) == 3
    assert 0.9 <= seen[1] - seen[0] <= 3.0 and 1.9 <= seen[2] - seen[1] <= 4.0, seen
    wait_queue_empty(srv)
    assert maildir_messages(srv, SENDER) == [], "no DSN for a delivered message without NOTIFY=SUCCESS"


def test_550_bounces_with_a_dsn_to_the_sender(mail_world):
    peer = peer_for(mail_world)
    peer.reject_rcpt("gone@example.net", "550 5.1.1 <gone@example.net>: Recipient address rejected: no such user")
    srv = mail_world.volley()
    qid = inject(srv, SENDER, ["gone@example.net"], message("will bounce", b"Original body line.\r\n"))
    (ev,) = wait_delivery(srv, "gone@example.net", "bounced")
    assert ev["attempt"] == "1" and ev["reply"].startswith("550 5.1.1"), ev
    (raw,) = wait_maildir(srv, SENDER)
    assert raw.startswith(b"Return-Path: <>\r\nDelivered-To: alice@local.test\r\n"), raw[:200]
    dsn = parse_dsn(raw)
    msg = dsn.message
    assert msg["From"] == f"Mail Delivery System <MAILER-DAEMON@{HOSTNAME}>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert SENDER in msg["To"]
    assert "gone@example.net" in dsn.explanation
    assert dsn.per_message["reporting-mta"] == f"dns; {HOSTNAME}"
    assert "arrival-date" in dsn.per_message
    (r,) = dsn.recipients
    assert r["final-recipient"].lower() == "rfc822; gone@example.net"
    assert r["action"] == "failed"
    assert r["status"] == "5.1.1"
    assert r["remote-mta"].startswith("dns;") and ("mx1.example.net" in r["remote-mta"]
                                                    or "127.0.0.2" in r["remote-mta"]), r
    assert r["diagnostic-code"].startswith("smtp; 550 5.1.1") and "no such user" in r["diagnostic-code"], r
    assert dsn.returned.get_content_type() == "message/rfc822"
    original = dsn.returned.get_payload(0)
    assert original["Subject"] == "will bounce"
    assert "Original body line." in original.get_payload()
    (q,) = srv.wait_event("dsn.queued")
    assert q["original"] == qid and q["action"] == "failed" and q["rcpts"] == "1", q
    wait_queue_empty(srv)  # the original and the DSN


def test_dsn_lists_only_the_failed_recipients(mail_world):
    peer = peer_for(mail_world)
    peer.reject_rcpt("gone@example.net")
    srv = mail_world.volley()
    inject(srv, SENDER, ["ok@example.net", "gone@example.net", "bob@local.test"], message("some fail"))
    (raw,) = wait_maildir(srv, SENDER)
    dsn = parse_dsn(raw)
    assert [r["final-recipient"].lower() for r in dsn.recipients] == ["rfc822; gone@example.net"]
    assert [m.rcpt_tos for m in peer.messages] == [["ok@example.net"]]
    wait_maildir(srv, "bob@local.test")
    wait_queue_empty(srv)


def test_partial_success_resends_only_the_deferred_recipient(mail_world):
    peer = peer_for(mail_world)
    peer.defer_rcpt(times=1, address="later@example.net")
    srv = mail_world.volley()
    qid = inject(srv, SENDER, ["now@example.net", "later@example.net"], message("partial"))
    wait_delivery(srv, "later@example.net", "sent", timeout=10)
    assert [m.rcpt_tos for m in peer.messages] == [["now@example.net"], ["later@example.net"]]
    assert [a.address for a in peer.rcpt_attempts].count("now@example.net") == 1, "a 250 recipient is never re-sent"
    assert [e["status"] for e in delivery_events(srv, "now@example.net")] == ["sent"]
    assert [e["status"] for e in delivery_events(srv, "later@example.net")] == ["deferred", "sent"]
    wait_queue_empty(srv)
    assert qid not in srv.spool_ids()
    assert maildir_messages(srv, SENDER) == []


def test_451_after_data_defers_every_recipient_of_the_transaction(mail_world):
    peer = peer_for(mail_world)
    peer.defer_data(times=1)
    srv = mail_world.volley()
    inject(srv, SENDER, ["a@example.net", "b@example.net"], message("data deferred"))
    (m,) = peer.wait_messages(1, timeout=10)
    assert sorted(m.rcpt_tos) == ["a@example.net", "b@example.net"]
    for rcpt in ("a@example.net", "b@example.net"):
        assert [e["status"] for e in wait_delivery(srv, rcpt, count=2)] == ["deferred", "sent"]
    wait_queue_empty(srv)


def test_expired_after_max_age_bounces(mail_world):
    peer = peer_for(mail_world)
    peer.defer_rcpt(times=None)  # never accepts
    srv = mail_world.volley(queue={"retry_schedule": ["1s"], "max_age": "3s"})
    t0 = time.monotonic()
    qid = inject(srv, SENDER, ["bob@example.net"], message("expires"))
    (raw,) = wait_maildir(srv, SENDER, timeout=15)
    assert time.monotonic() - t0 >= 2.5, "not before max_age"
    (r,) = parse_dsn(raw).recipients
    assert r["action"] == "failed" and re.fullmatch(r"[45]\.\d{1,3}\.\d{1,3}", r["status"]), r
    assert r["final-recipient"].lower() == "rfc822; bob@example.net"
    assert len(delivery_events(srv, "bob@example.net", "deferred")) >= 2, "retried until it expired"
    assert delivery_events(srv, "bob@example.net", "sent") == []
    wait_queue_empty(srv)
    assert qid not in srv.spool_ids()


def test_notify_success_for_a_remote_recipient_gives_relayed(mail_world):
    peer = peer_for(mail_world)  # does not offer DSN, so Volley reports "relayed"
    srv = mail_world.volley()
    qid = inject(srv, SENDER, ["bob@example.net"], message("tell me"), rcpt_params="NOTIFY=SUCCESS")
    peer.wait_messages(1)
    (raw,) = wait_maildir(srv, SENDER)
    dsn = parse_dsn(raw)
    (r,) = dsn.recipients
    assert r["action"] == "relayed" and r["status"].startswith("2."), r
    assert r["final-recipient"].lower() == "rfc822; bob@example.net"
    (q,) = srv.wait_event("dsn.queued")
    assert q["original"] == qid and q["action"] == "relayed", q
    wait_queue_empty(srv)


def test_notify_success_for_a_local_recipient_gives_delivered(mail_world):
    srv = mail_world.volley()
    inject(srv, SENDER, ["bob@local.test"], message("tell me local"), rcpt_params="NOTIFY=SUCCESS,FAILURE")
    wait_maildir(srv, "bob@local.test")
    (raw,) = wait_maildir(srv, SENDER)
    (r,) = parse_dsn(raw).recipients
    assert r["action"] == "delivered" and r["status"].startswith("2."), r
    assert r["final-recipient"].lower() == "rfc822; bob@local.test"
    wait_queue_empty(srv)


def test_notify_never_means_no_dsn(mail_world):
    peer = peer_for(mail_world)
    peer.reject_rcpt(None)
    srv = mail_world.volley()
    inject(srv, SENDER, ["gone@example.net"], message("quiet"), rcpt_params="NOTIFY=NEVER")
    wait_delivery(srv, "gone@example.net", "bounced")
    wait_queue_empty(srv)
    time.sleep(1.0)
    assert srv.events("dsn.queued") == []
    assert maildir_messages(srv, SENDER) == []


def test_ret_hdrs_envid_and_orcpt(mail_world):
    peer = peer_for(mail_world)
    peer.reject_rcpt(None)
    srv = mail_world.volley()
    inject(srv, SENDER, ["gone@example.net"], message("headers only", b"SECRET BODY TEXT\r\n"),
           mail_params="RET=HDRS ENVID=env-4711", rcpt_params="NOTIFY=FAILURE ORCPT=rfc822;original@example.net")
    (raw,) = wait_maildir(srv, SENDER)
    dsn = parse_dsn(raw)
    assert dsn.returned.get_content_type() == "text/rfc822-headers"
    headers = dsn.returned.get_payload()
    assert "Subject: headers only" in headers
    assert b"SECRET BODY TEXT" not in raw, "RET=HDRS returns the header only"
    assert dsn.per_message["original-envelope-id"] == "env-4711"
    (r,) = dsn.recipients
    assert r["original-recipient"].lower() == "rfc822; original@example.net", r
    assert r["final-recipient"].lower() == "rfc822; gone@example.net"
    wait_queue_empty(srv)


def test_no_dsn_for_a_message_from_the_null_sender(mail_world):
    peer = peer_for(mail_world)
    peer.reject_rcpt(None)
    srv = mail_world.volley()
    inject(srv, "", ["gone@example.net"], message("from null"))
    wait_delivery(srv, "gone@example.net", "bounced")
    wait_queue_empty(srv)
    time.sleep(1.0)
    assert srv.events("dsn.queued") == []
    assert len(delivery_events(srv)) == 1


def test_a_bounce_that_bounces_does_not_loop(mail_world):
    peer = peer_for(mail_world)
    peer.reject_rcpt(None)  # refuses everyone, the DSN's recipient too
    srv = mail_world.volley()
    inject(srv, "sender@example.net", ["gone@example.net"], message("loop?"))
    wait_delivery(srv, "sender@example.net", "bounced", timeout=10)  # the DSN itself
    wait_queue_empty(srv)
    time.sleep(1.5)
    assert len(srv.events("dsn.queued")) == 1
    assert [a.address for a in peer.rcpt_attempts] == ["gone@example.net", "sender@example.net"]
    mails = [c for conn in peer.connections for c in conn.commands if c.startswith("MAIL")]
    assert len(mails) == 2 and mails[1].startswith("MAIL FROM:<>"), mails
