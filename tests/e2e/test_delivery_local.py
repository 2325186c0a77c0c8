"""Local delivery into Maildir: DATA_DIR/mail/<domain>/<localpart lowercased>/new/,
file = "Return-Path: <sender>" + "Delivered-To: <recipient>" + the queued
content exactly; the message leaves the queue once every recipient is final."""

import time

from conftest import (HOSTNAME, delivery_events, inject, maildir, maildir_messages, message, strip_received,
                      wait_delivery, wait_maildir, wait_queue_empty)


def head(sender: str, rcpt: str) -> bytes:
    return f"Return-Path: <{sender}>\r\nDelivered-To: {rcpt}\r\n".encode()


def test_maildir_file_is_queued_content_with_two_header_lines(mail_world):
    # Held while delivery is disabled, so the queued bytes can be read first.
    srv = mail_world.volley(delivery={"enabled": False})
    data = message("local exact", b"Line 1\r\n.starts with a dot\r\n..two\r\n.\r\n\r\nlast line\r\n")
    qid = inject(srv, "sender@remote.test", ["alice@local.test"], data)
    queued = srv.spool(qid).content
    assert strip_received(queued) == data
    time.sleep(0.5)
    assert maildir_messages(srv, "alice@local.test") == [], "delivery.enabled = false delivers nothing"
    assert delivery_events(srv) == []

    mail_world.restart(srv)  # enabled again: the queue is picked up from disk
    (got,) = wait_maildir(srv, "alice@local.test")
    assert got == head("sender@remote.test", "alice@local.test") + queued
    (ev,) = wait_delivery(srv, "alice@local.test", "sent")
    assert ev["id"] == qid and ev["relay"] == "local" and ev["tls"] == "none" and ev["attempt"] == "1", ev
    wait_queue_empty(srv)
    assert qid not in srv.spool_ids()


def test_maildir_layout_and_atomic_delivery(mail_world):
    srv = mail_world.volley()
    data = message("layout")
    qid = inject(srv, "sender@remote.test", ["alice@local.test"], data)
    (got,) = wait_maildir(srv, "alice@local.test")
    assert got.startswith(head("sender@remote.test", "alice@local.test") + b"Received: ")
    assert strip_received(got[len(head("sender@remote.test", "alice@local.test")):]) == data
    assert HOSTNAME.encode() in got.split(b"\r\n\r\n", 1)[0], "Volley's own Received header"
    assert b"\n" not in got.replace(b"\r\n", b""), "CRLF line endings only"
    md = maildir(srv, "alice@local.test")
    assert md == srv.data_dir / "mail" / "local.test" / "alice"
    assert {p.name for p in md.iterdir()} >= {"tmp", "new", "cur"}
    assert list((md / "tmp").iterdir()) == [], "tmp/ is empty once the file is in new/"
    assert list((md / "cur").iterdir()) == []
    wait_queue_empty(srv)
    assert qid not in srv.spool_ids()
    assert mail_world.dns.queries == [], "local delivery needs no DNS"


def test_several_messages_get_distinct_files(mail_world):
    srv = mail_world.volley()
    subjects = [f"many {i}" for i in range(5)]
    for s in subjects:
        inject(srv, "sender@remote.test", ["bob@local.test"], message(s))
    got = wait_maildir(srv, "bob@local.test", 5)
    assert sorted(strip_received(g[len(head("sender@remote.test", "bob@local.test")):]) for g in got) == \
        sorted(message(s) for s in subjects)
    names = [p.name for p in (maildir(srv, "bob@local.test") / "new").iterdir()]
    assert len(set(names)) == 5
    wait_queue_empty(srv)


def test_null_sender_and_mixed_case_recipient(mail_world):
    srv = mail_world.volley()
    inject(srv, "", ["Bob@local.test"], message("from null"))
    (got,) = wait_maildir(srv, "bob@local.test")  # the lowercased local part names the directory
    first, second = got.split(b"\r\n")[:2]
    assert first == b"Return-Path: <>"
    assert second.lower() == b"delivered-to: bob@local.test", second
    assert not (srv.data_dir / "mail" / "local.test" / "Bob").exists()
    wait_queue_empty(srv)


def test_alias_expansion_and_several_local_recipients(mail_world):
    srv = mail_world.volley(aliases={"team@local.test": ["alice@local.test", "bob@local.test"]})
    data = message("to the team")
    qid = inject(srv, "sender@remote.test", ["team@local.test", "carol@other.test"], data)
    for rcpt in ("alice@local.test", "bob@local.test", "carol@other.test"):
        (got,) = wait_maildir(srv, rcpt)
        h = head("sender@remote.test", rcpt)
        assert got.startswith(h), got[:200]
        assert strip_received(got[len(h):]) == data
    assert (srv.data_dir / "mail" / "other.test" / "carol" / "new").is_dir()
    assert not (srv.data_dir / "mail" / "local.test" / "team").exists(), "an alias has no mailbox"
    wait_delivery(srv, status="sent", qid=qid, count=3)
    wait_queue_empty(srv)
    time.sleep(0.3)
    assert len(delivery_events(srv, qid=qid)) == 3, "one line per recipient"
    for rcpt in ("alice@local.test", "bob@local.test", "carol@other.test"):
        assert len(maildir_messages(srv, rcpt)) == 1


def test_local_and_remote_recipients_in_one_message(mail_world):
    peer = mail_world.peer("127.0.0.2")
    mail_world.route("example.net", "127.0.0.2")
    srv = mail_world.volley()
    data = message("mixed")
    qid = inject(srv, "alice@local.test", ["bob@local.test", "x@example.net"], data)
    (got,) = wait_maildir(srv, "bob@local.test")
    assert strip_received(got[len(head("alice@local.test", "bob@local.test")):]) == data
    (m,) = peer.wait_messages(1)
    assert m.rcpt_tos == ["x@example.net"] and strip_received(m.content) == data
    assert b"Delivered-To" not in m.content and b"Return-Path" not in m.content, "only local files get those"
    wait_queue_empty(srv)
    assert {e["rcpt"].lower(): e["relay"] for e in delivery_events(srv, qid=qid, status="sent")}["bob@local.test"] \
        == "local"
