"""Intake load with smtp-source and what one measurement of a server yields (bench/intake, bench/dkim_signing).

A measurement: the server's queue is emptied, the disk settles, smtp-source
sends MSGS messages of SIZE bytes over SESSIONS concurrent sessions, and the
server's CPU time (from /proc) and the wall time of smtp-source give msg/s and
CPU per message. smtp-source exits non-zero on any unexpected reply, so every
message counted got a 2xx after DATA.
"""

from __future__ import annotations

import os
import resource
import time
from typing import Callable, NamedTuple, Optional, Tuple

from bench_common import CLK_TCK, SMTP_SOURCE, BenchError, busy_ticks, log, process_cpu_ticks, run, settle, vm_hwm_kb
from private_postfix import PrivatePostfix
from volley_instance import VolleyInstance


class Envelope(NamedTuple):
    helo: str
    sender: str     # MAIL FROM, and smtp-source's "From: <sender>" header
    recipient: str  # RCPT TO, and its "To: <recipient>" header


class Result:
    def __init__(self, msgs: int, seconds: float, cpu_ticks: int, rss_kb: int = 0, queued: Optional[int] = None,
                 other: int = 0, client: int = 0):
        self.msgs = msgs
        self.client_ms_per_msg = 1000.0 * client / CLK_TCK / msgs
        ncpu = os.cpu_count() or 1
        self.server_pct = 100.0 * cpu_ticks / CLK_TCK / (seconds * ncpu)
        self.client_pct = 100.0 * client / CLK_TCK / (seconds * ncpu)
        # CPU used by anything but the server and smtp-source during the run
        # (other jobs, kernel threads), as a share of all CPUs: a noise gauge.
        self.other_pct = 100.0 * max(other, 0) / CLK_TCK / (seconds * ncpu)
        self.queued = queued
        self.seconds = seconds
        self.cpu_s = cpu_ticks / CLK_TCK
        self.rss_kb = rss_kb

    @property
    def rate(self) -> float:
        return self.msgs / self.seconds

    @property
    def cpu_ms_per_msg(self) -> float:
        return 1000.0 * self.cpu_s / self.msgs


def smtp_source(port: int, sessions: int, msgs: int, size: int, reuse: bool, env: Envelope) -> Tuple[float, int, int]:
    """Runs smtp-source; returns (wall seconds, its CPU ticks, the machine's busy ticks meanwhile)."""
    cmd = [SMTP_SOURCE, "-s", str(sessions), "-m", str(msgs), "-l", str(size),
           "-M", env.helo, "-f", env.sender, "-t", env.recipient]
    if reuse:
        cmd.append("-d")
    cmd.append(f"127.0.0.1:{port}")
    ru0, busy0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), busy_ticks(), time.monotonic()
    p = run(cmd, check=False)
    elapsed = time.monotonic() - t0
    busy = busy_ticks() - busy0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = round((ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) * CLK_TCK)
    if p.returncode != 0 or "warning" in p.stderr or "fatal" in p.stderr:
        raise BenchError(f"smtp-source failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()[:2000]}")
    return elapsed, client, busy


def measure_postfix(pf: PrivatePostfix, sessions: int, msgs: int, size: int, reuse: bool, env: Envelope,
                    extra_pids: Callable[[], list] = lambda: []) -> Result:
    """`extra_pids`: processes outside Postfix's tree that work for it (a milter); their CPU is billed too."""
    pf.clear(pf.root.parent / "trash")
    settle()
    before = pf.cpu_ticks() + sum(process_cpu_ticks(p) for p in extra_pids())
    elapsed, client, busy = smtp_source(pf.port, sessions, msgs, size, reuse, env)
    pf.wait_idle()
    after = pf.cpu_ticks() + sum(process_cpu_ticks(p) for p in extra_pids())
    queued = pf.queued()
    if queued != msgs:
        log(f"  warning: smtp-source reported {msgs} messages accepted, Postfix's queue holds {queued}")
    return Result(msgs, elapsed, after - before, queued=queued, other=busy - client - (after - before),
                  client=client)


def measure_volley(v: VolleyInstance, sessions: int, msgs: int, size: int, reuse: bool, env: Envelope,
                   inspect: Optional[Callable[[VolleyInstance], None]] = None) -> Result:
    """A fresh daemon per measurement. `inspect` runs against it after the load, before it stops."""
    v.stop()  # previous instance and its data_dir
    settle()
    v.start()
    try:
        before = process_cpu_ticks(v.pid)
        elapsed, client, busy = smtp_source(v.port, sessions, msgs, size, reuse, env)
        after = process_cpu_ticks(v.pid)
        rss = vm_hwm_kb(v.pid)
        queued = v.queued()
        if queued is not None and queued != msgs:
            log(f"  warning: smtp-source reported {msgs} messages accepted, Volley's spool holds {queued}")
        if inspect is not None:
            inspect(v)
    finally:
        v.stop()
    return Result(msgs, elapsed, after - before, rss, queued, other=busy - client - (after - before),
                  client=client)
