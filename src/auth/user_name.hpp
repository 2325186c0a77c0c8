// Mailbox user names: one normalisation used by the user store, the CLI, the
// daemon's user snapshot, AUTH and RCPT, and the rule for which names may be
// users at all.
//
// Normalisation (what Postfix and Dovecot do by default): parse with the
// SMTP address grammar (smtp/address.hpp), then lowercase ASCII letters in
// the local part and the domain; UTF-8 bytes are left exactly as they are
// (no Unicode case folding), so "JOSÉ@X.test" and "josÉ@x.test" are one
// user and "josé@x.test" is another. smtp::Mailbox::lookup_key() is the
// same function for an already parsed address.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace volley::auth {

// Trims surrounding whitespace, parses user@domain with the SMTP grammar
// (RFC 5321 lengths: local part <= 64, domain <= 255 octets; RFC 6531
// UTF-8 allowed) and lowercases ASCII. Error Invalid "invalid address ...".
Result<std::string> normalize_address(std::string_view address);

// normalize_address() plus the mailbox rule (smtp::mailbox_name_problem):
// what the store accepts for a new user. Error Invalid with a one-line reason.
Result<std::string> normalize_user_name(std::string_view address);

// normalize_user_name() plus "the domain is one of `local_domains`" (for
// `volley user add`): a user elsewhere could never receive mail here.
Result<std::string> validate_user_name(std::string_view address, const std::vector<std::string>& local_domains);

}  // namespace volley::auth
