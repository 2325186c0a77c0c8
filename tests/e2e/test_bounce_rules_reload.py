"""SIGHUP re-reads api.bounce_rules with the configuration: a rule added to
the file decides the next bounce without a restart, and a file that no
longer loads keeps the running rules (and says why in the log)."""

from __future__ import annotations

from test_api import RCPT, SENDER, events, send, wait_state, world_with_rules


def test_sighup_reloads_the_bounce_rules(mail_world):
    peer, srv, rules = world_with_rules(mail_world, '[[rule]]\ntext = "no such rule text anywhere"\nclass = "hard"\n')
    srv.start()
    peer.reject_rcpt(RCPT, "552 5.2.2 mailbox full")
    peer.reject_rcpt("carol@example.net", "552 5.2.2 mailbox full")

    status, _, first = send(srv, {"from": SENDER, "to": [RCPT], "subject": "s", "text": "x"})
    assert status == 202, first
    wait_state(srv, first["id"], RCPT, "bounced")
    (bounced,) = events(srv, type="bounced")["events"]
    assert bounced["detail"]["class"] == "quota", bounced  # the built-in rule

    rules.write_text('[[rule]]\ntext = "mailbox full"\nclass = "hard"\n')
    assert srv.reload() == "config.reloaded"
    status, _, second = send(srv, {"from": SENDER, "to": ["carol@example.net"], "subject": "s", "text": "x"})
    assert status == 202, second
    wait_state(srv, second["id"], "carol@example.net", "bounced")
    later = [e for e in events(srv, type="bounced")["events"] if e["recipient"] == "carol@example.net"]
    assert later[0]["detail"]["class"] == "hard" and later[0]["detail"]["rule"] == f"{rules}:1", later

    # A broken file: the running rules stay, the log says why.
    rules.write_text('[[rule]]\ntext = "x"\nclass = "gone"\n')
    srv.reload()
    failed = [e for e in srv.events("config.reload_failed") if "bounce rules" in e.get("action", "")]
    assert failed and f"{rules}:" in failed[0]["reason"], srv.events("config.reload_failed")
