"""`volley queue list|show|delete` against a running daemon, over its admin
socket (data_dir/admin.sock, mode 0600, one JSON object per line)."""

import json
import os
import socket
import stat

import pytest

from conftest import VolleyServer


def admin_sock(srv: VolleyServer):
    return srv.data_dir / "admin.sock"


def submit(srv: VolleyServer, sender: str, rcpts, data: bytes, mail_params: str = "", rcpt_params: str = "") -> str:
    c = srv.connect("mx")
    c.ehlo()
    r = c.send_message(sender, rcpts, data, mail_params=mail_params, rcpt_params=rcpt_params)
    c.quit()
    assert r.code == 250, str(r)
    assert r.queue_id, str(r)
    return r.queue_id


@pytest.fixture
def filled(volley_factory):
    """A server holding three messages with different senders and recipient domains."""
    srv = volley_factory(relay_networks=["127.0.0.1/32"])  # lets the test relay to remote.example
    ids = {
        "first": submit(srv, "alice@sender-one.test", ["alice@local.test"],
                        b"Subject: first\r\nX-Raw: caf\xe9 \x1b[31mred\r\n\r\nBODY-ONE must not show\r\n"),
        "bounce": submit(srv, "", ["bob@local.test", "carol@other.test"], b"Subject: second\r\n\r\nBODY-TWO\r\n",
                         mail_params="RET=HDRS ENVID=env-42", rcpt_params="NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y.test"),
        "relay": submit(srv, "news@sender-two.test", ["far@remote.example"], b"Subject: third\r\n\r\nBODY-THREE\r\n"),
    }
    return srv, ids


def queue(srv: VolleyServer, *args: str):
    return srv.cli("queue", *args)


def list_json(srv: VolleyServer, *args: str):
    r = queue(srv, "list", "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def assert_one_line_failure(r, *fragments: str):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def test_list_table(filled):
    srv, ids = filled
    r = queue(srv, "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "AGE", "SENDER", "RCPTS", "SIZE", "STATE"]
    for qid in ids.values():
        assert any(l.startswith(qid) for l in lines), r.stdout
    row = next(l for l in lines if l.startswith(ids["bounce"])).split()
    assert row[2] == "<>" and row[3] == "2" and row[-1] == "queued", row
    assert row[1].endswith("s"), row  # just arrived: an age in seconds
    assert lines[-1].startswith("Total: 3 messages"), lines[-1]


def test_list_json_fields(filled):
    srv, ids = filled
    msgs = list_json(srv)
    assert [m["id"] for m in msgs] == sorted(ids.values()), "arrival (= id) order"
    by_id = {m["id"]: m for m in msgs}
    for qid in ids.values():
        m = by_id[qid]
        assert set(m) >= {"id", "received_at", "sender", "recipients", "size", "state", "domains"}, m
        assert m["state"] == "queued"
        assert m["size"] == len(srv.spool(qid).content)
    assert by_id[ids["first"]]["sender"] == "alice@sender-one.test"
    assert by_id[ids["bounce"]]["sender"] == ""
    assert by_id[ids["bounce"]]["recipients"] == 2
    assert sorted(by_id[ids["bounce"]]["domains"]) == ["local.test", "other.test"]
    assert by_id[ids["relay"]]["domains"] == ["remote.example"]


def test_list_filters(filled):
    srv, ids = filled
    assert [m["id"] for m in list_json(srv, "--domain", "other.test")] == [ids["bounce"]]
    assert [m["id"] for m in list_json(srv, "--domain", "REMOTE.example")] == [ids["relay"]]
    assert sorted(m["id"] for m in list_json(srv, "--domain", "local.test")) == sorted([ids["first"], ids["bounce"]])
    assert len(list_json(srv, "--state", "queued")) == 3
    assert list_json(srv, "--state", "deferred") == []
    assert list_json(srv, "--state", "queued", "--domain", "remote.example")[0]["id"] == ids["relay"]
    assert len(list_json(srv, "--limit", "2")) == 2
    r = queue(srv, "list", "--domain", "nowhere.test")
    assert r.returncode == 0 and "no messages match" in r.stdout, r.stdout
    r = queue(srv, "list", "--domain", "other.test")
    assert ids["bounce"] in r.stdout and ids["first"] not in r.stdout
    assert "Total: 1 message" in r.stdout


def test_show_text(filled):
    srv, ids = filled
    r = queue(srv, "show", ids["bounce"])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for section in ("Message " + ids["bounce"], "Envelope", "Recipients (2)", "Metadata", "Headers"):
        assert section in out, out
    assert "<>" in out and "RET=HDRS ENVID=env-42" in out
    assert "bob@local.test" in out and "carol@other.test" in out
    assert "notify: success,failure" in out and "orcpt: rfc822;x@y.test" in out
    assert "Subject: second" in out and "Received: from" in out
    assert "BODY-TWO" not in out, "only the header block is shown"
    # An escape sequence from a header never reaches the terminal raw.
    first = queue(srv, "show", ids["first"]).stdout
    assert "\x1b" not in first and "\\x1B[31mred" in first, first


def test_show_json(filled):
    srv, ids = filled
    r = queue(srv, "show", ids["first"], "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)  # the 0xE9 byte in a header must not break it
    assert m["id"] == ids["first"]
    assert m["size"] == len(srv.spool(ids["first"]).content)
    assert m["envelope"]["sender"] == "alice@sender-one.test"
    (rcpt,) = m["envelope"]["recipients"]
    assert rcpt["address"] == "alice@local.test" and rcpt["state"] == "pending"
    assert set(rcpt) == {"address", "original", "state", "notify", "orcpt"}
    meta = m["metadata"]
    assert meta["client_ip"] == "127.0.0.1" and meta["listener"] == "mx" and meta["helo"] == "client.test"
    assert meta["received_at"] > 0
    assert "Subject: first\r\n" in m["headers"]
    assert "caf\ufffd" in m["headers"] and "\x1b[31mred" in m["headers"]
    assert "BODY-ONE" not in m["headers"] and m["headers_truncated"] is False

    d = json.loads(queue(srv, "show", ids["bounce"], "--json").stdout)
    assert d["envelope"]["dsn_ret"] == "HDRS" and d["envelope"]["dsn_envid"] == "env-42"
    assert d["envelope"]["recipients"][1]["notify"] == ["success", "failure"]
    assert d["envelope"]["recipients"][1]["orcpt"] == "rfc822;x@y.test"


def test_delete(filled):
    srv, ids = filled
    victim = ids["bounce"]
    r = queue(srv, "delete", victim)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"deleted {victim}"
    assert victim not in [m["id"] for m in list_json(srv)]
    assert victim not in srv.spool_ids(), "the queue on disk no longer has it"
    assert sorted(srv.spool_ids()) == sorted([ids["first"], ids["relay"]])
    assert srv.events("admin.delete")[-1]["id"] == victim
    # Durable: still gone after a restart, the others still there.
    assert srv.stop() == 0
    srv.start()
    assert sorted(m["id"] for m in list_json(srv)) == sorted([ids["first"], ids["relay"]])

    assert_one_line_failure(queue(srv, "delete", victim), "volley: queue delete:", f"no such message {victim}")
    assert_one_line_failure(queue(srv, "show", victim), "volley: queue show:", f"no such message {victim}")
    assert_one_line_failure(queue(srv, "delete", "../../etc/passwd"), "invalid message id")


def test_daemon_not_running(volley_factory):
    srv = volley_factory(start=False)
    line = assert_one_line_failure(queue(srv, "list"))
    assert line.startswith(f"volley: queue list: cannot reach the running daemon at {admin_sock(srv)}: "), line
    # And after a clean stop the socket is gone, so the answer is the same.
    srv.start()
    assert queue(srv, "list").returncode == 0
    assert srv.stop() == 0
    assert not admin_sock(srv).exists(), "the socket file is removed at exit"
    assert_one_line_failure(queue(srv, "delete", "0" * 20), "cannot reach the running daemon at")


def test_socket_file_mode(volley):
    st = os.lstat(admin_sock(volley))
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    (ev,) = volley.events("admin.started")
    assert ev["path"] == str(admin_sock(volley))


def test_stale_socket_after_crash(volley):
    qid = submit(volley, "a@b.test", ["alice@local.test"], b"Subject: x\r\n\r\nx\r\n")
    volley.kill9()
    assert admin_sock(volley).exists(), "a crashed daemon leaves its socket behind"
    line = assert_one_line_failure(queue(volley, "list"), "cannot reach the running daemon")
    assert "Connection refused" in line
    volley.start()
    assert volley.events("admin.stale_socket_removed")
    assert [m["id"] for m in list_json(volley)] == [qid]


def test_second_daemon_on_same_data_dir_refused(volley, volley_factory):
    other = volley_factory(start=False, users={}, server={"data_dir": str(volley.data_dir)})
    other.start(wait=False)
    other.expected_exit = True
    assert other.proc.wait(15) == 1
    assert "another volley daemon" in other.log(), other.log()
    # The first daemon still owns its socket.
    assert queue(volley, "list").returncode == 0


def raw_session(srv: VolleyServer) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(admin_sock(srv)))
    return s


def read_line(s: socket.socket) -> dict:
    # One byte at a time: two pipelined answers may arrive in one segment,
    # and the second must stay unread for the next call (a recv of 64 KiB
    # used to swallow both and fail with "Extra data" now and then).
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(1)
        assert chunk, f"connection closed after {buf!r}"
        buf += chunk
    return json.loads(buf)


def test_raw_protocol_errors_keep_the_connection(filled):
    srv, ids = filled
    with raw_session(srv) as s:
        s.sendall(b"{not json\n")
        assert read_line(s) == {"ok": False, "error": "request is not valid JSON"}
        s.sendall(b'{"cmd":"frobnicate"}\r\n')
        assert read_line(s) == {"ok": False, "error": 'unknown command "frobnicate"'}
        s.sendall(b'{"cmd":"show","id":"x/../y"}\n')
        assert read_line(s)["ok"] is False
        # Two requests in one write, both answered in order.
        s.sendall(b'{"cmd":"count"}\n{"cmd":"list","domain":"other.test"}\n')
        assert read_line(s) == {"ok": True, "count": 3}
        assert [m["id"] for m in read_line(s)["messages"]] == [ids["bounce"]]


def test_raw_protocol_oversize_request(volley):
    with raw_session(volley) as s:
        s.sendall(b'{"cmd":"list","domain":"' + b"a" * (70 * 1024))
        answer = read_line(s)
        assert answer["ok"] is False and "too large" in answer["error"]
        # Closed, since there is no telling where a next request would start
        # (a reset, too, as the rest of our request was never read).
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
    # The daemon is fine.
    assert queue(volley, "list").returncode == 0
