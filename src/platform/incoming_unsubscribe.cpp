// Mail to the List-Unsubscribe mailto: address, unsubscribe@D.
#include "platform/incoming_reports.hpp"
#include "platform/mailto_token.hpp"
#include "platform/return_path.hpp"
#include "platform/unsubscribe_action.hpp"
#include "util/strings.hpp"

namespace volley::platform {

Result<std::string> take_mailto_unsubscribe(Platform& p, const IncomingReport& in) {
  const size_t at = in.recipient.rfind('@');
  const std::string domain = at == std::string::npos ? std::string() : to_lower(in.recipient.substr(at + 1));
  auto who = find_mailto_token(secret_bytes(p), in.content);
  if (!who) return make_error(ErrorCode::Invalid, "no unsubscribe token of ours in the subject or the body");
  // A token is for the domain whose mail it leaves; mailed to another
  // domain's unsubscribe@ it is not the mailto we gave out.
  if (!iequals(who->sender_domain, domain))
    return make_error(ErrorCode::Invalid, concat("token is for ", who->sender_domain, ", not ", domain));
  if (auto r = record_unsubscribe(p, *who, in.now, "mailto"); !r)
    return make_error(ErrorCode::Temporary, concat("unsubscribe: ", r.error().message));
  return concat("unsubscribed ", who->address, " from ", who->sender_domain,
                who->campaign_id.empty() ? std::string() : concat(" (campaign ", who->campaign_id, ")"));
}

}  // namespace volley::platform
