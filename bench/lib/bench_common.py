"""Helpers shared by the benchmark scripts in bench/ (intake, relay).

Processes, CPU time from /proc, the filesystem under a work directory, and
the prerequisites (Postfix's tools, a release build of Volley). Imported by
the scripts after they put bench/lib on sys.path.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent.parent
SMTP_SOURCE = "/usr/sbin/smtp-source"
POSTFIX = "/usr/sbin/postfix"
POSTSUPER = "/usr/sbin/postsuper"
POSTCONF = "/usr/sbin/postconf"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def run(cmd: List[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    p = subprocess.run(cmd, **kw)
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p


def terminate(proc: "subprocess.Popen", timeout: float) -> None:
    """SIGTERM to a child we started, SIGKILL if it is still there after `timeout` seconds; reaped either way."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float, proc: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"server exited with status {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise BenchError(f"nothing greets on 127.0.0.1:{port} after {timeout}s")


def proc_stat(pid: int) -> Tuple[int, int]:
    """(ppid, utime+stime+cutime+cstime in ticks) of a process."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14.
    ppid = int(fields[1])
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ppid, ticks


def tree_cpu_ticks(root: int) -> int:
    """CPU ticks of `root` and all its descendants, including reaped children."""
    children: Dict[int, List[int]] = {}
    ticks: Dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            ppid, t = proc_stat(pid)
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(pid)
        ticks[pid] = t
    if root not in ticks:
        raise BenchError(f"process {root} is gone")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def process_cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def vm_hwm_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def count_files(root: Path) -> int:
    n = 0
    for _dirpath, _dirs, files in os.walk(root):
        n += len(files)
    return n


def fs_info(path: Path) -> Tuple[str, str]:
    """(filesystem type, mount source) of the filesystem holding `path`."""
    path = path.resolve()
    best, best_len = ("?", "?"), -1
    with open("/proc/mounts") as f:
        for line in f:
            src, mnt, fstype = line.split()[:3]
            mnt = mnt.replace("\\040", " ")
            if (str(path) == mnt or str(path).startswith(mnt.rstrip("/") + "/")) and len(mnt) > best_len:
                best, best_len = (fstype, src), len(mnt)
    return best


def fs_journal(path: Path, fstype: str, fsdev: str) -> str:
    """'journal', 'no journal' (ext4 only; fsync then writes no journal) or ''."""
    if fstype != "ext4":
        return ""
    try:
        task = Path(f"/sys/fs/ext4/{os.path.basename(os.path.realpath(fsdev))}/journal_task").read_text().strip()
    except OSError:
        return ""
    return "no journal" if task == "<none>" else "journal"


def settle() -> None:
    """Flush dirty pages left by the previous run (deleted queues) so they do not bill the next."""
    os.sync()
    time.sleep(0.3)


# --------------------------------------------------------------------------
# prerequisites
# --------------------------------------------------------------------------

def ensure_postfix() -> None:
    if os.access(SMTP_SOURCE, os.X_OK) and os.access(POSTFIX, os.X_OK):
        return
    log("postfix (and smtp-source) missing: installing the Debian package")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["debconf-set-selections"], input="postfix postfix/main_mailer_type select No configuration\n", env=env)
    p = run(["apt-get", "install", "-y", "-q", "postfix"], check=False, env=env)
    if p.returncode != 0:
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", "postfix"], env=env)
    if not os.access(SMTP_SOURCE, os.X_OK):
        raise BenchError(f"{SMTP_SOURCE} still missing after installing postfix")


def volley_build_path() -> Path:
    """$VOLLEY_BIN or build/release/volley (absolute)."""
    binary = Path(os.environ.get("VOLLEY_BIN") or REPO / "build/release/volley")
    if not binary.is_absolute():
        binary = (REPO / binary) if not binary.exists() else binary.resolve()
    return binary


def ensure_built(binary: Path, target: str, workdir: Path) -> Path:
    """A private copy of `binary` (CMake target `target`, built with the release preset if missing)."""
    if not binary.exists():
        log(f"{binary} missing: building it (cmake --preset release)")
        run(["cmake", "--preset", "release"], cwd=REPO, stdout=None, stderr=None)
        run(["cmake", "--build", "--preset", "release", "--target", target], cwd=REPO, stdout=None, stderr=None)
        if not binary.exists():
            raise BenchError(f"build finished but {binary} does not exist")
    # A private copy: another session may rebuild the binary while we run.
    copy = workdir / f"{target}-bin"
    shutil.copy2(binary, copy)
    return copy


def ensure_volley(workdir: Path) -> Path:
    return ensure_built(volley_build_path(), "volley", workdir)


# --------------------------------------------------------------------------
# machine and versions
# --------------------------------------------------------------------------

def busy_ticks() -> int:
    """Busy CPU ticks of the whole machine (all CPUs) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is inside user)
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return ""


def fs_description(path: Path) -> str:
    """'ext4 (no journal) on /dev/vda'; raises BenchError on tmpfs/ramfs (fsync would cost nothing)."""
    fstype, fsdev = fs_info(path)
    if fstype in ("tmpfs", "ramfs"):
        raise BenchError(f"{path} is on {fstype}: fsync would cost nothing; use --dir on a real disk")
    journal = fs_journal(path, fstype, fsdev)
    return f"{fstype}{' (' + journal + ')' if journal else ''} on {fsdev}"


def postfix_version() -> str:
    return run([POSTCONF, "-d", "-h", "mail_version"], check=False).stdout.strip()


def volley_version(binary: Path) -> str:
    """`volley --version` of the private copy, the binary it came from and its build time."""
    version = run([str(binary), "--version"], check=False).stdout.strip()
    src_bin = Path(os.environ.get("VOLLEY_BIN") or REPO / "build/release/volley")
    return version + f" ({src_bin}, built {time.strftime('%Y-%m-%d %H:%M', time.localtime(os.stat(binary).st_mtime))})"
