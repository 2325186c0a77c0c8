"""kill -9 durability (light): every message acknowledged with 250 is in the
spool, complete and byte-exact, after the process is SIGKILLed; a restart
serves again and cuts any torn record off the log tail."""

import random

from conftest import QUEUED_RE, dot_stuff


def make_message(rng: random.Random, i: int) -> bytes:
    lines = [f"Subject: durability {i}".encode(), f"X-Seq: {i}".encode(), b""]
    for _ in range(rng.randint(1, 40)):
        kind = rng.random()
        if kind < 0.1:
            lines.append(b"." + bytes(rng.choice(b"abc.") for _ in range(rng.randint(0, 5))))
        elif kind < 0.2:
            lines.append(b"")
        elif kind < 0.3:
            lines.append("ünïcödé ✓ €".encode("utf-8"))
        else:
            lines.append(bytes(rng.randint(0x20, 0x7e) for _ in range(rng.randint(1, 200))))
    if i % 5 == 0:
        lines.extend([b"y" * 998] * 300)  # a few larger ones (~300 KB)
    return b"\r\n".join(lines) + b"\r\n"


def test_kill9_keeps_every_acknowledged_message(volley_factory):
    srv = volley_factory()
    rng = random.Random(20240501)
    sent = {}
    conns = [srv.connect("mx", source=f"127.0.0.{k + 1}") for k in range(3)]
    for c in conns:
        c.ehlo()
    for i in range(20):
        c = conns[i % 3]
        body = make_message(rng, i)
        mail_params = "BODY=8BITMIME"
        if i % 4 == 0:
            # BDAT for some
            c.expect(f"MAIL FROM:<sender{i}@remote.example> {mail_params}", 250)
            c.expect("RCPT TO:<alice@local.test>", 250)
            half = len(body) // 2
            c.send(b"BDAT %d\r\n" % half + body[:half])
            assert c.read_reply().code == 250
            c.send(b"BDAT %d LAST\r\n" % (len(body) - half) + body[half:])
            r = c.read_reply()
        else:
            r = c.send_message(f"sender{i}@remote.example", ["alice@local.test", "bob@local.test"],
                               dot_stuff(body), mail_params=mail_params)
        assert QUEUED_RE.match(str(r)), f"message {i}: {r}"
        sent[r.queue_id] = (i, body)
    # One more transaction left in flight, never acknowledged.
    c = conns[0]
    c.expect("MAIL FROM:<inflight@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: in flight\r\n\r\nnot finished\r\n")

    srv.kill9()
    for c in conns:
        c.close()

    assert len(sent) == 20
    on_disk = set(srv.spool_ids())
    missing = set(sent) - on_disk
    assert not missing, f"acknowledged but missing after kill -9: {sorted(missing)}"
    for qid, (i, body) in sent.items():
        m = srv.spool(qid)
        assert m.sender == f"sender{i}@remote.example"
        assert m.body == body, f"message {i} ({qid}) differs after kill -9"
        expected_rcpts = ["alice@local.test"] if i % 4 == 0 else ["alice@local.test", "bob@local.test"]
        assert sorted(m.rcpt_addresses) == expected_rcpts
        assert m.fields["eight_bit"] == "1"
    assert not any(srv.spool(x).sender == "inflight@remote.example" for x in on_disk - set(sent))
    assert on_disk == set(sent), f"unacknowledged messages in the spool: {sorted(on_disk - set(sent))}"

    # Restart on the same data: serves again, keeps the spool, tmp/ is empty.
    srv.expected_exit = False
    srv.start()
    assert set(srv.spool_ids()) >= set(sent)
    assert srv.spool_tmp_files() == []
    with srv.connect("mx") as c:
        c.ehlo()
        r = c.send_message("after@remote.example", ["alice@local.test"], b"Subject: after restart\r\n\r\nx\r\n")
        assert r.code == 250


def test_torn_tail_removed_at_start(volley_factory):
    """A record cut short by a crash was never acknowledged: it is dropped at
    start-up and the log is whole again."""
    srv = volley_factory(start=False)
    qdir = srv.data_dir / "queue"
    qdir.mkdir(parents=True)
    # The first half of a record header plus junk, as a crash mid-write leaves it.
    (qdir / "seg-00000001.log").write_bytes(b"VQR1\x40\x00\x00\x00partial")
    srv.start()
    assert srv.spool_tmp_files() == [], "a torn record must be cut off at start-up"
    assert srv.spool_ids() == []
    with srv.connect() as c:
        c.ehlo()
        r = c.send_message("s@remote.example", ["alice@local.test"], b"Subject: after\r\n\r\nok\r\n")
        assert r.code == 250
    assert srv.spool_ids() == [r.queue_id]


def test_concurrent_clients(volley_factory):
    import threading
    srv = volley_factory()
    results, errors = [], []
    lock = threading.Lock()

    def worker(k):
        try:
            if k % 3 == 0:
                c = srv.submission_client()
                rcpts = [f"far{k}@remote.example"]
            else:
                c = srv.connect("mx", source=f"127.0.2.{k + 1}")
                c.ehlo()
                rcpts = ["alice@local.test"]
            for j in range(5):
                body = f"Subject: c{k}-{j}\r\n\r\n".encode() + (f"worker {k} message {j}\r\n" * (50 * (j + 1))).encode()
                r = c.send_message(f"w{k}@remote.example" if k % 3 else "alice@local.test", rcpts, body)
                assert QUEUED_RE.match(str(r)), str(r)
                with lock:
                    results.append((r.queue_id, k, body, rcpts))
            c.quit()
        except BaseException as e:  # noqa: BLE001
            with lock:
                errors.append(f"worker {k}: {e!r}")

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(results) == 60
    assert len({r[0] for r in results}) == 60, "queue ids must be unique"
    for qid, k, body, rcpts in results:
        m = srv.spool(qid)
        assert m.body.endswith(body), qid
        assert m.rcpt_addresses == rcpts
