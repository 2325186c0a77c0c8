"""Helpers for the POP3 end-to-end tests (test_pop3_*.py): a Volley with POP3
listeners and a certificate from a private CA, a data_dir a private Dovecot
can reach, and a POP3 client (Python's poplib) that also reads a message's
exact bytes off the wire."""

from __future__ import annotations

import os
import poplib
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import peers
from conftest import DEFAULT_USERS, VolleyServer, default_listeners, skip_unless_ci

# The name in the server certificates: clients verify it (connecting to 127.0.0.1).
TLS_NAME = "pop3.test.local"


def pop3_listeners() -> List[dict]:
    """The default SMTP listeners plus POP3 with STLS ("pop3") and POP3 over
    implicit TLS ("pop3s"), whatever POP3 listeners the defaults may have
    (require_tls_for_auth is on by default: no login on the clear channel)."""
    smtp = [l for l in default_listeners() if l.get("protocol") != "pop3" and l["name"] not in ("pop3", "pop3s")]
    return smtp + [
        {"name": "pop3", "protocol": "pop3", "tls": "starttls"},
        {"name": "pop3s", "protocol": "pop3", "tls": "implicit"},
    ]


def tls_section(cert: Tuple[str, str]) -> Dict[str, str]:
    return {"cert": cert[0], "key": cert[1]}


def shared_data_dir() -> Path:
    """A data_dir under /tmp that a private Dovecot's mail account can enter
    (pytest's tmp dirs are 0700). The caller removes it (remove_tree)."""
    d = Path(tempfile.mkdtemp(prefix="volley-pop3-data-", dir="/tmp"))
    os.chmod(d, 0o755)
    return d / "data"


def remove_tree(data_dir: Path):
    shutil.rmtree(data_dir.parent, ignore_errors=True)


def open_to_dovecot(srv: VolleyServer):
    """Volley keeps data_dir owner-only (0700); let Dovecot's mail processes
    pass through it (0711: enter, not list) to data_dir/mail."""
    for d in (srv.data_dir, srv.data_dir / "mail"):
        d.mkdir(exist_ok=True)
        os.chmod(d, 0o711)


def require_dovecot():
    if not peers.dovecot_available():
        skip_unless_ci("dovecot-core/dovecot-pop3d are not installed")


def start_pop3_volley(volley_factory, cert: Tuple[str, str], *, data_dir: Optional[Path] = None,
                      deliver: bool = True, **kw) -> VolleyServer:
    """A Volley with POP3 listeners, `cert`, local delivery on (mail sent to a
    local user lands in its Maildir) and the default users."""
    server = dict(kw.pop("server", {}) or {})
    if data_dir is not None:
        server["data_dir"] = str(data_dir)
    extra = kw.pop("extra_toml", "")
    if "[delivery]" not in extra:
        extra = f"[delivery]\nenabled = {'true' if deliver else 'false'}\n" + extra
    return volley_factory(listeners=pop3_listeners(), tls=tls_section(cert), server=server, extra_toml=extra, **kw)


# --------------------------------------------------------------------------
# client
# --------------------------------------------------------------------------

def client_context(cafile: str) -> ssl.SSLContext:
    """Verifies the chain and the name TLS_NAME (clients connect by address)."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True
    return ctx


class VerifyingPOP3(poplib.POP3):
    """poplib.POP3 whose STLS checks the certificate against TLS_NAME."""

    def stls(self, context=None):
        # poplib wraps with server_hostname=self.host (an address here).
        host, self.host = self.host, TLS_NAME
        try:
            return super().stls(context)
        finally:
            self.host = host


class VerifyingPOP3_SSL(poplib.POP3_SSL):
    def _create_socket(self, timeout):
        sock = poplib.POP3._create_socket(self, timeout)
        return self.context.wrap_socket(sock, server_hostname=TLS_NAME)


def pop3_connect(host: str, port: int, mode: str, cafile: str, timeout: float = 15) -> poplib.POP3:
    """mode: "stls" (POP3 then STLS), "ssl" (implicit TLS) or "plain"."""
    ctx = client_context(cafile)
    if mode == "ssl":
        return VerifyingPOP3_SSL(host, port, context=ctx, timeout=timeout)
    p = VerifyingPOP3(host, port, timeout=timeout)
    if mode == "stls":
        p.stls(ctx)
    return p


def pop3_login(host: str, port: int, user: str, password: str, cafile: str, mode: str = "stls",
               timeout: float = 15) -> poplib.POP3:
    p = pop3_connect(host, port, mode, cafile, timeout)
    p.user(user)
    p.pass_(password)
    return p


def volley_endpoint(srv: VolleyServer, listener: str = "pop3") -> Tuple[str, int]:
    """(address, port) of one of Volley's POP3 listeners ("pop3": STLS, "pop3s": implicit TLS)."""
    return "127.0.0.1", srv.port(listener)


def volley_pop3(srv: VolleyServer, cafile: str, user: str = "alice@local.test", password: Optional[str] = None,
                mode: str = "stls") -> poplib.POP3:
    host, port = volley_endpoint(srv, "pop3s" if mode == "ssl" else "pop3")
    return pop3_login(host, port, user, password or DEFAULT_USERS[user], cafile, mode)


def dovecot_pop3(dv: peers.PrivateDovecot, cafile: str, user: str = "alice@local.test",
                 password: Optional[str] = None, mode: str = "stls") -> poplib.POP3:
    port = dv.ports["pop3s" if mode == "ssl" else "pop3"]
    return pop3_login(dv.ip, port, user, password or DEFAULT_USERS[user], cafile, mode)


def multiline_raw(p: poplib.POP3, command: str) -> Tuple[bytes, bytes]:
    """(status line, body) of a multi-line reply, body exactly as the message
    bytes: each line with the line ending it had on the wire, dot-stuffing
    undone (RFC 1939 3). poplib's retr() drops the line endings."""
    p._putcmd(command)
    status = p._getresp()
    body = bytearray()
    while True:
        line = p.file.readline()
        if not line:
            raise poplib.error_proto(f"connection closed inside the reply to {command!r}")
        if line == b".\r\n":
            return status, bytes(body)
        body += line[1:] if line.startswith(b".") else line


def retr_raw(p: poplib.POP3, n: int) -> bytes:
    return multiline_raw(p, f"RETR {n}")[1]


def uidls(p: poplib.POP3) -> Dict[int, str]:
    """{message number: UIDL} from UIDL without an argument."""
    out = {}
    for line in p.uidl()[1]:
        num, uid = line.decode().split(" ", 1)
        out[int(num)] = uid
    return out


def sizes(p: poplib.POP3) -> Dict[int, int]:
    out = {}
    for line in p.list()[1]:
        num, size = line.decode().split()
        out[int(num)] = int(size)
    return out


def mailbox_by_uidl(p: poplib.POP3) -> Dict[str, bytes]:
    """{UIDL: RETR bytes} of every message."""
    return {uid: retr_raw(p, n) for n, uid in uidls(p).items()}


def crlf(b: bytes) -> bytes:
    """LF line endings as CRLF (what a POP3 server sends for a stored file)."""
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
