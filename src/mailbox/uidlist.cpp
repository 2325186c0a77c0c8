#include "mailbox/uidlist.hpp"

#include "mailbox/maildir_name.hpp"
#include "util/strings.hpp"

namespace volley::mailbox {
namespace {

std::optional<uint32_t> parse_u32(std::string_view s) {
  auto v = parse_decimal(s, UINT32_MAX);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

bool is_ext_key(char c) { return c >= 'A' && c <= 'Z'; }

// Splits on runs of spaces.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

Result<void> parse_v3_header(std::string_view rest, Uidlist& out) {
  for (std::string_view w : words(rest)) {
    const char key = w[0];
    std::string_view value = w.substr(1);
    if (key == 'V' || key == 'N') {
      auto v = parse_u32(value);
      if (!v) return make_error(ErrorCode::Invalid, concat("dovecot-uidlist: bad header field ", quoted(w, 40)));
      (key == 'V' ? out.uidvalidity : out.next_uid) = *v;
    } else if (key == 'G') {
      if (value.size() != 32 || !is_hex(value))
        return make_error(ErrorCode::Invalid, concat("dovecot-uidlist: bad mailbox GUID ", quoted(value, 40)));
      out.guid = std::string(value);
    } else {
      out.header_ext.emplace_back(w);
    }
  }
  return {};
}

Result<void> parse_header(std::string_view line, Uidlist& out) {
  if (line.size() < 2 || line[0] < '0' || line[0] > '9' || line[1] != ' ')
    return make_error(ErrorCode::Invalid, "dovecot-uidlist: corrupted header (no version)");
  out.version = static_cast<uint32_t>(line[0] - '0');
  std::string_view rest = line.substr(2);
  if (out.version == 3) {
    if (auto r = parse_v3_header(rest, out); !r) return r;
  } else if (out.version == 1) {
    auto w = words(rest);
    auto validity = w.size() >= 2 ? parse_u32(w[0]) : std::nullopt;
    auto next = w.size() >= 2 ? parse_u32(w[1]) : std::nullopt;
    if (!validity || !next) return make_error(ErrorCode::Invalid, "dovecot-uidlist: corrupted version 1 header");
    out.uidvalidity = *validity;
    out.next_uid = *next;
  } else {
    return make_error(ErrorCode::Invalid, concat("dovecot-uidlist: unsupported version ", std::to_string(out.version)));
  }
  if (out.uidvalidity == 0 || out.next_uid == 0)
    return make_error(ErrorCode::Invalid, "dovecot-uidlist: header without UIDVALIDITY or next UID");
  return {};
}

// One record line; nullopt when it must be skipped.
std::optional<UidlistRecord> parse_record(std::string_view line, uint32_t version) {
  size_t i = 0;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  auto uid = parse_u32(line.substr(0, i));
  if (!uid || *uid == 0 || *uid == UINT32_MAX || i >= line.size() || line[i] != ' ') return std::nullopt;
  while (i < line.size() && line[i] == ' ') ++i;
  UidlistRecord rec;
  rec.uid = *uid;
  if (version == 3) {
    while (i < line.size() && line[i] != ':') {
      const size_t start = i;
      while (i < line.size() && line[i] != ' ') ++i;
      std::string_view field = line.substr(start, i - start);
      if (is_ext_key(field[0])) rec.ext.emplace_back(field);  // others dropped, as Dovecot does
      while (i < line.size() && line[i] == ' ') ++i;
    }
    if (i < line.size()) ++i;  // the ':'
  }
  std::string_view name = line.substr(i);
  if (name.empty() || name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return std::nullopt;
  // Version 1 (Courier's courierimapuiddb too) may hold whole file names.
  rec.base = std::string(version == 3 ? name : maildir_base(name));
  if (rec.base.empty()) return std::nullopt;
  return rec;
}

}  // namespace

std::optional<std::string_view> UidlistRecord::field(char key) const {
  for (const auto& f : ext)
    if (!f.empty() && f[0] == key) return std::string_view(f).substr(1);
  return std::nullopt;
}

void UidlistRecord::set_field(char key, std::string_view value) {
  std::string f(1, key);
  f += value;
  for (auto& existing : ext)
    if (!existing.empty() && existing[0] == key) {
      existing = std::move(f);
      return;
    }
  ext.push_back(std::move(f));
}

Result<Uidlist> parse_uidlist(std::string_view text) {
  Uidlist out;
  size_t pos = 0;
  bool header = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const bool last = end == std::string_view::npos;
    if (last) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = last ? text.size() : end + 1;
    if (header) {
      if (line.size() > kMaxUidlistLine) return make_error(ErrorCode::Invalid, "dovecot-uidlist: header too long");
      if (auto r = parse_header(line, out); !r) return r.error();
      header = false;
      continue;
    }
    if (line.empty()) continue;
    std::optional<UidlistRecord> rec;
    if (line.size() <= kMaxUidlistLine) rec = parse_record(line, out.version);
    if (!rec || (!out.records.empty() && rec->uid <= out.records.back().uid)) {
      ++out.skipped_lines;
      continue;
    }
    out.records.push_back(std::move(*rec));
  }
  if (header) return make_error(ErrorCode::Invalid, "dovecot-uidlist: empty");
  // A next UID at or below a recorded one would hand that UID out again.
  if (!out.records.empty() && out.next_uid <= out.records.back().uid) out.next_uid = out.records.back().uid + 1;
  return out;
}

std::string serialize_uidlist(const Uidlist& list) {
  std::string out = "3 V";
  out += std::to_string(list.uidvalidity);
  out += " N";
  out += std::to_string(list.next_uid);
  if (!list.guid.empty()) {
    out += " G";
    out += list.guid;
  }
  for (const auto& f : list.header_ext) {
    out += ' ';
    out += f;
  }
  out += '\n';
  for (const auto& rec : list.records) {
    out += std::to_string(rec.uid);
    for (const auto& f : rec.ext) {
      out += ' ';
      out += f;
    }
    out += " :";
    out += rec.base;
    out += '\n';
  }
  return out;
}

}  // namespace volley::mailbox
