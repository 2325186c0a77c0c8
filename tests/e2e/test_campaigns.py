"""Campaigns and one-click unsubscribe against the real binary, delivering
to a scripted receiver (aiosmtpd) through MX records from a private DNS
server: POST /v1/campaigns merges each recipient's vars into subject, text
and html (HTML-escaped in html), refuses a missing variable with a 422 that
names it before anything is queued, skips suppressed recipients, gives each
message List-Unsubscribe (https one-click link + mailto:) and
List-Unsubscribe-Post covered by the DKIM signature (checked with dkimpy),
and GET /v1/campaigns/{id} counts what happened. The link's GET page changes
nothing; its RFC 8058 POST (no API key) suppresses the recipient for the
sender domain at once, emits an `unsubscribed` event and counts in the
campaign; a forged or altered token is refused. A 100,000-recipient campaign
is accepted in one request and reaches the queue exactly once per recipient
even when the server is killed with SIGKILL part-way through expanding it.
Clients: Python's http.client and urllib; messages parsed with Python's email
package."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import VOLLEY_BIN, wait_until
from test_api import call, events
from test_http import create_key

try:
    import dkim  # python3-dkim
except ImportError:  # pragma: no cover
    dkim = None

SENDER = "news@sender.example"
SENDER_DOMAIN = "sender.example"


@pytest.fixture
def world(mail_world, tmp_path):
    peer = mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    run = subprocess.run([VOLLEY_BIN, "dkim", "keygen", "--domain", SENDER_DOMAIN, "--selector", "s1",
                          "--algorithm", "ed25519", "--out", str(tmp_path / "dkim.pem")],
                         cwd=tmp_path, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    record = "".join(re.findall(r'"([^"]*)"', run.stdout.decode())).encode()
    listeners = [{"name": "mx", "protocol": "smtp", "role": "mx", "tls": "none"},
                 {"name": "api", "protocol": "http", "tls": "none"}]
    srv = mail_world.volley(start=False, listeners=listeners, limits={"max_auth_failures_per_ip": 1000})
    srv.extra_toml += (f'\n\n[[dkim]]\ndomain = "{SENDER_DOMAIN}"\nselector = "s1"\n'
                       f'key = "{tmp_path / "dkim.pem"}"\nalgorithm = "ed25519-sha256"\n')
    srv.write_config()
    srv.keys = {scope: create_key(srv, f"{scope}-key", scope) for scope in ("send", "read", "admin")}
    srv.dkim_record = record
    srv.start()
    return mail_world, peer, srv


def campaign(srv, recipients, **fields):
    body = {"from": f"News <{SENDER}>", "subject": "Hello {{name}}",
            "text": "Dear {{name}}, your code is {{code}}.\n", "html": "<p>Dear {{name}}</p>",
            "recipients": recipients, "tags": ["spring"]}
    body.update(fields)
    return call(srv, "POST", "/v1/campaigns", srv.keys["send"], body)


def counts(srv, cid):
    status, _, body = call(srv, "GET", f"/v1/campaigns/{cid}", srv.keys["read"])
    assert status == 200, body
    return body["counts"]


def wait_counts(srv, cid, timeout=30, **want):
    def check():
        c = counts(srv, cid)
        return c if all(c[k] == v for k, v in want.items()) else None
    return wait_until(check, timeout, what=f"campaign counts {want}")


def unsubscribe_link(content: bytes) -> tuple[str, str]:
    msg = email.message_from_bytes(content, policy=email.policy.compat32)
    header = re.sub(r"\s+", " ", str(msg["List-Unsubscribe"]))
    https, mailto = re.findall(r"<([^>]+)>", header)
    return https, mailto


def test_campaign_merges_signs_and_counts(world):
    _, peer, srv = world
    status, _, _ = call(srv, "POST", "/v1/suppressions", srv.keys["admin"],
                        {"address": "gone@example.net", "reason": "manual"})
    assert status in (200, 201)
    status, _, body = campaign(srv, [
        {"address": "ann@example.net", "vars": {"name": "Ann <&>", "code": "A1"}},
        {"address": "bob@example.net", "vars": {"name": "Bob", "code": "B2", "unused": "x"}},
        {"address": "gone@example.net", "vars": {"name": "Gone", "code": "G3"}}])
    assert status == 202, body
    cid = body["id"]
    assert body["accepted"] == 2 and body["suppressed"] == 1, body

    got = {m.rcpt_tos[0]: m for m in peer.wait_messages(2, timeout=30)}
    assert sorted(got) == ["ann@example.net", "bob@example.net"]
    ann = email.message_from_bytes(got["ann@example.net"].content, policy=email.policy.default)
    assert str(ann["Subject"]) == "Hello Ann <&>"
    assert ann["To"].addresses[0].addr_spec == "ann@example.net"
    plain, html = ann.get_body(("plain",)), ann.get_body(("html",))
    assert "your code is A1." in plain.get_content()
    assert "Dear Ann &lt;&amp;&gt;" in html.get_content()
    assert ann["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = unsubscribe_link(got["ann@example.net"].content)
    assert https.startswith(f"http://127.0.0.1:{srv.port('api')}/unsubscribe/"), https
    token = https.rsplit("/", 1)[1]
    assert mailto == f"mailto:unsubscribe@{SENDER_DOMAIN}?subject=unsubscribe%20{token}"
    assert b"ann@example.net" not in base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), \
        "the token does not show the address"
    other, _ = unsubscribe_link(got["bob@example.net"].content)
    assert other != https, "each recipient has a token of its own"

    # DKIM covers the unsubscribe headers, and dkimpy verifies the signature.
    sig = re.sub(r"\s+", "", str(email.message_from_bytes(got["ann@example.net"].content)["DKIM-Signature"]))
    h = re.search(r"(?:^|;)h=([^;]+)", sig).group(1).lower().split(":")
    assert "list-unsubscribe" in h and "list-unsubscribe-post" in h, h
    if dkim is not None:
        def dnsfunc(name, timeout=5):
            return srv.dkim_record
        assert dkim.verify(got["ann@example.net"].content, dnsfunc=dnsfunc)

    # The envelope sender is a VERP address of the sender domain, not the From.
    assert got["ann@example.net"].mail_from.endswith("@" + SENDER_DOMAIN)

    c = wait_counts(srv, cid, delivered=2, suppressed=1, queued=0)
    assert c["bounced"] == 0 and c["unsubscribed"] == 0 and c["complained"] == 0, c
    status, _, info = call(srv, "GET", f"/v1/campaigns/{cid}", srv.keys["read"])
    assert info["id"] == cid and info["recipients"] == 3 and info["tags"] == ["spring"], info
    assert info["subject"] == "Hello {{name}}" and info["from"] == SENDER


def test_missing_variable_is_refused_and_nothing_is_queued(world):
    _, peer, srv = world
    status, _, body = campaign(srv, [
        {"address": "ann@example.net", "vars": {"name": "Ann", "code": "1"}},
        {"address": "bob@example.net", "vars": {"name": "Bob"}}])
    assert status == 422, body
    assert "recipients[1]" in body["error"]["message"] and "code" in body["error"]["message"], body
    status, _, body = campaign(srv, [{"address": "not an address", "vars": {"name": "x", "code": "1"}}])
    assert status == 422, body
    status, _, body = call(srv, "POST", "/v1/campaigns", srv.keys["read"],
                           {"from": SENDER, "subject": "s", "text": "t", "recipients": [{"address": "a@example.net"}]})
    assert status == 403, body
    status, _, body = call(srv, "GET", "/v1/campaigns/NOSUCHCAMPAIGN", srv.keys["read"])
    assert status == 404 and body["error"]["code"] == "not_found"
    time.sleep(1)
    assert peer.messages == [] and events(srv)["events"] == []


def test_one_click_unsubscribe(world):
    _, peer, srv = world
    status, _, body = campaign(srv, [{"address": "ann@example.net", "vars": {"name": "Ann", "code": "1"}}])
    assert status == 202, body
    cid = body["id"]
    (got,) = peer.wait_messages(1, timeout=30)
    https, _ = unsubscribe_link(got.content)

    # The page: a confirm button, and nothing changes on GET.
    with urllib.request.urlopen(https, timeout=10) as r:
        page = r.read().decode()
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<form method=\"post\"" in page and "List-Unsubscribe" in page and SENDER_DOMAIN in page
    assert "ann@example.net" not in page
    assert call(srv, "GET", "/v1/suppressions", srv.keys["read"])[2]["suppressions"] == []

    # Altered or forged tokens are refused, and change nothing.
    token = https.rsplit("/", 1)[1]
    altered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    for bad in (altered, "x" * 40, token + "x"):
        req = urllib.request.Request(https.replace(token, bad), data=b"List-Unsubscribe=One-Click", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 404
    assert call(srv, "GET", "/v1/suppressions", srv.keys["read"])[2]["suppressions"] == []

    # RFC 8058: what a mail provider POSTs when the user clicks; no API key.
    req = urllib.request.Request(https, data=b"List-Unsubscribe=One-Click", method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    listed = call(srv, "GET", "/v1/suppressions", srv.keys["read"])[2]["suppressions"]
    assert [(s["address"], s["reason"]) for s in listed] == [("ann@example.net", "unsubscribe")], listed
    (ev,) = events(srv, type="unsubscribed")["events"]
    assert ev["recipient"] == "ann@example.net" and ev["campaign"] == cid, ev
    with urllib.request.urlopen(req, timeout=10) as r:  # a second click changes nothing
        assert r.status == 200
    assert len(events(srv, type="unsubscribed")["events"]) == 1
    wait_counts(srv, cid, unsubscribed=1)

    # The next campaign from that domain skips the address.
    status, _, body = campaign(srv, [{"address": "ann@example.net", "vars": {"name": "Ann", "code": "2"}}])
    assert status == 202 and body["suppressed"] == 1 and body["accepted"] == 0, body
    wait_counts(srv, body["id"], suppressed=1, queued=0)


def test_hundred_thousand_recipients_survive_kill_9_while_expanding(mail_world):
    """Accepted in one request; SIGKILL part-way through expanding; after the
    restart every recipient is in the queue exactly once. The destination is
    held by a shaping rule (1 message an hour) so the queue keeps them."""
    mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    listeners = [{"name": "mx", "protocol": "smtp", "role": "mx", "tls": "none"},
                 {"name": "api", "protocol": "http", "tls": "none"}]
    srv = mail_world.volley(start=False, listeners=listeners, shaping=[{"match": "example.net", "max_rate": "1/h"}])
    srv.keys = {"send": create_key(srv, "send-key", "send"), "read": create_key(srv, "read-key", "read")}
    srv.start()
    n = 100_000
    recipients = [{"address": f"user{i}@example.net", "vars": {"n": str(i)}} for i in range(n)]
    started = time.monotonic()
    status, _, body = call(srv, "POST", "/v1/campaigns", srv.keys["send"],
                           {"from": SENDER, "subject": "Number {{n}}", "text": "You are number {{n}}.",
                            "recipients": recipients})
    accept_seconds = time.monotonic() - started
    assert status == 202 and body["accepted"] == n, body
    cid = body["id"]
    wait_until(lambda: _queued(srv) >= 2000 or None, 120, what="the first messages in the queue")
    assert not srv.events("campaign.expanded"), "expansion must still be under way when the server is killed"
    assert call(srv, "GET", f"/v1/campaigns/{cid}", srv.keys["read"])[2]["state"] == "queueing"
    c = counts(srv, cid)  # recipients not yet built count as queued; the shaping rule lets one out
    assert c["queued"] + c["delivered"] + c["deferred"] == n, c
    srv.kill9()
    srv.start()
    wait_until(lambda: call(srv, "GET", f"/v1/campaigns/{cid}", srv.keys["read"])[2]["state"] == "queued" or None,
               600, what="campaign fully queued after the restart")
    c = counts(srv, cid)
    assert c["queued"] + c["delivered"] + c["deferred"] == n and c["suppressed"] == 0, c
    assert _queued(srv) == n - c["delivered"], "every recipient is in the queue exactly once"
    print(f"100k campaign: accepted in {accept_seconds:.1f} s")


def _queued(srv) -> int:
    run = srv.cli("queue", "list", "--json", timeout=120)
    assert run.returncode == 0, run.stderr
    return len(json.loads(run.stdout))
