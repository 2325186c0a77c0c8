#!/usr/bin/env bash
# Installs the Debian 12 packages Volley needs to build (no argument) or to
# build and run every test and benchmark (--test), only when some are missing
# (so a second run costs nothing). Needs root or sudo. Checked on a fresh
# `debootstrap --variant=minbase bookworm` root: this list is everything the
# build, tests/e2e and bench/ start, not what a developer's machine happens to
# have.
set -euo pipefail

BUILD_PKGS=(g++ cmake ninja-build pkg-config zlib1g-dev libasio-dev libssl-dev libsqlite3-dev libcrypt-dev libc-ares-dev
            libtomlplusplus-dev libcli11-dev libgtest-dev nlohmann-json3-dev
            libpsl-dev publicsuffix    # DMARC organizational domains (libpsl over Debian's list)
            libsodium-dev              # Ed25519 DKIM signing and verifying (faster than OpenSSL 3.0's EVP path)
            libcurl4-openssl-dev       # MTA-STS policy fetch over HTTPS
            libboost1.74-dev           # Boost.Beast's HTTP/1.1 request parser (header-only)
            libgmime-3.0-dev)          # MIME building (HTTP API) and report parsing (ARF, DSN)
TEST_PKGS=(
  clang-14 libclang-rt-14-dev                          # fuzz targets (libFuzzer + ASan/UBSan runtimes)
  python3 python3-pytest python3-aiosmtpd python3-dnslib  # the e2e suite and its SMTP/DNS peers
  swaks libnet-ssleay-perl libio-socket-ssl-perl       # swaks, with the modules its -tls / -tlsc need
  curl openssl                                         # clients (smtp/smtps, s_client), test certificates
  postfix                                              # private receiver in e2e; smtp-source/sink in bench/
  systemd                                              # systemd-analyze verify of the installed unit
  passwd mount                                         # useradd/userdel (privilege drop test), tmpfs mount (disk full)
  iproute2                                             # ss (listen backlog test)
  python3-dkim                                         # independent DKIM signer/verifier (tests/e2e/test_dkim_interop.py)
  python3-spf python3-yaml                             # RFC 7208 test suite (spf_suite_test) and its YAML reader
  ldnsutils unbound                                    # DANE e2e: sign a private zone, serve and validate it on loopback
  opendkim opendkim-tools                              # bench/dkim_signing: Postfix's signing milter (private instance)
  dovecot-core dovecot-pop3d dovecot-imapd             # POP3 interop e2e and bench/pop3: private Dovecot instances
  fetchmail                                            # a real POP3 client (e2e, batch mode; python3's poplib is stdlib)
  wrk                                                  # bench/api: HTTP load (POST /v1/messages)
)

want=("${BUILD_PKGS[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

# Postfix is a test peer and a load tool here, never this machine's mailer:
# "No configuration" writes no main.cf, and a policy-rc.d that forbids
# starting services keeps the package's postinst from starting a system
# instance (tests run private instances with `postfix -c DIR`). An existing
# policy-rc.d is left alone.
# Unbound likewise: the tests run private instances on loopback ports with
# their own config (`unbound -d -c FILE`); a system instance would take port
# 53 (and, with resolvconf, take over resolv.conf), so it is not started now (policy-rc.d) and
# not enabled for the next boot (below). OpenDKIM too: bench/dkim_signing runs
# its own opendkim process with its own config file. Dovecot too: the POP3
# tests and bench/pop3 run `dovecot -F -c FILE` on 127.0.0.2; a system
# instance would take ports 110/143/993/995. fetchmail is only ever run as a
# client (its package's daemon needs a config it does not get).
if [[ " ${missing[*]} " == *" postfix "* ]]; then
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
fi
if [[ " ${missing[*]} " == *" postfix "* || " ${missing[*]} " == *" unbound "* || " ${missing[*]} " == *" opendkim "* ||
      " ${missing[*]} " == *" dovecot-core "* || " ${missing[*]} " == *" fetchmail "* ]]; then
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# installed by volley scripts/install-deps.sh while installing packages\nexit 101\n' |
      $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
fi

# A fresh machine has no package lists yet; an old list may name versions
# the mirror no longer has. Either way update once, then install.
$SUDO apt-get update -qq >&2 || echo "install-deps: apt-get update failed; trying the package lists at hand" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
if [[ " ${missing[*]} " == *" unbound "* ]] && command -v systemctl >/dev/null; then
  $SUDO systemctl disable unbound.service unbound-resolvconf.service >/dev/null 2>&1 || true
fi
if [[ " ${missing[*]} " == *" opendkim "* ]] && command -v systemctl >/dev/null; then
  $SUDO systemctl disable opendkim.service >/dev/null 2>&1 || true
fi
if [[ " ${missing[*]} " == *" dovecot-core "* ]] && command -v systemctl >/dev/null; then
  $SUDO systemctl disable dovecot.service dovecot.socket >/dev/null 2>&1 || true
fi
if [[ " ${missing[*]} " == *" fetchmail "* ]] && command -v systemctl >/dev/null; then
  $SUDO systemctl disable fetchmail.service >/dev/null 2>&1 || true
fi
