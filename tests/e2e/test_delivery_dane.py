"""Outbound DANE (RFC 7672) against a DNSSEC-signed private zone: signed with
ldns-signzone, served and validated by a private unbound on loopback
(peers.ValidatingResolver), which is Volley's delivery.resolver; Volley trusts
its AD bit.

A secure TLSA 3 1 1 record matching the MX's key delivers (policy=dane,
verified=yes), whatever the certificate's name; a DANE-TA 2 0 1 record
naming the MX's issuing CA delivers when the certificate names the MX host
and defers when it does not; a mismatching one, or an MX that does not offer STARTTLS,
defers; a tampered (bogus) signed TLSA record makes the validating resolver
answer SERVFAIL, which defers and never downgrades; the same records in an
unsigned zone are not DANE at all.
"""

import time

import pytest

import peers
from conftest import inject, message, skip_unless_ci, wait_delivery

WRONG_HASH = "00" * 32


@pytest.fixture
def dane(mail_world, tmp_path):
    if not peers.dnssec_tools_available():
        skip_unless_ci("unbound and ldnsutils (ldns-keygen, ldns-signzone) are needed for DNSSEC tests")
    started = []

    def make(tlsa_hash: str, tamper: bool = False, tlsa_kind: str = "3 1 1") -> peers.ValidatingResolver:
        def records(zone_hash):
            return ["@ IN MX 10 mx1", "mx1 IN A 127.0.0.2",
                    f"_{mail_world.mx_port}._tcp.mx1 IN TLSA {tlsa_kind} {zone_hash}"]
        r = peers.ValidatingResolver(tmp_path / f"unbound{len(started)}", signed={"dane.test": records(tlsa_hash)},
                                     unsigned={"plain.test": records(tlsa_hash)})
        if tamper:
            r.tamper("dane.test", f"3 1 1 {tlsa_hash}", f"3 1 1 {WRONG_HASH}")
        started.append(r)
        return r.start()

    yield make
    for r in started:
        r.stop()


def peer_key_hash(mail_world) -> str:
    return peers.spki_sha256(mail_world.cert[0])


def deliver(mail_world, resolver, rcpt: str, subject: str, status: str):
    srv = mail_world.volley(delivery={"resolver": resolver.address})
    qid = inject(srv, "alice@local.test", [rcpt], message(subject))
    return srv, wait_delivery(srv, rcpt, status, timeout=20, qid=qid)[0]


def test_matching_dane_ee_record_delivers_verified(mail_world, dane):
    resolver = dane(peer_key_hash(mail_world))
    peer = mail_world.peer("127.0.0.2", hostname="mx1.dane.test", starttls=True)
    _, ev = deliver(mail_world, resolver, "bob@dane.test", "dane match", "sent")
    assert ev["policy"] == "dane" and ev["verified"] == "yes", ev
    assert ev["tls"].startswith("TLSv1."), ev
    assert len(peer.messages) == 1


def test_mismatching_record_defers(mail_world, dane):
    resolver = dane(WRONG_HASH)
    peer = mail_world.peer("127.0.0.2", hostname="mx1.dane.test", starttls=True)
    _, ev = deliver(mail_world, resolver, "bob@dane.test", "dane mismatch", "deferred")
    assert "DANE (RFC 7672)" in ev["reply"] and "matches no TLSA record" in ev["reply"], ev
    assert ev["policy"] == "dane" and ev["verified"] == "no"
    time.sleep(0.3)
    assert peer.messages == []


def test_stripped_starttls_defers(mail_world, dane):
    resolver = dane(peer_key_hash(mail_world))
    peer = mail_world.peer("127.0.0.2", hostname="mx1.dane.test", starttls=False)
    _, ev = deliver(mail_world, resolver, "bob@dane.test", "dane stripped", "deferred")
    assert "DANE" in ev["reply"] and "STARTTLS" in ev["reply"], ev
    time.sleep(0.3)
    assert peer.messages == []


def test_bogus_signature_defers_never_downgrades(mail_world, dane):
    resolver = dane(peer_key_hash(mail_world), tamper=True)
    peer = mail_world.peer("127.0.0.2", hostname="mx1.dane.test", starttls=True)
    _, ev = deliver(mail_world, resolver, "bob@dane.test", "dane bogus", "deferred")
    assert f"DANE: TLSA lookup of _{mail_world.mx_port}._tcp.mx1.dane.test failed: SERVFAIL" in ev["reply"], ev
    assert ev["status"] == "deferred"
    assert peer.connections == [], "a host whose TLSA answer is bogus is never contacted"
    assert "validation failure" in resolver.log()


def test_insecure_zone_is_not_dane(mail_world, dane):
    resolver = dane(WRONG_HASH)
    peer = mail_world.peer("127.0.0.2", hostname="mx1.plain.test", starttls=True)
    _, ev = deliver(mail_world, resolver, "bob@plain.test", "dane insecure", "sent")
    assert ev["policy"] == "none", ev
    assert len(peer.messages) == 1


@pytest.mark.parametrize("cert_name,status", [("mx1.dane.test", "sent"), ("other.dane.test", "deferred")])
def test_dane_ta_record_checks_the_mx_host_name(mail_world, dane, tmp_path, cert_name, status):
    ca = peers.PrivateCA(tmp_path / "ca")
    cert, key = ca.issue(cert_name)
    chain = tmp_path / "chain.pem"  # RFC 7671 5.2.2: the server sends the trust anchor it is pinned by
    chain.write_text(open(cert).read() + open(ca.ca_file).read())
    resolver = dane(peers.cert_sha256(ca.ca_file), tlsa_kind="2 0 1")
    peer = mail_world.peer("127.0.0.2", hostname="mx1.dane.test", starttls=True, tls_cert=(str(chain), key))
    _, ev = deliver(mail_world, resolver, "bob@dane.test", f"dane ta {cert_name}", status)
    assert ev["policy"] == "dane", ev
    if status == "sent":
        assert ev["verified"] == "yes" and len(peer.messages) == 1
    else:
        assert "matches no TLSA record" in ev["reply"] and "hostname mismatch" in ev["reply"], ev
        assert peer.messages == []
