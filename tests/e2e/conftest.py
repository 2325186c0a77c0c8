"""End-to-end test harness for Volley.

Starts the real `volley` binary (env VOLLEY_BIN, default
build/release/volley) with a generated TOML config in a temporary data
directory on free loopback ports, and drives it with real clients.

Run with Debian's Python:
    VOLLEY_BIN=... /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
"""

from __future__ import annotations

import base64
import email
import email.message
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

import pytest

import peers  # noqa: E402  (tests/e2e is on sys.path)
import queue_log  # noqa: E402  (tests/e2e is on sys.path)

REPO_ROOT = Path(__file__).resolve().parents[2]
VOLLEY_BIN = os.path.abspath(os.environ.get("VOLLEY_BIN") or str(REPO_ROOT / "build" / "release" / "volley"))

HOSTNAME = "mx.test.local"
LOCAL_DOMAINS = ("local.test", "other.test")
# Users created in every server's data dir (address -> password).
DEFAULT_USERS = {
    "alice@local.test": "alice-Secret-1",
    "bob@local.test": "bob-Secret-2",
    "carol@other.test": "carol-Secret-3",
}
QUEUED_RE = re.compile(r"^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)\s*$")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.02, what: str = "condition"):
    """Polls `predicate` until it returns a truthy value; returns it, or fails."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON string syntax is valid TOML basic string syntax
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot encode {v!r}")


def b64(s: Union[str, bytes]) -> str:
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def plain_auth(user: str, password: str, authzid: str = "") -> str:
    return b64(f"{authzid}\0{user}\0{password}")


def strip_received(content: bytes) -> bytes:
    """Returns the message content after the first (server-added) Received header."""
    assert content.startswith(b"Received: "), content[:200]
    pos = content.index(b"\r\n") + 2
    while content[pos:pos + 1] in (b" ", b"\t"):
        pos = content.index(b"\r\n", pos) + 2
    return content[pos:]


def header_block(content: bytes) -> bytes:
    end = content.find(b"\r\n\r\n")
    return content if end < 0 else content[:end + 2]


def count_header(content: bytes, name: str) -> int:
    pat = re.compile(rb"^" + re.escape(name.encode()) + rb":", re.I | re.M)
    return len(pat.findall(header_block(content)))


def parse_kv_line(line: str) -> Dict[str, str]:
    out = {}
    for m in re.finditer(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)', line):
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out[m.group(1)] = v
    return out


# --------------------------------------------------------------------------
# spool
# --------------------------------------------------------------------------

def spool_unescape(v: str) -> str:
    if v == "%":
        return ""
    raw = bytearray()
    i = 0
    b = v.encode("latin-1")
    while i < len(b):
        if b[i:i + 1] == b"%":
            raw.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            raw.append(b[i])
            i += 1
    return raw.decode("utf-8", "surrogateescape")


@dataclass
class SpoolRcpt:
    address: str
    original: str
    notify: int
    orcpt_type: str
    orcpt_address: str
    state: str


@dataclass
class SpoolMessage:
    id: str
    raw_envelope: bytes
    fields: Dict[str, str]
    rcpts: List[SpoolRcpt]
    content: bytes

    @property
    def sender(self) -> str:
        return self.fields["sender"]

    @property
    def rcpt_addresses(self) -> List[str]:
        return [r.address for r in self.rcpts]

    @property
    def body(self) -> bytes:
        """Content without the Received header the server prepended."""
        return strip_received(self.content)

    @property
    def received(self) -> bytes:
        c = self.content
        return c[: len(c) - len(strip_received(c))]


def parse_envelope(mid: str, head_bytes: bytes, content: bytes) -> SpoolMessage:
    head = head_bytes.decode("latin-1")
    fields: Dict[str, str] = {}
    rcpts: List[SpoolRcpt] = []
    for line in head.split("\n"):
        if not line:
            continue
        key, _, rest = line.partition(" ")
        if key == "rcpt":
            parts = rest.split(" ")
            assert len(parts) == 6, f"{mid}: bad rcpt line {line!r}"
            rcpts.append(SpoolRcpt(spool_unescape(parts[0]), spool_unescape(parts[1]), int(parts[2]),
                                   spool_unescape(parts[3]), spool_unescape(parts[4]), parts[5]))
        else:
            fields[key] = spool_unescape(rest)
    assert fields.get("id") == mid, f"{mid}: id field {fields.get('id')!r}"
    return SpoolMessage(mid, head_bytes, fields, rcpts, content)


# --------------------------------------------------------------------------
# SMTP client (raw socket, optional TLS)
# --------------------------------------------------------------------------

class ConnectionClosed(Exception):
    pass


@dataclass
class Reply:
    code: int
    lines: List[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def enhanced(self) -> str:
        first = self.lines[0] if self.lines else ""
        m = re.match(r"(\d\.\d{1,3}\.\d{1,3})\b", first)
        return m.group(1) if m else ""

    @property
    def queue_id(self) -> str:
        m = re.search(r"queued as ([0-9A-Z]+)", self.text)
        return m.group(1) if m else ""

    def __str__(self) -> str:
        return " | ".join(f"{self.code} {l}" for l in self.lines)


def client_tls_context(cafile: Optional[str] = None, min_version=None, max_version=None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.check_hostname = False  # we connect by IP; the chain is still verified
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


class SMTPClient:
    """A deliberately dumb SMTP client: sends exactly the bytes it is told."""

    def __init__(self, port: int, host: str = "127.0.0.1", source: Optional[str] = None, timeout: float = 10.0,
                 implicit_tls: bool = False, cafile: Optional[str] = None, greet: bool = True):
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buf = b""
        self.tls = False
        if implicit_tls:
            self.wrap_tls(cafile=cafile)
        self.greeting: Optional[Reply] = None
        if greet:
            self.greeting = self.read_reply()

    # -- plumbing ----------------------------------------------------------
    def wrap_tls(self, cafile: Optional[str] = None, context: Optional[ssl.SSLContext] = None):
        assert self.buf == b"", f"unread clear-text bytes before TLS: {self.buf!r}"
        ctx = context or client_tls_context(cafile)
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.tls = True

    def _recv(self, timeout: Optional[float] = None) -> bytes:
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            data = b""
        if not data:
            raise ConnectionClosed(f"connection closed by server (unparsed: {self.buf!r})")
        return data

    def send(self, data: Union[str, bytes]):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def read_line(self, timeout: Optional[float] = None) -> bytes:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"no complete line (have {self.buf[:200]!r})")
            self.buf += self._recv(left)
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def read_reply(self, timeout: Optional[float] = None) -> Reply:
        lines: List[str] = []
        code = None
        while True:
            raw = self.read_line(timeout).decode("utf-8", "replace")
            m = re.match(r"^(\d{3})([ -])(.*)$", raw) or re.match(r"^(\d{3})()()$", raw)
            assert m, f"malformed reply line {raw!r}"
            if code is None:
                code = int(m.group(1))
            assert int(m.group(1)) == code, f"reply code changed within a multi-line reply: {raw!r}"
            lines.append(m.group(3))
            if m.group(2) != "-":
                return Reply(code, lines)

    def read_replies(self, n: int, timeout: Optional[float] = None) -> List[Reply]:
        return [self.read_reply(timeout) for _ in range(n)]

    def cmd(self, line: Union[str, bytes], timeout: Optional[float] = None) -> Reply:
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        return self.read_reply(timeout)

    def expect(self, line: Union[str, bytes], code: int, enhanced: Optional[str] = None) -> Reply:
        r = self.cmd(line)
        assert r.code == code, f"{line!r}: expected {code}, got {r}"
        if enhanced is not None:
            assert r.enhanced == enhanced, f"{line!r}: expected {code} {enhanced}, got {r}"
        return r

    def wait_closed(self, timeout: float = 5.0) -> bytes:
        """Reads until the server closes; returns whatever arrived. Fails on timeout."""
        deadline = time.monotonic() + timeout
        got = self.buf
        self.buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"server did not close the connection within {timeout}s (got {got!r})")
            try:
                self.buf = b""
                got += self._recv(left)
            except ConnectionClosed:
                return got
            except socket.timeout:
                continue

    def nothing_pending(self, wait: float = 0.3) -> bool:
        """True if no bytes arrive within `wait` seconds (and none are buffered)."""
        if self.buf:
            return False
        if self.tls and self.sock.pending():
            return False
        r, _, _ = select.select([self.sock], [], [], wait)
        if not r:
            return True
        try:
            self.buf += self._recv(0.5)
        except (ConnectionClosed, socket.timeout, ssl.SSLWantReadError):
            return not self.buf
        return not self.buf

    # -- SMTP conveniences -------------------------------------------------
    def ehlo(self, name: str = "client.test") -> Reply:
        return self.expect(f"EHLO {name}", 250)

    def starttls(self, cafile: Optional[str] = None, context: Optional[ssl.SSLContext] = None):
        self.expect("STARTTLS", 220)
        self.wrap_tls(cafile=cafile, context=context)

    def login(self, user: str, password: str):
        self.expect(f"AUTH PLAIN {plain_auth(user, password)}", 235, "2.7.0")

    def send_message(self, sender: str, rcpts: Sequence[str], data: bytes,
                     mail_params: str = "", rcpt_params: str = "") -> Reply:
        """MAIL/RCPT/DATA; `data` is sent as-is, then CRLF.CRLF. Returns the final reply."""
        self.expect(f"MAIL FROM:<{sender}>{(' ' + mail_params) if mail_params else ''}", 250, "2.1.0")
        for r in rcpts:
            self.expect(f"RCPT TO:<{r}>{(' ' + rcpt_params) if rcpt_params else ''}", 250, "2.1.5")
        self.expect("DATA", 354)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        self.send(data + b".\r\n")
        return self.read_reply()

    def quit(self):
        try:
            self.send(b"QUIT\r\n")
            self.read_reply(timeout=3)
        except (OSError, ConnectionClosed, socket.timeout):
            pass
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def dot_stuff(data: bytes) -> bytes:
    out = []
    for line in data.split(b"\r\n"):
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out)


# --------------------------------------------------------------------------
# the server under test
# --------------------------------------------------------------------------

def default_listeners() -> List[dict]:
    return [
        {"name": "mx", "protocol": "smtp", "role": "mx", "tls": "starttls"},
        {"name": "submission", "protocol": "smtp", "role": "submission", "tls": "starttls",
         "require_tls_for_auth": True},
        {"name": "smtps", "protocol": "smtp", "role": "submission", "tls": "implicit"},
    ]


class VolleyServer:
    def __init__(self, workdir: Path, *, listeners: Optional[List[dict]] = None, limits: Optional[dict] = None,
                 server: Optional[dict] = None, log: Optional[dict] = None, tls: Optional[dict] = None,
                 local_domains: Sequence[str] = LOCAL_DOMAINS, aliases: Optional[Dict[str, List[str]]] = None,
                 relay_networks: Optional[List[str]] = None, users: Optional[Dict[str, str]] = None,
                 extra_toml: str = ""):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = workdir / "data"
        self.config_path = workdir / "volley.toml"
        self.log_path = workdir / "volley.log"
        self.listeners = [dict(l) for l in (listeners if listeners is not None else default_listeners())]
        taken = {l["address"] for l in self.listeners if "address" in l}
        for l in self.listeners:
            if "address" not in l:
                # free_port() can hand out the same just-closed port twice:
                # never give two listeners one address.
                addr = f"127.0.0.1:{free_port()}"
                while addr in taken:
                    addr = f"127.0.0.1:{free_port()}"
                taken.add(addr)
                l["address"] = addr
        base_limits = {
            # Fast-failing defaults for tests; individual tests override.
            "auth_failure_delay": "10ms",
            "auth_failure_max_delay": "50ms",
            "command_timeout": "30s",
            "data_timeout": "30s",
        }
        base_limits.update(limits or {})
        self.limits = base_limits
        self.server_section = {"hostname": HOSTNAME, "data_dir": str(self.data_dir), "shutdown_timeout": "10s"}
        self.server_section.update(server or {})
        self.data_dir = Path(self.server_section["data_dir"])
        self.log_section = log or {}
        self.tls_section = tls or {}
        self.local_domains = list(local_domains)
        self.aliases = dict(aliases or {})
        self.relay_networks = relay_networks
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.extra_toml = extra_toml
        self.proc: Optional[subprocess.Popen] = None
        self.expected_exit = False
        self._logf = None
        self.write_config()

    # -- config ------------------------------------------------------------
    def render_config(self) -> str:
        out = ["[server]"]
        out += [f"{k} = {toml_value(v)}" for k, v in self.server_section.items()]
        if self.log_section:
            out += ["", "[log]"] + [f"{k} = {toml_value(v)}" for k, v in self.log_section.items()]
        for l in self.listeners:
            out += ["", "[[listener]]"] + [f"{k} = {toml_value(v)}" for k, v in l.items()]
        if self.tls_section:
            out += ["", "[tls]"] + [f"{k} = {toml_value(v)}" for k, v in self.tls_section.items()]
        out += ["", "[limits]"] + [f"{k} = {toml_value(v)}" for k, v in self.limits.items()]
        out += ["", "[domains]", f"local = {toml_value(self.local_domains)}"]
        if self.aliases:
            out += ["", "[aliases]"] + [f"{toml_value(k)} = {toml_value(v)}" for k, v in self.aliases.items()]
        if self.relay_networks is not None:
            out += ["", "[relay]", f"allow_networks = {toml_value(self.relay_networks)}"]
        if "[delivery]" not in self.extra_toml:
            # Tests that do not configure delivery look at the queue itself:
            # keep what they send queued instead of delivering it.
            out += ["", "[delivery]", "enabled = false"]
        if "[inbound]" not in self.extra_toml:
            # Sender checks look up DNS; tests that are not about them must
            # not depend on (or send queries to) the system's resolver.
            out += ["", "[inbound]", "spf = false", "dkim_verify = false", 'dmarc = "off"']
        if self.extra_toml:
            out += ["", self.extra_toml]
        return "\n".join(out) + "\n"

    def write_config(self, text: Optional[str] = None):
        self.config_path.write_text(self.render_config() if text is None else text, encoding="utf-8")

    def port(self, name: str) -> int:
        for l in self.listeners:
            if l["name"] == name:
                return int(l["address"].rsplit(":", 1)[1])
        raise KeyError(name)

    @property
    def cert_path(self) -> Path:
        return Path(self.tls_section["cert"]) if self.tls_section.get("cert") else self.data_dir / "tls" / "cert.pem"

    # -- CLI ---------------------------------------------------------------
    def cli(self, *args: str, stdin: Optional[str] = None, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([VOLLEY_BIN, *args, "--config", str(self.config_path)], input=stdin,
                              capture_output=True, text=True, timeout=timeout, cwd=str(self.workdir))

    def user_add(self, address: str, password: str):
        r = self.cli("user", "add", address, stdin=password + "\n")
        assert r.returncode == 0, f"volley user add {address} failed ({r.returncode}): {r.stderr}"

    def user_del(self, address: str):
        r = self.cli("user", "del", address)
        assert r.returncode == 0, f"volley user del {address} failed ({r.returncode}): {r.stderr}"

    # -- process -----------------------------------------------------------
    def start(self, wait: bool = True):
        for address, password in self.users.items():
            self.user_add(address, password)
        self.users = {}
        self._starts_before = self.log().count("server.started")
        self.expected_exit = False
        self._logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([VOLLEY_BIN, "serve", "--config", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self._logf, stderr=self._logf,
                                     cwd=str(self.workdir))
        if wait:
            self.wait_started()
        return self

    def wait_started(self, timeout: float = 15.0):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"volley exited with {self.proc.returncode} during start-up:\n{self.log()}")
            return self.log().count("server.started") > self._starts_before
        wait_until(ready, timeout, what="volley to log server.started")

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self) -> List[str]:
        return [l for l in self.log().splitlines() if l.strip()]

    def events(self, event: str) -> List[Dict[str, str]]:
        """kv-format log lines of one event, parsed."""
        out = []
        for line in self.log_lines():
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if obj.get("event") == event:
                    out.append({k: str(v) for k, v in obj.items()})
                continue
            kv = parse_kv_line(line)
            if kv.get("event") == event:
                out.append(kv)
        return out

    def wait_event(self, event: str, count: int = 1, timeout: float = 10.0) -> List[Dict[str, str]]:
        return wait_until(lambda: (lambda e: e if len(e) >= count else None)(self.events(event)), timeout,
                          what=f"{count} log event(s) {event}")

    def signal(self, sig: int):
        assert self.proc is not None and self.proc.poll() is None, "server is not running"
        self.proc.send_signal(sig)

    def reload(self, timeout: float = 10.0) -> str:
        """SIGHUP; waits for config.reloaded or config.reload_failed; returns which."""
        before_ok = len(self.events("config.reloaded"))
        before_fail = len(self.events("config.reload_failed"))
        self.signal(signal.SIGHUP)

        def done():
            if len(self.events("config.reloaded")) > before_ok:
                return "config.reloaded"
            if len(self.events("config.reload_failed")) > before_fail:
                return "config.reload_failed"
            return None
        return wait_until(done, timeout, what="the reload to be logged")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        self.expected_exit = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"volley did not exit within {timeout}s of SIGTERM")

    def kill9(self):
        self.expected_exit = True
        self.proc.kill()
        self.proc.wait(10)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def shutdown(self):
        """Teardown: SIGTERM, then SIGKILL after 5 s. Only ever our own PID."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._logf:
            self._logf.close()
            self._logf = None

    # -- spool -------------------------------------------------------------
    @property
    def queue_dir(self) -> Path:
        return self.data_dir / "queue"

    def queue_scan(self) -> queue_log.LogScan:
        return queue_log.scan(self.queue_dir)

    def spool_ids(self) -> List[str]:
        return sorted(self.queue_scan().order)

    def spool_tmp_files(self) -> List[str]:
        """Anything on disk that is not a whole, valid record: a torn tail or
        a corrupt record, a body file no queued message refers to, a stored
        message with a bad body. Empty when the queue holds only acknowledged
        data."""
        sc = self.queue_scan()
        orphans = [b for b in sc.body_files if b[len("body-"):] not in sc.messages]
        return sc.torn_tail + sc.corrupt + sc.bad_bodies + orphans

    def spool(self, queue_id: str) -> SpoolMessage:
        sc = self.queue_scan()
        assert queue_id in sc.messages, f"no queued message for acknowledged id {queue_id}"
        env, content = sc.messages[queue_id]
        return parse_envelope(queue_id, env, content)

    def spool_messages(self) -> List[SpoolMessage]:
        sc = self.queue_scan()
        return [parse_envelope(i, *sc.messages[i]) for i in sorted(sc.order)]

    # -- clients -----------------------------------------------------------
    def connect(self, listener: str = "mx", **kw) -> SMTPClient:
        if listener == "smtps":
            kw.setdefault("implicit_tls", True)
        return SMTPClient(self.port(listener), **kw)

    def submission_client(self, user: str = "alice@local.test", password: Optional[str] = None) -> SMTPClient:
        """Connected to the STARTTLS submission listener, TLS up, authenticated."""
        c = self.connect("submission")
        c.ehlo()
        c.starttls()
        c.ehlo()
        c.login(user, password or DEFAULT_USERS[user])
        return c


@pytest.fixture(scope="session")
def volley_bin() -> str:
    if not (os.path.isfile(VOLLEY_BIN) and os.access(VOLLEY_BIN, os.X_OK)):
        pytest.fail(f"volley binary not found at {VOLLEY_BIN} (build it, or set VOLLEY_BIN)", pytrace=False)
    return VOLLEY_BIN


@pytest.fixture
def volley_factory(tmp_path, volley_bin):
    """volley_factory(**config) -> a started VolleyServer; all stopped at teardown."""
    servers: List[VolleyServer] = []

    def make(start: bool = True, name: Optional[str] = None, **kw) -> VolleyServer:
        srv = VolleyServer(tmp_path / (name or f"srv{len(servers)}"), **kw)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    crashed = []
    for srv in servers:
        if srv.proc is not None and srv.proc.poll() is not None and not srv.expected_exit:
            crashed.append(f"volley exited unexpectedly with {srv.proc.returncode}:\n{srv.log()[-4000:]}")
        srv.shutdown()
    if crashed:
        pytest.fail("\n".join(crashed), pytrace=False)


@pytest.fixture
def volley(volley_factory) -> VolleyServer:
    """A running server with the default configuration."""
    return volley_factory()


@pytest.fixture
def marker_path(tmp_path):
    """A path under /tmp whose appearance would show that a command ran."""
    p = Path("/tmp") / f"volley_pwned_{os.getpid()}_{time.monotonic_ns()}"
    yield p
    if p.exists():
        p.unlink()


def running_under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def end_process(proc: subprocess.Popen, timeout: float = 5.0):
    """Teardown of a process a test started: SIGTERM, then SIGKILL after
    `timeout`. Only ever that one PID."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def skip_unless_ci(reason: str) -> None:
    """A missing peer, tool or machine feature: a skip on a developer's machine,
    a failure under CI=true, where every test must run (a skip there would
    hide a test that never ran)."""
    if running_under_ci():
        pytest.fail(f"{reason} (CI=true: a missing tool or peer is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def run_tool(args: List[str], input: Optional[bytes] = None, timeout: float = 30) -> subprocess.CompletedProcess:
    exe = shutil.which(args[0])
    if exe is None:
        pytest.fail(f"required client {args[0]} is not installed", pytrace=False)
    return subprocess.run(args, input=input, capture_output=True, timeout=timeout)


def queue_id_from_text(text: str) -> str:
    m = re.search(r"250 2\.0\.0 Ok: queued as ([0-9A-Z]+)", text)
    assert m, f"no 'queued as' reply in:\n{text}"
    return m.group(1)


# --------------------------------------------------------------------------
# outbound delivery: DNS, SMTP peers and a Volley that delivers to them
# (peers are in peers.py; tests in test_peers.py and test_delivery*.py)
# --------------------------------------------------------------------------

# MX hosts share one port and differ by address.
PEER_IPS = [f"127.0.0.{i}" for i in range(2, 10)] + (["::1"] if peers.ipv6_loopback_available() else [])


@pytest.fixture(scope="session")
def peer_cert(tmp_path_factory):
    """(cert.pem, key.pem), self-signed, for peers that offer STARTTLS."""
    return peers.make_self_signed_cert(tmp_path_factory.mktemp("peer-cert"), "peer.test")


@pytest.fixture
def dns_server():
    with peers.DnsServer() as d:
        yield d


@pytest.fixture
def smtp_peer_factory(peer_cert):
    """smtp_peer_factory(ip, port=0, **behaviour) -> a started peers.SmtpPeer."""
    started: List[peers.SmtpPeer] = []

    def make(ip: str = "127.0.0.2", port: int = 0, **kw) -> peers.SmtpPeer:
        if kw.get("starttls") or kw.get("require_tls"):
            kw.setdefault("tls_cert", peer_cert)
        p = peers.SmtpPeer(ip, port, **kw)
        started.append(p)
        return p.start()

    yield make
    for p in started:
        p.stop()


def render_toml_table(name: str, values: dict) -> List[str]:
    out = [f"[{name}]"]
    for k, v in values.items():
        if isinstance(v, dict):
            inner = ", ".join(f"{ik} = {toml_value(iv)}" for ik, iv in v.items())
            out.append(f"{k} = {{ {inner} }}")
        else:
            out.append(f"{k} = {toml_value(v)}")
    return out


class MailWorld:
    """A DNS server, peers on 127.0.0.2.. (all on one port, `mx_port`) and the
    Volley servers configured to deliver to them. Everything is stopped by
    the `mail_world` fixture."""

    def __init__(self, tmp_path: Path, volley_factory, dns: peers.DnsServer, cert):
        self.tmp_path = tmp_path
        self.volley_factory = volley_factory
        self.dns = dns
        self.cert = cert
        self.mx_port = peers.free_port_on(PEER_IPS)
        self._stoppables: list = []
        self._servers: List[VolleyServer] = []

    # -- peers -----------------------------------------------------------------
    def peer(self, ip: str = "127.0.0.2", **kw) -> peers.SmtpPeer:
        if kw.get("starttls") or kw.get("require_tls"):
            kw.setdefault("tls_cert", self.cert)
        p = peers.SmtpPeer(ip, self.mx_port, **kw)
        self._stoppables.append(p)
        return p.start()

    def black_hole(self, ip: str, mode: str = "silent", **kw) -> peers.BlackHole:
        h = peers.BlackHole(ip, self.mx_port, mode=mode, **kw)
        self._stoppables.append(h)
        return h.start()

    def postfix(self, ip: str, tls: bool = False, **kw) -> peers.PostfixReceiver:
        if not peers.postfix_available():
            skip_unless_ci("postfix is not installed")
        pf = peers.PostfixReceiver(ip, self.mx_port, tls_cert=self.cert if tls else None,
                                   keep_log_in=self.tmp_path / f"postfix-{ip}", **kw)
        self._stoppables.append(pf)
        return pf.start()

    def route(self, domain: str, *ips: str) -> List[str]:
        """MX records for `domain`: mx1.<domain> (preference 10) -> ips[0],
        mx2.<domain> (20) -> ips[1], ...; returns the host names."""
        hosts = []
        for i, ip in enumerate(ips, 1):
            host = f"mx{i}.{domain}"
            self.dns.a(host, ip)
            hosts.append(host)
        self.dns.mx(domain, *[(10 * i, h) for i, h in enumerate(hosts, 1)])
        return hosts

    # -- volley ----------------------------------------------------------------
    def settings_toml(self, queue: Optional[dict] = None, delivery: Optional[dict] = None,
                      shaping: Sequence[dict] = ()) -> str:
        q = {"retry_schedule": ["1s", "2s"]}
        q.update(queue or {})
        d = {"resolver": self.dns.address, "mx_port": self.mx_port, "connect_timeout": "2s",
             "command_timeout": "5s", "data_timeout": "10s", "dns_timeout": "2s"}
        d.update(delivery or {})
        out = render_toml_table("queue", q) + [""] + render_toml_table("delivery", d)
        for rule in shaping:
            out += [""] + render_toml_table("[delivery.shaping]", rule)
        return "\n".join(out)

    def volley(self, *, queue: Optional[dict] = None, delivery: Optional[dict] = None, shaping: Sequence[dict] = (),
               start: bool = True, relay_networks: Optional[List[str]] = None, **kw) -> VolleyServer:
        """A Volley delivering through this world; relays for 127.0.0.0/8 so
        tests can inject remote mail on the mx listener."""
        srv = self.volley_factory(start=False, relay_networks=relay_networks or ["127.0.0.0/8"],
                                  extra_toml=self.settings_toml(queue, delivery, shaping), **kw)
        self._servers.append(srv)
        if start:
            srv.start()
        return srv

    def restart(self, srv: VolleyServer, *, queue: Optional[dict] = None, delivery: Optional[dict] = None,
                shaping: Sequence[dict] = ()):
        """Stops `srv`, gives it new [queue]/[delivery] settings, starts it."""
        assert srv.stop() == 0
        srv.extra_toml = self.settings_toml(queue, delivery, shaping)
        srv.write_config()
        srv.start()

    def close(self):
        # Peers first: a Volley still waiting on a black hole then stops at
        # once instead of after its shutdown timeout. A server that died on
        # its own is left for volley_factory to report.
        for p in reversed(self._stoppables):
            p.stop()
        for srv in self._servers:
            if srv.running():
                srv.expected_exit = True
                srv.shutdown()


@pytest.fixture
def mail_world(tmp_path, volley_factory, dns_server, peer_cert):
    world = MailWorld(tmp_path, volley_factory, dns_server, peer_cert)
    yield world
    world.close()


# -- delivery helpers ----------------------------------------------------------

def inject(srv: VolleyServer, sender: str, rcpts: Sequence[str], data: bytes, mail_params: str = "",
           rcpt_params: str = "", listener: str = "mx") -> str:
    """One message through the mx listener (dot-stuffed on the wire); returns its queue id."""
    c = srv.connect(listener)
    try:
        c.ehlo()
        r = c.send_message(sender, rcpts, dot_stuff(data), mail_params=mail_params, rcpt_params=rcpt_params)
        assert r.code == 250 and r.queue_id, str(r)
        c.quit()
    finally:
        c.close()
    return r.queue_id


def message(subject: str, body: bytes = b"Hello.\r\n", extra_headers: bytes = b"") -> bytes:
    """A complete message with Message-ID and Date, so no server adds them."""
    return (b"From: Sender <alice@local.test>\r\nTo: someone@example.net\r\n"
            b"Date: Tue, 1 Jan 2030 10:00:00 +0000\r\n"
            b"Message-ID: <" + subject.replace(" ", "-").encode() + b"@client.test>\r\n"
            b"Subject: " + subject.encode() + b"\r\n" + extra_headers + b"\r\n" + body)


def maildir(srv: VolleyServer, address: str) -> Path:
    local, _, domain = address.rpartition("@")
    return srv.data_dir / "mail" / domain.lower() / local.lower()


def maildir_messages(srv: VolleyServer, address: str) -> List[bytes]:
    new = maildir(srv, address) / "new"
    if not new.is_dir():
        return []
    files = sorted((f for f in new.iterdir() if f.is_file()), key=lambda f: (f.stat().st_mtime_ns, f.name))
    return [f.read_bytes() for f in files]


def wait_maildir(srv: VolleyServer, address: str, count: int = 1, timeout: float = 10.0) -> List[bytes]:
    return wait_until(lambda: (lambda m: m if len(m) >= count else None)(maildir_messages(srv, address)),
                      timeout, interval=0.05, what=f"{count} message(s) in the Maildir of {address}")


def delivery_events(srv: VolleyServer, rcpt: Optional[str] = None, status: Optional[str] = None,
                    qid: Optional[str] = None) -> List[Dict[str, str]]:
    return [e for e in srv.events("delivery")
            if (rcpt is None or e.get("rcpt", "").lower() == rcpt.lower())
            and (status is None or e.get("status") == status) and (qid is None or e.get("id") == qid)]


def wait_delivery(srv: VolleyServer, rcpt: Optional[str] = None, status: Optional[str] = None, count: int = 1,
                  timeout: float = 10.0, qid: Optional[str] = None) -> List[Dict[str, str]]:
    return wait_until(lambda: (lambda e: e if len(e) >= count else None)(delivery_events(srv, rcpt, status, qid)),
                      timeout, interval=0.05,
                      what=f"{count} delivery log line(s) rcpt={rcpt} status={status} (log tail: "
                           f"{srv.log()[-1500:]})")


def queue_list(srv: VolleyServer, *args: str) -> List[dict]:
    r = srv.cli("queue", "list", "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def queue_show(srv: VolleyServer, qid: str) -> dict:
    r = srv.cli("queue", "show", qid, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_queue_empty(srv: VolleyServer, timeout: float = 10.0):
    wait_until(lambda: queue_list(srv) == [], timeout, interval=0.1, what="the queue to be empty")


@dataclass
class Dsn:
    message: "email.message.Message"
    explanation: str
    per_message: Dict[str, str]
    recipients: List[Dict[str, str]]
    returned: "email.message.Message"     # message/rfc822 or text/rfc822-headers part


def parse_dsn(raw: bytes) -> Dsn:
    """Parses an RFC 3464 report (as delivered into a Maildir, with the
    Return-Path/Delivered-To lines in front) and checks its structure.
    Field names are lower-cased, typed values written "type; value"."""
    msg = email.message_from_bytes(raw)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert (msg.get_param("report-type") or "").lower() == "delivery-status", msg["Content-Type"]
    parts = msg.get_payload()
    assert len(parts) == 3, [p.get_content_type() for p in parts]
    text, status, returned = parts
    assert text.get_content_type() == "text/plain"
    assert status.get_content_type() == "message/delivery-status"
    blocks = status.get_payload()
    assert len(blocks) >= 2, blocks

    typed = ("final-recipient", "original-recipient", "remote-mta", "reporting-mta", "diagnostic-code",
             "received-from-mta", "dsn-gateway")

    def fields(block) -> Dict[str, str]:
        out = {}
        for k, v in block.items():
            k, v = k.lower(), " ".join(str(v).split())
            if k in typed and ";" in v:  # "type;value" and "type; value" are the same (RFC 3464 2.1.2)
                kind, _, rest = v.partition(";")
                v = f"{kind.strip()}; {rest.strip()}"
            out[k] = v
        return out
    return Dsn(msg, text.get_payload(decode=True).decode("utf-8", "replace"), fields(blocks[0]),
               [fields(b) for b in blocks[1:]], returned)
