"""A private OpenDKIM signing milter for benchmarks (Debian's opendkim): its own config file, pid file and port.

Runs in the foreground as a child of the benchmark, never as the system
service (scripts/install-deps.sh keeps the package's service from starting).
Postfix reaches it with `smtpd_milters = inet:127.0.0.1:PORT` (milter_lines).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional

from bench_common import BenchError, free_port, run, terminate

OPENDKIM = "/usr/sbin/opendkim"


def opendkim_algorithms() -> list:
    """Signing algorithms this opendkim was built with (`opendkim -V`), e.g. ['rsa-sha256', 'ed25519-sha256']."""
    if not os.access(OPENDKIM, os.X_OK):
        raise BenchError(f"{OPENDKIM} missing: install the Debian packages (scripts/install-deps.sh --test)")
    out = run([OPENDKIM, "-V"], check=False).stdout
    algs, inside = [], False
    for line in out.splitlines():
        if "Supported signing algorithms" in line:
            inside = True
        elif inside and line.startswith("\t\t"):
            algs.append(line.strip())
        elif inside:
            break
    return algs


class OpenDkimMilter:
    def __init__(self, root: Path, domain: str, selector: str, key_file: Path, algorithm: str):
        """root: an empty directory for the config, pid and log. Signs mail From `domain` with `key_file`."""
        self.root = root
        self.conf = root / "opendkim.conf"
        self.pidfile = root / "opendkim.pid"
        self.logfile = root / "opendkim.log"
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.logf = None
        # Same signing as Volley's: relaxed/relaxed, From over-signed.
        self.text = f"""Mode                    s
Domain                  {domain}
Selector                {selector}
KeyFile                 {key_file}
SignatureAlgorithm      {algorithm}
Canonicalization        relaxed/relaxed
OversignHeaders         From
InternalHosts           127.0.0.0/8
Socket                  inet:{self.port}@[127.0.0.1]
Background              no
PidFile                 {self.pidfile}
Syslog                  no
UMask                   007
RequireSafeKeys         no
"""
        # RequireSafeKeys no: the work directory lies under /var/tmp, which
        # anyone may write (sticky), and opendkim refuses any file below such
        # a directory. The key itself is 0600 (volley dkim keygen).

    def milter_lines(self) -> str:
        """main.cf lines that make Postfix use this milter; a milter failure refuses the mail (tempfail)."""
        return (f"smtpd_milters = inet:127.0.0.1:{self.port}\n"
                f"non_smtpd_milters = inet:127.0.0.1:{self.port}\n"
                "milter_default_action = tempfail\n")

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self.text)
        run([OPENDKIM, "-n", "-x", str(self.conf)])  # syntax check: names the bad line
        self.logf = open(self.logfile, "a")
        self.proc = subprocess.Popen([OPENDKIM, "-f", "-x", str(self.conf)], stdout=self.logf, stderr=self.logf,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"opendkim exited with status {self.proc.returncode}; config {self.conf}, "
                                 f"log {self.logfile}:\n{self.logfile.read_text(errors='replace')[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise BenchError(f"opendkim does not listen on 127.0.0.1:{self.port} after 15 s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None:
            proc, self.proc = self.proc, None
            terminate(proc, 10)
        if self.logf:
            self.logf.close()
            self.logf = None
