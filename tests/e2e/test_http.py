"""The HTTP API server against the real binary: API keys through the CLI
(create / list / revoke), authentication (401 / 403 / 200, revocation seen
within seconds, the per-address failure budget), the per-key rate limit
(429 + Retry-After), HTTP/1.1 connection handling (keep-alive, pipelining,
413 from Content-Length, 100-continue with curl, 431, bad framing, slow
loris), implicit TLS with curl --cacert, and the development default on
127.0.0.1:8025. Clients: curl, Python's http.client and raw sockets."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import time
from typing import Dict, List, Optional, Tuple

import pytest

import peers
from conftest import VOLLEY_BIN, end_process, port_is_free, skip_unless_ci, wait_until

TLS_NAME = "api.test.local"


def http_listeners() -> List[dict]:
    return [
        {"name": "mx", "protocol": "smtp", "role": "mx", "tls": "starttls"},
        {"name": "api", "protocol": "http", "tls": "none"},
        {"name": "apis", "protocol": "http", "tls": "implicit"},
    ]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca = peers.PrivateCA(tmp_path_factory.mktemp("http-ca"))
    return ca.ca_file, ca.issue(TLS_NAME)


def start(volley_factory, pki, api: Optional[Dict[str, str]] = None, limits: Optional[dict] = None,
          keys: Optional[Dict[str, str]] = None):
    """A started server with HTTP listeners; `keys` (name -> scope) are
    created before it starts (so it has them from its first request) and
    returned as name -> key text in srv.keys."""
    cert, key = pki[1]
    extra = ""
    if api:
        extra = "[api]\n" + "\n".join(f'{k} = "{v}"' for k, v in api.items())
    # Tests that poll with a key not yet seen (or just revoked) make failed
    # authentications; only the budget test wants the real budget.
    all_limits = {"max_auth_failures_per_ip": 1000}
    all_limits.update(limits or {})
    srv = volley_factory(start=False, listeners=http_listeners(), tls={"cert": cert, "key": key}, limits=all_limits,
                         extra_toml=extra)
    srv.keys = {name: create_key(srv, name, scope) for name, scope in (keys or {}).items()}
    srv.start()
    return srv


def create_key(srv, name: str, scope: Optional[str] = None) -> str:
    args = ["apikey", "create", "--name", name] + (["--scope", scope] if scope else [])
    r = srv.cli(*args)
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert re.fullmatch(r"vk_[A-Za-z0-9_-]{43}", key), key
    return key


class Raw:
    """An HTTP client over a plain socket that sends exactly what it is told
    and parses responses (Content-Length framed) one at a time."""

    def __init__(self, port: int, timeout: float = 10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed (have {self.buf[:200]!r})")
        self.buf += chunk

    def response(self) -> Tuple[int, Dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._more()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self, timeout: float = 5) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def get(port: int, path: str, key: Optional[str] = None, method: str = "GET",
        headers: Optional[Dict[str, str]] = None, body: Optional[bytes] = None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = dict(headers or {})
    if key:
        h["Authorization"] = f"Bearer {key}"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def error_code(body: bytes) -> str:
    j = json.loads(body)
    assert set(j) == {"error"} and set(j["error"]) == {"code", "message"}, j
    return j["error"]["code"]


def curl(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------ keys

def test_apikey_cli_create_list_revoke(volley_factory, pki):
    srv = start(volley_factory, pki)
    send_key = create_key(srv, "shop")
    create_key(srv, "reports", "read")
    r = srv.cli("apikey", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2, r.stdout
    assert re.fullmatch(r"reports scope=read created=\S+Z active", lines[0]), lines
    assert re.fullmatch(r"shop scope=send created=\S+Z active", lines[1]), lines
    assert send_key not in r.stdout

    for args, reason in [
        (("create", "--name", "shop"), "a key named shop already exists"),
        (("create", "--name", "bad name"), "bad --name"),
        (("create", "--name", "x", "--scope", "owner"), "bad --scope"),
        (("revoke", "--name", "ghost"), "no key named ghost"),
    ]:
        r = srv.cli("apikey", *args)
        assert r.returncode != 0, args
        assert r.stderr.count("\n") == 1 and reason in r.stderr, (args, r.stderr)

    assert srv.cli("apikey", "revoke", "--name", "shop").returncode == 0
    r = srv.cli("apikey", "list")
    assert re.search(r"^shop scope=send created=\S+ revoked=\S+$", r.stdout, re.M), r.stdout


def test_auth_scopes_and_revocation(volley_factory, pki):
    srv = start(volley_factory, pki, keys={"shop": "send", "reports": "read", "ops": "admin"})
    port = srv.port("api")
    send_key, read_key, admin_key = srv.keys["shop"], srv.keys["reports"], srv.keys["ops"]

    status, headers, body = get(port, "/v1/apikeys/self")
    assert status == 401 and headers["www-authenticate"] == "Bearer" and error_code(body) == "unauthorized"
    assert headers["content-type"] == "application/json"
    status, headers, body = get(port, "/v1/apikeys/self", "vk_" + "A" * 43)
    assert status == 401 and error_code(body) == "unauthorized"

    # A key created while the server runs is picked up within a second or two.
    late = create_key(srv, "late")
    started = time.monotonic()
    wait_until(lambda: get(port, "/v1/apikeys/self", late)[0] == 200 or None, 5, interval=0.1,
               what="the new key to be accepted")
    assert time.monotonic() - started < 3
    status, headers, body = get(port, "/v1/apikeys/self", send_key)
    assert status == 200 and json.loads(body) == {"name": "shop", "scope": "send"}
    assert "date" in headers and headers["content-length"] == str(len(body))

    status, _, body = get(port, "/v1/apikeys", read_key)
    assert status == 403 and error_code(body) == "forbidden"
    status, _, body = get(port, "/v1/apikeys", admin_key)
    assert status == 200 and {k["name"] for k in json.loads(body)["keys"]} == {"shop", "reports", "ops", "late"}

    status, _, body = get(port, "/v1/nothing", send_key)
    assert status == 404 and error_code(body) == "not_found"
    status, headers, body = get(port, "/v1/apikeys/self", send_key, method="DELETE")
    assert status == 405 and error_code(body) == "method_not_allowed" and headers["allow"] == "GET, HEAD"
    status, headers, body = get(port, "/v1/apikeys/self", send_key, method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0

    assert srv.cli("apikey", "revoke", "--name", "shop").returncode == 0
    started = time.monotonic()
    wait_until(lambda: get(port, "/v1/apikeys/self", send_key)[0] == 401, 5, interval=0.1,
               what="the revoked key to be refused")
    assert time.monotonic() - started < 3
    assert get(port, "/v1/apikeys/self", read_key)[0] == 200


def test_failed_keys_spend_the_address_budget(volley_factory, pki):
    srv = start(volley_factory, pki, limits={"max_auth_failures_per_ip": 3, "auth_failures_per_ip_window": "1m"},
                keys={"shop": "send"})
    port = srv.port("api")
    key = srv.keys["shop"]
    assert get(port, "/v1/apikeys/self", key)[0] == 200
    for _ in range(3):
        assert get(port, "/v1/apikeys/self", "vk_guess")[0] == 401
    status, headers, body = get(port, "/v1/apikeys/self", "vk_guess")
    assert status == 429 and error_code(body) == "rate_limited" and int(headers["retry-after"]) >= 1
    # Nothing is checked while the budget is spent, not even a good key.
    assert get(port, "/v1/apikeys/self", key)[0] == 429


def test_rate_limit_per_key(volley_factory, pki):
    srv = start(volley_factory, pki, api={"rate_limit": "3/m"}, keys={"a": "send", "b": "read"})
    port = srv.port("api")
    a, b = srv.keys["a"], srv.keys["b"]
    assert get(port, "/v1/apikeys/self", a)[0] == 200
    assert get(port, "/v1/apikeys/self", a)[0] == 200
    assert get(port, "/v1/apikeys/self", a)[0] == 200
    status, headers, body = get(port, "/v1/apikeys/self", a)
    assert status == 429 and error_code(body) == "rate_limited"
    assert 1 <= int(headers["retry-after"]) <= 20, headers
    assert get(port, "/v1/apikeys/self", b)[0] == 200  # each key has its own bucket


# ------------------------------------------------------------------ HTTP/1.1

def test_keep_alive_two_requests_one_connection(volley_factory, pki):
    srv = start(volley_factory, pki, keys={"shop": "send"})
    port = srv.port("api")
    key = srv.keys["shop"]
    before = len(srv.events("http.connect"))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(2):
        c.request("GET", "/v1/apikeys/self", headers={"Authorization": f"Bearer {key}"})
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read())["name"] == "shop"
    c.close()
    time.sleep(0.2)
    assert len(srv.events("http.connect")) == before + 1


def test_pipelined_requests_answered_in_order(volley_factory, pki):
    srv = start(volley_factory, pki, keys={"shop": "send"})
    port = srv.port("api")
    key = srv.keys["shop"]
    c = Raw(port)
    c.send((f"GET /v1/apikeys/self HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
            "GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n"
            f"HEAD /v1/apikeys/self HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n")
           .encode())
    s1, _, b1 = c.response()
    s2, _, b2 = c.response()
    assert (s1, json.loads(b1)["name"]) == (200, "shop")
    assert s2 == 404 and error_code(b2) == "not_found"
    # The HEAD answer has a Content-Length but no body: read the head only.
    while b"\r\n\r\n" not in c.buf:
        c._more()
    assert c.buf.startswith(b"HTTP/1.1 200 OK\r\n") and c.buf.endswith(b"\r\n\r\n"), c.buf
    assert b"Connection: close" in c.buf
    c.buf = b""
    assert c.closed()


def test_too_large_by_content_length_and_header_limit(volley_factory, pki):
    srv = start(volley_factory, pki)
    port = srv.port("api")
    c = Raw(port)
    c.send(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
    status, headers, body = c.response()
    assert status == 413 and error_code(body) == "too_large" and headers["connection"] == "close"
    assert c.closed()

    c = Raw(port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n")
    status, _, body = c.response()
    assert status == 431 and error_code(body) == "header_too_large"
    assert c.closed()


def test_bad_framing_is_400_then_close(volley_factory, pki):
    srv = start(volley_factory, pki)
    port = srv.port("api")
    for req in [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
    ]:
        c = Raw(port)
        c.send(req + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = c.response()
        assert status == 400 and error_code(body) == "bad_request", req
        assert c.buf == b"" and c.closed(), req  # nothing after the bad request is answered


def test_expect_100_continue_with_curl(volley_factory, pki, tmp_path):
    srv = start(volley_factory, pki, api={"max_request_size": "4KB"}, keys={"shop": "send"})
    port = srv.port("api")
    key = srv.keys["shop"]
    small = tmp_path / "small.json"
    small.write_bytes(b"{" + b" " * 2000 + b"}")
    started = time.monotonic()
    # curl asks for 100-continue by itself only for large bodies (1 MB in
    # curl 8); the header makes it wait (up to 1 s) for the answer at any size.
    r = curl("-v", "-X", "POST", "-H", "Expect: 100-continue", "-H", f"Authorization: Bearer {key}",
             "--data-binary", f"@{small}",
             f"http://127.0.0.1:{port}/v1/apikeys/self")
    elapsed = time.monotonic() - started
    assert "Expect: 100-continue" in r.stderr and "HTTP/1.1 100 Continue" in r.stderr, r.stderr
    assert "HTTP/1.1 405" in r.stderr and error_code(r.stdout.encode()) == "method_not_allowed"
    assert elapsed < 0.9, f"curl waited {elapsed:.2f}s for 100 Continue"

    big = tmp_path / "big.json"
    big.write_bytes(b"x" * 10000)
    r = curl("-v", "-X", "POST", "-H", "Expect: 100-continue", "--data-binary", f"@{big}",
             f"http://127.0.0.1:{port}/v1/apikeys/self")
    assert "HTTP/1.1 413" in r.stderr and "100 Continue" not in r.stderr, r.stderr
    assert error_code(r.stdout.encode()) == "too_large"


def test_slow_loris_timed_out_while_others_are_served(volley_factory, pki):
    srv = start(volley_factory, pki, limits={"command_timeout": "2s"}, keys={"shop": "send"})
    port = srv.port("api")
    key = srv.keys["shop"]
    slow = Raw(port)
    started = time.monotonic()
    got = b""
    sent = b"GET /v1/apikeys/self HTTP/1.1\r\nHost: x\r\nX-Slow: "
    # One byte every 0.25 s: each read would reset a per-read timer, not the
    # deadline for the whole head.
    closed_at = None
    for i in range(40):
        try:
            slow.send(sent[i:i + 1] if i < len(sent) else b"a")
        except (BrokenPipeError, ConnectionResetError):
            closed_at = time.monotonic()
            break
        if i % 4 == 0:
            assert get(port, "/v1/apikeys/self", key)[0] == 200  # others are served meanwhile
        slow.sock.settimeout(0.25)
        try:
            chunk = slow.sock.recv(65536)
            got += chunk
            if not chunk:
                closed_at = time.monotonic()
                break
        except socket.timeout:
            pass
    assert closed_at is not None, got
    assert got.startswith(b"HTTP/1.1 408 "), got
    assert 1.5 <= closed_at - started <= 6, closed_at - started


def test_implicit_tls_with_curl(volley_factory, pki):
    srv = start(volley_factory, pki, keys={"shop": "send"})
    port = srv.port("apis")
    key = srv.keys["shop"]
    url = f"https://{TLS_NAME}:{port}/v1/apikeys/self"
    resolve = f"{TLS_NAME}:{port}:127.0.0.1"

    def ok():
        r = curl("--cacert", pki[0], "--resolve", resolve, "-H", f"Authorization: Bearer {key}", url)
        return r if r.returncode == 0 and '"shop"' in r.stdout else None
    r = wait_until(ok, 5, what="curl over TLS to answer")
    assert json.loads(r.stdout) == {"name": "shop", "scope": "send"}
    # Clear text on the TLS listener is no HTTP request.
    r = curl("--max-time", "5", f"http://127.0.0.1:{port}/v1/apikeys/self")
    assert r.returncode != 0


def test_starttls_is_a_config_error(volley_factory, pki, tmp_path):
    srv = volley_factory(start=False, listeners=[{"name": "api", "protocol": "http", "tls": "starttls"}])
    r = srv.cli("check-config")
    assert r.returncode != 0
    assert "listener[0].tls" in r.stderr and "starttls" in r.stderr, r.stderr


def test_development_default_answers_on_8025(tmp_path):
    if not port_is_free(8025) or not port_is_free(2525) or not port_is_free(2587) or not port_is_free(2110):
        skip_unless_ci("development ports are busy")
    log_path = tmp_path / "dev.log"
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen([VOLLEY_BIN, "serve"], cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=logf)
    try:
        def ready():
            if proc.poll() is not None:
                raise AssertionError(f"development server exited with {proc.returncode}:\n{log_path.read_text()}")
            return "server.started" in log_path.read_text(errors="replace")
        wait_until(ready, 15, what="the development server to start")
        status, headers, body = get(8025, "/v1/apikeys/self")
        assert status == 401 and error_code(body) == "unauthorized"
        r = subprocess.run([VOLLEY_BIN, "apikey", "create", "--name", "dev"], cwd=str(tmp_path), capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        key = r.stdout.strip()
        wait_until(lambda: get(8025, "/v1/apikeys/self", key)[0] == 200 or None, 5, interval=0.2,
                   what="the key to work")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        end_process(proc)
