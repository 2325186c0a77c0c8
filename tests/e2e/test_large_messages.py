"""Large messages stream to the spool as they arrive (issue 9, point 2): a
body above limits.message_memory_threshold goes to its own file under
data_dir/queue/ while the client sends it, and is acknowledged only once the
file and the record that refers to it are on disk.

* A 20 MB message sent with smtplib arrives byte-exact in a local Maildir.
* A client that drops in the middle of a 10 MB DATA leaves nothing behind.
* kill -9 during a large transfer and after another's 250: the acknowledged
  one is kept whole, the unfinished one leaves no file after the restart.
"""

import smtplib

from conftest import (dot_stuff, strip_received, wait_maildir, wait_queue_empty, wait_until,
                      QUEUED_RE)

# Megabytes to write and sync on a machine shared with other work: generous.
LARGE_TIMEOUT = 60


def big_message(subject: str, size: int) -> bytes:
    head = (f"From: big@remote.test\r\nTo: alice@local.test\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@remote.test>\r\nDate: Tue, 1 Jan 2030 10:00:00 +0000\r\n\r\n")
    lines, total, i = [head.encode()], len(head), 0
    while total < size:
        line = (b"." if i % 101 == 0 else b"") + (b"%08d " % i) + bytes([0x41 + i % 26]) * (20 + i % 180) + b"\r\n"
        lines.append(line)
        total += len(line)
        i += 1
    return b"".join(lines)


def start_data(srv, sender: str, source: str = "127.0.0.1"):
    """A connection in the middle of a transaction, after 354."""
    c = srv.connect("mx", source=source, timeout=LARGE_TIMEOUT)
    c.ehlo()
    c.expect(f"MAIL FROM:<{sender}>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("DATA", 354)
    return c


def body_files(srv):
    q = srv.data_dir / "queue"
    return sorted(p.name for p in q.iterdir() if p.name.startswith("body-")) if q.is_dir() else []


def test_20mb_message_via_smtplib_arrives_byte_exact_in_maildir(mail_world):
    srv = mail_world.volley()
    data = big_message("twenty megabytes", 20 << 20)
    with smtplib.SMTP("127.0.0.1", srv.port("mx"), timeout=LARGE_TIMEOUT) as s:
        s.ehlo("client.test")
        refused = s.sendmail("big@remote.test", ["alice@local.test"], data)
        assert refused == {}
    (got,) = wait_maildir(srv, "alice@local.test", timeout=LARGE_TIMEOUT)
    prefix = b"Return-Path: <big@remote.test>\r\nDelivered-To: alice@local.test\r\n"
    assert got.startswith(prefix + b"Received: from client.test")
    assert strip_received(got[len(prefix):]) == data, "20 MB arrived byte for byte"
    (accepted,) = srv.events("smtp.message")
    assert accepted["result"] == "accepted" and int(accepted["size"]) == len(data)
    wait_queue_empty(srv, timeout=30)
    wait_until(lambda: body_files(srv) == [], 10, what="the delivered message's body file to be removed")


def test_client_dropping_mid_data_of_10mb_leaves_no_file(volley_factory):
    srv = volley_factory()
    data = dot_stuff(big_message("dropped", 10 << 20))
    c = start_data(srv, "big@remote.test")
    c.send(data[:6 << 20])
    wait_until(lambda: len(body_files(srv)) == 1, LARGE_TIMEOUT, what="the body to start streaming to disk")
    c.close()  # gone in the middle of the content
    wait_until(lambda: body_files(srv) == [], LARGE_TIMEOUT, what="the dropped transfer's body file to be removed")
    assert srv.spool_ids() == []
    assert srv.spool_tmp_files() == []
    (aborted,) = srv.wait_event("smtp.aborted", timeout=LARGE_TIMEOUT)
    assert aborted["reason"] == "connection lost during message content"
    # The server goes on serving.
    with srv.connect("mx") as c2:
        c2.ehlo()
        assert c2.send_message("s@remote.test", ["alice@local.test"], b"Subject: after\r\n\r\nok\r\n").code == 250


def test_kill9_during_a_large_transfer_and_after_250_keeps_acknowledged_leaves_no_orphan(volley_factory):
    srv = volley_factory()
    acked = big_message("acknowledged", 8 << 20)
    c = srv.connect("mx", source="127.0.0.2", timeout=LARGE_TIMEOUT)
    c.ehlo()
    r = c.send_message("first@remote.test", ["alice@local.test"], dot_stuff(acked))
    assert QUEUED_RE.match(str(r)), r
    qid = r.queue_id

    unfinished = dot_stuff(big_message("unfinished", 8 << 20))
    c2 = start_data(srv, "second@remote.test", source="127.0.0.3")
    c2.send(unfinished[:5 << 20])
    wait_until(lambda: len(body_files(srv)) == 2, LARGE_TIMEOUT, what="the second body to start streaming to disk")
    srv.kill9()
    c.close()
    c2.close()

    # On disk before any repair: the acknowledged message is whole.
    assert srv.spool(qid).body == acked
    assert srv.spool_ids() == [qid]
    srv.expected_exit = False
    srv.start()
    assert srv.spool_tmp_files() == [], "the unfinished transfer's body file is removed at start-up"
    assert body_files(srv) == [f"body-{qid}"]
    assert srv.spool(qid).body == acked
    (removed,) = srv.events("queue.orphan_body_removed")
    assert f"body-{qid}" not in removed["path"]
    shown = srv.cli("queue", "show", qid)
    assert shown.returncode == 0 and "first@remote.test" in shown.stdout, shown.stderr
    assert "Subject: acknowledged" in shown.stdout, "the headers come from the body file"
