// dovecot-keywords: maps the Maildir keyword letters a..z (index 0..25) to
// IMAP keyword names, one "<index> <name>" line each, as Dovecot writes it.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace volley::mailbox {

inline constexpr const char* kKeywordsName = "dovecot-keywords";
inline constexpr unsigned kMaxKeywords = 26;

// index -> name. Malformed lines (no index, index >= 26, empty name or one
// with a space or control byte, over 1000 bytes) are skipped; the first
// line for an index wins.
std::map<unsigned, std::string> parse_keywords(std::string_view text);
std::string serialize_keywords(const std::map<unsigned, std::string>& keywords);

// The Maildir flag letter of a keyword index ('a' + index).
inline char keyword_letter(unsigned index) { return static_cast<char>('a' + index); }

}  // namespace volley::mailbox
