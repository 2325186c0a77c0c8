"""A Volley daemon for benchmarks: a fresh data_dir per start, its log appended to ROOT/volley.log.

The caller supplies the configuration (a function of data_dir and listener
port) and an optional set-up step run against that configuration before the
daemon starts (for example `volley user add`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable, Optional

from bench_common import BenchError, count_files, free_port, run, terminate, wait_port

ConfigText = Callable[[Path, int], str]          # (data_dir, port) -> volley.toml
SetUp = Callable[[Path, Path], None]             # (binary, config file) -> None


class VolleyInstance:
    def __init__(self, binary: Path, root: Path, config_text: ConfigText, set_up: Optional[SetUp] = None):
        self.binary = binary
        self.root = root
        self.config_text = config_text
        self.set_up = set_up
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.data_dir: Optional[Path] = None
        self.config: Optional[Path] = None
        self.logfile = root / "volley.log"
        self.generation = 0
        self.logf = None

    def start(self) -> None:
        self.generation += 1
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.root / f"data-{self.generation}"
        self.config = self.root / "volley.toml"
        self.config.write_text(self.config_text(self.data_dir, self.port))
        if self.set_up is not None:
            self.set_up(self.binary, self.config)
        log_start = self.logfile.stat().st_size if self.logfile.exists() else 0
        self.logf = open(self.logfile, "a")
        self.proc = subprocess.Popen([str(self.binary), "serve", "--config", str(self.config)],
                                     stdout=self.logf, stderr=self.logf, stdin=subprocess.DEVNULL)
        try:
            wait_port(self.port, 15, self.proc)
        except BenchError as e:
            # Most likely the configuration was refused: show why.
            self.logf.flush()
            with open(self.logfile, errors="replace") as f:
                f.seek(log_start)
                tail = f.read()[-3000:].rstrip()
            raise BenchError(f"Volley did not start: {e}\nconfig {self.config}; its log:\n{tail}") from None

    def stop(self) -> None:
        if self.proc is not None:
            proc, self.proc = self.proc, None
            terminate(proc, 15)
        if self.logf:
            self.logf.close()
            self.logf = None
        # The data_dir is left in place (removed with the work directory at
        # the end): see PrivatePostfix.clear for why nothing is deleted mid-run.
        self.data_dir = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def queued(self) -> Optional[int]:
        """Messages queued, if this build can tell (optional check; the storage layout is not relied on).

        A build with `volley queue list --json` is asked; a build with the
        one-file-per-message spool has its files counted; otherwise None.
        """
        assert self.data_dir is not None and self.config is not None
        try:
            p = run([str(self.binary), "queue", "list", "--json", "--limit", "100000000", "--config", str(self.config)],
                    check=False, timeout=60)
            if p.returncode == 0:
                items = json.loads(p.stdout)
                if isinstance(items, list):
                    return len(items)
        except (subprocess.TimeoutExpired, ValueError):
            pass
        d = self.data_dir / "spool" / "msg"
        return count_files(d) if d.is_dir() else None


def intake_config(data_dir: Path, port: int, domain: str, extra: str = "", deliver: bool = False) -> str:
    """One mx listener without TLS on 127.0.0.1, `domain` local, 127.0.0.0/8 a relay network, log level warn.

    deliver=False (intake benchmarks): accepted mail stays queued, like
    Postfix's HOLD, so the delivery engine's Maildir writes are not billed to
    the intake. `extra`: TOML appended (for example [[dkim]] entries).
    """
    return f"""[server]
hostname = "volley.{domain}"
data_dir = "{data_dir}"

[log]
level = "warn"

[[listener]]
name = "mx"
address = "127.0.0.1:{port}"
protocol = "smtp"
role = "mx"
tls = "none"

[limits]
max_message_size = "100MB"
max_connections_per_ip = 1000

[domains]
local = ["{domain}"]

[relay]
allow_networks = ["127.0.0.0/8"]

[delivery]
enabled = {"true" if deliver else "false"}
""" + extra


def mailbox_user(address: str) -> SetUp:
    """A set-up step that adds the mailbox user `address` (password on stdin)."""
    def add(binary: Path, config: Path) -> None:
        run([str(binary), "user", "add", address, "--config", str(config)], input="bench-Password-1\n")
    return add
