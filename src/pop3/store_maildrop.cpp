// Placeholder until the mailbox store lands (issue 11): every open is a
// temporary failure, so a POP3 client is told to try again later.
#include "pop3/store_maildrop.hpp"

namespace volley::pop3 {
namespace {

class UnavailableOpener final : public MaildropOpener {
 public:
  Result<std::unique_ptr<Maildrop>> open(std::string_view) override {
    return make_error("the mailbox store is not available in this build");
  }
};

}  // namespace

std::unique_ptr<MaildropOpener> make_store_maildrop_opener(std::string, std::string, UsageFreed) {
  return std::make_unique<UnavailableOpener>();
}

}  // namespace volley::pop3
