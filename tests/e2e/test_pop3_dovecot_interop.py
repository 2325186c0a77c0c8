"""POP3 interoperability with a private Dovecot (Debian's dovecot-pop3d) over
the same Maildir: an administrator can move a mailbox between Volley and
Dovecot in either direction and the POP3 clients see the same UIDLs (so they
download nothing again) and the same bytes.

Volley's data_dir is under /tmp (Dovecot's mail processes run as `mail` and
must reach it); the Dovecot instance serves data_dir/mail/<domain>/<user>/
with its default pop3_uidl_format "%08Xu%08Xv". Before every Dovecot session
the test hands the Maildir to Dovecot's account (PrivateDovecot.adopt), as an
administrator moving a mailbox would."""

from __future__ import annotations

import smtplib
import time

import pytest

import peers
from conftest import DEFAULT_USERS, maildir, message, wait_until
from pop3_util import (TLS_NAME, crlf, dovecot_pop3, mailbox_by_uidl, open_to_dovecot, remove_tree,
                       require_dovecot, retr_raw, shared_data_dir, sizes, start_pop3_volley, uidls, volley_pop3)

ALICE = "alice@local.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """(CA file, (cert, key)) for TLS_NAME; both servers use the same certificate."""
    ca = peers.PrivateCA(tmp_path_factory.mktemp("pop3-ca"))
    return ca.ca_file, ca.issue(TLS_NAME)


@pytest.fixture
def world(volley_factory, pki, tmp_path):
    """(volley, dovecot) over one Maildir tree; both stopped at teardown."""
    require_dovecot()
    data_dir = shared_data_dir()
    started = []
    volley_exit = None
    try:
        srv = start_pop3_volley(volley_factory, pki[1], data_dir=data_dir)
        started.append(srv)
        open_to_dovecot(srv)
        dv = peers.PrivateDovecot(srv.data_dir / "mail", DEFAULT_USERS, pki[1], keep_log_in=tmp_path)
        started.append(dv)
        dv.start()
        yield srv, dv
    finally:
        # Both stopped before their data goes; a Volley that died on its own
        # is left for volley_factory to report.
        for s in reversed(started):
            if isinstance(s, peers.PrivateDovecot):
                s.stop()
            elif s.running():
                volley_exit = (s.stop(), s.log()[-3000:])
        remove_tree(data_dir)
    assert volley_exit is None or volley_exit[0] == 0, f"volley exited with {volley_exit[0]}:\n{volley_exit[1]}"


def smtp_send(srv, rcpt: str, data: bytes):
    with smtplib.SMTP("127.0.0.1", srv.port("mx"), local_hostname="client.test", timeout=15) as s:
        s.sendmail("sender@remote.test", [rcpt], data)


def stored(srv, rcpt: str) -> int:
    """Messages in the Maildir (new/ and cur/)."""
    box = maildir(srv, rcpt)
    return sum(1 for sub in ("new", "cur") if (box / sub).is_dir() for f in (box / sub).iterdir() if f.is_file())


def deliver_by_volley(srv, rcpt: str, bodies):
    before = stored(srv, rcpt)
    for i, body in enumerate(bodies, before + 1):
        smtp_send(srv, rcpt, message(f"interop {i}", body))
    wait_until(lambda: stored(srv, rcpt) >= before + len(bodies), 15, 0.05,
               f"{len(bodies)} delivery(ies) into the Maildir of {rcpt}")


def read_dovecot(dv, cafile, user=ALICE):
    dv.adopt(user)
    p = dovecot_pop3(dv, cafile, user)
    try:
        return uidls(p), sizes(p), mailbox_by_uidl(p)
    finally:
        p.quit()


def read_volley(srv, cafile, user=ALICE):
    p = volley_pop3(srv, cafile, user)
    try:
        return uidls(p), sizes(p), mailbox_by_uidl(p)
    finally:
        p.quit()


BODIES = [b"First message.\r\n", b"Second\r\n.line starting with a dot\r\n.\r\n..two dots\r\n",
          b"Third, longer.\r\n" + b"x" * 998 + b"\r\n" * 3]


def test_dovecot_serves_what_volley_delivered_with_the_same_uidls(world, pki):
    srv, dv = world
    cafile = pki[0]
    deliver_by_volley(srv, ALICE, BODIES)

    v_uidls, v_sizes, v_msgs = read_volley(srv, cafile)
    assert len(v_uidls) == 3 and len(set(v_uidls.values())) == 3
    for n, uid in v_uidls.items():
        assert v_sizes[n] == len(v_msgs[uid]), "LIST size = octets RETR sends (before dot-stuffing)"
        assert b"\n" not in v_msgs[uid].replace(b"\r\n", b"")
    for body in BODIES:
        assert sum(m.endswith(body) for m in v_msgs.values()) == 1, body

    d_uidls, d_sizes, d_msgs = read_dovecot(dv, cafile)
    assert d_uidls == v_uidls, "Dovecot numbers and names the messages as Volley did"
    assert d_sizes == v_sizes
    assert d_msgs == v_msgs, "the same bytes from both servers"

    # And again from Volley after Dovecot's session (which wrote its own
    # index and moved files to cur/): nothing changed for the client.
    assert read_volley(srv, cafile)[0] == v_uidls


def test_volley_serves_what_dovecot_wrote_with_the_same_uidls(world, pki):
    srv, dv = world
    cafile = pki[0]
    box = dv.maildir(ALICE)
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    # Dovecot's LDA writes LF line endings and names the files itself.
    lda = [b"From: a@example.net\nSubject: lda 1\n\nBody one.\n.dot line\n",
           b"From: b@example.net\nSubject: lda 2\n\nBody two.\n\n\nend\n"]
    dv.adopt(ALICE)
    for m in lda:
        dv.deliver(ALICE, m)
    # A file dropped into new/ the way any MDA does, before Dovecot's first
    # POP3 session: that session gives it a UID and a W= in dovecot-uidlist.
    (box / "new" / "1700000000.M1P99.other-mda").write_bytes(b"Subject: dropped\n\nby hand\n")

    d_uidls, d_sizes, d_msgs = read_dovecot(dv, cafile)
    assert len(d_uidls) == 3
    assert sorted(d_msgs.values()) == sorted(crlf(m) for m in lda + [b"Subject: dropped\n\nby hand\n"]), \
        "Dovecot serves LF files with CRLF"
    assert (box / "dovecot-uidlist").read_text().startswith("3 V")

    v_uidls, v_sizes, v_msgs = read_volley(srv, cafile)
    assert v_uidls == d_uidls, "Volley keeps Dovecot's UIDs (dovecot-uidlist) and UIDVALIDITY"
    assert v_sizes == d_sizes
    assert v_msgs == d_msgs, "the same bytes, CRLF line endings"


def test_new_mail_gets_one_uid_whichever_server_sees_it_first(world, pki):
    """A message that arrives after both servers served the mailbox is named
    once: by Volley at its next session, and Dovecot then uses that UID (and
    the other way round)."""
    srv, dv = world
    cafile = pki[0]
    deliver_by_volley(srv, ALICE, BODIES[:1])
    first = read_volley(srv, cafile)[0]
    assert read_dovecot(dv, cafile)[0] == first

    deliver_by_volley(srv, ALICE, BODIES[1:2])  # one more: 2 in the Maildir
    v = read_volley(srv, cafile)[0]
    assert len(v) == 2 and v[1] == first[1]
    assert read_dovecot(dv, cafile)[0] == v

    dv.deliver(ALICE, b"Subject: via Dovecot\n\nthird\n")
    d = read_dovecot(dv, cafile)[0]
    assert len(d) == 3 and {1: d[1], 2: d[2]} == v
    assert read_volley(srv, cafile)[0] == d


def test_deletions_by_one_server_show_in_the_other(world, pki):
    srv, dv = world
    cafile = pki[0]
    deliver_by_volley(srv, ALICE, [b"one\r\n", b"two\r\n", b"three\r\n", b"four\r\n"])
    before_uidls, _, before = read_volley(srv, cafile)

    # Volley deletes message 2 (applied at QUIT).
    p = volley_pop3(srv, cafile)
    p.dele(2)
    p.quit()
    d_uidls, _, d_msgs = read_dovecot(dv, cafile)
    assert list(d_uidls.values()) == [before_uidls[1], before_uidls[3], before_uidls[4]]
    assert d_msgs == {u: before[u] for u in d_uidls.values()}

    # Dovecot deletes the message that is now number 1.
    dv.adopt(ALICE)
    p = dovecot_pop3(dv, cafile)
    p.dele(1)
    p.quit()
    v_uidls, _, v_msgs = read_volley(srv, cafile)
    assert list(v_uidls.values()) == [before_uidls[3], before_uidls[4]]
    assert v_msgs == {u: before[u] for u in v_uidls.values()}

    # A DELE without QUIT (the connection drops) deletes nothing, in either.
    p = volley_pop3(srv, cafile)
    p.dele(1)
    p.close()
    time.sleep(0.3)
    assert read_dovecot(dv, cafile)[0] == v_uidls


def test_retr_marks_seen_the_way_dovecot_reads_it(world, pki):
    """Volley's RETR (committed at QUIT) moves the message to cur/ with the
    S flag; Dovecot then lists it as \\Seen over IMAP, and a message only
    listed stays unseen."""
    import imaplib
    import ssl
    srv, dv = world
    cafile = pki[0]
    deliver_by_volley(srv, ALICE, [b"read me\r\n", b"leave me\r\n"])
    p = volley_pop3(srv, cafile)
    assert retr_raw(p, 1).endswith(b"read me\r\n")
    p.quit()
    box = dv.maildir(ALICE)
    seen = [f.name for f in (box / "cur").iterdir() if f.name.rpartition(":2,")[2].count("S")]
    assert len(seen) == 1, sorted(f.name for f in (box / "cur").iterdir())
    dv.adopt(ALICE)
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # imaplib checks the address it connected to; the chain is still verified
    with imaplib.IMAP4_SSL(dv.ip, dv.ports["imaps"], ssl_context=ctx, timeout=15) as imap:
        imap.login(ALICE, DEFAULT_USERS[ALICE])
        imap.select("INBOX", readonly=True)
        typ, data = imap.search(None, "SEEN")
        assert typ == "OK" and data[0].split() == [b"1"], data
        typ, data = imap.search(None, "UNSEEN")
        assert data[0].split() == [b"2"], data


def test_a_dovecot_pop3_session_locks_volley_out(world, pki):
    """While Dovecot holds a POP3 session on the mailbox (pop3_lock_session:
    its dovecot-pop3-session.lock), Volley's POP3 answers [IN-USE] rather
    than serving the same mailbox twice; after Dovecot's QUIT it serves."""
    import poplib
    srv, dv = world
    cafile = pki[0]
    deliver_by_volley(srv, ALICE, [b"locked\r\n"])
    dv.adopt(ALICE)
    held = dovecot_pop3(dv, cafile)
    try:
        with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
            volley_pop3(srv, cafile)
    finally:
        held.quit()
    p = volley_pop3(srv, cafile)
    assert len(uidls(p)) == 1
    p.quit()
