"""The sending platform's HTTP API against the real binary, delivering to a
scripted receiver (aiosmtpd) through MX records from a private DNS server:
POST /v1/messages builds a proper MIME message, queues it durably (it
survives kill -9 right after the 202) and GET /v1/messages/{id} follows
each recipient to delivered or bounced; a hard bounce puts the address on
the sender domain's suppression list so the next message skips it; the
suppression list through the API (scopes, add, list, delete); bad input
refused with 400/422 and nothing queued; GET /v1/events pages through what
happened. Clients: Python's http.client; the message is checked with
Python's email parser."""

from __future__ import annotations

import email
import email.policy
import http.client
import json
import re
from typing import Optional, Tuple

import pytest

from conftest import wait_until
from test_http import create_key

SENDER = "news@sender.example"
RCPT = "bob@example.net"


def call(srv, method: str, path: str, key: Optional[str], body=None) -> Tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port("api"), timeout=15)
    headers = {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, (json.loads(raw) if raw else {})


def api_world(mail_world, api_toml: str = "", **volley_kw):
    """A receiver for example.net (aiosmtpd on 127.0.0.2) and a Volley with
    an mx and an api listener and keys of every scope (srv.keys); `api_toml`
    is added to its configuration."""
    peer = mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    listeners = [{"name": "mx", "protocol": "smtp", "role": "mx", "tls": "none"},
                 {"name": "api", "protocol": "http", "tls": "none"}]
    srv = mail_world.volley(start=False, listeners=listeners, limits={"max_auth_failures_per_ip": 1000}, **volley_kw)
    if api_toml:
        srv.extra_toml += "\n\n" + api_toml + "\n"
        srv.write_config()
    srv.keys = {scope: create_key(srv, f"{scope}-key", scope) for scope in ("send", "read", "admin")}
    srv.start()
    return mail_world, peer, srv


@pytest.fixture
def world(mail_world):
    return api_world(mail_world)


def send(srv, body: dict, key_scope: str = "send"):
    return call(srv, "POST", "/v1/messages", srv.keys[key_scope], body)


def wait_state(srv, mid: str, address: str, state: str, timeout: float = 15):
    def check():
        status, _, body = call(srv, "GET", f"/v1/messages/{mid}", srv.keys["read"])
        assert status == 200, body
        for r in body["recipients"]:
            if r["address"] == address and r["state"] == state:
                return body
        return None
    return wait_until(check, timeout, what=f"{address} {state}")


def events(srv, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, _, body = call(srv, "GET", "/v1/events" + (f"?{query}" if query else ""), srv.keys["read"])
    assert status == 200, body
    return body


def test_message_is_built_queued_delivered_and_reported(world):
    _, peer, srv = world
    status, _, body = send(srv, {
        "from": f"Nëws Désk <{SENDER}>", "to": [RCPT], "cc": ["carol@example.net"],
        "subject": "Grüße from the API", "text": "Hello in plain text.\n", "html": "<p>Hello in <b>HTML</b>.</p>",
        "attachments": [{"filename": "résumé.txt", "content_type": "text/plain",
                         "content_base64": "aGVsbG8gYXR0YWNobWVudA=="}],
        "tags": ["welcome"], "headers": {"X-Campaign-Ref": "abc"}})
    assert status == 202, body
    mid = body["id"]
    assert body["recipients"] == [{"address": RCPT, "status": "queued"},
                                  {"address": "carol@example.net", "status": "queued"}]

    (got,) = peer.wait_messages(1)
    # VERP: the return path names this message (index 0: the message as a whole).
    assert re.fullmatch(rf"bounces\+{mid}-0-[0-9a-z]{{16}}@sender\.example", got.mail_from, re.I), got.mail_from
    assert sorted(got.rcpt_tos) == ["bob@example.net", "carol@example.net"]
    msg = email.message_from_bytes(got.content, policy=email.policy.default)
    assert str(msg["Subject"]) == "Grüße from the API"
    assert msg["From"].addresses[0].display_name == "Nëws Désk"
    assert msg["Message-ID"] == f"<{body['message_id']}>"
    assert msg["Date"] and msg["X-Campaign-Ref"] == "abc"
    assert msg["Received"] and "HTTP API" in msg["Received"]
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html = alternative.iter_parts()
    assert plain.get_content().replace("\r\n", "\n") == "Hello in plain text.\n"
    assert "<b>HTML</b>" in html.get_content()
    assert attachment.get_filename() == "résumé.txt"
    assert attachment.get_content() == "hello attachment"
    assert b"\r\n" in got.content and b"\n" not in got.content.replace(b"\r\n", b"")

    report = wait_state(srv, mid, RCPT, "delivered")
    assert report["from"] == SENDER and report["subject"] == "Grüße from the API" and report["tags"] == ["welcome"]
    (bob,) = [r for r in report["recipients"] if r["address"] == RCPT]
    assert bob["attempts"] == 1 and bob["last_reply"].startswith("250"), bob
    mine = [e for e in events(srv)["events"] if e["message_id"] == mid]
    assert sorted((e["type"], e["recipient"]) for e in mine) == [
        ("delivered", "bob@example.net"), ("delivered", "carol@example.net"),
        ("received", "bob@example.net"), ("received", "carol@example.net")]


def test_hard_bounce_suppresses_the_address_for_the_sender_domain(world):
    _, peer, srv = world
    peer.reject_rcpt(RCPT, "550 5.1.1 <bob@example.net>: no such user")
    status, _, body = send(srv, {"from": SENDER, "to": [RCPT], "subject": "one", "text": "x"})
    assert status == 202, body
    report = wait_state(srv, body["id"], RCPT, "bounced")
    assert report["recipients"][0]["last_reply"].startswith("550 5.1.1"), report

    status, _, listed = call(srv, "GET", "/v1/suppressions", srv.keys["read"])
    assert status == 200
    (entry,) = listed["suppressions"]
    assert entry["address"] == RCPT and entry["domain"] == "sender.example" and entry["reason"] == "hard_bounce"

    attempts = len(peer.rcpt_attempts)
    status, _, again = send(srv, {"from": SENDER, "to": [RCPT, "dave@example.net"], "subject": "two", "text": "x"})
    assert status == 202, again
    assert again["recipients"] == [{"address": RCPT, "status": "suppressed"},
                                   {"address": "dave@example.net", "status": "queued"}]
    wait_state(srv, again["id"], "dave@example.net", "delivered")
    assert [a for a in peer.rcpt_attempts[attempts:] if a.address == RCPT] == [], "never sent to again"
    # Another sender domain may still mail it.
    status, _, other = send(srv, {"from": "hr@other.example", "to": [RCPT], "subject": "3", "text": "x"})
    assert other["recipients"] == [{"address": RCPT, "status": "queued"}]
    types = [(e["type"], e["message_id"]) for e in events(srv)["events"]]
    assert ("bounced", body["id"]) in types and ("suppressed", again["id"]) in types


def test_all_recipients_suppressed_queues_nothing(world):
    _, peer, srv = world
    status, _, _ = call(srv, "POST", "/v1/suppressions", srv.keys["admin"],
                        {"address": RCPT, "reason": "manual", "detail": "asked by phone"})
    assert status == 201
    status, _, body = send(srv, {"from": SENDER, "to": [RCPT], "subject": "s", "text": "x"})
    assert status == 202 and body["recipients"] == [{"address": RCPT, "status": "suppressed"}], body
    status, _, report = call(srv, "GET", f"/v1/messages/{body['id']}", srv.keys["send"])
    assert status == 200 and report["recipients"][0]["state"] == "suppressed", report
    r = srv.cli("queue", "list")
    assert body["id"] not in r.stdout
    assert peer.messages == []


def test_suppression_list_through_the_api(world):
    _, _, srv = world
    entry = {"address": "Eve@Example.net", "reason": "complaint", "domain": "sender.example"}
    assert call(srv, "POST", "/v1/suppressions", srv.keys["send"], entry)[0] == 403
    assert call(srv, "POST", "/v1/suppressions", srv.keys["read"], entry)[0] == 403
    status, _, made = call(srv, "POST", "/v1/suppressions", srv.keys["admin"], entry)
    assert status == 201 and made["address"] == "eve@example.net" and made["reason"] == "complaint", made
    for bad, code in [({"address": "not an address"}, 422), ({"address": "a@b.example", "reason": "bored"}, 422),
                      ({"address": "a@b.example", "domain": "x y"}, 422), ({"adress": "a@b.example"}, 400)]:
        status, _, err = call(srv, "POST", "/v1/suppressions", srv.keys["admin"], bad)
        assert status == code and set(err["error"]) == {"code", "message"}, (bad, status, err)
    for i in range(3):
        call(srv, "POST", "/v1/suppressions", srv.keys["admin"], {"address": f"user{i}@example.net"})
    status, _, page = call(srv, "GET", "/v1/suppressions?limit=2", srv.keys["read"])
    assert status == 200 and len(page["suppressions"]) == 2 and page["next"], page
    n = page["next"]
    status, _, rest = call(srv, "GET", f"/v1/suppressions?limit=10&after={n['after']}&after_domain={n['after_domain']}",
                           srv.keys["read"])
    assert [s["address"] for s in page["suppressions"] + rest["suppressions"]] == [
        "eve@example.net", "user0@example.net", "user1@example.net", "user2@example.net"]
    assert rest["next"] is None
    assert call(srv, "DELETE", "/v1/suppressions/eve%40example.net?domain=sender.example", srv.keys["send"])[0] == 403
    assert call(srv, "DELETE", "/v1/suppressions/eve%40example.net?domain=sender.example", srv.keys["admin"])[0] == 200
    status, _, err = call(srv, "DELETE", "/v1/suppressions/eve%40example.net", srv.keys["admin"])
    assert status == 404 and err["error"]["code"] == "not_found"


@pytest.mark.parametrize("body,status,code", [
    (b"{not json", 400, None),
    ({"to": [RCPT], "subject": "s", "text": "x"}, 422, None),
    ({"from": SENDER, "to": ["not an address"], "subject": "s", "text": "x"}, 422, None),
    ({"from": SENDER, "to": [RCPT], "subject": "s\r\nBcc: victim@example.net", "text": "x"}, 422, None),
    ({"from": SENDER, "to": [RCPT], "subject": "s", "text": "x", "headers": {"Bcc": "victim@example.net"}}, 422, None),
    ({"from": SENDER, "to": [RCPT], "subject": "s", "text": "x",
      "attachments": [{"filename": "a", "content_base64": "***not base64***"}]}, 422, None),
    ({"from": SENDER, "to": [RCPT], "subject": "s"}, 422, None),
    ({"from": SENDER, "to": [RCPT], "subject": "s", "text": "x", "bcc": "x@example.net"}, 400, None),
])
def test_bad_requests_are_refused_and_nothing_is_queued(world, body, status, code):
    _, peer, srv = world
    got, _, err = call(srv, "POST", "/v1/messages", srv.keys["send"], body)
    assert got == status, err
    assert set(err["error"]) == {"code", "message"} and err["error"]["message"], err
    assert events(srv)["events"] == []
    assert "bob@example.net" not in srv.cli("queue", "list").stdout
    assert peer.messages == []


def test_scopes_and_unknown_messages(world):
    _, _, srv = world
    msg = {"from": SENDER, "to": [RCPT], "subject": "s", "text": "x"}
    assert call(srv, "POST", "/v1/messages", srv.keys["read"], msg)[0] == 403
    assert call(srv, "POST", "/v1/messages", None, msg)[0] == 401
    status, _, err = call(srv, "GET", "/v1/messages/NOSUCHID", srv.keys["read"])
    assert status == 404 and err["error"]["code"] == "not_found"
    assert call(srv, "GET", "/v1/events", srv.keys["send"])[0] == 403


def test_events_page_by_cursor_and_type(world):
    _, peer, srv = world
    ids = []
    for i in range(3):
        status, _, body = send(srv, {"from": SENDER, "to": [f"u{i}@example.net"], "subject": f"{i}", "text": "x"})
        assert status == 202
        ids.append(body["id"])
    for i, mid in enumerate(ids):
        wait_state(srv, mid, f"u{i}@example.net", "delivered")
    first = events(srv, limit=2)
    assert len(first["events"]) == 2
    rest = events(srv, after=first["next"], limit=100)
    everything = first["events"] + rest["events"]
    assert len(everything) == 6 and len({e["id"] for e in everything}) == 6
    assert [int(e["id"]) for e in everything] == sorted(int(e["id"]) for e in everything)
    assert events(srv, after=rest["next"])["events"] == []
    assert events(srv, after=rest["next"])["next"] == rest["next"]
    delivered = events(srv, type="delivered")["events"]
    assert [e["message_id"] for e in delivered] == ids
    assert delivered[0]["detail"]["reply"].startswith("250")
    for bad in ("after=-1", "after=abc", "type=opened", "limit=0"):
        status, _, err = call(srv, "GET", f"/v1/events?{bad}", srv.keys["read"])
        assert status == 400 and err["error"]["code"] == "invalid_parameter", (bad, err)


def test_accepted_message_survives_kill_9_right_after_the_202(world):
    mail_world, peer, srv = world
    peer.defer_rcpt(times=None, address=RCPT)  # keep it in the queue
    status, _, body = send(srv, {"from": SENDER, "to": [RCPT], "subject": "durable", "text": "x"})
    assert status == 202
    srv.kill9()
    peer.clear_rules()
    srv.start()
    (got,) = peer.wait_messages(1, timeout=20)
    assert got.rcpt_tos == [RCPT] and b"Subject: durable" in got.content
    wait_state(srv, body["id"], RCPT, "delivered", timeout=20)


def world_with_rules(mail_world, rules_text: str):
    peer = mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    rules = mail_world.tmp_path / "bounce-rules.toml"
    rules.write_text(rules_text)
    listeners = [{"name": "mx", "protocol": "smtp", "role": "mx", "tls": "none"},
                 {"name": "api", "protocol": "http", "tls": "none"}]
    srv = mail_world.volley(start=False, listeners=listeners, limits={"max_auth_failures_per_ip": 1000})
    srv.extra_toml += f'\n\n[api]\nbounce_rules = "{rules}"\n'
    srv.write_config()
    srv.keys = {scope: create_key(srv, f"{scope}-key", scope) for scope in ("send", "read")}
    return peer, srv, rules


def test_operator_bounce_rules_decide_what_is_suppressed(mail_world):
    """Built-in rules call "552 5.2.2 mailbox full" a full mailbox (not
    suppressed); the operator's file, tried first, says this receiver means
    the account is gone."""
    peer, srv, rules = world_with_rules(mail_world, '[[rule]]\ntext = "mailbox full"\nclass = "hard"\n')
    srv.start()
    peer.reject_rcpt(RCPT, "552 5.2.2 mailbox full")
    peer.reject_rcpt("carol@example.net", "552 5.2.2 Quota exceeded")
    status, _, body = send(srv, {"from": SENDER, "to": [RCPT, "carol@example.net"], "subject": "s", "text": "x"})
    assert status == 202, body
    wait_state(srv, body["id"], RCPT, "bounced")
    wait_state(srv, body["id"], "carol@example.net", "bounced")
    bounced = {e["recipient"]: e["detail"] for e in events(srv, type="bounced")["events"]}
    assert bounced[RCPT]["class"] == "hard" and bounced[RCPT]["rule"] == f"{rules}:1", bounced
    assert bounced["carol@example.net"]["class"] == "quota" and "rule" not in bounced["carol@example.net"], bounced
    listed = call(srv, "GET", "/v1/suppressions", srv.keys["read"])[2]["suppressions"]
    assert [s["address"] for s in listed] == [RCPT]


def test_a_bounce_rules_file_that_does_not_load_stops_the_start(mail_world):
    _, srv, rules = world_with_rules(mail_world, '[[rule]]\ntext = "x"\nclass = "gone"\n')
    srv.start(wait=False)
    srv.expected_exit = True
    assert srv.proc.wait(15) == 1
    (failed,) = srv.events("server.start_failed")
    assert f"{rules}:" in failed["reason"] and "class" in failed["reason"], failed
