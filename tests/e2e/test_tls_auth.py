"""STARTTLS, implicit TLS and SMTP AUTH on submission listeners, with real
clients (openssl s_client, smtplib, curl, swaks) and raw sockets."""

import re
import smtplib
import ssl
import time

import pytest

from conftest import (DEFAULT_USERS, HOSTNAME, QUEUED_RE, b64, client_tls_context, count_header, plain_auth,
                      queue_id_from_text, run_tool)

ALICE = "alice@local.test"
ALICE_PW = DEFAULT_USERS[ALICE]


def cert_pem(srv) -> str:
    return srv.cert_path.read_text()


# ------------------------------------------------------------ STARTTLS

def test_openssl_s_client_starttls(volley):
    cert = volley.cert_path
    r = run_tool(["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{volley.port('mx')}",
                  "-CAfile", str(cert), "-verify_return_error", "-crlf", "-ign_eof", "-showcerts"],
                 input=b"EHLO client.test\nQUIT\n", timeout=20)
    out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    assert r.returncode == 0, out
    assert "Verify return code: 0 (ok)" in out, out
    m = re.search(r"(?:Protocol version|Protocol)\s*:\s*(TLSv[\d.]+)", out)
    assert m, out
    assert m.group(1) in ("TLSv1.2", "TLSv1.3"), m.group(1)
    # The certificate served is the one generated under data_dir/tls/.
    served = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S).group(0)
    assert served.strip() == cert_pem(volley).strip()
    # Inside TLS the server answered our EHLO.
    assert f"250-{HOSTNAME}" in out
    assert "221 2.0.0" in out


def test_self_signed_cert_generated_with_key(volley):
    tls_dir = volley.data_dir / "tls"
    assert (tls_dir / "cert.pem").is_file() and (tls_dir / "key.pem").is_file()
    assert (tls_dir / "key.pem").stat().st_mode & 0o077 == 0, "private key must not be group/world readable"
    r = run_tool(["openssl", "x509", "-in", str(tls_dir / "cert.pem"), "-noout", "-ext", "subjectAltName"])
    assert b"127.0.0.1" in r.stdout


def test_python_starttls_version_and_cert(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.starttls(cafile=str(volley.cert_path))  # verifies the chain against the generated cert
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    der = c.sock.getpeercert(binary_form=True)
    assert der == ssl.PEM_cert_to_DER_cert(cert_pem(volley))
    caps = c.ehlo().lines[1:]
    assert "STARTTLS" not in caps, "STARTTLS must not be offered again inside TLS"
    r = c.cmd("STARTTLS")
    assert r.code in (503, 502) and r.code >= 500
    r = c.send_message("s@remote.example", [ALICE], b"Subject: tls mx\r\n\r\nx\r\n")
    assert r.code == 250, str(r)
    c.quit()
    m = volley.spool(r.queue_id)
    assert re.search(rb"\(using TLSv1\.[23] with cipher [A-Za-z0-9_-]+\)", m.received), m.received
    assert b"with ESMTPS id" in m.received
    assert m.fields["tls"].startswith("TLSv1.")


def test_tls_client_max_1_2_accepted_by_default(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.starttls(context=client_tls_context(max_version=ssl.TLSVersion.TLSv1_2))
    assert c.sock.version() == "TLSv1.2"
    c.ehlo()
    c.quit()


def test_tls_min_version_1_3_refuses_1_2(volley_factory):
    srv = volley_factory(tls={"min_version": "1.3"})
    c = srv.connect("mx")
    c.ehlo()
    c.expect("STARTTLS", 220)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        c.wrap_tls(context=client_tls_context(max_version=ssl.TLSVersion.TLSv1_2))
        c.ehlo()
    c.close()
    # and a TLS 1.3 client is fine
    c = srv.connect("mx")
    c.ehlo()
    c.starttls()
    assert c.sock.version() == "TLSv1.3"
    c.quit()


def test_garbage_instead_of_tls_handshake(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.expect("STARTTLS", 220)
    c.send(b"EHLO this is not a TLS client hello\r\n" * 10)
    c.wait_closed(10)
    # The server is still fine.
    with volley.connect("mx") as c2:
        c2.ehlo()


def test_starttls_command_injection(volley):
    """Commands pipelined after STARTTLS in clear text must be discarded."""
    c = volley.connect("submission")
    c.ehlo()
    c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.example>\r\n")
    r = c.read_reply()
    assert (r.code, r.enhanced) == (220, "2.0.0"), str(r)
    assert c.buf == b"", f"server answered injected commands in clear text: {c.buf!r}"
    c.wrap_tls()
    c.send(b"EHLO client.test\r\n")
    first = c.read_reply()
    assert first.code == 250 and first.lines[0].startswith(HOSTNAME) and len(first.lines) > 1, (
        f"first reply inside TLS must answer our EHLO, got {first}")
    assert c.nothing_pending(0.5), f"extra replies inside TLS: {c.buf!r}"
    # Nothing from the injected MAIL survived: MAIL now needs AUTH, and a
    # transaction was not started.
    r = c.cmd("RCPT TO:<alice@local.test>")
    assert r.code == 503, str(r)
    c.quit()


def test_starttls_injection_on_mx_does_not_start_transaction(volley):
    c = volley.connect("mx")
    c.ehlo()
    c.send(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\nRCPT TO:<alice@local.test>\r\n")
    assert c.read_reply().code == 220
    c.wrap_tls()
    c.send(b"EHLO client.test\r\n")
    first = c.read_reply()
    assert first.code == 250 and len(first.lines) > 1, str(first)
    r = c.cmd("DATA")
    assert r.code in (503, 554), f"injected MAIL/RCPT were executed: DATA got {r}"
    c.quit()


# ----------------------------------------------------------- AUTH basics

def test_ehlo_auth_only_after_tls(volley):
    c = volley.connect("submission")
    caps = c.ehlo().lines[1:]
    assert "STARTTLS" in caps
    assert not any(l.startswith("AUTH") for l in caps), caps
    c.starttls()
    caps = c.ehlo().lines[1:]
    assert "AUTH PLAIN LOGIN" in caps, caps
    assert "STARTTLS" not in caps
    c.login(ALICE, ALICE_PW)
    caps = c.ehlo().lines[1:]
    assert not any(l.startswith("AUTH") for l in caps), "AUTH offered again after authenticating"
    c.quit()


def test_auth_in_cleartext_gets_538(volley):
    with volley.connect("submission") as c:
        c.ehlo()
        r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW)}")
        assert (r.code, r.enhanced) == (538, "5.7.11"), str(r)
        r = c.cmd("AUTH LOGIN")
        assert (r.code, r.enhanced) == (538, "5.7.11"), str(r)


def test_auth_on_mx_refused(volley):
    with volley.connect("mx") as c:
        c.ehlo()
        r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW)}")
        assert (r.code, r.enhanced) == (503, "5.5.1"), str(r)
        c.starttls()
        c.ehlo()
        r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW)}")
        assert (r.code, r.enhanced) == (503, "5.5.1"), str(r)


def test_submission_requires_auth(volley):
    with volley.connect("submission") as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<alice@local.test>")
        assert (r.code, r.enhanced) == (530, "5.7.0"), str(r)
        c.starttls()
        c.ehlo()
        r = c.cmd("MAIL FROM:<alice@local.test>")
        assert (r.code, r.enhanced) == (530, "5.7.0"), str(r)
        r = c.cmd("RCPT TO:<alice@local.test>")
        assert r.code >= 500
    with volley.connect("smtps") as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<alice@local.test>")
        assert (r.code, r.enhanced) == (530, "5.7.0"), str(r)
    assert volley.spool_ids() == []


def test_auth_plain_initial_response(volley):
    c = volley.connect("submission")
    c.ehlo()
    c.starttls()
    c.ehlo()
    r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW)}")
    assert (r.code, r.enhanced) == (235, "2.7.0"), str(r)
    r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW)}")
    assert r.code == 503, "second AUTH must be refused"
    c.quit()


def test_auth_plain_two_step(volley):
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd("AUTH PLAIN")
    assert r.code == 334
    r = c.cmd(plain_auth(ALICE, ALICE_PW))
    assert (r.code, r.enhanced) == (235, "2.7.0"), str(r)
    c.quit()


def test_auth_login(volley):
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd("AUTH LOGIN")
    assert r.code == 334 and r.lines[0] == b64("Username:")
    r = c.cmd(b64(ALICE))
    assert r.code == 334 and r.lines[0] == b64("Password:")
    r = c.cmd(b64(ALICE_PW))
    assert (r.code, r.enhanced) == (235, "2.7.0"), str(r)
    c.quit()


def test_auth_login_initial_response(volley):
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd(f"AUTH LOGIN {b64(ALICE)}")
    assert r.code == 334 and r.lines[0] == b64("Password:")
    r = c.cmd(b64(ALICE_PW))
    assert r.code == 235, str(r)
    c.quit()


def test_auth_user_name_case_insensitive(volley):
    c = volley.connect("smtps")
    c.ehlo()
    c.login("Alice@Local.Test", ALICE_PW)
    c.quit()


def test_auth_plain_foreign_authzid_refused(volley):
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW, authzid='bob@local.test')}")
    assert (r.code, r.enhanced) == (535, "5.7.8"), f"alice must not act as bob: {r}"
    c.quit()


def test_auth_bad_base64_and_cancel(volley):
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd("AUTH PLAIN !!!not-base64!!!")
    assert (r.code, r.enhanced) == (501, "5.5.2"), str(r)
    assert c.cmd("AUTH PLAIN").code == 334
    r = c.cmd("*")
    assert (r.code, r.enhanced) == (501, "5.7.0"), str(r)
    assert c.cmd("AUTH LOGIN").code == 334
    r = c.cmd("*")
    assert (r.code, r.enhanced) == (501, "5.7.0"), str(r)
    assert c.cmd("AUTH LOGIN").code == 334
    r = c.cmd("%%%%")
    assert (r.code, r.enhanced) == (501, "5.5.2"), str(r)
    r = c.cmd("AUTH CRAM-MD5")
    assert r.code == 504, str(r)
    # Still able to authenticate afterwards.
    c.login(ALICE, ALICE_PW)
    c.quit()


def test_auth_wrong_password(volley):
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, 'wrong-password')}")
    assert (r.code, r.enhanced) == (535, "5.7.8"), str(r)
    r = c.cmd(f"AUTH PLAIN {plain_auth('nobody@local.test', 'whatever')}")
    assert (r.code, r.enhanced) == (535, "5.7.8"), str(r)
    c.login(ALICE, ALICE_PW)
    c.quit()


def test_auth_failures_close_connection(volley_factory):
    srv = volley_factory(limits={"max_auth_failures": 3})
    c = srv.connect("smtps")
    c.ehlo()
    for i in range(2):
        r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, f'bad{i}')}")
        assert r.code == 535, str(r)
    c.send(f"AUTH PLAIN {plain_auth(ALICE, 'bad2')}\r\n")
    r = c.read_reply()
    assert (r.code, r.enhanced) == (535, "5.7.8"), str(r)
    r = c.read_reply()
    assert (r.code, r.enhanced) == (421, "4.7.0"), str(r)
    c.wait_closed(10)


def test_auth_failure_delay_grows_per_ip(volley_factory):
    srv = volley_factory(limits={"auth_failure_delay": "200ms", "auth_failure_max_delay": "5s",
                                 "auth_failure_window": "5m"})
    timings = []
    for i in range(4):
        c = srv.connect("smtps")  # a new connection each time: the delay is per address
        c.ehlo()
        t0 = time.monotonic()
        r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, f'wrong{i}')}", timeout=15)
        timings.append(time.monotonic() - t0)
        assert r.code == 535, str(r)
        c.close()
    assert timings[0] >= 0.18, f"first failure was not delayed: {timings}"
    assert timings[3] >= timings[0] + 0.35, f"delay did not grow across connections: {timings}"
    assert timings[3] >= 0.7, timings
    # A correct password from the same address still works.
    c = srv.connect("smtps")
    c.ehlo()
    c.login(ALICE, ALICE_PW)
    c.quit()


def test_auth_delay_does_not_block_other_clients(volley_factory):
    srv = volley_factory(limits={"auth_failure_delay": "2s", "auth_failure_max_delay": "2s"})
    bad = srv.connect("smtps")
    bad.ehlo()
    bad.send(f"AUTH PLAIN {plain_auth(ALICE, 'wrong')}\r\n")
    time.sleep(0.2)  # let the server start the delay
    t0 = time.monotonic()
    with srv.connect("mx", source="127.0.0.9") as good:
        good.ehlo()
        r = good.send_message("s@remote.example", [ALICE], b"Subject: meanwhile\r\n\r\nx\r\n")
        assert r.code == 250
    assert time.monotonic() - t0 < 1.5, "an auth delay must not stall other sessions"
    r = bad.read_reply(timeout=10)
    assert r.code == 535
    bad.close()


# -------------------------------------------------------- after AUTH

def test_authenticated_relay_and_trace_headers(volley):
    c = volley.submission_client()
    body = b"From: alice@local.test\r\nTo: someone@remote.example\r\nSubject: out\r\n\r\nhello\r\n"
    r = c.send_message(ALICE, ["someone@remote.example", "bob@local.test"], body)
    assert QUEUED_RE.match(str(r)), str(r)
    c.quit()
    m = volley.spool(r.queue_id)
    assert sorted(m.rcpt_addresses) == ["bob@local.test", "someone@remote.example"]
    assert m.fields["auth_user"] == ALICE
    assert m.fields["listener"] == "submission"
    rec = m.received.decode()
    assert re.search(r"\(using TLSv1\.[23] with cipher \S+\)", rec), rec
    assert "(authenticated user alice@local.test)" in rec, rec
    assert "with ESMTPSA id" in rec, rec


def test_message_id_and_date_added_when_missing(volley):
    c = volley.submission_client()
    body = b"From: alice@local.test\r\nSubject: no id\r\n\r\nbody\r\n"
    r = c.send_message(ALICE, ["someone@remote.example"], body)
    assert r.code == 250
    c.quit()
    m = volley.spool(r.queue_id)
    assert count_header(m.content, "Message-ID") == 1, m.content
    assert count_header(m.content, "Date") == 1, m.content
    assert re.search(rb"^Message-ID: <[^<>@\s]+@[^<>\s]+>\r$", m.content, re.M | re.I)
    assert re.search(rb"^Date: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r$", m.content, re.M)
    assert m.content.endswith(body)


def test_message_id_and_date_not_duplicated(volley):
    c = volley.submission_client()
    body = (b"From: alice@local.test\r\nDate: Tue, 1 Jan 2030 10:00:00 +0000\r\n"
            b"message-id: <own-id@client.test>\r\nSubject: has id\r\n\r\nbody\r\n")
    r = c.send_message(ALICE, ["someone@remote.example"], body)
    assert r.code == 250
    c.quit()
    m = volley.spool(r.queue_id)
    assert count_header(m.content, "Message-ID") == 1
    assert count_header(m.content, "Date") == 1
    assert m.body == body


def test_smtplib_starttls_login_send(volley):
    ctx = client_tls_context(cafile=str(volley.cert_path))
    with smtplib.SMTP("127.0.0.1", volley.port("submission"), local_hostname="client.test", timeout=10) as s:
        s.ehlo()
        assert not s.has_extn("auth")
        s.starttls(context=ctx)
        s.ehlo()
        assert "PLAIN" in s.esmtp_features.get("auth", "").upper()
        s.login(ALICE, ALICE_PW)
        refused = s.sendmail(ALICE, ["friend@remote.example"], b"Subject: smtplib tls\r\n\r\nhi\r\n")
        assert refused == {}
    (m,) = volley.spool_messages()
    assert m.rcpt_addresses == ["friend@remote.example"]
    assert m.fields["auth_user"] == ALICE
    assert m.body.endswith(b"Subject: smtplib tls\r\n\r\nhi\r\n")


def test_smtplib_login_wrong_password(volley):
    ctx = client_tls_context()
    with smtplib.SMTP("127.0.0.1", volley.port("submission"), local_hostname="client.test", timeout=10) as s:
        s.starttls(context=ctx)
        with pytest.raises(smtplib.SMTPAuthenticationError) as ei:
            s.login(ALICE, "not-the-password")
        assert ei.value.smtp_code == 535


def test_curl_smtps_implicit_tls(volley, tmp_path):
    f = tmp_path / "m.eml"
    data = b"From: alice@local.test\r\nSubject: curl smtps\r\n\r\nover implicit TLS\r\n"
    f.write_bytes(data)
    r = run_tool(["curl", "-sS", "-v", "--max-time", "20", "--ssl-reqd", "--cacert", str(volley.cert_path),
                  "-u", f"{ALICE}:{ALICE_PW}", f"smtps://127.0.0.1:{volley.port('smtps')}/client.test",
                  "--mail-from", ALICE, "--mail-rcpt", "far@remote.example", "--upload-file", str(f)])
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    qid = queue_id_from_text(err)
    m = volley.spool(qid)
    assert m.rcpt_addresses == ["far@remote.example"]
    assert m.fields["listener"] == "smtps"
    assert m.fields["auth_user"] == ALICE
    assert m.content.endswith(data)


def test_curl_smtp_starttls_required(volley, tmp_path):
    f = tmp_path / "m.eml"
    f.write_bytes(b"Subject: curl starttls\r\n\r\nx\r\n")
    r = run_tool(["curl", "-sS", "-v", "--max-time", "20", "--ssl-reqd", "--cacert", str(volley.cert_path),
                  "-u", f"{ALICE}:{ALICE_PW}", f"smtp://127.0.0.1:{volley.port('submission')}/client.test",
                  "--mail-from", ALICE, "--mail-rcpt", "far@remote.example", "--upload-file", str(f)])
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    m = volley.spool(queue_id_from_text(err))
    assert m.fields["tls"].startswith("TLSv1.")


def test_curl_wrong_password_fails(volley, tmp_path):
    f = tmp_path / "m.eml"
    f.write_bytes(b"Subject: x\r\n\r\nx\r\n")
    r = run_tool(["curl", "-sS", "--max-time", "20", "--ssl-reqd", "--cacert", str(volley.cert_path),
                  "-u", f"{ALICE}:wrong", f"smtps://127.0.0.1:{volley.port('smtps')}/client.test",
                  "--mail-from", ALICE, "--mail-rcpt", "far@remote.example", "--upload-file", str(f)])
    assert r.returncode == 67, r.stderr  # CURLE_LOGIN_DENIED
    assert volley.spool_ids() == []


def test_swaks_starttls_auth(volley):
    r = run_tool(["swaks", "--server", f"127.0.0.1:{volley.port('submission')}", "--helo", "client.test",
                  "-tls", "-au", ALICE, "-ap", ALICE_PW, "--auth", "LOGIN",
                  "--from", ALICE, "--to", "someone@remote.example", "--body", "swaks tls body"])
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    m = volley.spool(queue_id_from_text(out))
    assert m.fields["auth_user"] == ALICE
    assert b"swaks tls body" in m.body


def test_swaks_tls_on_connect_plain(volley):
    r = run_tool(["swaks", "--server", f"127.0.0.1:{volley.port('smtps')}", "--helo", "client.test",
                  "--tls-on-connect", "-au", ALICE, "-ap", ALICE_PW, "--auth", "PLAIN",
                  "--from", ALICE, "--to", "bob@local.test", "--body", "smtps body"])
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    m = volley.spool(queue_id_from_text(out))
    assert m.rcpt_addresses == ["bob@local.test"]


# --------------------------------------------- users changed while running

def test_user_added_while_running(volley):
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd(f"AUTH PLAIN {plain_auth('dave@local.test', 'dave-pw-9')}")
    assert r.code == 535
    c.close()
    with volley.connect("mx") as m:
        m.ehlo()
        m.expect("MAIL FROM:<s@remote.example>", 250)
        r = m.cmd("RCPT TO:<dave@local.test>")
        assert (r.code, r.enhanced) == (550, "5.1.1")

    volley.user_add("dave@local.test", "dave-pw-9")

    c = volley.connect("smtps")
    c.ehlo()
    c.login("dave@local.test", "dave-pw-9")
    c.quit()
    with volley.connect("mx") as m:
        m.ehlo()
        r = m.send_message("s@remote.example", ["dave@local.test"], b"Subject: to dave\r\n\r\nx\r\n")
        assert r.code == 250, str(r)


def test_user_deleted_while_running(volley):
    c = volley.connect("smtps")
    c.ehlo()
    c.login("bob@local.test", DEFAULT_USERS["bob@local.test"])
    c.quit()
    volley.user_del("bob@local.test")
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd(f"AUTH PLAIN {plain_auth('bob@local.test', DEFAULT_USERS['bob@local.test'])}")
    assert (r.code, r.enhanced) == (535, "5.7.8"), str(r)
    c.close()
    with volley.connect("mx") as m:
        m.ehlo()
        m.expect("MAIL FROM:<s@remote.example>", 250)
        r = m.cmd("RCPT TO:<bob@local.test>")
        assert (r.code, r.enhanced) == (550, "5.1.1"), str(r)


def test_password_changed_while_running(volley):
    r = volley.cli("user", "passwd", ALICE, stdin="brand-new-pw\n")
    assert r.returncode == 0, r.stderr
    c = volley.connect("smtps")
    c.ehlo()
    r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW)}")
    assert r.code == 535, "old password still accepted"
    c.login(ALICE, "brand-new-pw")
    c.quit()


def test_user_cli_list_and_errors(volley):
    r = volley.cli("user", "list")
    assert r.returncode == 0
    # One line per user: the address, then its usage and quota.
    assert sorted(line.split()[0] for line in r.stdout.splitlines()) == sorted(DEFAULT_USERS)
    assert all(" usage=" in line and " quota=" in line for line in r.stdout.splitlines()), r.stdout
    r = volley.cli("user", "add", ALICE, stdin="x\n")
    assert r.returncode != 0 and "already exists" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = volley.cli("user", "del", "ghost@local.test")
    assert r.returncode != 0 and r.stderr.strip()
    r = volley.cli("user", "add", "not-an-address", stdin="x\n")
    assert r.returncode != 0 and r.stderr.strip()


# ------------------------------------------------- TLS edge cases

def test_plaintext_client_on_implicit_tls_listener(volley):
    import socket as _socket
    s = _socket.create_connection(("127.0.0.1", volley.port("smtps")), timeout=10)
    s.sendall(b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n")
    got = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except (ConnectionResetError, _socket.timeout):
        pass
    s.close()
    assert b"250" not in got, f"an implicit-TLS listener answered clear-text SMTP: {got!r}"
    with volley.connect("smtps") as c:
        c.ehlo()


def test_tls_handshake_timeout(volley_factory):
    import socket as _socket
    srv = volley_factory(limits={"command_timeout": "1s"})
    s = _socket.create_connection(("127.0.0.1", srv.port("smtps")), timeout=10)
    t0 = time.monotonic()
    try:
        assert s.recv(4096) == b""  # never a byte before the handshake; closed by the server
    except ConnectionResetError:
        pass
    elapsed = time.monotonic() - t0
    s.close()
    assert 0.7 <= elapsed <= 4, f"a client that never starts the TLS handshake held the slot for {elapsed:.1f}s"
    # STARTTLS, then silence.
    c = srv.connect("mx")
    c.ehlo()
    c.expect("STARTTLS", 220)
    t0 = time.monotonic()
    c.wait_closed(6)
    assert time.monotonic() - t0 <= 4


def test_starttls_syntax_and_availability(volley_factory):
    srv = volley_factory(listeners=[{"name": "mx", "protocol": "smtp", "role": "mx", "tls": "none"},
                                    {"name": "sub", "protocol": "smtp", "role": "submission", "tls": "starttls"}])
    with srv.connect("mx") as c:
        caps = c.ehlo().lines[1:]
        assert "STARTTLS" not in caps
        r = c.cmd("STARTTLS")
        assert r.code in (502, 454, 503) and r.code != 220, str(r)
    with srv.connect("sub") as c:
        c.ehlo()
        r = c.cmd("STARTTLS now")
        assert r.code == 501, str(r)
        c.starttls()
        c.ehlo()


def test_auth_requires_ehlo(volley):
    c = volley.connect("smtps")
    r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW)}")
    assert (r.code, r.enhanced) == (503, "5.5.1"), f"AUTH before EHLO: {r}"
    c.expect("HELO client.test", 250)
    r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, ALICE_PW)}")
    assert (r.code, r.enhanced) == (503, "5.5.1"), f"AUTH after HELO: {r}"
    c.ehlo()
    c.login(ALICE, ALICE_PW)
    c.quit()


def test_cleartext_auth_listener_when_allowed(volley_factory):
    srv = volley_factory(listeners=[{"name": "sub", "protocol": "smtp", "role": "submission", "tls": "none",
                                     "require_tls_for_auth": False}])
    c = srv.connect("sub")
    caps = c.ehlo().lines[1:]
    assert "AUTH PLAIN LOGIN" in caps
    c.login(ALICE, ALICE_PW)
    r = c.send_message(ALICE, ["far@remote.example"], b"Subject: clear\r\n\r\nx\r\n")
    assert r.code == 250
    c.quit()
    m = srv.spool(r.queue_id)
    assert b"(authenticated user alice@local.test)" in m.received
    assert b"with ESMTPA id" in m.received
    assert b"(using " not in m.received
