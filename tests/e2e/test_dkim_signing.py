"""DKIM signing at intake (issue 10, point 1), end to end: keys from the real
`volley dkim keygen`, mail submitted with smtplib (AUTH over STARTTLS) or
relayed from `relay.allow_networks`, delivered to a private receiver on
loopback, and the received bytes verified by an independent verifier,
Debian's python3-dkim, against the DNS record keygen printed. Mail from the
internet for local mailboxes is not signed; an unreadable key stops start-up
with the file named."""
import re
import smtplib
import ssl
import subprocess

import pytest

from conftest import VOLLEY_BIN, dot_stuff, inject, skip_unless_ci, wait_delivery, wait_maildir

try:
    import dkim  # python3-dkim
except ImportError:  # pragma: no cover - depends on the machine
    dkim = None

RCPT = "bob@example.net"


@pytest.fixture(autouse=True)
def need_dkimpy():
    if dkim is None:
        skip_unless_ci("python3-dkim is not installed (apt-get install -y python3-dkim)")


def keygen(tmp, domain, selector, algorithm):
    out = tmp / f"{domain}.{selector}.pem"
    run = subprocess.run([VOLLEY_BIN, "dkim", "keygen", "--domain", domain, "--selector", selector,
                          "--algorithm", algorithm, "--out", str(out)], cwd=tmp, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    record = "".join(re.findall(r'"([^"]*)"', run.stdout.decode())).encode()
    return out, record


class Keys:
    """[[dkim]] tables for a server and the DNS records dkimpy looks up."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.records = {}
        self.toml = ""

    def add(self, domain, selector, algorithm):
        pem, record = keygen(self.tmp, domain, selector, algorithm)
        self.records[f"{selector}._domainkey.{domain}.".encode()] = record
        self.toml += (f'\n[[dkim]]\ndomain = "{domain}"\nselector = "{selector}"\nkey = "{pem}"\n'
                      f'algorithm = "{"rsa-sha256" if algorithm == "rsa" else "ed25519-sha256"}"\n')
        return pem

    def dnsfunc(self, name, timeout=5):
        return self.records.get(name)

    def verify_all(self, content: bytes) -> list:
        """(d=, s=, a=) of each signature, after dkimpy verified every one."""
        d = dkim.DKIM(content)
        sigs = [(v, h) for v, h in d.headers if v.lower() == b"dkim-signature"]
        found = []
        for i in range(len(sigs)):
            assert d.verify(idx=i, dnsfunc=self.dnsfunc), f"dkimpy rejects signature {i}: {d.logger}"
            tags = dict(t.strip().split(b"=", 1) for t in re.sub(rb"\s", b"", sigs[i][1]).split(b";") if b"=" in t)
            found.append((tags[b"d"].decode(), tags[b"s"].decode(), tags[b"a"].decode()))
        return found


def world_server(mail_world, keys, **kw):
    srv = mail_world.volley(start=False, **kw)
    srv.extra_toml += keys.toml
    srv.write_config()
    srv.start()
    return srv


def submit_with_smtplib(srv, sender, data: bytes):
    ctx = ssl.create_default_context(cafile=str(srv.cert_path))
    ctx.check_hostname = False
    with smtplib.SMTP("127.0.0.1", srv.port("submission"), timeout=10) as s:
        s.starttls(context=ctx)
        s.login("alice@local.test", "alice-Secret-1")
        s.sendmail(sender, [RCPT], data)


def test_submission_is_signed_with_both_algorithms_and_verifies_at_the_receiver(mail_world, tmp_path):
    keys = Keys(tmp_path)
    keys.add("local.test", "rsa2026", "rsa")
    keys.add("local.test", "ed2026", "ed25519")
    peer = mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    srv = world_server(mail_world, keys)
    # Tempting for canonicalisation: folded header, trailing whitespace, a
    # leading dot, 8-bit body; no Message-ID/Date (Volley adds and signs them).
    data = (b"From: Alice <alice@local.test>\r\nTo: Bob <bob@example.net>\r\n"
            b"Subject: a subject\r\n\tfolded  \r\nList-Unsubscribe: <mailto:u@local.test>\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
            b".leading dot\r\ntrailing spaces   \r\ncaf\xc3\xa9\r\n\r\n")
    submit_with_smtplib(srv, "alice@local.test", data)
    wait_delivery(srv, RCPT, "sent")
    (m,) = peer.messages
    assert sorted(keys.verify_all(m.content)) == [("local.test", "ed2026", "ed25519-sha256"),
                                                  ("local.test", "rsa2026", "rsa-sha256")]
    headers = m.content.split(b"\r\n\r\n", 1)[0]
    assert re.search(rb"(?im)^message-id:", headers) and re.search(rb"(?im)^date:", headers)
    for h in re.findall(rb";h=([^;]*)", re.sub(rb"\s", b"", headers).lower()):
        names = h.split(b":")
        assert names.count(b"from") == 2, "From is over-signed"
        assert {b"to", b"subject", b"date", b"message-id", b"content-type", b"list-unsubscribe"} <= set(names)
    # dkimpy notices a change: the signatures hold over exactly these bytes.
    assert not dkim.verify(m.content.replace(b"caf\xc3\xa9", b"cafe"), dnsfunc=keys.dnsfunc)


def test_relay_network_mail_is_signed_by_the_parent_domain_key_even_when_large(mail_world, tmp_path):
    keys = Keys(tmp_path)
    keys.add("example.com", "s1", "ed25519")
    peer = mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    srv = world_server(mail_world, keys)
    small = (b"From: news@mail.example.com\r\nTo: bob@example.net\r\nSubject: small\r\n"
             b"Date: Tue, 1 Jan 2030 10:00:00 +0000\r\nMessage-ID: <small@example.com>\r\n\r\nhi\r\n")
    # Over limits.message_memory_threshold (1 MB): it streams to disk as it arrives.
    big = small.replace(b"small", b"large") + b"".join(b"line %d of a long body \t \r\n" % i for i in range(60000))
    assert len(big) > 1_500_000
    inject(srv, "news@mail.example.com", [RCPT], small)
    inject(srv, "news@mail.example.com", [RCPT], big)
    wait_delivery(srv, RCPT, "sent", count=2, timeout=30)
    assert len(peer.messages) == 2
    for m in peer.messages:
        assert keys.verify_all(m.content) == [("example.com", "s1", "ed25519-sha256")]


def test_internet_mail_for_local_mailboxes_and_other_domains_is_not_signed(mail_world, tmp_path):
    keys = Keys(tmp_path)
    keys.add("example.com", "s1", "ed25519")
    keys.add("local.test", "s1", "ed25519")
    peer = mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    srv = world_server(mail_world, keys, relay_networks=["10.0.0.0/8"])
    data = b"From: someone@example.com\r\nTo: alice@local.test\r\nSubject: in\r\n\r\nhello\r\n"
    inject(srv, "someone@example.com", ["alice@local.test"], data)
    (raw,) = wait_maildir(srv, "alice@local.test")
    assert b"DKIM-Signature" not in raw
    # A relayed message whose From domain has no key is not signed either.
    srv2 = world_server(mail_world, keys)
    inject(srv2, "x@example.org", [RCPT], b"From: x@example.org\r\nSubject: other\r\n\r\nhi\r\n")
    wait_delivery(srv2, RCPT, "sent")
    assert b"DKIM-Signature" not in peer.messages[0].content


def test_unreadable_key_stops_start_up_naming_the_file(volley_factory, tmp_path):
    missing = tmp_path / "nowhere" / "s1.pem"
    srv = volley_factory(start=False, extra_toml=f'[[dkim]]\ndomain = "local.test"\nselector = "s1"\n'
                                                 f'key = "{missing}"\nalgorithm = "ed25519-sha256"\n')
    srv.start(wait=False)
    srv.expected_exit = True
    assert srv.proc.wait(timeout=15) != 0
    assert str(missing) in srv.log(), srv.log()
