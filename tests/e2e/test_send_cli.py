"""`volley send` (SPEC section 7) against the real daemon: a message from a
file and from stdin, to a local user, read back over POP3 with poplib
(Subject, body, the fields the daemon added, our Received header); a remote
recipient delivered to a scripted receiver (aiosmtpd) through a private DNS,
DKIM-signed for a sending domain with a key; and the one-line refusals with
a non-zero exit: no daemon (naming the socket), a message over
limits.max_message_size, a bad address, an unknown local user, a subject
with CR/LF, no message on a terminal. The admin socket's other commands keep
working after sends."""

from __future__ import annotations

import email
import email.policy
import os
import poplib
import pty
import re
import subprocess

import pytest

from conftest import HOSTNAME, VOLLEY_BIN, wait_until
from test_dkim_signing import Keys, need_dkimpy  # noqa: F401  (need_dkimpy: a fixture)

ALICE = "alice@local.test"
ALICE_PASSWORD = "alice-Secret-1"
QUEUED_RE = re.compile(r"^queued ([0-9A-V]{20})\n$")

POP3_LISTENERS = [
    {"name": "mx", "protocol": "smtp", "role": "mx", "tls": "none"},
    {"name": "pop3", "protocol": "pop3", "tls": "none", "require_tls_for_auth": False},
]


def send(srv, *args: str, stdin: bytes | None = None, file: str | None = None) -> subprocess.CompletedProcess:
    cmd = [VOLLEY_BIN, "send", "--config", str(srv.config_path), *args]
    if file is not None:
        cmd.append(file)
    return subprocess.run(cmd, input=stdin if stdin is not None else b"", capture_output=True, timeout=30,
                          cwd=str(srv.workdir))


def queued_id(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, run.stderr
    m = QUEUED_RE.match(run.stdout.decode())
    assert m, run.stdout
    assert run.stderr == b""
    return m.group(1)


def one_line_error(run: subprocess.CompletedProcess, *parts: str) -> str:
    assert run.returncode != 0, run.stdout
    assert run.stdout == b""
    err = run.stderr.decode()
    assert err.startswith("volley: send: ") and err.endswith("\n") and err.count("\n") == 1, err
    for p in parts:
        assert p in err, err
    return err


def pop3_messages(srv, user: str = ALICE, password: str = ALICE_PASSWORD, count: int = 1):
    """The user's messages as bytes (CRLF), once `count` have arrived."""
    def fetch():
        p = poplib.POP3("127.0.0.1", srv.port("pop3"), timeout=10)
        try:
            p.user(user)
            p.pass_(password)
            n = len(p.list()[1])
            if n < count:
                return None
            return [b"\r\n".join(p.retr(i)[1]) + b"\r\n" for i in range(1, n + 1)]
        finally:
            p.quit()
    return wait_until(fetch, 15, interval=0.2, what=f"{count} message(s) for {user} over POP3")


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.fixture
def local_srv(mail_world):
    return mail_world.volley(listeners=POP3_LISTENERS)


def test_send_file_and_stdin_to_a_local_user_read_over_pop3(local_srv, tmp_path):
    srv = local_srv
    # A file with LF line endings, no header block and a line that is only a dot.
    body_file = tmp_path / "note.txt"
    body_file.write_bytes(b"Hello Alice,\nthe report is attached below.\n.\nlast line\n")
    # FILE right after --to: it is the message, not a second recipient.
    first = queued_id(send(srv, "--from", "root@local.test", "--subject", "Nightly report", "--to", ALICE,
                           file=str(body_file)))
    # Stdin ("-"): a complete message keeps its own From/Subject/Date/Message-ID.
    own = (b"From: Cron Daemon <cron@local.test>\nSubject: from stdin\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
           b"Message-ID: <own-id@local.test>\n\nsecond body\n")
    second = queued_id(send(srv, "--from", "cron@local.test", "--to", ALICE, "--subject", "ignored", "-",
                            stdin=own))
    assert first != second

    msgs = [parse(m) for m in pop3_messages(srv, count=2)]
    by_subject = {str(m["Subject"]): m for m in msgs}
    assert set(by_subject) == {"Nightly report", "from stdin"}

    m = by_subject["Nightly report"]
    assert m.get_content().replace("\r\n", "\n") == "Hello Alice,\nthe report is attached below.\n.\nlast line\n"
    assert str(m["From"]) == "root@local.test"
    assert m["Date"] and m["Message-ID"].endswith("@local.test>"), m["Message-ID"]
    received = str(m["Received"])
    assert HOSTNAME in received and "volley send" in received and f"id {first}" in received, received

    m = by_subject["from stdin"]
    assert m.get_content().replace("\r\n", "\n") == "second body\n"
    assert m["Message-ID"] == "<own-id@local.test>" and str(m["From"]) == "Cron Daemon <cron@local.test>"
    assert len(m.get_all("Subject")) == 1, "--subject never adds a second Subject"

    # The daemon logged who sent it, through which path; the queue is done with it.
    events = {e["id"]: e for e in srv.events("send.queued")}
    assert events[first]["uid"] == str(os.getuid()) and events[first]["rcpts"] == "1"
    wait_until(lambda: srv.spool_ids() == [], 10, what="the queue to empty")


def test_send_with_aliases_commas_and_repeats(mail_world):
    srv = mail_world.volley(listeners=POP3_LISTENERS, aliases={"team@local.test": ["alice@local.test"]})
    qid = queued_id(send(srv, "--from", "root@local.test", "--to", "team@local.test,bob@local.test",
                         "--to", "alice@local.test", "--subject", "to the team", stdin=b"hi\n"))
    (m,) = pop3_messages(srv)  # alice once, although named twice (alias and directly)
    assert parse(m)["Subject"] == "to the team"
    (bob,) = pop3_messages(srv, "bob@local.test", "bob-Secret-2")
    assert b"hi\r\n" in bob
    assert qid


def test_send_to_a_remote_recipient_is_delivered_and_dkim_signed(mail_world, tmp_path, need_dkimpy):
    peer = mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    keys = Keys(tmp_path)
    keys.add("sender.example", "s1", "ed25519")
    srv = mail_world.volley(start=False)
    srv.extra_toml += keys.toml
    srv.write_config()
    srv.start()

    data = b"Subject: remote\n\nline one\n.\n..two dots\nSubject: not a header\n"
    qid = queued_id(send(srv, "--from", "news@sender.example", "--to", "bob@example.net", stdin=data))
    (got,) = peer.wait_messages(1)
    assert got.mail_from == "news@sender.example" and got.rcpt_tos == ["bob@example.net"]
    assert b"\n" not in got.content.replace(b"\r\n", b""), "CRLF line endings only"
    msg = parse(got.content)
    assert msg["Subject"] == "remote" and msg["From"] == "news@sender.example"
    assert msg.get_content().replace("\r\n", "\n") == "line one\n.\n..two dots\nSubject: not a header\n"
    assert f"id {qid}" in str(msg["Received"])
    assert keys.verify_all(got.content) == [("sender.example", "s1", "ed25519-sha256")]


def test_error_exits(mail_world, volley_factory):
    srv = mail_world.volley(listeners=POP3_LISTENERS, limits={"max_message_size": 2000})
    # Too large: refused before it is sent, with the limit's name.
    one_line_error(send(srv, "--from", "root@local.test", "--to", ALICE, stdin=b"x" * 2001),
                   "message too large", "limits.max_message_size")
    # Fits as read, but not once LF became CRLF and the headers were added: the daemon refuses it.
    one_line_error(send(srv, "--from", "root@local.test", "--to", ALICE, stdin=b"\n" * 1990),
                   "message too large once prepared")
    # Bad addresses: the SMTP grammar, before anything is read or sent.
    one_line_error(send(srv, "--from", "root", "--to", ALICE, stdin=b"x\n"), "--from: bad address \"root\"")
    one_line_error(send(srv, "--from", "root@local.test", "--to", "bob@@x", stdin=b"x\n"), "--to: bad address")
    one_line_error(send(srv, "--from", "root@local.test", "--to", f"{ALICE},", stdin=b"x\n"), "empty address")
    one_line_error(send(srv, "--from", "root@local.test", "--to", "nobody@local.test", stdin=b"x\n"),
                   "no such local user \"nobody@local.test\"")
    one_line_error(send(srv, "--from", "root@local.test", "--to", ALICE, "--subject", "a\nBcc: x@y.test",
                        stdin=b"x\n"), "--subject", "CR, LF or NUL")
    one_line_error(send(srv, "--from", "root@local.test", "--to", ALICE, stdin=b"x\n",
                        file=str(srv.workdir / "missing.eml")), "cannot open")
    # Nothing of that was queued, and `volley queue` still answers.
    assert srv.spool_ids() == []
    listed = srv.cli("queue", "list")
    assert listed.returncode == 0 and listed.stdout == "queue is empty\n", listed

    # stdin a terminal and no FILE: refused at once rather than waiting.
    leader, follower = pty.openpty()
    try:
        run = subprocess.run([VOLLEY_BIN, "send", "--config", str(srv.config_path), "--from", "root@local.test",
                              "--to", ALICE], stdin=follower, capture_output=True, timeout=10)
    finally:
        os.close(follower)
        os.close(leader)
    one_line_error(run, "no message on stdin")

    # No daemon: says so and names the socket.
    stopped = volley_factory(start=False, name="stopped")
    err = one_line_error(send(stopped, "--from", "root@local.test", "--to", ALICE, stdin=b"x\n"),
                         str(stopped.data_dir / "admin.sock"), "not running")
    assert "cannot reach the running daemon" in err
