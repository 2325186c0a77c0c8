"""Outbound MTA-STS (RFC 8461) against a private HTTPS policy server and MX
peers with certificates from a private CA (peers.PrivateCA), through the
test DNS server.

enforce: delivery only to MX hosts the policy lists, over STARTTLS with a
certificate that chains to a trusted CA and names the MX host; STARTTLS
stripped, a self-signed or wrong-name certificate, an MX the policy does not
list: deferred (never bounced) with a reason naming MTA-STS. testing: mail is
delivered and the would-be failure logged. The policy cache survives a
restart with the policy server gone. A fetch that fails with nothing cached
means no policy. The delivery log line says policy= and verified=.
"""

import http.server
import ssl
import threading
import time
from pathlib import Path

import pytest

import peers
from conftest import inject, message, wait_delivery

DOMAIN = "example.net"
POLICY_IP = "127.0.0.20"
RCPT = "bob@example.net"


def policy_text(mode: str, *mx: str, max_age: int = 86400) -> str:
    lines = ["version: STSv1", f"mode: {mode}"] + [f"mx: {m}" for m in mx] + [f"max_age: {max_age}"]
    return "\r\n".join(lines) + "\r\n"


class PolicyServer:
    """https://mta-sts.<domain>:<port>/.well-known/mta-sts.txt from a
    ThreadingHTTPServer wrapped in TLS; `policy` may change while it runs."""

    def __init__(self, ip: str, port: int, cert, policy: str):
        self.policy = policy
        self.requests = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.path)
                if self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                body = owner.policy.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((ip, port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*cert)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)
            self.thread = None


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return peers.PrivateCA(tmp_path_factory.mktemp("sts-ca"))


@pytest.fixture
def sts(mail_world, ca):
    """The policy world: DNS for example.net (MX mx1 -> 127.0.0.2, the TXT
    record, mta-sts.example.net), a policy server (enforce, mx1), and
    `volley(**delivery)` trusting the private CA through delivery.ca_file."""

    class World:
        port = peers.free_port_on([POLICY_IP])
        server = None

        def serve(self, policy: str):
            self.server = PolicyServer(POLICY_IP, self.port, ca.issue(f"mta-sts.{DOMAIN}"), policy)
            return self.server

        def volley(self, **delivery):
            d = {"mta_sts_port": self.port, "ca_file": ca.ca_file}
            d.update(delivery)
            return mail_world.volley(delivery=d)

        def settings(self, **delivery):
            d = {"mta_sts_port": self.port, "ca_file": ca.ca_file}
            d.update(delivery)
            return d

    w = World()
    mail_world.route(DOMAIN, "127.0.0.2")
    mail_world.dns.set_records(f"_mta-sts.{DOMAIN}", "TXT", ["v=STSv1; id=20261207T01;"])
    mail_world.dns.a(f"mta-sts.{DOMAIN}", POLICY_IP)
    w.serve(policy_text("enforce", f"mx1.{DOMAIN}"))
    yield w
    if w.server:
        w.server.stop()


def tls_peer(mail_world, cert, **kw):
    return mail_world.peer("127.0.0.2", hostname=f"mx1.{DOMAIN}", starttls=True, tls_cert=cert, **kw)


def send(srv, subject: str) -> str:
    return inject(srv, "alice@local.test", [RCPT], message(subject))


def test_enforce_delivers_to_listed_mx_over_verified_tls(mail_world, sts, ca):
    peer = tls_peer(mail_world, ca.issue(f"mx1.{DOMAIN}"))
    srv = sts.volley()
    qid = send(srv, "sts enforce")
    ev = wait_delivery(srv, RCPT, "sent", timeout=15, qid=qid)[0]
    assert ev["policy"] == "mta-sts" and ev["verified"] == "yes", ev
    assert ev["tls"].startswith("TLSv1."), ev
    assert len(peer.messages) == 1
    assert sts.server.requests == ["/.well-known/mta-sts.txt"]
    assert any((srv.data_dir / "mta-sts").iterdir()), "the policy is persisted"
    assert srv.events("mta_sts.policy")[0]["mode"] == "enforce"


def test_enforce_defers_when_starttls_is_stripped(mail_world, sts):
    peer = mail_world.peer("127.0.0.2", hostname=f"mx1.{DOMAIN}", starttls=False)
    srv = sts.volley()
    qid = send(srv, "sts stripped")
    ev = wait_delivery(srv, RCPT, "deferred", timeout=15, qid=qid)[0]
    assert "MTA-STS policy of example.net (mode enforce)" in ev["reply"], ev
    assert "STARTTLS" in ev["reply"], ev
    assert ev["policy"] == "mta-sts" and ev["verified"] == "no"
    time.sleep(0.3)
    assert peer.messages == [], "nothing may go out in clear"


@pytest.mark.parametrize("cert_kind", ["self-signed", "wrong-name"])
def test_enforce_defers_on_a_certificate_that_does_not_validate(mail_world, sts, ca, tmp_path, cert_kind):
    if cert_kind == "self-signed":
        cert = peers.make_self_signed_cert(tmp_path / "self", f"mx1.{DOMAIN}")
    else:
        cert = ca.issue("other.example.org")
    peer = tls_peer(mail_world, cert)
    srv = sts.volley()
    qid = send(srv, f"sts {cert_kind}")
    ev = wait_delivery(srv, RCPT, "deferred", timeout=15, qid=qid)[0]
    assert "MTA-STS" in ev["reply"] and "certificate" in ev["reply"], ev
    assert ev["verified"] == "no"
    time.sleep(0.3)
    assert peer.messages == []


def test_enforce_defers_when_no_mx_matches_the_policy(mail_world, sts, ca):
    sts.server.policy = policy_text("enforce", f"mail.{DOMAIN}")
    peer = tls_peer(mail_world, ca.issue(f"mx1.{DOMAIN}"))
    srv = sts.volley()
    qid = send(srv, "sts mx mismatch")
    ev = wait_delivery(srv, RCPT, "deferred", timeout=15, qid=qid)[0]
    assert f"does not list MX host mx1.{DOMAIN}" in ev["reply"], ev
    assert ev["policy"] == "mta-sts"
    assert peer.connections == [], "a host the policy does not list is never contacted"


def test_testing_mode_delivers_and_logs_what_would_have_failed(mail_world, sts):
    sts.server.policy = policy_text("testing", f"mx1.{DOMAIN}")
    peer = mail_world.peer("127.0.0.2", hostname=f"mx1.{DOMAIN}", starttls=False)
    srv = sts.volley()
    qid = send(srv, "sts testing")
    ev = wait_delivery(srv, RCPT, "sent", timeout=15, qid=qid)[0]
    assert ev["policy"] == "mta-sts testing" and ev["verified"] == "no", ev
    assert len(peer.messages) == 1
    logged = srv.events("mta_sts.testing")
    assert logged and "STARTTLS" in logged[0]["would_fail"], logged


def test_cached_policy_survives_a_restart_without_the_policy_server(mail_world, sts, ca):
    tls_peer(mail_world, ca.issue(f"mx1.{DOMAIN}"))
    srv = sts.volley()
    qid = send(srv, "sts before restart")
    wait_delivery(srv, RCPT, "sent", timeout=15, qid=qid)
    # The policy server goes away, so does the TXT record (RFC 8461 5.1: the
    # cached policy stays in force until it expires), and the MX stops
    # offering STARTTLS: after a restart the cached policy must still defer.
    sts.server.stop()
    mail_world.dns.remove(f"_mta-sts.{DOMAIN}")
    mail_world._stoppables.pop().stop()
    stripped = mail_world.peer("127.0.0.2", hostname=f"mx1.{DOMAIN}", starttls=False)
    mail_world.restart(srv, delivery=sts.settings())
    qid = send(srv, "sts after restart")
    ev = wait_delivery(srv, RCPT, "deferred", timeout=15, qid=qid)[0]
    assert "MTA-STS policy of example.net (mode enforce)" in ev["reply"], ev
    assert stripped.messages == []


def test_fetch_failure_without_a_cached_policy_means_no_policy(mail_world, sts):
    sts.server.stop()
    peer = mail_world.peer("127.0.0.2", hostname=f"mx1.{DOMAIN}", starttls=False)
    srv = sts.volley()
    qid = send(srv, "sts fetch failed")
    ev = wait_delivery(srv, RCPT, "sent", timeout=30, qid=qid)[0]
    assert ev["policy"] == "none", ev
    assert len(peer.messages) == 1
    failed = srv.events("mta_sts.fetch_failed")
    assert failed and failed[0]["using"] == "no policy", failed


def test_ssl_cert_file_is_the_trust_store_when_ca_file_is_empty(mail_world, sts, ca, monkeypatch):
    tls_peer(mail_world, ca.issue(f"mx1.{DOMAIN}"))
    monkeypatch.setenv("SSL_CERT_FILE", ca.ca_file)
    srv = sts.volley(ca_file="")
    qid = send(srv, "sts ssl_cert_file")
    ev = wait_delivery(srv, RCPT, "sent", timeout=15, qid=qid)[0]
    assert ev["policy"] == "mta-sts" and ev["verified"] == "yes", ev
    assert sts.server.requests, "the policy was fetched trusting SSL_CERT_FILE"


def test_mta_sts_off_ignores_the_policy(mail_world, sts):
    peer = mail_world.peer("127.0.0.2", hostname=f"mx1.{DOMAIN}", starttls=False)
    srv = sts.volley(mta_sts=False)
    qid = send(srv, "sts off")
    ev = wait_delivery(srv, RCPT, "sent", timeout=15, qid=qid)[0]
    assert ev["policy"] == "none"
    assert sts.server.requests == []
    assert len(peer.messages) == 1


def test_unreadable_ca_file_is_an_error_at_start(mail_world, tmp_path):
    srv = mail_world.volley(delivery={"ca_file": str(tmp_path / "missing.pem")}, start=False)
    srv.start(wait=False)
    srv.expected_exit = True
    assert srv.proc.wait(15) != 0
    assert "delivery.ca_file: cannot load" in srv.log()
