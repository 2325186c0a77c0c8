"""A private Postfix instance for benchmarks: its own main.cf/master.cf, queue and log file.

The base main.cf below is what every benchmark wants (no local delivery, no
throttles, processes kept alive, no DNS lookups of clients); the caller adds
the lines that make its scenario (hold what arrives, relay to a sink, ...).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Optional

from bench_common import POSTFIX, POSTSUPER, BenchError, count_files, free_port, run, tree_cpu_ticks, wait_port

MASTER_CF = """
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# Scenario line: every accepted message goes smtpd -> cleanup -> queue file
# written and fsync()ed, and is filed in hold/ (qmgr never touches it).
HOLD_ALL = "smtpd_recipient_restrictions = check_client_access static:HOLD\n"

# Queue directories that hold messages (as opposed to logs/state of them).
MESSAGE_QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")


class PrivatePostfix:
    def __init__(self, root: Path, domain: str, scenario_main_cf: str):
        """root: an empty directory every parent of which the postfix user can traverse.
        domain: mydomain (myhostname is postfix.<domain>). scenario_main_cf: main.cf lines appended."""
        self.root = root
        self.domain = domain
        self.scenario_main_cf = scenario_main_cf
        self.conf = root / "etc"
        self.queue = root / "queue"
        self.data = root / "data"
        self.logfile = root / "postfix.log"
        self.port = free_port()
        self.master_pid: Optional[int] = None

    def write_config(self) -> None:
        for d in (self.conf, self.queue, self.data):
            d.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.data, "postfix", "postfix")
        main = f"""
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
meta_directory = /etc/postfix
maillog_file = {self.logfile}
# Postfix refuses a log file outside these prefixes (default /var, /dev/stdout), silently when stderr is no tty.
maillog_file_prefixes = /var, /dev/stdout, {self.root}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.{self.domain}
mydomain = {self.domain}
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
biff = no
append_dot_mydomain = no
smtputf8_enable = no
message_size_limit = 104857600
# tuning: enough processes, keep them, no throttles, no client DNS lookup
default_process_limit = 200
max_idle = 3600s
max_use = 100000
in_flow_delay = 0s
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_client_auth_rate_limit = 0
"""
        (self.conf / "main.cf").write_text(main.lstrip() + self.scenario_main_cf.lstrip())
        (self.conf / "master.cf").write_text(MASTER_CF.format(port=self.port).lstrip())

    def start(self) -> None:
        self.write_config()
        run([POSTFIX, "-c", str(self.conf), "check"])
        run([POSTFIX, "-c", str(self.conf), "start"])
        pidfile = self.queue / "pid" / "master.pid"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.master_pid = int(pidfile.read_text().split()[0])
                break
            except (OSError, ValueError, IndexError):
                time.sleep(0.05)
        if self.master_pid is None:
            raise BenchError(f"Postfix did not write {pidfile}; see {self.logfile}")
        wait_port(self.port, 15)

    def stop(self) -> None:
        if self.master_pid is None:
            return
        pid, self.master_pid = self.master_pid, None
        run([POSTFIX, "-c", str(self.conf), "stop"], check=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.05)
        if os.path.exists(f"/proc/{pid}"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cpu_ticks(self) -> int:
        """utime+stime of the master and every descendant, including reaped children."""
        assert self.master_pid is not None
        return tree_cpu_ticks(self.master_pid)

    def queued(self) -> int:
        return sum(count_files(self.queue / q) for q in MESSAGE_QUEUES)

    def wait_idle(self, timeout: float = 120) -> None:
        """Waits until no message is in incoming/ or active/ (qmgr done with them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if count_files(self.queue / "incoming") == 0 and count_files(self.queue / "active") == 0:
                return
            time.sleep(0.05)
        raise BenchError("Postfix queue manager did not settle")

    def clear(self, trash: Path) -> None:
        """Empties the queue by moving the queue directories that hold mail aside.

        Nothing is deleted while the benchmark runs: on ext4 deleting tens of
        thousands of files makes the next file creations slow (without a
        journal, the inode allocator skips and re-reads recently deleted
        inodes), which would bill one server for the other's clean-up.
        """
        if count_files(self.queue / "incoming") or count_files(self.queue / "active"):
            run([POSTSUPER, "-c", str(self.conf), "-d", "ALL"], check=False)
        for q in ("hold", "deferred", "defer", "bounce", "trace", "flush"):
            d = self.queue / q
            if not d.is_dir() or count_files(d) == 0:
                continue
            st = d.stat()
            trash.mkdir(exist_ok=True)
            os.rename(d, trash / f"postfix-{time.monotonic_ns()}-{q}")
            os.mkdir(d)
            os.chown(d, st.st_uid, st.st_gid)
            os.chmod(d, st.st_mode & 0o7777)
