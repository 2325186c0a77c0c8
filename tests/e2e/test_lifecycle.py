"""Process lifecycle: check-config, start-up errors, SIGHUP reload, SIGTERM
drain, structured logs, and the no-config development instance."""

import json
import re
import signal
import socket
import subprocess
import time

import pytest

import queue_log

from conftest import (QUEUED_RE, VOLLEY_BIN, ConnectionClosed, SMTPClient, end_process, port_is_free, skip_unless_ci,
                      wait_until)


def run_volley(*args, cwd=None, timeout=20, stdin=None):
    return subprocess.run([VOLLEY_BIN, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          input=stdin)


def line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in config")


# ------------------------------------------------------------ check-config

def test_check_config_ok(volley_factory):
    srv = volley_factory(start=False)
    r = run_volley("check-config", "--config", str(srv.config_path))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" or "error" not in r.stderr.lower()


@pytest.mark.parametrize("section,bad_line,key", [
    ("[limits]", "frobnicate = 3", "limits.frobnicate"),
    ("[limits]", 'max_recipients = "lots"', "limits.max_recipients"),
    ("[limits]", 'auth_failure_window = "soon"', "limits.auth_failure_window"),
    ("[limits]", 'max_message_size = "-5MB"', "limits.max_message_size"),
    ("[server]", "hostnme = \"typo.example\"", "server.hostnme"),
])
def test_check_config_bad(volley_factory, section, bad_line, key):
    srv = volley_factory(start=False)
    text = srv.render_config().replace(section + "\n", section + "\n" + bad_line + "\n", 1)
    srv.write_config(text)
    lineno = line_of(text, bad_line)
    r = run_volley("check-config", "--config", str(srv.config_path))
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line reason, got: {r.stderr!r}"
    prefix = f"volley: check-config: {srv.config_path}:{lineno}: {key}: "
    assert lines[0].startswith(prefix), f"expected {prefix!r}..., got {lines[0]!r}"
    assert len(lines[0]) > len(prefix), "the reason is missing"


def test_check_config_bad_listener_value(volley_factory):
    srv = volley_factory(start=False)
    text = srv.render_config().replace('tls = "implicit"', 'tls = "sometimes"', 1)
    srv.write_config(text)
    r = run_volley("check-config", "--config", str(srv.config_path))
    assert r.returncode == 1
    m = re.match(r"^volley: check-config: (.+):(\d+): (listener\[2\]\.tls): .+$", r.stderr.strip())
    assert m, r.stderr
    assert int(m.group(2)) == line_of(text, 'tls = "sometimes"')


def test_check_config_toml_syntax_error(volley_factory):
    srv = volley_factory(start=False)
    text = srv.render_config() + "\n[limits\nbroken = \n"
    srv.write_config(text)
    r = run_volley("check-config", "--config", str(srv.config_path))
    assert r.returncode == 1
    assert re.match(rf"^volley: check-config: {re.escape(str(srv.config_path))}:\d+: ", r.stderr.strip()), r.stderr


def test_check_config_missing_file(tmp_path):
    r = run_volley("check-config", "--config", str(tmp_path / "nope.toml"))
    assert r.returncode == 1
    assert "nope.toml" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_serve_bad_config_exits_with_reason(volley_factory):
    srv = volley_factory(start=False)
    text = srv.render_config().replace("[limits]\n", "[limits]\nmax_recipients = 0\n", 1)
    srv.write_config(text)
    r = run_volley("serve", "--config", str(srv.config_path), timeout=10)
    assert r.returncode != 0
    assert "limits.max_recipients" in r.stderr
    assert f":{line_of(text, 'max_recipients = 0')}:" in r.stderr
    for l in srv.listeners:
        assert port_is_free(int(l["address"].rsplit(":", 1)[1]))


def test_serve_port_in_use_exits_with_reason(volley_factory):
    srv = volley_factory(start=False)
    busy = socket.socket()
    busy.bind(("127.0.0.1", srv.port("submission")))
    busy.listen(1)
    try:
        r = run_volley("serve", "--config", str(srv.config_path), timeout=10)
    finally:
        busy.close()
    assert r.returncode != 0
    assert str(srv.port("submission")) in r.stderr, r.stderr
    assert "server.start_failed" in r.stderr or "listen" in r.stderr


# ------------------------------------------------------------------ SIGHUP

def test_sighup_adds_domain_and_alias(volley):
    with volley.connect("mx") as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        r = c.cmd("RCPT TO:<info@new.test>")
        assert (r.code, r.enhanced) == (550, "5.7.1"), str(r)
    volley.local_domains.append("new.test")
    volley.aliases["info@new.test"] = ["alice@local.test"]
    volley.write_config()
    assert volley.reload() == "config.reloaded", volley.log()[-2000:]
    with volley.connect("mx") as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        c.expect("RCPT TO:<info@new.test>", 250, "2.1.5")
        r = c.cmd("RCPT TO:<nobody@new.test>")
        assert (r.code, r.enhanced) == (550, "5.1.1"), str(r)
        c.expect("RCPT TO:<postmaster@new.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: after reload\r\n\r\nx\r\n.\r\n")
        r = c.read_reply()
        assert r.code == 250
    m = volley.spool(r.queue_id)
    by_orig = {x.original: x.address for x in m.rcpts}
    assert by_orig["info@new.test"] == "alice@local.test"


def test_sighup_removes_domain(volley):
    volley.local_domains = ["local.test"]
    volley.write_config()
    assert volley.reload() == "config.reloaded"
    with volley.connect("mx") as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example>", 250)
        r = c.cmd("RCPT TO:<carol@other.test>")
        assert (r.code, r.enhanced) == (550, "5.7.1"), f"other.test is no longer local: {r}"
        c.expect("RCPT TO:<alice@local.test>", 250)


def test_sighup_broken_config_keeps_old(volley):
    good = volley.config_path.read_text()
    volley.write_config(good + "\n[limits]\nnot_a_key = 1\n")  # duplicate table + unknown key
    assert volley.reload() == "config.reload_failed"
    failed = volley.events("config.reload_failed")[-1]
    assert failed.get("reason"), failed
    assert volley.running()
    with volley.connect("mx") as c:
        c.ehlo()
        r = c.send_message("s@remote.example", ["carol@other.test"], b"Subject: still old config\r\n\r\nx\r\n")
        assert r.code == 250
    # And a later good reload works again.
    volley.write_config(good)
    assert volley.reload() == "config.reloaded"


def test_sighup_broken_syntax_keeps_old(volley):
    volley.write_config("this is [ not toml\n")
    assert volley.reload() == "config.reload_failed"
    assert "config.reload_failed" in volley.log()
    assert_smtp_works(volley)


def assert_smtp_works(srv):
    with srv.connect("mx") as c:
        c.ehlo()
        r = c.send_message("s@remote.example", ["alice@local.test"], b"Subject: works\r\n\r\nx\r\n")
        assert QUEUED_RE.match(str(r)), str(r)
        c.quit()


def test_sighup_does_not_disturb_open_session(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    volley.local_domains.append("new.test")
    volley.write_config()
    assert volley.reload() == "config.reloaded"
    c.expect("DATA", 354)
    c.send(b"Subject: across reload\r\n\r\nx\r\n.\r\n")
    r = c.read_reply()
    assert r.code == 250, str(r)
    c.quit()


# ------------------------------------------------------------------ SIGTERM

def test_sigterm_idle_sessions_get_421(volley):
    a = volley.connect("mx")
    b = volley.connect("submission")
    b.ehlo()
    c = volley.connect("smtps")
    c.ehlo()
    t0 = time.monotonic()
    volley.signal(signal.SIGTERM)
    for cl in (a, b, c):
        r = cl.read_reply(timeout=5)
        assert (r.code, r.enhanced) == (421, "4.3.2"), str(r)
        cl.wait_closed(5)
        cl.close()  # as a real client does after a 421 (answers the TLS close_notify)
    volley.expected_exit = True
    rc = volley.proc.wait(10)
    assert rc == 0, f"exit code {rc}"
    assert time.monotonic() - t0 < 5, "an idle server must stop promptly"


def test_sigterm_no_clients_exits_zero(volley):
    t0 = time.monotonic()
    assert volley.stop() == 0
    assert time.monotonic() - t0 < 3
    assert "server.stopped" in volley.log()


def test_sigterm_during_data_completes_transaction(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: in flight\r\n\r\nfirst half\r\n")
    volley.signal(signal.SIGTERM)
    volley.wait_event("server.draining")
    # New connections are no longer served.
    try:
        n = SMTPClient(volley.port("mx"), timeout=3)
        assert n.greeting.code != 220, "a new connection was accepted during the drain"
        n.close()
    except (ConnectionClosed, OSError):
        pass
    assert volley.running(), "the server quit with a transaction in flight"
    c.send(b"second half\r\n.\r\n")
    r = c.read_reply(timeout=10)
    assert QUEUED_RE.match(str(r)), f"in-flight transaction must complete: {r}"
    # then the session is closed with 421 4.3.2 (or after QUIT)
    try:
        r2 = c.read_reply(timeout=5)
    except (ConnectionClosed, OSError):
        r2 = None  # closed without a 421: acceptable
    if r2 is not None:
        assert (r2.code, r2.enhanced) == (421, "4.3.2"), str(r2)
    volley.expected_exit = True
    assert volley.proc.wait(15) == 0
    m = volley.spool(r.queue_id)
    assert m.body == b"Subject: in flight\r\n\r\nfirst half\r\nsecond half\r\n"


def test_sigterm_during_bdat(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.send(b"BDAT 20 LAST\r\n0123456789")
    volley.signal(signal.SIGTERM)
    volley.wait_event("server.draining")
    c.send(b"abcdefghij")
    r = c.read_reply(timeout=10)
    assert QUEUED_RE.match(str(r)), str(r)
    volley.expected_exit = True
    assert volley.proc.wait(15) == 0
    assert volley.spool(r.queue_id).body == b"0123456789abcdefghij"


def test_sigterm_drain_bounded_by_shutdown_timeout(volley_factory):
    srv = volley_factory(server={"shutdown_timeout": "2s"})
    c = srv.connect("mx")
    c.ehlo()
    c.expect("MAIL FROM:<s@remote.example>", 250)
    c.expect("RCPT TO:<alice@local.test>", 250)
    c.expect("DATA", 354)
    c.send(b"Subject: never finished\r\n\r\n")
    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    srv.expected_exit = True
    rc = srv.proc.wait(15)
    elapsed = time.monotonic() - t0
    assert 1.5 <= elapsed <= 6, f"drain took {elapsed:.1f}s with shutdown_timeout=2s"
    assert rc == 0
    assert srv.spool_ids() == []
    c.close()


# -------------------------------------------------------------------- logs

def test_log_line_per_accepted_message(volley):
    with volley.connect("mx") as c:
        c.ehlo()
        r = c.send_message("logger@remote.example", ["alice@local.test", "bob@local.test"],
                           b"Subject: log\r\n\r\n" + b"x" * 100 + b"\r\n")
        assert r.code == 250
        c.quit()
    events = volley.wait_event("smtp.message")
    ev = [e for e in events if e.get("queue_id") == r.queue_id]
    assert ev, f"no smtp.message line with queue_id={r.queue_id}: {events}"
    e = ev[0]
    assert e["result"] == "accepted"
    assert e["client"] == "127.0.0.1"
    assert (e.get("from") or e.get("sender")) == "logger@remote.example"
    assert e["rcpts"] == "2"
    assert int(e["size"]) >= 100
    assert re.match(r"^\d{4}-\d\d-\d\dT", e.get("ts", "")), e


def test_log_line_for_refused_message(volley_factory):
    srv = volley_factory(limits={"max_message_size": 2000})
    with srv.connect("mx") as c:
        c.ehlo()
        r = c.send_message("s@remote.example", ["alice@local.test"], b"x" * 5000 + b"\r\n")
        assert r.code == 552
    ev = srv.wait_event("smtp.message")[0]
    assert ev["result"] != "accepted"
    assert "queue_id" not in ev or not ev["queue_id"]


def test_logs_are_key_value_lines(volley):
    assert_smtp_works(volley)
    for line in volley.log_lines():
        assert re.match(r"^ts=\S+ level=(debug|info|warn|error) event=[\w.]+( |$)", line), line


def test_json_log_format(volley_factory):
    srv = volley_factory(log={"format": "json"})
    with srv.connect("mx") as c:
        c.ehlo()
        c.send(b"EHLO \xff\xfe\r\n")  # non-UTF-8 bytes must still give valid JSON
        c.read_reply()
        r = c.send_message("json@remote.example", ["alice@local.test"], b"Subject: j\r\n\r\nx\r\n")
        assert r.code == 250
        c.quit()
    srv.wait_event("smtp.message")
    assert srv.stop() == 0
    lines = srv.log_lines()
    assert lines
    objs = []
    for line in lines:
        obj = json.loads(line)  # every line is one JSON object
        assert isinstance(obj, dict) and isinstance(obj.get("event"), str), line
        objs.append(obj)
    events = {o["event"] for o in objs}
    assert {"server.started", "smtp.connect", "smtp.message", "server.stopped"} <= events, events
    msg = next(o for o in objs if o["event"] == "smtp.message")
    assert msg["queue_id"] == r.queue_id
    assert msg.get("from", msg.get("sender")) == "json@remote.example"


def test_reload_failure_logged_in_json(volley_factory):
    srv = volley_factory(log={"format": "json"})
    srv.write_config("[bogus\n")
    assert srv.reload() == "config.reload_failed"
    assert srv.running()


# ---------------------------------------------------- development default

def test_development_default(tmp_path):
    if not (port_is_free(2525) and port_is_free(2587)):
        skip_unless_ci("ports 2525/2587 are busy")
    log_path = tmp_path / "dev.log"
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen([VOLLEY_BIN, "serve"], cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=logf)
    try:
        def log():
            return log_path.read_text(errors="replace")

        def ready():
            if proc.poll() is not None:
                raise AssertionError(f"development server exited with {proc.returncode}:\n{log()}")
            return "server.started" in log()
        wait_until(ready, 15, what="the development server to start")
        assert "volley user add" in log(), log()
        cert = tmp_path / "volley-data" / "tls" / "cert.pem"
        assert cert.is_file(), "self-signed certificate not generated in ./volley-data/tls/"
        assert (tmp_path / "volley-data" / "queue").is_dir()

        mx = SMTPClient(2525)
        assert mx.greeting.code == 220
        caps = mx.ehlo().lines[1:]
        assert "STARTTLS" in caps and not any(c.startswith("AUTH") for c in caps)
        mx.starttls(cafile=str(cert))
        mx.ehlo()
        r = mx.send_message("s@remote.example", ["postmaster@localhost.test"], b"Subject: dev\r\n\r\nx\r\n")
        assert r.code == 250, str(r)
        mx.quit()
        # Acknowledged = queued; the development default also delivers local
        # mail at once, so under load it may be in the mailbox already.
        delivered = tmp_path / "volley-data" / "mail" / "localhost.test" / "postmaster" / "new"
        assert r.queue_id in queue_log.scan(tmp_path / "volley-data" / "queue").messages or \
            any(b"Subject: dev" in f.read_bytes() for f in (delivered.iterdir() if delivered.is_dir() else []))

        sub = SMTPClient(2587)
        assert sub.greeting.code == 220
        caps = sub.ehlo().lines[1:]
        assert "STARTTLS" in caps and not any(c.startswith("AUTH") for c in caps)
        assert sub.cmd("MAIL FROM:<a@localhost.test>").code == 530
        sub.starttls(cafile=str(cert))
        assert "AUTH PLAIN LOGIN" in sub.ehlo().lines
        sub.quit()

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        end_process(proc)


def test_development_default_user_cli(tmp_path):
    """`volley user add` without --config works on ./volley-data (the dev default)."""
    r = run_volley("user", "add", "dev@localhost.test", cwd=str(tmp_path), stdin="dev-pw\n")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "volley-data" / "users.db").is_file()
    r = run_volley("user", "list", cwd=str(tmp_path))
    assert r.returncode == 0 and "dev@localhost.test" in r.stdout


def test_volley_toml_in_cwd_is_used(volley_factory):
    srv = volley_factory(start=False)
    r = run_volley("check-config", cwd=str(srv.workdir))
    assert r.returncode == 0, r.stderr
    assert "volley.toml" in r.stdout


def test_version_and_usage():
    r = run_volley("--version")
    assert r.returncode == 0 and "volley" in r.stdout.lower()
    r = run_volley("no-such-subcommand")
    assert r.returncode != 0


def test_sighup_changes_limits(volley):
    with volley.connect("mx") as c:
        assert f"SIZE {50 * 1024 * 1024}" in c.ehlo().lines
    volley.limits["max_message_size"] = 4096
    volley.write_config()
    assert volley.reload() == "config.reloaded"
    with volley.connect("mx") as c:
        assert "SIZE 4096" in c.ehlo().lines
        r = c.send_message("s@remote.example", ["alice@local.test"], b"x" * 8000 + b"\r\n")
        assert (r.code, r.enhanced) == (552, "5.3.4"), str(r)


def make_cert(directory, cn):
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(cert)],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return cert, key


def served_cert_der(srv):
    c = srv.connect("smtps")
    der = c.sock.getpeercert(binary_form=True)
    c.quit()
    return der


def test_configured_certificate_and_sighup_reload(volley_factory, tmp_path):
    import ssl as _ssl
    cert, key = make_cert(tmp_path / "tls-a", "first.test")
    srv = volley_factory(tls={"cert": str(cert), "key": str(key)})
    assert served_cert_der(srv) == _ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert not (srv.data_dir / "tls" / "cert.pem").exists(), "self-signed generated although a cert is configured"
    cert2, key2 = make_cert(tmp_path / "tls-b", "second.test")
    srv.tls_section = {"cert": str(cert2), "key": str(key2)}
    srv.write_config()
    assert srv.reload() == "config.reloaded"
    assert served_cert_der(srv) == _ssl.PEM_cert_to_DER_cert(cert2.read_text())
    # A missing certificate on reload keeps the old one serving.
    srv.tls_section = {"cert": str(tmp_path / "missing.pem"), "key": str(key2)}
    srv.write_config()
    assert srv.reload() == "config.reload_failed"
    assert served_cert_der(srv) == _ssl.PEM_cert_to_DER_cert(cert2.read_text())


def test_missing_certificate_at_start(volley_factory, tmp_path):
    srv = volley_factory(start=False, tls={"cert": str(tmp_path / "nope.pem"), "key": str(tmp_path / "nope.key")})
    r = run_volley("serve", "--config", str(srv.config_path), timeout=10)
    assert r.returncode != 0
    assert "tls.cert" in r.stderr and "nope.pem" in r.stderr, r.stderr


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_log_injection_via_sender(volley_factory, fmt):
    srv = volley_factory(log={"format": fmt})
    sender = '"x\\" event=smtp.forged level=error"@remote.example'
    with srv.connect("mx") as c:
        c.ehlo()
        r = c.send_message(sender, ["alice@local.test"], b"Subject: inj\r\n\r\nx\r\n")
        assert r.code == 250, str(r)
        c.quit()
    srv.wait_event("smtp.message")
    assert srv.events("smtp.forged") == []
    (ev,) = srv.events("smtp.message")
    assert ev.get("level") == "info"
    # the forged text stayed inside the sender's value
    assert "event=smtp.forged" in (ev.get("from") or ev.get("sender")), ev
    if fmt == "json":
        for line in srv.log_lines():
            json.loads(line)


def test_sighup_listener_change_needs_restart(volley):
    old_port = volley.port("mx")
    volley.listeners[0]["address"] = "127.0.0.1:1"  # would need a restart
    volley.write_config()
    outcome = volley.reload()
    assert outcome in ("config.reloaded", "config.reload_failed")
    if outcome == "config.reloaded":
        assert volley.events("config.reload_ignored"), "a listener change must be reported as ignored"
    with SMTPClient(old_port) as c:
        assert c.greeting.code == 220
