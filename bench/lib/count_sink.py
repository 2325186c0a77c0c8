"""Runs bench/lib/count_sink.c (built on the fly) and reads its counters.

See count_sink.c for why the benchmarks use it rather than Postfix's smtp-sink.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Dict, Optional

from bench_common import BenchError, free_port, process_cpu_ticks, run, terminate, wait_port

SOURCE = Path(__file__).resolve().parent / "count_sink.c"


def build_count_sink(workdir: Path) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise BenchError("no C compiler (cc) for the counting sink")
    exe = workdir / "count_sink"
    run([cc, "-O2", "-std=c11", "-Wall", "-Wextra", "-o", str(exe), str(SOURCE)])
    return exe


class CountSink:
    """One sink process on 127.0.0.1:<port>; counts() asks it over a control connection."""

    def __init__(self, exe: Path, logfile: Path, port: Optional[int] = None):
        self.exe = exe
        self.logfile = logfile
        self.port = port or free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.ctl: Optional[socket.socket] = None
        self.ctl_in = None

    def start(self) -> None:
        # The sink stamps transactions with CLOCK_MONOTONIC; callers compare them with time.monotonic().
        if time.get_clock_info("monotonic").implementation != "clock_gettime(CLOCK_MONOTONIC)":
            raise BenchError("time.monotonic() is not CLOCK_MONOTONIC here: the sink's timestamps would not compare")
        with open(self.logfile, "a") as logf:
            self.proc = subprocess.Popen([str(self.exe), "127.0.0.1", str(self.port)], stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf)
        wait_port(self.port, 10, self.proc)
        self.ctl = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.ctl_in = self.ctl.makefile("rb")
        if not self.ctl_in.readline().startswith(b"220"):
            raise BenchError("the counting sink did not greet")

    def counts(self) -> Dict[str, int]:
        """msgs, rcpts, conns, maxconc, aborted, first_ns, last_ns (CLOCK_MONOTONIC ns: time.monotonic() * 1e9)."""
        assert self.ctl is not None and self.ctl_in is not None
        self.ctl.sendall(b"XCOUNT\r\n")
        line = self.ctl_in.readline().decode().split()
        if not line or line[0] != "250":
            raise BenchError(f"the counting sink answered {line!r} to XCOUNT")
        return {k: int(v) for k, v in (field.split("=", 1) for field in line[1:])}

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_ticks(self) -> int:
        return process_cpu_ticks(self.pid)

    def stop(self) -> None:
        if self.ctl is not None:
            self.ctl_in.close()
            self.ctl.close()
            self.ctl = self.ctl_in = None
        if self.proc is not None:
            proc, self.proc = self.proc, None
            terminate(proc, 5)

