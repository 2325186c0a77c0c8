// libFuzzer target: the mailbox store's parsers (dovecot-uidlist, Maildir
// file names, dovecot-keywords) over arbitrary bytes. None may crash or
// hang; a parsed uidlist must serialize to text that parses back to the
// same records, and a parsed name's base is a prefix of the name.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "mailbox/keywords.hpp"
#include "mailbox/maildir_name.hpp"
#include "mailbox/uidlist.hpp"

using namespace volley::mailbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto list = parse_uidlist(in)) {
    const std::string text = serialize_uidlist(*list);
    auto again = parse_uidlist(text);
    CHECK(again);
    CHECK(again->records.size() == list->records.size());
    CHECK(again->uidvalidity == list->uidvalidity);
    CHECK(again->next_uid == list->next_uid);
    for (size_t i = 0; i < list->records.size(); ++i) {
      CHECK(again->records[i].uid == list->records[i].uid);
      CHECK(again->records[i].base == list->records[i].base);
    }
  }

  const std::string_view name = in.substr(0, in.find('\n'));
  MaildirName parsed = parse_maildir_name(name);
  CHECK(name.substr(0, parsed.base.size()) == parsed.base);
  CHECK(parsed.flags == normalize_flags(parsed.flags));
  (void)is_message_file_name(name);
  bool prev_cr = false;
  CHECK(crlf_size_of_chunk(in, prev_cr) >= in.size());

  auto keywords = parse_keywords(in);
  CHECK(parse_keywords(serialize_keywords(keywords)) == keywords);
  return 0;
}
