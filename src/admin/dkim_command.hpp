// `volley dkim keygen --domain D --selector S [--algorithm rsa|ed25519]
// [--bits N] [--out FILE]`: writes a new private key (PEM, mode 0600, parent
// directories created 0700; never over an existing file: replacing a key
// whose public half is in DNS breaks every signature until DNS follows) and
// prints the DNS TXT record on stdout.
#pragma once

#include <iosfwd>
#include <string>

namespace volley::admin {

struct DkimKeygenOptions {
  std::string domain;
  std::string selector;
  std::string algorithm = "rsa";  // rsa | ed25519
  int bits = 2048;
  std::string out;  // default: data_dir/dkim/<domain>.<selector>.pem
};

// Returns the exit code: 0 done, 1 with "volley: dkim keygen: reason" on `err`.
int run_dkim_keygen(const DkimKeygenOptions& opts, const std::string& data_dir, std::ostream& out,
                    std::ostream& err);

}  // namespace volley::admin
