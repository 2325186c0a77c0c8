"""Inbound sender checks on the mx listener (issue 10, point 2), end to end:
a private DNS server on loopback publishes SPF, DKIM keys (printed by the
real `volley dkim keygen`) and DMARC policies; the messages are signed by an
independent signer, Debian's python3-dkim; a client on 127.0.0.5 (not in
relay.allow_networks, not authenticated) sends them to a local mailbox.
What must hold: one Authentication-Results field with our authserv-id and
the right results, forged ones removed; `enforce` refuses p=reject failures
with 550 5.7.1, files p=quarantine failures into Maildir .Junk, and defers
with 451 4.7.x when the answer depends on DNS that failed; `report` only
records; mail from our relay networks is not checked."""
import re
import subprocess

import pytest

from conftest import HOSTNAME, SMTPClient, VOLLEY_BIN, dot_stuff, maildir, skip_unless_ci, wait_maildir
from peers import SERVFAIL

try:
    import dkim  # python3-dkim
except ImportError:  # pragma: no cover - depends on the machine
    dkim = None

CLIENT_IP = "127.0.0.5"
RCPT = "alice@local.test"


@pytest.fixture(autouse=True)
def need_dkimpy():
    if dkim is None:
        skip_unless_ci("python3-dkim is not installed (apt-get install -y python3-dkim)")


def keygen(tmp, domain, selector, algorithm="ed25519"):
    out = tmp / f"{domain}.{selector}.pem"
    run = subprocess.run([VOLLEY_BIN, "dkim", "keygen", "--domain", domain, "--selector", selector,
                          "--algorithm", algorithm, "--out", str(out)], cwd=tmp, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return out, "".join(re.findall(r'"([^"]*)"', run.stdout.decode()))


def dkimpy_key(algorithm, pem):
    if algorithm == "rsa":
        return pem.read_bytes()
    der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-outform", "DER"], capture_output=True,
                         check=True).stdout
    import base64
    return base64.b64encode(der[-32:])


class Sender:
    """A sending domain in the private DNS: SPF for 127.0.0.5, a DKIM key, a DMARC policy."""

    def __init__(self, world, tmp, domain, policy="reject", spf=f"v=spf1 ip4:{CLIENT_IP} -all"):
        self.domain = domain
        self.dns = world.dns
        self.pem, record = keygen(tmp, domain, "s1")
        self.dns.set_records(f"s1._domainkey.{domain}", "TXT", [record])
        if spf is not None:
            self.dns.set_records(domain, "TXT", [spf])
        if policy is not None:
            self.dns.set_records(f"_dmarc.{domain}", "TXT", [f"v=DMARC1; p={policy}"])

    def message(self, subject, sign=True, body=b"Hello.\r\n", extra=b""):
        msg = (b"From: Sender <news@" + self.domain.encode() + b">\r\nTo: alice@local.test\r\n"
               b"Subject: " + subject.encode() + b"\r\nDate: Tue, 1 Jan 2030 10:00:00 +0000\r\n"
               b"Message-ID: <" + subject.replace(" ", "-").encode() + b"@sender.test>\r\n" + extra + b"\r\n" + body)
        if not sign:
            return msg
        return dkim.sign(msg, b"s1", self.domain.encode(), dkimpy_key("ed25519", self.pem),
                         signature_algorithm=b"ed25519-sha256") + msg


def inbound_server(mail_world, dmarc="enforce"):
    srv = mail_world.volley(start=False, relay_networks=["10.0.0.0/8"])
    srv.extra_toml += f'\n[inbound]\nspf = true\ndkim_verify = true\ndmarc = "{dmarc}"\n'
    srv.write_config()
    srv.start()
    return srv


def send(srv, mail_from, data, helo="mta.sender.test"):
    c = SMTPClient(srv.port("mx"), source=CLIENT_IP)
    try:
        c.ehlo(helo)
        return c.send_message(mail_from, [RCPT], dot_stuff(data))
    finally:
        c.close()


def auth_results(raw: bytes) -> list:
    headers = raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
    unfolded = re.sub(r"\r\n[ \t]+", " ", headers)
    return [l for l in unfolded.split("\r\n") if l.lower().startswith("authentication-results:")]


def test_aligned_pass_is_delivered_with_one_authentication_results(mail_world, tmp_path):
    s = Sender(mail_world, tmp_path, "sender.test")
    srv = inbound_server(mail_world)
    forged = f"Authentication-Results: {HOSTNAME}; dmarc=pass header.from=sender.test\r\n".encode()
    other = b"Authentication-Results: mx.elsewhere.test; spf=fail\r\n"
    r = send(srv, "bounce@sender.test", forged + other + s.message("aligned"))
    assert r.code == 250, str(r)
    (raw,) = wait_maildir(srv, RCPT)
    ars = auth_results(raw)
    ours = [a for a in ars if a.split(":", 1)[1].strip().lower().startswith(HOSTNAME.lower())]
    assert len(ours) == 1, ars
    assert "spf=pass" in ours[0] and "dkim=pass" in ours[0] and "dmarc=pass" in ours[0], ours[0]
    assert "header.d=sender.test" in ours[0], ours[0]
    assert any("mx.elsewhere.test" in a for a in ars), "other servers' results are kept"
    assert b"dmarc=pass header.from=sender.test\r\n" not in raw.split(b"\r\n\r\n", 1)[0].replace(ours[0].encode(), b"")


def test_reject_policy_failure_is_refused_with_550(mail_world, tmp_path):
    s = Sender(mail_world, tmp_path, "sender.test", spf="v=spf1 -all")
    srv = inbound_server(mail_world)
    r = send(srv, "bounce@sender.test", s.message("forged", sign=False))
    assert r.code == 550 and r.enhanced == "5.7.1", str(r)
    assert "sender.test" in r.text and "DMARC" in r.text.upper(), str(r)
    assert not (maildir(srv, RCPT) / "new").exists() or not list((maildir(srv, RCPT) / "new").iterdir())


def test_quarantine_policy_failure_goes_to_junk(mail_world, tmp_path):
    s = Sender(mail_world, tmp_path, "sender.test", policy="quarantine", spf="v=spf1 -all")
    srv = inbound_server(mail_world)
    # Signed, but the body is changed after signing: dkim=fail.
    data = s.message("tampered").replace(b"Hello.", b"Hallo.")
    r = send(srv, "bounce@sender.test", data)
    assert r.code == 250, str(r)
    junk = maildir(srv, RCPT) / ".Junk" / "new"
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (junk.exists() and list(junk.iterdir())):
        time.sleep(0.05)
    (path,) = list(junk.iterdir())
    raw = path.read_bytes()
    (ar,) = auth_results(raw)
    assert "dmarc=fail" in ar and "dkim=fail" in ar, ar
    inbox = maildir(srv, RCPT) / "new"
    assert not inbox.exists() or not list(inbox.iterdir())


def test_dns_failure_under_enforce_defers_with_451(mail_world, tmp_path):
    s = Sender(mail_world, tmp_path, "sender.test", spf="v=spf1 -all")
    mail_world.dns.set_records("_dmarc.sender.test", "TXT", SERVFAIL)
    srv = inbound_server(mail_world)
    r = send(srv, "bounce@sender.test", s.message("dns trouble", sign=False))
    assert r.code == 451 and r.enhanced.startswith("4.7."), str(r)


def test_report_mode_records_and_accepts(mail_world, tmp_path):
    s = Sender(mail_world, tmp_path, "sender.test", spf="v=spf1 -all")
    srv = inbound_server(mail_world, dmarc="report")
    r = send(srv, "bounce@sender.test", s.message("reported", sign=False))
    assert r.code == 250, str(r)
    (raw,) = wait_maildir(srv, RCPT)
    (ar,) = auth_results(raw)
    assert "spf=fail" in ar and "dmarc=fail" in ar, ar


def test_large_signed_message_streamed_to_disk_verifies(mail_world, tmp_path):
    s = Sender(mail_world, tmp_path, "sender.test")
    srv = inbound_server(mail_world)
    body = b"".join(b"line %d of a long body\r\n" % i for i in range(70000))
    assert len(body) > 1_500_000
    r = send(srv, "bounce@sender.test", s.message("large", body=body))
    assert r.code == 250, str(r)
    (raw,) = wait_maildir(srv, RCPT, timeout=20)
    (ar,) = auth_results(raw)
    assert "dkim=pass" in ar and "dmarc=pass" in ar, ar


def test_relay_network_mail_is_not_checked(mail_world, tmp_path):
    Sender(mail_world, tmp_path, "sender.test", spf="v=spf1 -all")
    srv = mail_world.volley(start=False)  # relays for 127.0.0.0/8
    srv.extra_toml += '\n[inbound]\nspf = true\ndkim_verify = true\ndmarc = "enforce"\n'
    srv.write_config()
    srv.start()
    data = b"From: news@sender.test\r\nTo: alice@local.test\r\nSubject: internal\r\n\r\nhi\r\n"
    r = send(srv, "bounce@sender.test", data)
    assert r.code == 250, str(r)
    (raw,) = wait_maildir(srv, RCPT)
    assert not auth_results(raw)
