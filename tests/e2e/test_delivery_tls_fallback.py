"""Opportunistic TLS falls back to clear text when a receiver's TLS is broken
(RFC 7435); `tls = "required"` never does.

The receiver here is a few lines of raw sockets: it offers STARTTLS, answers
220, then drops the connection instead of handshaking (a broken TLS stack),
and otherwise speaks plain SMTP and records what it got.
"""

import socket
import threading
import time

import pytest

from conftest import inject, message, wait_delivery


class BrokenTlsReceiver:
    def __init__(self, ip: str, port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.starttls_attempts = 0
        self.messages = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                try:
                    self._session(conn)
                except OSError:
                    pass

    def _session(self, conn):
        conn.settimeout(5)
        f = conn.makefile("rb")
        conn.sendall(b"220 broken-tls.test ESMTP\r\n")
        data_mode = False
        body = []
        while True:
            line = f.readline()
            if not line:
                return
            if data_mode:
                if line == b".\r\n":
                    self.messages.append(b"".join(body))
                    body, data_mode = [], False
                    conn.sendall(b"250 2.0.0 ok\r\n")
                else:
                    body.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-broken-tls.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
            elif verb == b"STAR":
                self.starttls_attempts += 1
                conn.sendall(b"220 2.0.0 go ahead\r\n")
                return  # no handshake: the client's TLS fails
            elif verb == b"DATA":
                data_mode = True
                conn.sendall(b"354 go\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 2.0.0 ok\r\n")

    def stop(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def broken_tls(mail_world):
    r = BrokenTlsReceiver("127.0.0.2", mail_world.mx_port)
    mail_world.route("example.net", "127.0.0.2")
    yield r
    r.stop()


def test_opportunistic_tls_falls_back_to_clear_text(mail_world, broken_tls):
    srv = mail_world.volley()
    qid = inject(srv, "alice@local.test", ["bob@example.net"], message("fallback", b"sent in clear\r\n"))
    ev = wait_delivery(srv, "bob@example.net", "sent", timeout=10, qid=qid)[0]
    assert ev["tls"] == "none"
    assert broken_tls.starttls_attempts >= 1
    assert len(broken_tls.messages) == 1 and b"sent in clear" in broken_tls.messages[0]


def test_required_tls_never_falls_back(mail_world, broken_tls):
    srv = mail_world.volley(delivery={"tls": "required"})
    qid = inject(srv, "alice@local.test", ["bob@example.net"], message("no fallback", b"must not leak\r\n"))
    ev = wait_delivery(srv, "bob@example.net", "deferred", timeout=10, qid=qid)[0]
    assert "TLS" in ev["reply"]
    time.sleep(0.5)
    assert broken_tls.messages == []
