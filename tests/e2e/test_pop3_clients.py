"""POP3 with real clients, end to end: mail sent with swaks to a local user
is read back, byte for byte, with Python's poplib (STLS and implicit TLS),
curl (pop3:// with STLS, pop3s://), fetchmail in batch mode and
`openssl s_client -starttls pop3`; certificates are verified against a
private CA (name pop3.test.local, clients connect to 127.0.0.1)."""

from __future__ import annotations

import os
import poplib
import re
import socket
import stat

import pytest

import peers
from conftest import DEFAULT_USERS, maildir, run_tool, wait_maildir, wait_until
from pop3_util import (TLS_NAME, multiline_raw, pop3_connect, retr_raw, sizes, start_pop3_volley, uidls,
                       volley_endpoint, volley_pop3)

ALICE = "alice@local.test"
PASSWORD = DEFAULT_USERS[ALICE]

# Dot-stuffing, an empty line, a long line and a last line without text.
BODY = (b"First line.\r\n.a line starting with a dot\r\n..two dots\r\n.\r\n\r\n"
        + b"y" * 990 + b"\r\nlast line\r\n")


def message_bytes(subject: str, body: bytes = BODY) -> bytes:
    return (b"From: Sender <sender@remote.test>\r\nTo: alice@local.test\r\n"
            b"Date: Tue, 1 Jan 2030 10:00:00 +0000\r\n"
            b"Message-ID: <" + subject.replace(" ", "-").encode() + b"@client.test>\r\n"
            b"Subject: " + subject.encode() + b"\r\n\r\n" + body)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca = peers.PrivateCA(tmp_path_factory.mktemp("pop3-clients-ca"))
    return ca.ca_file, ca.issue(TLS_NAME)


@pytest.fixture
def srv(volley_factory, pki):
    return start_pop3_volley(volley_factory, pki[1])


def swaks_send(srv, tmp_path, subject: str, body: bytes = BODY, rcpt: str = ALICE) -> bytes:
    """Sends with swaks; returns the message as sent (without swaks' final CRLF)."""
    data = message_bytes(subject, body)
    f = tmp_path / f"{subject.replace(' ', '_')}.eml"
    f.write_bytes(data)
    r = run_tool(["swaks", "--server", f"127.0.0.1:{srv.port('mx')}", "--helo", "client.test",
                  "--from", "sender@remote.test", "--to", rcpt, "--data", str(f)])
    assert r.returncode == 0, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    return data


def stored_files(srv, rcpt: str = ALICE):
    box = maildir(srv, rcpt)
    return sorted((f for sub in ("new", "cur") if (box / sub).is_dir() for f in (box / sub).iterdir()),
                  key=lambda f: f.name)


def deliver(srv, tmp_path, *subjects: str) -> list:
    """swaks sends one message per subject (one after the other); returns
    the stored files' bytes in that order, found by their Message-ID."""
    out = []
    for s in subjects:
        swaks_send(srv, tmp_path, s)
        mid = b"Message-ID: <" + s.replace(" ", "-").encode() + b"@client.test>\r\n"

        def stored_one():
            found = [b for b in (f.read_bytes() for f in stored_files(srv)) if mid in b]
            return found[0] if len(found) == 1 else None
        out.append(wait_until(stored_one, 15, 0.05, f"{s!r} in the Maildir of {ALICE}"))
    return out


# --------------------------------------------------------------------------
# poplib
# --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["stls", "ssl"])
def test_swaks_then_poplib_reads_the_exact_bytes(srv, pki, tmp_path, mode):
    sent = swaks_send(srv, tmp_path, f"exact {mode}")
    (stored,) = wait_maildir(srv, ALICE)
    assert stored.endswith(sent + b"\r\n"), "the Maildir holds what was sent (swaks adds the last CRLF)"

    p = volley_pop3(srv, pki[0], mode=mode)
    count, total = p.stat()
    assert (count, total) == (1, len(stored))
    assert sizes(p) == {1: len(stored)}
    assert retr_raw(p, 1) == stored, "RETR: the stored message, CRLF, dot-stuffing undone"
    # poplib's own view: lines without endings, octets as counted on the wire.
    _resp, lines, octets = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == stored and octets == len(stored)

    head, _, body = stored.partition(b"\r\n\r\n")
    assert multiline_raw(p, "TOP 1 0")[1] == head + b"\r\n\r\n"
    assert multiline_raw(p, "TOP 1 3")[1] == head + b"\r\n\r\n" + b"".join(body.split(b"\r\n")[i] + b"\r\n"
                                                                              for i in range(3))
    assert multiline_raw(p, "TOP 1 1000")[1] == stored

    (uidl,) = uidls(p).values()
    # Dovecot's default pop3_uidl_format %08Xu%08Xv; that it equals Dovecot's
    # value for the same message is test_pop3_dovecot_interop's job.
    assert re.fullmatch(r"[0-9A-Fa-f]{16}", uidl), uidl
    assert p.uidl(1).split()[1:] == [b"1", uidl.encode()]
    assert p.noop().startswith(b"+OK")
    assert p.quit().startswith(b"+OK")


def test_capabilities_and_no_login_before_stls(srv, pki):
    host, port = volley_endpoint(srv, "pop3")
    p = pop3_connect(host, port, "plain", pki[0])
    caps = p.capa()
    for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS"):
        assert cap in caps, f"{cap} missing from {caps}"
    # require_tls_for_auth (the default): USER/PASS in clear are refused
    # without checking the password (whether USER is advertised before TLS
    # is the server's choice: Dovecot does not).
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.user(ALICE)
        p.pass_(PASSWORD)
    p.close()

    p = pop3_connect(host, port, "stls", pki[0])
    caps = p.capa()
    assert "STLS" not in caps and "USER" in caps and "PLAIN" in caps.get("SASL", []), caps
    p.user(ALICE)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    p.quit()


def test_uidls_stable_across_sessions_and_restart(srv, pki, tmp_path):
    deliver(srv, tmp_path, "stable 1", "stable 2", "stable 3")
    p = volley_pop3(srv, pki[0])
    first = uidls(p)
    p.quit()
    assert len(set(first.values())) == 3
    p = volley_pop3(srv, pki[0], mode="ssl")
    assert uidls(p) == first
    p.quit()
    assert srv.stop() == 0
    srv.start()
    p = volley_pop3(srv, pki[0])
    assert uidls(p) == first, "UIDLs survive a restart"
    p.quit()


def test_dele_then_quit_removes_and_dele_then_drop_keeps(srv, pki, tmp_path):
    stored = deliver(srv, tmp_path, "dele 1", "dele 2", "dele 3")
    p = volley_pop3(srv, pki[0])
    before = uidls(p)
    by_uidl = {before[n]: retr_raw(p, n) for n in before}
    assert sorted(by_uidl.values()) == sorted(stored)

    # DELE, then the connection drops without QUIT: nothing is deleted.
    p.dele(1)
    p.dele(2)
    with pytest.raises(poplib.error_proto):
        p.retr(1)  # a message marked deleted cannot be read
    p.sock.shutdown(socket.SHUT_RDWR)
    p.close()
    p = wait_until(lambda: _login_or_none(srv, pki[0]), 10, 0.1, "the dropped session's lock to be released")
    assert uidls(p) == before

    # DELE then RSET unmarks; QUIT applies nothing.
    p.dele(3)
    p.rset()
    assert p.stat()[0] == 3
    p.quit()
    p = volley_pop3(srv, pki[0])
    assert uidls(p) == before

    # DELE then QUIT deletes, in the UPDATE state.
    p.dele(2)
    assert p.stat()[0] == 2, "STAT no longer counts a message marked deleted"
    assert p.quit().startswith(b"+OK")
    p = volley_pop3(srv, pki[0])
    after = uidls(p)
    assert list(after.values()) == [before[1], before[3]], "the others keep their UIDLs"
    assert {retr_raw(p, n) for n in after} == {by_uidl[before[1]], by_uidl[before[3]]}
    p.quit()
    assert len(stored_files(srv)) == 2, [f.name for f in stored_files(srv)]


def test_mail_delivered_during_a_session_appears_once_in_the_next(srv, pki, tmp_path):
    """Issue 11 point 3: delivery and a POP3 session on one mailbox. Mail that
    arrives while a session holds the mailbox is not in that session's
    snapshot, is not touched by its QUIT (which deletes another message), and
    shows up exactly once, with a new UIDL, in the next session."""
    first = deliver(srv, tmp_path, "before 1", "before 2")
    p = volley_pop3(srv, pki[0])
    assert p.stat()[0] == 2
    before = uidls(p)
    # Three deliveries while the session is open (smtplib, one connection each).
    import smtplib
    from conftest import message
    for i in range(3):
        with smtplib.SMTP("127.0.0.1", srv.port("mx"), timeout=10) as s:
            s.sendmail("x@remote.test", [ALICE], message(f"during {i}"))
    wait_until(lambda: len(stored_files(srv)) == 5 or None, 15, 0.05, "5 messages in the Maildir")
    assert p.stat()[0] == 2, "the session's numbering is fixed at login"
    p.dele(1)
    assert p.quit().startswith(b"+OK")

    p = volley_pop3(srv, pki[0])
    after = uidls(p)
    assert len(after) == 4, after
    assert len(set(after.values())) == 4, "no UIDL twice"
    assert after[1] == before[2], "the kept message keeps its UIDL and comes first"
    assert before[1] not in after.values()
    bodies = [retr_raw(p, n) for n in range(1, 5)]
    assert bodies[0] == first[1]
    for i in range(3):
        assert sum(f"Subject: during {i}".encode() in b for b in bodies) == 1, i
    p.quit()


def _login_or_none(srv, cafile):
    try:
        return volley_pop3(srv, cafile)
    except poplib.error_proto as e:
        if b"[IN-USE]" in str(e).encode():
            return None
        raise


def test_a_second_session_gets_in_use(srv, pki, tmp_path):
    deliver(srv, tmp_path, "locked")
    first = volley_pop3(srv, pki[0])
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        volley_pop3(srv, pki[0], mode="ssl")
    first.quit()
    p = volley_pop3(srv, pki[0], mode="ssl")
    assert p.stat()[0] == 1
    p.quit()


# --------------------------------------------------------------------------
# curl
# --------------------------------------------------------------------------

def curl(srv, pki, scheme: str, path: str, *extra: str) -> bytes:
    listener = "pop3s" if scheme == "pop3s" else "pop3"
    host, port = volley_endpoint(srv, listener)
    args = ["curl", "-sS", "--max-time", "20", "--cacert", pki[0], "--resolve", f"{TLS_NAME}:{port}:{host}",
            "-u", f"{ALICE}:{PASSWORD}", *extra, f"{scheme}://{TLS_NAME}:{port}/{path}"]
    if scheme == "pop3":
        args.insert(1, "--ssl-reqd")  # STLS, or fail
    r = run_tool(args)
    assert r.returncode == 0, f"{args}: {r.stderr.decode(errors='replace')}"
    return r.stdout


@pytest.mark.parametrize("scheme", ["pop3", "pop3s"])
def test_curl_list_and_retr(srv, pki, tmp_path, scheme):
    stored = deliver(srv, tmp_path, f"curl {scheme} 1", f"curl {scheme} 2")
    listing = curl(srv, pki, scheme, "")
    assert listing.splitlines() == [f"{n} {len(m)}".encode() for n, m in enumerate(stored, 1)], listing
    for n, m in enumerate(stored, 1):
        assert curl(srv, pki, scheme, str(n)) == m, f"RETR {n} through curl"
    uidl = curl(srv, pki, scheme, "", "-X", "UIDL")
    assert [l.split()[0] for l in uidl.splitlines()] == [b"1", b"2"], uidl


# --------------------------------------------------------------------------
# fetchmail
# --------------------------------------------------------------------------

def fetchmail(srv, pki, tmp_path, keep: bool) -> tuple:
    """One batch run of fetchmail over implicit TLS with certificate checks;
    each message is delivered by its MDA into a file of its own. Returns
    (exit status, the messages it delivered in this run, its output)."""
    host, port = volley_endpoint(srv, "pop3s")
    home = tmp_path / "fetchmail-home"
    out_dir = tmp_path / "fetched"
    home.mkdir(exist_ok=True)
    out_dir.mkdir(exist_ok=True)
    before = set(out_dir.iterdir())
    rc = home / "fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        f"set idfile \"{home}/fetchids\"\n"
        f"poll {TLS_NAME} via {host} port {port} protocol pop3 uidl\n"
        f"  user \"{ALICE}\" there with password \"{PASSWORD}\" is root here\n"
        f"  ssl sslcertck sslcertfile \"{pki[0]}\" sslcommonname \"{TLS_NAME}\"\n"
        f"  {'keep' if keep else 'nokeep'}\n"
        f"  mda \"/bin/sh -c 'cat > $(mktemp {out_dir}/msg.XXXXXXXX)'\"\n")
    os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)  # fetchmail refuses a readable rc file
    r = run_tool(["fetchmail", "-f", str(rc), "--invisible", "-v"], timeout=60)
    got = [f.read_bytes() for f in sorted(set(out_dir.iterdir()) - before, key=lambda f: f.stat().st_mtime_ns)]
    return r.returncode, got, (r.stdout + r.stderr).decode(errors="replace")


def test_fetchmail_gets_everything_once(srv, pki, tmp_path):
    """keep + uidl: fetchmail leaves the mail on the server and remembers the
    UIDLs it has seen (its idfile) — what a client polling a server it shares
    with other clients does, and what depends on UIDLs being stable. A second
    run finds nothing new; a new message is the only one fetched next; a run
    without keep fetches nothing again but deletes everything it has seen."""
    stored = deliver(srv, tmp_path, "fetch 1", "fetch 2", "fetch 3")
    status, got, out = fetchmail(srv, pki, tmp_path, keep=True)
    assert status == 0, out
    # fetchmail hands the MDA LF line endings; --invisible: no Received header of its own.
    assert sorted(got) == sorted(m.replace(b"\r\n", b"\n") for m in stored), out

    status, got, out = fetchmail(srv, pki, tmp_path, keep=True)
    assert status == 1 and got == [], f"a second run finds no new mail (exit 1):\n{out}"

    (new,) = deliver(srv, tmp_path, "fetch 4")
    status, got, out = fetchmail(srv, pki, tmp_path, keep=True)
    assert status == 0 and got == [new.replace(b"\r\n", b"\n")], out

    status, got, out = fetchmail(srv, pki, tmp_path, keep=False)
    assert status == 1 and got == [], out
    p = volley_pop3(srv, pki[0])
    assert p.stat()[0] == 4, "nothing new, nothing deleted: fetchmail flushes only with --flush"
    p.quit()


# --------------------------------------------------------------------------
# openssl s_client
# --------------------------------------------------------------------------

def test_openssl_s_client_starttls_pop3(srv, pki, tmp_path):
    stored = deliver(srv, tmp_path, "s_client")
    host, port = volley_endpoint(srv, "pop3")
    script = f"USER {ALICE}\nPASS {PASSWORD}\nSTAT\nUIDL\nQUIT\n".encode()
    r = run_tool(["openssl", "s_client", "-starttls", "pop3", "-connect", f"{host}:{port}", "-CAfile", pki[0],
                  "-verify_return_error", "-verify_hostname", TLS_NAME, "-crlf", "-ign_eof", "-quiet"],
                 input=script, timeout=30)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    lines = [l for l in out.splitlines() if l.startswith(("+OK", "-ERR"))]
    assert [l.split()[0] for l in lines] == ["+OK"] * 5, out
    assert lines[2].startswith(f"+OK 1 {len(stored[0])}"), out
    assert "Verification: OK" in r.stderr.decode(errors="replace") or "verify return:1" in \
        r.stderr.decode(errors="replace")
