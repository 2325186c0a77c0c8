"""Users, authentication and envelope policy (issue 9, defects 1d and 1f):
storage failures are temporary, users live in memory and follow the CLI
within ~1-2 s, user names must be mailboxes, AUTH failures are budgeted per
client address, authenticated senders may only use their own addresses."""

import shutil
import time

from conftest import DEFAULT_USERS, plain_auth, wait_until

ALICE = "alice@local.test"
ALICE_PW = DEFAULT_USERS[ALICE]


def rcpt_reply(srv, rcpt, source=None):
    with srv.connect("mx", source=source) as c:
        c.ehlo()
        c.expect("MAIL FROM:<sender@remote.example>", 250, "2.1.0")
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        c.quit()
        return r


def auth_reply(srv, user, password, source=None):
    with srv.connect("smtps", source=source) as c:
        c.ehlo()
        r = c.cmd(f"AUTH PLAIN {plain_auth(user, password)}", timeout=15)
        c.close()
        return r


# ------------------------------------------------------------- defect 1d

def test_1d_unreadable_user_db_gives_451_not_550(volley_factory):
    """Defect 1d: a real user must never get a permanent 550 5.1.1 because
    the users database cannot be read; RCPT answers 451 4.3.0 and AUTH
    454 4.7.0, and mail flows again once the database is readable."""
    srv = volley_factory()
    assert rcpt_reply(srv, ALICE).code == 250
    srv.stop()
    db = srv.data_dir / "users.db"
    good = srv.workdir / "users.db.good"
    shutil.copyfile(db, good)
    for suffix in ("-wal", "-shm"):
        (srv.data_dir / ("users.db" + suffix)).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database\0" * 512)

    srv.start()
    r = rcpt_reply(srv, ALICE)
    assert (r.code, r.enhanced) == (451, "4.3.0"), str(r)
    r = auth_reply(srv, ALICE, ALICE_PW)
    assert (r.code, r.enhanced) == (454, "4.7.0"), str(r)
    assert "Temporary authentication failure" in r.text
    r = rcpt_reply(srv, "postmaster@local.test")
    assert r.code == 250, f"postmaster must work without the user store: {r}"
    assert srv.events("users.refresh_failed")

    shutil.copyfile(good, db)  # the database is readable again
    wait_until(lambda: rcpt_reply(srv, ALICE).code == 250, 5, interval=0.2, what="RCPT to work again")
    assert auth_reply(srv, ALICE, ALICE_PW).code == 235
    assert rcpt_reply(srv, "nobody@local.test").code == 550


def test_1d_broken_db_while_running_keeps_last_snapshot(volley_factory):
    srv = volley_factory()
    db = srv.data_dir / "users.db"
    db.write_bytes(b"garbage" * 4096)
    time.sleep(1.5)  # a refresh or two
    r = rcpt_reply(srv, ALICE)
    assert r.code == 250, f"the last good user snapshot must keep serving: {r}"
    assert auth_reply(srv, ALICE, ALICE_PW).code == 235


def test_1d_cli_changes_seen_within_two_seconds(volley_factory):
    """Users are served from memory, refreshed when the database changes."""
    srv = volley_factory()
    assert rcpt_reply(srv, "newbie@local.test").code == 550
    t0 = time.monotonic()
    srv.user_add("newbie@local.test", "newbie-Secret-9")
    wait_until(lambda: rcpt_reply(srv, "newbie@local.test").code == 250, 3, interval=0.1,
               what="a user added by the CLI to receive mail")
    assert auth_reply(srv, "newbie@local.test", "newbie-Secret-9").code == 235
    assert time.monotonic() - t0 < 3
    srv.user_del("newbie@local.test")
    wait_until(lambda: rcpt_reply(srv, "newbie@local.test").code == 550, 3, interval=0.1,
               what="a deleted user to be refused")


# ------------------------------------------- 1f: user names are mailboxes

BAD_USER_NAMES = [
    ("a/b@local.test", "'/'"),
    ("../x@local.test", "invalid"),
    (".hidden@local.test", "invalid"),
    ("x@local.test/../..", "invalid"),
    ("x@remote.example", "not a local domain"),
    ("a" * 65 + "@local.test", "64"),
    ('"a b"@local.test', "dot-atom"),
]


def test_1f_user_add_refuses_names_no_mailbox_can_have(volley_factory):
    srv = volley_factory(start=False)
    for name, reason in BAD_USER_NAMES:
        r = srv.cli("user", "add", name, stdin="pw-Secret-1\n")
        assert r.returncode != 0, f"{name!r} was accepted: {r.stdout}"
        err = r.stderr.strip()
        assert "\n" not in err and err.startswith("volley: user add: "), err
        assert reason in err, f"{name!r}: {err}"
    r = srv.cli("user", "list")
    assert r.returncode == 0 and r.stdout == "", f"nothing may have been stored: {r.stdout!r}"
    r = srv.cli("user", "add", "Dot.Ted+Tag@LOCAL.test", stdin="pw-Secret-1\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "added dot.ted+tag@local.test"


def test_1f_rcpt_to_impossible_local_name_is_550_5_1_3(volley_factory):
    """Never 250-then-bounce: smtplib sees the refusal at RCPT."""
    import smtplib
    srv = volley_factory()
    with smtplib.SMTP("127.0.0.1", srv.port("mx"), timeout=10) as s:
        s.ehlo("client.test")
        assert s.mail("sender@remote.example")[0] == 250
        for rcpt in ("a/b@local.test", '"../x"@local.test', '".hidden"@local.test'):
            code, msg = s.rcpt(rcpt)
            assert code == 550 and msg.startswith(b"5.1.3"), (rcpt, code, msg)
        assert s.rcpt("alice@local.test")[0] == 250
    assert srv.spool_ids() == []


def test_1f_legacy_bad_name_in_db_is_no_user(volley_factory):
    """A name stored before names were checked can neither log in nor get mail."""
    import sqlite3
    srv = volley_factory(start=False)
    srv.start()
    srv.stop()
    db = sqlite3.connect(str(srv.data_dir / "users.db"))
    hash_ = db.execute("SELECT password_hash FROM users WHERE address='alice@local.test'").fetchone()[0]
    db.execute("INSERT INTO users(address, password_hash, quota_bytes, created_at) VALUES('a/b@local.test', ?, 0, 0)",
               (hash_,))
    db.commit()
    db.close()
    srv.start()
    r = auth_reply(srv, "a/b@local.test", ALICE_PW)
    assert r.code == 535, str(r)
    r = rcpt_reply(srv, "a/b@local.test")
    assert (r.code, r.enhanced) == (550, "5.1.3"), str(r)
    assert srv.events("users.invalid_name")
    r = srv.cli("user", "del", "a/b@local.test")
    assert r.returncode == 0, r.stderr


# ------------------------------------ 1f: AUTH failure budget per address

def guess_for(srv, seconds, connections=40, source="127.0.0.1"):
    """`connections` parallel clients from one address guess passwords for
    `seconds`; returns (password checks answered 535, refusals 454)."""
    import threading
    counts = {"535": 0, "454": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(n):
        i = 0
        while time.monotonic() < deadline:
            try:
                with srv.connect("smtps", source=source) as c:
                    c.ehlo()
                    while time.monotonic() < deadline:
                        i += 1
                        r = c.cmd(f"AUTH PLAIN {plain_auth(ALICE, f'guess-{n}-{i}')}", timeout=15)
                        with lock:
                            if r.code in (535, 454):
                                counts[str(r.code)] += 1
                        if r.code not in (535, 454) or not c.nothing_pending(0):
                            break  # 421: too many failures or errors on this connection
            except (OSError, AssertionError):
                pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts["535"], counts["454"]


def test_1f_auth_budget_bounds_guesses_across_parallel_connections(volley_factory):
    """40 parallel connections from one address: without a budget they make
    several guesses per second (3.9/s in the issue's probe with 1 s delays);
    with limits.max_auth_failures_per_ip = 10 per minute at most 10 passwords
    are ever checked in the window, i.e. <= 0.17 guesses/s sustained.
    Measured here (8 s, 40 connections, auth_failure_delay 200 ms, max 1 s):
    no budget 15.4 guesses/s; budget 10/min: 10 checks (1.25/s over the
    8 s, 0.17/s sustained), every other attempt 454 without a check.
    docs/benchmarks.md has the figures with the default delays."""
    limits = {"auth_failure_delay": "200ms", "auth_failure_max_delay": "1s", "max_connections_per_ip": 200}
    seconds = 8
    unbounded = volley_factory(limits=dict(limits, max_auth_failures_per_ip=0))
    checked_before, refused_before = guess_for(unbounded, seconds)
    assert refused_before == 0
    assert checked_before > 10 * 2, f"without a budget the probe should get far: {checked_before}"

    srv = volley_factory(limits=dict(limits, max_auth_failures_per_ip=10, auth_failures_per_ip_window="1m"))
    checked, refused = guess_for(srv, seconds)
    print(f"guesses/s without budget: {checked_before / seconds:.1f}, with budget: {checked / seconds:.2f}")
    assert checked <= 10, f"{checked} passwords checked, budget is 10"
    assert refused > 0
    # The right password from the throttled address is refused too (not checked) ...
    r = auth_reply(srv, ALICE, ALICE_PW)
    assert (r.code, r.enhanced) == (454, "4.7.0"), str(r)
    # ... while other addresses are unaffected.
    assert auth_reply(srv, ALICE, ALICE_PW, source="127.0.0.2").code == 235
    assert srv.events("smtp.auth") and any(e.get("result") == "rate_limited" for e in srv.events("smtp.auth"))


def test_1f_auth_budget_window_passes(volley_factory):
    srv = volley_factory(limits={"max_auth_failures_per_ip": 2, "auth_failures_per_ip_window": "2s"})
    for i in range(2):
        assert auth_reply(srv, ALICE, f"wrong{i}").code == 535
    assert auth_reply(srv, ALICE, ALICE_PW).code == 454
    time.sleep(2.2)
    assert auth_reply(srv, ALICE, ALICE_PW).code == 235


# --------------------------------------------- 1f: sender_login_match

def mail_from_after_auth(srv, sender, user=ALICE, password=ALICE_PW):
    c = srv.submission_client(user, password)
    r = c.cmd(f"MAIL FROM:<{sender}>")
    c.quit()
    return r


def test_1f_authenticated_sender_must_match_login_default_domain(volley):
    """After AUTH as alice, MAIL FROM:<ceo@bank.test> was accepted."""
    r = mail_from_after_auth(volley, "ceo@bank.test")
    assert (r.code, r.enhanced) == (553, "5.7.1"), str(r)
    assert mail_from_after_auth(volley, "").code == 250, "the null sender is allowed"
    assert mail_from_after_auth(volley, "newsletter@local.test").code == 250, "default: any address of her domain"
    assert mail_from_after_auth(volley, "carol@other.test").code == 553


def test_1f_sender_login_match_address_and_any(volley_factory):
    strict = volley_factory(extra_toml='[relay]\nsender_login_match = "address"\n',
                            aliases={"sales@other.test": ["alice@local.test"]})
    assert mail_from_after_auth(strict, "Alice@Local.Test").code == 250
    assert mail_from_after_auth(strict, "sales@other.test").code == 250, "an alias pointing to her"
    r = mail_from_after_auth(strict, "bob@local.test")
    assert (r.code, r.enhanced) == (553, "5.7.1"), str(r)
    anyone = volley_factory(extra_toml='[relay]\nsender_login_match = "any"\n')
    assert mail_from_after_auth(anyone, "ceo@bank.test").code == 250


def test_1f_sender_login_match_with_swaks(volley, tmp_path):
    from conftest import run_tool
    r = run_tool(["swaks", "--server", f"127.0.0.1:{volley.port('submission')}", "--tls",
                  "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", ALICE_PW,
                  "--from", "ceo@bank.test", "--to", "bob@local.test", "--ehlo", "client.test"])
    out = r.stdout.decode(errors="replace")
    assert "553 5.7.1" in out, out
    assert volley.spool_ids() == []


# -------------------------------- 1f: one normalisation of user names

def test_1f_non_ascii_local_parts_normalised_alike(volley_factory):
    """ASCII letters are lowercased in local part and domain, UTF-8 bytes are
    left as they are (Postfix/Dovecot default): the CLI, AUTH and RCPT agree."""
    srv = volley_factory(aliases={"team@local.test": ["Alice@Local.Test"]})
    r = srv.cli("user", "add", "JOSÉ@LOCAL.test", stdin="jose-Secret-1\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "added josÉ@local.test"
    with srv.connect("mx") as c:
        c.ehlo()
        c.expect("MAIL FROM:<s@remote.example> SMTPUTF8", 250)
        for rcpt, code in (("JOSÉ@LOCAL.TEST", 250), ("josÉ@local.test", 250), ("team@local.test", 250),
                           ("josé@local.test", 550)):
            r = c.cmd(f"RCPT TO:<{rcpt}>".encode())
            assert r.code == code, (rcpt, str(r))
        c.expect("DATA", 354)
        c.send(b"Subject: team\r\n\r\nx\r\n.\r\n")
        assert c.read_reply().code == 250
        c.quit()
    assert auth_reply(srv, "JOSÉ@local.TEST", "jose-Secret-1").code == 235
    m = srv.spool_messages()[-1]
    assert "alice@local.test" in m.rcpt_addresses, "a local alias target takes the users' normalisation"
