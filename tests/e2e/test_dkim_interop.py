"""DKIM interoperability with an independent implementation, Debian's
python3-dkim (dkimpy): keys from the real `volley dkim keygen`, its printed
DNS record served to dkim.verify through a dnsfunc; messages signed by our
signer (tests/tools/dkim_tool.cpp, built next to the volley binary as
volley_dkim_tool) verified by dkimpy, and messages dkimpy signs verified by
our verifier. Both algorithms, over messages that tempt canonicalization bugs.
"""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import VOLLEY_BIN, skip_unless_ci

try:
    import dkim  # python3-dkim
except ImportError:  # pragma: no cover - depends on the machine
    dkim = None

TOOL = Path(VOLLEY_BIN).parent / "volley_dkim_tool"
DOMAIN = "example.com"
SELECTOR = "s2026"

HEADERS = (b"From: Alice <alice@example.com>\r\n"
           b"To: Bob <bob@example.net>\r\n"
           b"Subject: interop\r\n"
           b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
           b"Message-ID: <interop@example.com>\r\n")

MESSAGES = {
    "folded_headers": HEADERS.replace(b"Subject: interop\r\n",
                                      b"Subject: a subject folded\r\n\tover two\r\n   lines\r\n")
    + b"Content-Type: text/plain;\r\n charset=utf-8\r\n\r\nbody\r\n",
    "trailing_whitespace": HEADERS.replace(b"Subject: interop\r\n", b"Subject: spaces   \t\r\n")
    + b"\r\nline with trailing spaces   \r\ntabs\t\t\r\n  \r\n\r\n",
    "empty_body": HEADERS + b"\r\n",
    "crlf_only_body": HEADERS + b"\r\n\r\n\r\n\r\n",
    "eight_bit_body": HEADERS.replace(b"Subject: interop", b"Subject: caf\xc3\xa9")
    + b"Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 \xe2\x82\xac \xff\r\n",
    "leading_dots": HEADERS + b"\r\n.\r\n..two dots\r\n. space\r\nend\r\n",
    "no_final_crlf": HEADERS + b"\r\nlast line without CRLF",
}


@pytest.fixture(scope="module")
def need_tools():
    if dkim is None:
        skip_unless_ci("python3-dkim is not installed (apt-get install -y python3-dkim)")
    if not TOOL.is_file():
        pytest.fail(f"{TOOL} not built (cmake --build --preset release)", pytrace=False)


def keygen(tmp: Path, algorithm: str) -> tuple[Path, bytes]:
    """Runs the real CLI; returns the key file and the record text its
    printed zone line publishes (quoted strings joined)."""
    out = tmp / f"{algorithm}.pem"
    run = subprocess.run([VOLLEY_BIN, "dkim", "keygen", "--domain", DOMAIN, "--selector", SELECTOR,
                          "--algorithm", algorithm, "--out", str(out)],
                         cwd=tmp, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    line = run.stdout.decode().strip()
    assert line.startswith(f"{SELECTOR}._domainkey.{DOMAIN}. IN TXT \""), line
    strings = re.findall(r'"([^"]*)"', line)
    assert all(len(s) <= 255 for s in strings)
    assert out.stat().st_mode & 0o777 == 0o600
    return out, "".join(strings).encode()


@pytest.fixture(scope="module", params=["rsa", "ed25519"])
def key(request, need_tools, tmp_path_factory):
    path, record = keygen(tmp_path_factory.mktemp("dkim"), request.param)
    return request.param, path, record


def dnsfunc_for(record: bytes):
    def dnsfunc(name, timeout=5):
        assert name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode(), name
        return record
    return dnsfunc


def dkimpy_private_key(algorithm: str, pem_path: Path) -> bytes:
    """dkimpy takes RSA keys as PEM and Ed25519 keys as the base64 raw seed."""
    if algorithm == "rsa":
        return pem_path.read_bytes()
    der = subprocess.run(["openssl", "pkey", "-in", str(pem_path), "-outform", "DER"],
                         capture_output=True, check=True).stdout
    import base64
    return base64.b64encode(der[-32:])  # PKCS#8 Ed25519: the 32-byte seed ends the DER


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_volley_signs_dkimpy_verifies(key, name):
    algorithm, pem, record = key
    msg = MESSAGES[name]
    run = subprocess.run([str(TOOL), "sign", str(pem), algorithm, DOMAIN, SELECTOR], input=msg,
                         capture_output=True, timeout=30)
    assert run.returncode == 0, run.stderr
    signed = run.stdout
    assert signed.endswith(msg)
    field = signed[: len(signed) - len(msg)]
    assert field.startswith(b"DKIM-Signature: v=1; a=" + (b"rsa-sha256" if algorithm == "rsa" else b"ed25519-sha256"))
    assert all(len(line) <= 78 for line in field.split(b"\r\n"))
    assert dkim.verify(signed, dnsfunc=dnsfunc_for(record)), f"dkimpy rejects our {algorithm} signature on {name}"
    # Tampering is noticed by dkimpy as well: the signature is not trivially true.
    tampered = signed.replace(b"Date: Mon, 1 Jan 2024", b"Date: Tue, 2 Jan 2024")
    assert not dkim.verify(tampered, dnsfunc=dnsfunc_for(record))


@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"), (b"simple", b"simple"), (b"relaxed", b"simple")])
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_dkimpy_signs_volley_verifies(key, name, canon, tmp_path):
    algorithm, pem, record = key
    msg = MESSAGES[name]
    sig = dkim.sign(msg, SELECTOR.encode(), DOMAIN.encode(), dkimpy_private_key(algorithm, pem),
                    canonicalize=canon,
                    signature_algorithm=b"rsa-sha256" if algorithm == "rsa" else b"ed25519-sha256")
    signed = sig + msg
    assert dkim.verify(signed, dnsfunc=dnsfunc_for(record))  # dkimpy agrees with itself
    record_file = tmp_path / "record.txt"
    record_file.write_bytes(record)
    run = subprocess.run([str(TOOL), "verify", str(record_file)], input=signed, capture_output=True, timeout=30)
    assert run.returncode == 0 and run.stdout.startswith(b"pass "), (run.stdout, run.stderr)

    tampered = signed.replace(b"Message-ID: <interop@", b"Message-ID: <other@")
    run = subprocess.run([str(TOOL), "verify", str(record_file)], input=tampered, capture_output=True, timeout=30)
    assert run.returncode == 1 and run.stdout.startswith(b"fail "), run.stdout


def test_dkimpy_body_length_tag_verifies(need_tools, tmp_path):
    """l= (dkimpy's length=True): our verifier honours it, text appended later is ignored."""
    pem, record = keygen(tmp_path, "ed25519")
    msg = MESSAGES["leading_dots"]
    sig = dkim.sign(msg, SELECTOR.encode(), DOMAIN.encode(), dkimpy_private_key("ed25519", pem),
                    signature_algorithm=b"ed25519-sha256", length=True)
    assert b"l=" in sig
    record_file = tmp_path / "record.txt"
    record_file.write_bytes(record)
    run = subprocess.run([str(TOOL), "verify", str(record_file)], input=sig + msg + b"appended\r\n",
                         capture_output=True, timeout=30)
    assert run.returncode == 0, run.stdout


def test_keygen_default_path_and_refusals(need_tools, tmp_path):
    """Without --out the key goes to data_dir/dkim/DOMAIN.SELECTOR.pem (0600, directory
    0700); an existing key is never overwritten; RSA under 2048 bits is refused."""
    args = [VOLLEY_BIN, "dkim", "keygen", "--domain", DOMAIN, "--selector", SELECTOR, "--algorithm", "ed25519"]
    first = subprocess.run(args, cwd=tmp_path, capture_output=True, timeout=60)
    assert first.returncode == 0, first.stderr
    key = tmp_path / "volley-data" / "dkim" / f"{DOMAIN}.{SELECTOR}.pem"  # development default data_dir
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.parent.stat().st_mode & 0o777 == 0o700
    before = key.read_bytes()
    again = subprocess.run(args, cwd=tmp_path, capture_output=True, timeout=60)
    assert again.returncode == 1 and b"exists" in again.stderr
    assert key.read_bytes() == before
    small = subprocess.run([VOLLEY_BIN, "dkim", "keygen", "--domain", DOMAIN, "--selector", "small",
                            "--bits", "1024"], cwd=tmp_path, capture_output=True, timeout=60)
    assert small.returncode == 1 and b"2048" in small.stderr
