"""Installable (issue 9, point 4): `volley --version` from the CMake project
version, the `cmake --install` tree and its hardened systemd unit, modes
0700/0600 for everything under data_dir, and server.user: started as root,
Volley binds its listeners, gives data_dir to the user and runs as it."""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import (REPO_ROOT, VOLLEY_BIN, free_port, inject, maildir, message, parse_kv_line, skip_unless_ci,
                      wait_delivery, wait_maildir)

LOCAL_DELIVERY = "[delivery]\nenabled = true\n"


def project_version() -> str:
    m = re.search(r"^project\(volley VERSION ([0-9][0-9.]*)", (REPO_ROOT / "CMakeLists.txt").read_text(), re.M)
    assert m, "project(volley VERSION x.y.z) in CMakeLists.txt"
    return m.group(1)


def test_version_is_the_cmake_project_version():
    r = subprocess.run([VOLLEY_BIN, "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"volley {project_version()}"
    assert project_version() not in (REPO_ROOT / "src/app/main.cpp").read_text(), "no second copy in main.cpp"


# ------------------------------------------------------------ cmake --install

def build_dir() -> Path:
    d = Path(os.environ.get("VOLLEY_BUILD_DIR") or Path(VOLLEY_BIN).parent)
    if not (d / "cmake_install.cmake").is_file():
        skip_unless_ci(f"no CMake build directory at {d} (set VOLLEY_BUILD_DIR)")
    return d


def cmake_install(prefix: str, destdir: Path | None = None) -> Path:
    env = dict(os.environ)
    if destdir is not None:
        env["DESTDIR"] = str(destdir)
    r = subprocess.run(["cmake", "--install", str(build_dir()), "--prefix", prefix], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return Path(str(destdir) + prefix) if destdir is not None else Path(prefix)


def unit_settings(text: str) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def test_cmake_install_tree_and_hardened_unit(tmp_path):
    root = tmp_path / "root"
    usr = cmake_install("/usr", destdir=root)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())
    assert files == [
        "usr/bin/volley",
        "usr/lib/systemd/system/volley.service",
        "usr/lib/sysusers.d/volley.conf",
        "usr/share/doc/volley/README.md",
        "usr/share/doc/volley/architecture.md",
        "usr/share/doc/volley/configuration.md",
        "usr/share/doc/volley/operations.md",
        "usr/share/doc/volley/volley.example.toml",
    ], "only the daemon, its docs, its unit and its user: no tests or benchmarks"

    binary = usr / "bin/volley"
    assert os.access(binary, os.X_OK)
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10)
    assert r.stdout.strip() == f"volley {project_version()}"
    example = usr / "share/doc/volley/volley.example.toml"
    assert example.read_bytes() == (REPO_ROOT / "volley.example.toml").read_bytes()
    r = subprocess.run([str(binary), "check-config", "--config", str(example)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr

    unit = unit_settings((usr / "lib/systemd/system/volley.service").read_text())
    # Paths are those of the prefix (/usr; its configuration in /etc), not of the build.
    assert unit["ExecStart"] == ["/usr/bin/volley serve --config /etc/volley/volley.toml"]
    assert unit["User"] == ["volley"] and unit["Group"] == ["volley"]
    for key, value in {
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/volley",
        "StateDirectory": "volley",
        "StateDirectoryMode": "0700",
        "Restart": "on-failure",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "KillSignal": "SIGTERM",
    }.items():
        assert unit.get(key) == [value], f"{key}={unit.get(key)}"
    sysusers = (usr / "lib/sysusers.d/volley.conf").read_text()
    assert re.search(r"^u volley - .* /var/lib/volley ", sysusers, re.M), sysusers


def test_installed_unit_passes_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        skip_unless_ci("systemd-analyze is not installed (package systemd)")
    # Installed without DESTDIR so the unit's ExecStart names a binary that exists.
    prefix = cmake_install(str(tmp_path / "prefix"))
    unit = prefix / "lib/systemd/system/volley.service"
    assert f"ExecStart={prefix}/bin/volley serve --config {prefix}/etc/volley/volley.toml" in unit.read_text()
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    # Anything it says about volley.service itself is a defect (it may chatter about other units).
    assert "volley.service" not in r.stdout + r.stderr, r.stdout + r.stderr


# ------------------------------------------------------------ data_dir modes

def modes_under(data_dir: Path) -> Dict[str, str]:
    """Every entry under data_dir whose mode is not 0700 (directory) or 0600 (anything else)."""
    wrong = {}
    for dirpath, dirnames, filenames in os.walk(data_dir):
        for name in [""] + dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
            if stat.S_IMODE(st.st_mode) != want:
                wrong[str(p.relative_to(data_dir))] = oct(stat.S_IMODE(st.st_mode))
    return wrong


def deliver_one_locally_and_over_tls(srv) -> None:
    inject(srv, "sender@remote.test", ["alice@local.test"], message("installed"))
    wait_maildir(srv, "alice@local.test")
    wait_delivery(srv, "alice@local.test", "sent")
    c = srv.submission_client()  # STARTTLS with the self-signed certificate made in data_dir/tls
    c.close()


def test_data_dir_is_owner_only_whatever_the_umask(volley_factory):
    old = os.umask(0)  # the daemon and `volley user add` inherit a umask that masks nothing
    try:
        srv = volley_factory(extra_toml=LOCAL_DELIVERY)
        deliver_one_locally_and_over_tls(srv)
    finally:
        os.umask(old)
    names = {str(p.relative_to(srv.data_dir)) for p in srv.data_dir.rglob("*")}
    for expected in ("users.db", "queue", "tls/key.pem", "tls/cert.pem", "admin.sock", "mail/local.test/alice/new"):
        assert expected in names, f"{expected} missing from {sorted(names)}"
    assert modes_under(srv.data_dir) == {}


# ------------------------------------------------------------ server.user

_user_serial = itertools.count()


@pytest.fixture
def system_user():
    """A system account made for this test (useradd --system), removed after.
    Request it before volley_factory, so the daemon running as it has stopped
    by the time userdel runs."""
    if os.geteuid() != 0:
        skip_unless_ci("needs root: useradd, and a daemon started as root")
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        skip_unless_ci("useradd/userdel are not installed (package passwd)")
    name = f"volley-e2e-{os.getpid()}-{next(_user_serial)}"
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True, timeout=30)
    try:
        yield pwd.getpwnam(name)
    finally:
        r = subprocess.run(["userdel", name], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"userdel {name}: {r.stderr}"


@pytest.fixture
def shared_dir():
    """A directory every user can traverse (pytest's tmp_path is root-only)."""
    d = Path(tempfile.mkdtemp(prefix="volley-e2e-user-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def privileged_free_port() -> int:
    for port in range(980, 1024):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    pytest.fail("no free port below 1024 on 127.0.0.1")


def proc_ids(pid: int) -> Dict[str, List[int]]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Uid", "Gid", "Groups", "CapEff", "CapPrm"):
            out[key] = [int(x, 16 if key.startswith("Cap") else 10) for x in rest.split()]
    return out


def test_started_as_root_runs_as_server_user(system_user, shared_dir, volley_factory):
    uid, gid = system_user.pw_uid, system_user.pw_gid
    data_dir = shared_dir / "data"
    # What an earlier root run would leave: root-owned files, given to the user at start.
    data_dir.mkdir(mode=0o700)
    (data_dir / "left-by-root").write_bytes(b"x")
    (data_dir / "left-by-root").chmod(0o600)
    # Links the user could plant must not hand anything outside data_dir over.
    outside = shared_dir / "outside"
    outside.write_bytes(b"root's")
    (data_dir / "planted-link").symlink_to(outside)

    mx_port = privileged_free_port()  # only root may bind it (ip_unprivileged_port_start permitting)
    listeners = [{"name": "mx", "protocol": "smtp", "role": "mx", "tls": "none", "address": f"127.0.0.1:{mx_port}"},
                 {"name": "submission", "protocol": "smtp", "role": "submission", "tls": "starttls"}]
    srv = volley_factory(listeners=listeners, server={"data_dir": str(data_dir), "user": system_user.pw_name},
                         extra_toml=LOCAL_DELIVERY)
    (dropped,) = srv.events("server.privileges_dropped")
    assert dropped["user"] == system_user.pw_name and dropped["uid"] == str(uid), dropped
    ids = proc_ids(srv.proc.pid)
    assert ids["Uid"] == [uid] * 4 and ids["Gid"] == [gid] * 4, ids
    assert 0 not in ids["Groups"], ids
    assert ids["CapEff"] == [0] and ids["CapPrm"] == [0], "no capability is kept after the switch"

    deliver_one_locally_and_over_tls(srv)
    assert (maildir(srv, "alice@local.test") / "new").is_dir()
    not_users = [str(p) for p in [data_dir, *data_dir.rglob("*")] if p.lstat().st_uid != uid]
    assert not_users == [], "everything under data_dir is the user's"
    assert outside.stat().st_uid == 0, "a planted link is never followed"
    assert modes_under(data_dir) == {"planted-link": "0o777"}, "0700/0600 (a symlink's own mode is 0777)"

    changes = len(srv.events("server.data_dir_owner_changed"))
    srv.stop()
    srv.start()  # again: nothing left to give, everything still usable
    assert len(srv.events("server.data_dir_owner_changed")) == changes
    assert len(srv.events("server.privileges_dropped")) == 2
    inject(srv, "sender@remote.test", ["bob@local.test"], message("second start"))
    wait_maildir(srv, "bob@local.test")


def test_server_user_unknown_is_a_clear_error(volley_factory, shared_dir):
    srv = volley_factory(start=False, users={}, server={"data_dir": str(shared_dir / "data"),
                                                        "user": "volley-no-such-user"})
    srv.start(wait=False)
    srv.expected_exit = True
    assert srv.proc.wait(15) == 1
    (failed,) = srv.events("server.start_failed")
    assert 'server.user: no such user "volley-no-such-user"' in failed["reason"], failed


def test_server_user_needs_root_or_that_user(system_user, shared_dir):
    # Started by another unprivileged account: it cannot become server.user,
    # and must say so rather than run as the wrong user.
    config = shared_dir / "volley.toml"
    config.write_text(f'[server]\ndata_dir = "{shared_dir}/data"\nuser = "{system_user.pw_name}"\n'
                      f'[[listener]]\nname = "mx"\naddress = "127.0.0.1:{free_port()}"\n'
                      '[domains]\nlocal = ["local.test"]\n')
    config.chmod(0o644)
    nobody = pwd.getpwnam("nobody")
    binary = shared_dir / "volley"  # VOLLEY_BIN may sit under a root-only directory (/root/...)
    shutil.copy2(VOLLEY_BIN, binary)
    r = subprocess.run([str(binary), "serve", "--config", str(config)], capture_output=True, text=True, timeout=15,
                       user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], cwd=str(shared_dir))
    assert r.returncode == 1, r.stderr
    (reason,) = [kv["reason"] for kv in map(parse_kv_line, r.stderr.splitlines())
                 if kv.get("event") == "server.start_failed"]
    assert reason.startswith(f'server.user is "{system_user.pw_name}" (uid {system_user.pw_uid}) but volley runs '
                             f'as uid {nobody.pw_uid}: start it as root'), reason
    assert not (shared_dir / "data").exists(), "nothing is created before the refusal"
