"""Mail that comes back to the sending platform, against the real binary
with real clients: a message sent through the HTTP API goes out with a VERP
return path (read from what the receiver, aiosmtpd, got as MAIL FROM); an
RFC 3464 DSN delivered by swaks to that address on volley's MX port marks
the recipient bounced, adds a bounced event and a hard_bounce suppression,
so the next message to it is "suppressed"; a forged bounces+ address is
refused at RCPT; an RFC 5965 ARF report to api.complaints_address adds a
complained event and a complaint suppression; a mailto unsubscribe adds an
unsubscribed event and an unsubscribe suppression."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import urllib.parse

import pytest

from conftest import wait_until
from test_api import api_world, call, events, send, wait_state

FROM = "news@sender.example"
COMPLAINTS = "fbl@local.test"


@pytest.fixture
def world(mail_world):
    # Loopback is a stranger here (no relay rights): reports must be taken
    # because they are ours, not because the client may relay.
    return api_world(mail_world, api_toml=f'[api]\ncomplaints_address = "{COMPLAINTS}"',
                     relay_networks=["192.0.2.0/24"], local_domains=("local.test", "other.test", "sender.example"))


def swaks(srv, to: str, data: str, sender: str = "<>") -> subprocess.CompletedProcess:
    """Delivers `data` (a whole message, CRLF) to volley's MX port."""
    return subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{srv.port('mx')}", "--helo", "mx.example.net", "--from", sender,
         "--to", to, "--data", "-", "--timeout", "15"],
        input=data.encode(), capture_output=True, timeout=60)


def suppression_of(srv, address: str):
    """The suppression list's entry for `address`, or None."""
    status, _, listed = call(srv, "GET", "/v1/suppressions", srv.keys["read"])
    assert status == 200, listed
    entries = [e for e in listed["suppressions"] if e["address"] == address]
    return entries[0] if entries else None


def deliver_report(srv, to: str, data: str, sender: str = "<>"):
    """swaks, and the message must be accepted (250 after DATA)."""
    r = swaks(srv, to, data, sender)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()


def sent_and_delivered(peer, srv, rcpt: str, **extra):
    """POST /v1/messages to `rcpt`: (message id, the VERP return path the receiver saw)."""
    status, _, body = send(srv, {"from": FROM, "to": [rcpt], "subject": "hello", "text": "hi", **extra})
    assert status == 202, body
    mid = body["id"]
    got = wait_until(lambda: [m for m in peer.messages if rcpt in m.rcpt_tos], 15, what=f"delivery to {rcpt}")[-1]
    assert re.fullmatch(rf"bounces\+{mid}-0-[0-9a-z]{{16}}@sender\.example", got.mail_from, re.I), got.mail_from
    wait_state(srv, mid, rcpt, "delivered")
    return mid, got.mail_from, got


def multipart_report(to: str, report_type: str, machine_type: str, machine: list, original_type: str,
                     original: list) -> str:
    """An RFC 6522 multipart/report: a human-readable part, the machine-readable
    `machine` fields, and the returned original."""
    return "\r\n".join([
        "From: <reports@mx.example.net>", f"To: <{to}>", "Subject: report", "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="report-boundary"', "",
        "--report-boundary", "Content-Type: text/plain; charset=us-ascii", "", "A report about your message.", "",
        "--report-boundary", f"Content-Type: {machine_type}", "", *machine, "",
        "--report-boundary", f"Content-Type: {original_type}", "", *original, "",
        "--report-boundary--", ""])


def original_headers(return_path: str, rcpt: str) -> list:
    return [f"Return-Path: <{return_path}>", f"From: {FROM}", f"To: {rcpt}", "Subject: hello"]


def dsn(return_path: str, rcpt: str) -> str:
    """RFC 3464: one failed recipient, 550 5.1.1."""
    return multipart_report(return_path, "delivery-status", "message/delivery-status", [
        "Reporting-MTA: dns; mx.example.net", "Arrival-Date: Mon, 1 Jan 2024 00:00:00 +0000", "",
        f"Final-Recipient: rfc822; {rcpt}", f"Original-Recipient: rfc822; {rcpt}", "Action: failed", "Status: 5.1.1",
        "Remote-MTA: dns; mailstore.example.net", "Diagnostic-Code: smtp; 550 5.1.1 user unknown",
    ], "text/rfc822-headers", original_headers(return_path, rcpt))


def test_dsn_to_the_return_path_bounces_and_suppresses(world):
    _, peer, srv = world
    rcpt = "bob@example.net"
    mid, return_path, _ = sent_and_delivered(peer, srv, rcpt)

    deliver_report(srv, return_path, dsn(return_path, rcpt))

    report = wait_state(srv, mid, rcpt, "bounced")
    assert report["from"] == FROM  # the From address, not the VERP one
    (bob,) = report["recipients"]
    assert "550 5.1.1 user unknown" in bob["last_reply"] and bob["attempts"] == 1, bob
    bounced = [e for e in events(srv, type="bounced")["events"] if e["message_id"] == mid]
    assert len(bounced) == 1 and bounced[0]["recipient"] == rcpt, bounced
    assert bounced[0]["detail"]["via"] == "dsn" and bounced[0]["detail"]["class"] == "hard", bounced
    entry = suppression_of(srv, rcpt)
    assert entry and entry["reason"] == "hard_bounce" and entry["domain"] == "sender.example", entry
    status, _, body = send(srv, {"from": FROM, "to": [rcpt], "subject": "again", "text": "x"})
    assert status == 202 and body["recipients"] == [{"address": rcpt, "status": "suppressed"}], body
    # Consumed: nothing was stored in a mailbox or relayed, and no bounce went back.
    assert not list((srv.data_dir / "mail").glob("*/*/new/*"))
    assert "platform.report" in srv.log()


def test_forged_bounce_address_is_refused_at_rcpt(world):
    _, peer, srv = world
    _, return_path, _ = sent_and_delivered(peer, srv, "dan@example.net")
    local, domain = return_path.rsplit("@", 1)
    mac = local.rsplit("-", 1)[1]
    forged_mac = ("a" if mac[0] != "a" else "b") + mac[1:]
    forged_local = local[: -len(mac)] + forged_mac
    r = swaks(srv, f"{forged_local}@{domain}", dsn(return_path, "dan@example.net"))
    assert r.returncode != 0 and b"550 5.1.1" in r.stdout, r.stdout.decode()
    r = swaks(srv, f"{forged_local}@remote.example", dsn(return_path, "dan@example.net"))
    assert r.returncode != 0 and b"550 5.7.1" in r.stdout, r.stdout.decode()
    # The genuine one at a domain that is not ours is still taken: the MAC proves it is ours.
    deliver_report(srv, f"{local}@remote.example", "Subject: hello\r\n\r\nan auto-reply, not a bounce\r\n")


def arf(return_path: str, rcpt: str, message_id: str) -> str:
    """RFC 5965: an abuse report with the whole original (our Return-Path in it)."""
    return multipart_report(COMPLAINTS, "feedback-report", "message/feedback-report", [
        "Feedback-Type: abuse", "User-Agent: ExampleFBL/1.0", "Version: 1", f"Original-Mail-From: <{return_path}>",
        f"Original-Rcpt-To: <{rcpt}>", "Arrival-Date: Mon, 1 Jan 2024 00:00:00 +0000", "Source-IP: 127.0.0.1",
    ], "message/rfc822", original_headers(return_path, rcpt) + [f"Message-ID: <{message_id}>", "", "hi"])


def test_arf_complaint_suppresses_and_adds_an_event(world):
    _, peer, srv = world
    rcpt = "carol@example.net"
    mid, return_path, got = sent_and_delivered(peer, srv, rcpt)
    original = email.message_from_bytes(got.content, policy=email.policy.default)
    deliver_report(srv, COMPLAINTS, arf(return_path, rcpt, original["Message-ID"].strip("<>")))

    def complained():
        return [e for e in events(srv, type="complained")["events"] if e["message_id"] == mid]
    (event,) = wait_until(complained, 15, what="complained event")
    assert event["recipient"] == rcpt and event["detail"]["feedback_type"] == "abuse", event
    entry = suppression_of(srv, rcpt)
    assert entry and entry["reason"] == "complaint" and entry["domain"] == "sender.example", entry
    # An unverifiable report changes nothing.
    deliver_report(srv, COMPLAINTS, arf("bounces+0123456789ABCDEFGHIJ-0-aaaaaaaaaaaaaaaa@sender.example",
                                        "erin@example.net", "x@sender.example"))
    wait_until(lambda: "platform.report_dropped" in srv.log(), 10, what="dropped report logged")
    assert suppression_of(srv, "erin@example.net") is None


def test_mailto_unsubscribe(world):
    _, peer, srv = world
    rcpt = "frank@example.net"
    status, _, body = call(srv, "POST", "/v1/campaigns", srv.keys["send"], {
        "from": FROM, "subject": "news", "text": "Hello {{name}}", "recipients": [{"address": rcpt, "vars": {"name": "F"}}]})
    assert status == 202, body
    got = wait_until(lambda: [m for m in peer.messages if rcpt in m.rcpt_tos], 15, what="campaign delivery")[-1]
    msg = email.message_from_bytes(got.content, policy=email.policy.default)
    mailto = re.search(r"<mailto:([^>?]+)\?subject=([^>]+)>", str(msg["List-Unsubscribe"]))
    assert mailto, msg["List-Unsubscribe"]
    to, subject = mailto.group(1), urllib.parse.unquote(mailto.group(2))
    assert to == "unsubscribe@sender.example" and subject.startswith("unsubscribe "), (to, subject)
    deliver_report(srv, to, f"From: {rcpt}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nunsubscribe me\r\n", sender=rcpt)

    def unsubscribed():
        return [e for e in events(srv, type="unsubscribed")["events"] if e["recipient"] == rcpt]
    wait_until(unsubscribed, 15, what="unsubscribed event")
    entry = suppression_of(srv, rcpt)
    assert entry and entry["reason"] == "unsubscribe" and entry["domain"] == "sender.example", entry
