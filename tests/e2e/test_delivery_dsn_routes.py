"""Defect 1a (issue 9): every route gives the same DSN content.

Mail relayed through `delivery.smarthost` used to bounce with a DSN that had
no Remote-MTA and no `Diagnostic-Code: smtp; 550 5.1.1 ...`, and a message
that expired after only `451 4.3.0` answers bounced with `Status: 5.0.0`
instead of the last transient status (RFC 3464 2.3.4-2.3.6; Postfix reports
the last 4.x.x it saw). Each test runs over MX routing, a smarthost given by
address and a smarthost given by name, and expects the same report."""

import pytest

from conftest import inject, message, parse_dsn, wait_delivery, wait_maildir, wait_queue_empty

SENDER = "alice@local.test"
RCPT = "bob@example.net"
ROUTES = ["mx", "smarthost-address", "smarthost-name"]


def route_to_peer(world, route):
    """A scripted receiver for `route`; returns (peer, [delivery] settings,
    the host name the DSN must report as Remote-MTA)."""
    if route == "mx":
        peer = world.peer("127.0.0.2")
        (host,) = world.route("example.net", "127.0.0.2")
        return peer, {}, host
    peer = world.peer("127.0.0.4")
    if route == "smarthost-address":
        return peer, {"smarthost": f"127.0.0.4:{world.mx_port}"}, "127.0.0.4"
    world.dns.a("relay.example.test", "127.0.0.4")
    return peer, {"smarthost": f"[relay.example.test]:{world.mx_port}"}, "relay.example.test"


@pytest.mark.parametrize("route", ROUTES)
def test_defect_1a_rcpt_550_gives_remote_mta_and_diagnostic_code_on_every_route(mail_world, route):
    peer, delivery, host = route_to_peer(mail_world, route)
    peer.reject_rcpt(RCPT, "550 5.1.1 <bob@example.net>: Recipient address rejected: no such user")
    srv = mail_world.volley(delivery=delivery)
    inject(srv, SENDER, [RCPT], message(f"bounce via {route}"))
    (ev,) = wait_delivery(srv, RCPT, "bounced")
    assert host in ev["relay"], ev
    (raw,) = wait_maildir(srv, SENDER)
    (r,) = parse_dsn(raw).recipients
    assert r["action"] == "failed" and r["status"] == "5.1.1", r
    assert r["remote-mta"] == f"dns; {host}", r
    assert r["diagnostic-code"] == ("smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: "
                                    "no such user"), r
    wait_queue_empty(srv)


@pytest.mark.parametrize("route", ROUTES)
def test_defect_1a_expiry_after_451_reports_the_last_transient_status_on_every_route(mail_world, route):
    peer, delivery, host = route_to_peer(mail_world, route)
    peer.defer_rcpt(times=None, address=RCPT, reply="451 4.3.0 Temporary failure, try again later")
    srv = mail_world.volley(queue={"retry_schedule": ["1s"], "max_age": "3s"}, delivery=delivery)
    inject(srv, SENDER, [RCPT], message(f"expires via {route}"))
    (raw,) = wait_maildir(srv, SENDER, timeout=20)
    dsn = parse_dsn(raw)
    (r,) = dsn.recipients
    assert r["action"] == "failed", r
    assert r["status"] == "4.3.0", r  # never 5.0.0: the last status a server gave
    assert r["remote-mta"] == f"dns; {host}", r
    assert r["diagnostic-code"] == "smtp; 451 4.3.0 Temporary failure, try again later", r
    assert "expired" in dsn.explanation, dsn.explanation
    assert len(peer.rcpt_attempts) >= 2, "retried until it expired"
    wait_queue_empty(srv)
