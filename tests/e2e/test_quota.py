"""Mailbox quotas (issue 11 point 4) against the real binary: RCPT answers
452 4.2.2 for a full mailbox and 552 5.2.2 when SIZE= alone exceeds the
quota, `volley user add|quota --quota` and `user list`, a delivery that
would cross the quota deferred (4.2.2) and bounced with 5.2.2 at max_age,
and maildirsize written in the Maildir++ format Dovecot's quota reads."""

import re
import smtplib

from conftest import (dot_stuff, maildir, maildir_messages, message, parse_dsn, wait_delivery, wait_maildir,
                      wait_until)

QUOTA_TOML = """[mailbox]
quota = "2k"

[queue]
retry_schedule = ["1s"]
max_age = "4s"

[delivery]
enabled = true
"""


def quota_server(volley_factory, **kw):
    return volley_factory(extra_toml=QUOTA_TOML, **kw)


def set_usage(srv, address, text):
    box = maildir(srv, address)
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    (box / "maildirsize").write_text(text)


def test_user_add_quota_and_list(volley_factory):
    srv = quota_server(volley_factory, start=False)
    r = srv.cli("user", "add", "dave@local.test", "--quota", "1MB", stdin="dave-pw\n")
    assert r.returncode == 0, r.stderr
    r = srv.cli("user", "list", "dave@local.test")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "dave@local.test usage=0 messages=0 quota=1048576 (user)\n"
    r = srv.cli("user", "quota", "dave@local.test", "--quota", "0")
    assert r.returncode == 0 and "default" in r.stdout, (r.stdout, r.stderr)
    assert srv.cli("user", "list", "dave@local.test").stdout == \
        "dave@local.test usage=0 messages=0 quota=2048 (default)\n"
    r = srv.cli("user", "quota", "dave@local.test", "--quota", "many")
    assert r.returncode != 0 and r.stderr.startswith("volley: user quota: bad --quota"), r.stderr
    r = srv.cli("user", "quota", "nobody@local.test", "--quota", "1MB")
    assert r.returncode != 0 and "no such user" in r.stderr, r.stderr
    r = srv.cli("user", "quota", "dave@local.test")
    assert r.returncode != 0, "--quota is required"


def test_rcpt_452_when_full_and_552_when_size_exceeds_quota(volley_factory):
    srv = quota_server(volley_factory)
    set_usage(srv, "alice@local.test", "2048S\n3000 1\n")
    with srv.connect("mx") as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.test>", 250)
        c.expect("RCPT TO:<alice@local.test>", 452, "4.2.2")
        c.expect("RCPT TO:<bob@local.test>", 250)
        c.expect("RSET", 250)
        c.expect("MAIL FROM:<x@remote.test> SIZE=5000", 250)
        c.expect("RCPT TO:<bob@local.test>", 552, "5.2.2")
        c.expect("RSET", 250)
        c.expect("MAIL FROM:<x@remote.test> SIZE=100", 250)
        c.expect("RCPT TO:<bob@local.test>", 250)
    # The same through Python's smtplib, as a client library sees it.
    with smtplib.SMTP("127.0.0.1", srv.port("mx"), timeout=10) as s:
        s.ehlo()
        try:
            s.sendmail("x@remote.test", ["alice@local.test"], message("to a full mailbox"))
            raise AssertionError("accepted for a full mailbox")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients["alice@local.test"]
            assert code == 452 and text.startswith(b"4.2.2"), (code, text)


def test_delivery_crossing_the_quota_is_deferred_then_bounced_522(volley_factory):
    srv = quota_server(volley_factory)
    # Bob gets the DSN (with the returned message): room for it.
    r = srv.cli("user", "quota", "bob@local.test", "--quota", "1MB")
    assert r.returncode == 0, r.stderr
    # Room at RCPT (no SIZE=), but the message would cross the quota.
    set_usage(srv, "alice@local.test", "2048S\n1500 1\n")
    body = b"x" * 70 + b"\r\n"
    with srv.connect("mx") as c:
        c.ehlo()
        r = c.send_message("bob@local.test", ["alice@local.test"], dot_stuff(message("too much", body * 12)))
        assert r.code == 250, r
    (deferred,) = wait_delivery(srv, "alice@local.test", "deferred")
    assert "4.2.2" in deferred.get("reply", "") or "quota" in deferred.get("reply", ""), deferred
    wait_delivery(srv, "alice@local.test", "bounced", timeout=20)
    assert maildir_messages(srv, "alice@local.test") == []
    (raw,) = wait_maildir(srv, "bob@local.test")
    dsn = parse_dsn(raw)
    (rcpt,) = dsn.recipients
    assert rcpt["final-recipient"].lower() == "rfc822; alice@local.test"
    assert rcpt["action"] == "failed"
    assert rcpt["status"] == "5.2.2", rcpt


def test_maildirsize_is_what_dovecot_reads(volley_factory):
    srv = quota_server(volley_factory)
    with srv.connect("mx") as c:
        c.ehlo()
        for i in range(3):
            r = c.send_message("x@remote.test", ["carol@other.test"], dot_stuff(message(f"small {i}")))
            assert r.code == 250, r
    wait_maildir(srv, "carol@other.test", count=3)
    box = maildir(srv, "carol@other.test")

    def counted_all():
        # A message is in new/ a moment before its delta is appended: wait
        # until the lines account for three messages, then check they account
        # for exactly three (a recount racing a delivery once counted one twice).
        size_file = box / "maildirsize"
        t = size_file.read_text() if size_file.exists() else ""
        lines = t.split("\n")[1:]
        if not t.endswith("\n") or not all(re.fullmatch(r"-?\d+ -?\d+", l) for l in lines if l):
            return None
        return t if sum(int(l.split()[1]) for l in lines if l) >= 3 else None
    text = wait_until(counted_all, 10, what="maildirsize counting 3 messages")
    lines = text.split("\n")
    assert lines[0] == "2048S", lines  # the limits line: <bytes>S[,<count>C]
    deltas = [l for l in lines[1:] if l]
    total_bytes = sum(int(l.split()[0]) for l in deltas)
    total_count = sum(int(l.split()[1]) for l in deltas)
    names = [p.name for p in (box / "new").iterdir()]
    sizes = [int(re.search(r",S=(\d+)", n).group(1)) for n in names]
    assert total_count == 3 and total_bytes == sum(sizes), (text, names)
    assert sum(p.stat().st_size for p in (box / "new").iterdir()) == total_bytes
    r = srv.cli("user", "list", "carol@other.test")
    assert r.stdout == f"carol@other.test usage={total_bytes} messages=3 quota=2048 (default)\n", r.stdout


def test_pop3_deletions_give_the_room_back_at_once(volley_factory, tmp_path_factory):
    """A POP3 DELE applied at QUIT is taken off the usage at once (maildirsize
    gets a negative delta), so the next RCPT finds room without waiting for
    the usage cache to expire or for a recount."""
    import peers
    from pop3_util import TLS_NAME, start_pop3_volley, volley_pop3
    ca = peers.PrivateCA(tmp_path_factory.mktemp("quota-ca"))
    srv = start_pop3_volley(volley_factory, ca.issue(TLS_NAME), extra_toml=QUOTA_TOML)
    with smtplib.SMTP("127.0.0.1", srv.port("mx"), timeout=10) as s:
        s.sendmail("x@remote.test", ["alice@local.test"], message("fills most", b"x" * 1500 + b"\r\n"))
    wait_maildir(srv, "alice@local.test")
    with srv.connect("mx") as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.test> SIZE=1000", 250)
        c.expect("RCPT TO:<alice@local.test>", 452, "4.2.2")
    p = volley_pop3(srv, ca.ca_file)
    assert p.stat()[0] == 1
    p.dele(1)
    p.quit()
    with srv.connect("mx") as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.test> SIZE=1000", 250)
        c.expect("RCPT TO:<alice@local.test>", 250)
    lines = (maildir(srv, "alice@local.test") / "maildirsize").read_text().splitlines()
    assert sum(int(l.split()[0]) for l in lines[1:]) == 0, lines
    assert sum(int(l.split()[1]) for l in lines[1:]) == 0, lines
