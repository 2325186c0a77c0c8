"""`volley doctor DOMAIN` end to end: the real binary against a private DNS
server (python3-dnslib, peers.DnsServer taught TXT and PTR here) serving a
good zone — SPF with the sending address 127.0.0.5, the DKIM record
`volley dkim keygen` printed, DMARC, PTR 127.0.0.5 -> server.hostname and
back, MX, and an MTA-STS record whose policy a private HTTPS server serves
with a test certificate (SSL_CERT_FILE) — and broken variants of it, each
failing with the right line and fix; exit codes 0 / 1 / 2; --json.
"""
from __future__ import annotations

import http.server
import json
import re
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from dnslib import PTR, QTYPE, RR, TXT

import peers
from conftest import VOLLEY_BIN

DOMAIN = "example.com"
HOSTNAME = "mail.example.com"
ADDRESS = "127.0.0.5"
REVERSE = "5.0.0.127.in-addr.arpa"
POLICY = b"version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n"
LINE_RE = re.compile(r"^(PASS|FAIL|INFO)  ([^:]+): (.*)$")


class AuthDnsServer(peers.DnsServer):
    """peers.DnsServer plus TXT (a list of records, each a string) and PTR."""

    def _answer(self, request, handler):
        qtype = QTYPE.get(request.q.qtype, str(request.q.qtype))
        if qtype not in ("TXT", "PTR"):
            return super()._answer(request, handler)
        name = self._key(str(request.q.qname))
        with self._lock:
            self._queries.append(peers.DnsQuery(name, qtype, handler.protocol, tuple(handler.client_address[:2]),
                                                time.monotonic()))
            entry = self._zone.get(name)
            if isinstance(entry, dict):
                entry = entry.get(qtype, [])
        reply = request.reply()
        if entry is None:
            entry = peers.NXDOMAIN
        if isinstance(entry, str):
            if entry == peers.DROP:
                raise peers._DropQuery(f"dropping {qtype} {name}")
            reply.header.rcode = getattr(peers.RCODE, entry)
            return reply
        for value in entry:
            if qtype == "TXT":
                data = value.encode()
                chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=self.ttl))
            else:
                reply.add_answer(RR(request.q.qname, QTYPE.PTR, rdata=PTR(value), ttl=self.ttl))
        return reply


class PolicyServer:
    """HTTPS on 127.0.0.1 serving /.well-known/mta-sts.txt with a certificate
    for mta-sts.example.com (trusted through SSL_CERT_FILE)."""

    def __init__(self, directory: Path):
        self.cert, self.key = peers.make_self_signed_cert(directory, cn=f"mta-sts.{DOMAIN}")
        self.body = POLICY
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def keygen(tmp: Path, selector: str, name: str) -> Tuple[Path, str]:
    """The real `volley dkim keygen`; returns the key and the record text its
    zone line publishes (quoted strings joined)."""
    out = tmp / f"{name}.pem"
    run = subprocess.run([VOLLEY_BIN, "dkim", "keygen", "--domain", DOMAIN, "--selector", selector,
                          "--algorithm", "ed25519", "--out", str(out)], capture_output=True, timeout=60, text=True)
    assert run.returncode == 0, run.stderr
    line = run.stdout.strip()
    assert line.startswith(f"{selector}._domainkey.{DOMAIN}. IN TXT "), line
    return out, "".join(re.findall(r'"([^"]*)"', line))


class Doctor:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.key, self.record = keygen(tmp, "s1", "s1")
        self.other_key, self.other_record = keygen(tmp, "s1", "other")
        self.dns = AuthDnsServer().start()
        self.https = PolicyServer(tmp / "tls")
        self.good_zone()
        self.config = tmp / "volley.toml"
        self.config.write_text(f"""
[server]
hostname = "{HOSTNAME}"
data_dir = "{tmp / 'data'}"

[[listener]]
address = "127.0.0.1:2525"
protocol = "smtp"
role = "mx"

[delivery]
resolver = "{self.dns.address}"
dns_timeout = "1s"

[[dkim]]
domain = "{DOMAIN}"
selector = "s1"
key = "{self.key}"
algorithm = "ed25519-sha256"
""")

    def good_zone(self):
        d = self.dns
        d.set(DOMAIN, {"TXT": ["google-site-verification=abc", f"v=spf1 ip4:{ADDRESS} -all"],
                       "MX": [(10, HOSTNAME)]})
        d.set(f"s1._domainkey.{DOMAIN}", {"TXT": [self.record]})
        d.set(f"_dmarc.{DOMAIN}", {"TXT": ["v=DMARC1; p=none"]})
        d.set(REVERSE, {"PTR": [HOSTNAME]})
        d.set(HOSTNAME, {"A": [ADDRESS]})
        d.set(f"_mta-sts.{DOMAIN}", {"TXT": ["v=STSv1; id=20250101T000000"]})
        d.set(f"mta-sts.{DOMAIN}", {"A": ["127.0.0.1"]})

    def run(self, *args: str, json_out: bool = False, timeout: float = 60, trust_policy_server: bool = True):
        cmd = [VOLLEY_BIN, "doctor", DOMAIN, "--config", str(self.config), "--address", ADDRESS,
               "--mta-sts-port", str(self.https.port), *args]
        if json_out:
            cmd.append("--json")
        env = {"PATH": "/usr/bin:/bin"}
        if trust_policy_server:
            env["SSL_CERT_FILE"] = self.https.cert
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)

    def lines(self, *args: str) -> Tuple[int, Dict[str, Tuple[str, str, str]], str]:
        """Exit code, {name: (status, detail, fix)} over checks and rules, stdout."""
        run = self.run(*args)
        assert run.returncode in (0, 1), (run.returncode, run.stdout, run.stderr)
        out: Dict[str, Tuple[str, str, str]] = {}
        last = None
        for line in run.stdout.splitlines():
            m = LINE_RE.match(line)
            if m:
                last = m.group(2)
                out[last] = (m.group(1), m.group(3), "")
            elif line.startswith("      fix: ") and last:
                out[last] = (out[last][0], out[last][1], line[len("      fix: "):])
        return run.returncode, out, run.stdout

    def stop(self):
        self.dns.stop()
        self.https.stop()


@pytest.fixture
def doctor(tmp_path):
    d = Doctor(tmp_path)
    yield d
    d.stop()


CHECKS = ["spf record", f"spf {ADDRESS}", f"dkim s1._domainkey.{DOMAIN}", "dmarc record", "dmarc alignment",
          f"reverse dns {ADDRESS}", "mx", "mta-sts record", "mta-sts policy"]


def failing(lines: Dict[str, Tuple[str, str, str]]) -> List[str]:
    return sorted(name for name, (status, _, _) in lines.items() if status == "FAIL")


def test_good_zone_passes_every_line(doctor):
    code, lines, text = doctor.lines()
    assert code == 0, text
    for name in CHECKS:
        assert lines[name][0] == "PASS", (name, lines[name])
    assert failing(lines) == [], text
    rules = {n: v for n, v in lines.items() if n not in CHECKS}
    assert len(rules) == 8, text
    assert [n for n, v in rules.items() if v[0] == "INFO"] == [
        "One-click unsubscribe, RFC 8058 (Gmail, Yahoo, Microsoft; bulk and marketing mail)",
        "Spam complaint rate under 0.3% (Gmail, Yahoo)"], text
    assert "overall: PASS" in text
    assert f"sending addresses (--address): {ADDRESS}" in text
    assert f"{ADDRESS} -> {HOSTNAME} -> {ADDRESS}" in lines[f"reverse dns {ADDRESS}"][1]
    assert "mode enforce" in lines["mta-sts policy"][1]
    # Every lookup went to our server.
    assert doctor.dns.queries_for(f"_dmarc.{DOMAIN}", "TXT")
    assert doctor.dns.queries_for(REVERSE, "PTR")


def test_json_matches_the_text(doctor):
    run = doctor.run(json_out=True)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["domain"] == DOMAIN
    assert report["overall"] == "pass"
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert all(c["status"] == "pass" and c["fix"] == "" for c in report["checks"])
    assert {r["status"] for r in report["rules"]} == {"pass", "info"}
    _, lines, _ = doctor.lines()
    for c in report["checks"] + report["rules"]:
        assert lines[c["name"]][1] == c["detail"]

    doctor.dns.set_records(f"_dmarc.{DOMAIN}", "TXT", [])
    run = doctor.run(json_out=True)
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["overall"] == "fail"
    dmarc = next(c for c in report["checks"] if c["name"] == "dmarc record")
    assert dmarc["status"] == "fail"
    assert dmarc["fix"].startswith(f'publish _dmarc.{DOMAIN}. IN TXT "v=DMARC1; p=none"')


BROKEN = {
    # name: (how the zone breaks, failing checks, text in the first one's detail, text in its fix)
    "spf_misses_the_address": (lambda d: d.dns.set_records(DOMAIN, "TXT", ["v=spf1 ip4:127.0.0.9 -all"]),
                               [f"spf {ADDRESS}"], "gets SPF fail",
                               f'publish {DOMAIN}. IN TXT "v=spf1 ip4:127.0.0.9 ip4:{ADDRESS} -all"'),
    "dkim_record_of_another_key": (lambda d: d.dns.set_records(f"s1._domainkey.{DOMAIN}", "TXT", [d.other_record]),
                                   [f"dkim s1._domainkey.{DOMAIN}"], "is not the public half of", "RECORD"),
    "no_dmarc": (lambda d: d.dns.remove(f"_dmarc.{DOMAIN}"),
                 ["dmarc alignment", "dmarc record"], "no usable DMARC record",
                 f'publish _dmarc.{DOMAIN}. IN TXT "v=DMARC1; p=none"'),
    "ptr_mismatch": (lambda d: (d.dns.set(REVERSE, {"PTR": ["host.provider.test"]}),
                                d.dns.set("host.provider.test", {"A": [ADDRESS]})),
                     [f"reverse dns {ADDRESS}"], f'server.hostname (Volley\'s EHLO name) is "{HOSTNAME}"',
                     'set server.hostname = "host.provider.test"'),
    "ptr_not_confirmed": (lambda d: d.dns.set(HOSTNAME, {"A": ["127.0.0.6"]}),
                          [f"reverse dns {ADDRESS}"], "does not resolve back", f"publish {HOSTNAME}. IN A {ADDRESS}"),
    "malformed_mta_sts_record": (lambda d: d.dns.set_records(f"_mta-sts.{DOMAIN}", "TXT", ["v=STSv1; id=no good!"]),
                                 ["mta-sts record"], "does not parse", f'_mta-sts.{DOMAIN}. IN TXT "v=STSv1; id='),
    "mta_sts_policy_misses_the_mx": (lambda d: setattr(d.https, "body", POLICY.replace(b"mail.", b"mx9.")),
                                     ["mta-sts policy"], "matches no mx: line", f"add mx: {HOSTNAME}"),
    "dmarc_servfail": (lambda d: d.dns.set_records(f"_dmarc.{DOMAIN}", "TXT", peers.SERVFAIL),
                       ["dmarc alignment", "dmarc record"], "no usable DMARC record", ""),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_zone_fails_the_right_line_with_its_fix(doctor, case):
    breaks, expected, detail, fix = BROKEN[case]
    breaks(doctor)
    code, lines, text = doctor.lines()
    assert code == 1, text
    assert [n for n in failing(lines) if n in CHECKS] == sorted(expected), text
    first = lines[expected[0]]
    assert detail in first[1], text
    if fix == "RECORD":  # the fix publishes the configured key's record, not the one in DNS
        assert doctor.record in first[2].replace('" "', ""), text
    else:
        assert fix in first[2], text
    assert "overall: FAIL" in text


def test_untrusted_policy_certificate_fails_the_policy_check(doctor):
    # Without SSL_CERT_FILE the test certificate is not trusted: the policy
    # must not be taken from a server that cannot prove it is mta-sts.DOMAIN.
    run = doctor.run(json_out=True, trust_policy_server=False)
    assert run.returncode == 1, run.stdout
    checks = {c["name"]: c for c in json.loads(run.stdout)["checks"]}
    assert checks["mta-sts record"]["status"] == "pass"
    policy = checks["mta-sts policy"]
    assert policy["status"] == "fail"
    assert policy["detail"].startswith(f"cannot fetch https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt: "), policy
    assert "certificate" in policy["detail"], policy
    assert f"certificate valid for mta-sts.{DOMAIN}" in policy["fix"]


def test_dns_errors_fail_as_temporary_never_pass(doctor):
    doctor.dns.set_records(f"_dmarc.{DOMAIN}", "TXT", peers.SERVFAIL)
    doctor.dns.set_records(DOMAIN, "TXT", peers.DROP)  # SPF: no answer at all
    start = time.monotonic()
    code, lines, text = doctor.lines()
    took = time.monotonic() - start
    assert code == 1, text
    assert lines["dmarc record"][0] == "FAIL" and "temporary DNS error" in lines["dmarc record"][1], text
    assert lines["spf record"][0] == "FAIL" and "temporary DNS error" in lines["spf record"][1], text
    assert took < 15, took  # dns_timeout = 1s per lookup


def test_no_sending_address_and_no_dkim_entry(doctor):
    doctor.config.write_text(doctor.config.read_text().split("[[dkim]]")[0])
    run = subprocess.run([VOLLEY_BIN, "doctor", DOMAIN, "--config", str(doctor.config), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["dkim"]["status"] == "fail"
    assert checks["dkim"]["fix"].startswith(f"volley dkim keygen --domain {DOMAIN} --selector")
    # Loopback-only machine: the outbound address is unknown (said so), or
    # the kernel's choice is checked (and fails: the zone does not name it).
    if "sending addresses" in checks:
        assert "unknown" in checks["sending addresses"]["detail"]
        assert "--address" in checks["sending addresses"]["fix"]
    else:
        assert any(n.startswith("spf ") and n != "spf record" for n in checks), checks


@pytest.mark.parametrize("args,reason", [
    (["doctor", "not a domain"], "bad DOMAIN"),
    (["doctor", DOMAIN, "--address", "999.1.1.1"], "is not an IP address"),
    (["doctor", DOMAIN, "--config", "/nonexistent/volley.toml"], "volley: doctor:"),
    (["doctor"], "domain is required"),
])
def test_usage_errors_exit_2(doctor, args, reason):
    run = subprocess.run([VOLLEY_BIN, *args], capture_output=True, text=True, timeout=60, cwd=doctor.tmp)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert reason in run.stderr, run.stderr
