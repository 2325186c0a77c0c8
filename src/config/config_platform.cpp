// [inbound] (sender-authentication checks, issue 10), [mailbox] (the local
// store) and [api] (the HTTP platform and its API listeners).
#include "config/config_sections.hpp"

namespace volley::config::detail {
namespace {

const std::vector<Field<InboundSection>>& inbound_fields() {
  static const std::vector<Field<InboundSection>> fields = {
      field("spf", &InboundSection::spf, boolean()),
      field("dkim_verify", &InboundSection::dkim_verify, boolean()),
      field("dmarc", &InboundSection::dmarc,
            one_of<DmarcMode>({{"enforce", DmarcMode::Enforce}, {"report", DmarcMode::Report}, {"off", DmarcMode::Off}})),
  };
  return fields;
}

const std::vector<Field<MailboxSection>>& mailbox_fields() {
  static const std::vector<Field<MailboxSection>> fields = {
      field("quota", &MailboxSection::quota, size_at_least(0)),
  };
  return fields;
}

bool http_url(std::string_view s) {
  return (s.starts_with("https://") && s.size() > 8) || (s.starts_with("http://") && s.size() > 7);
}
bool address_or_empty(std::string_view s) {
  const size_t at = s.find('@');
  return s.empty() || (at != std::string_view::npos && at > 0 && at + 1 < s.size() && s.find('@', at + 1) == s.npos);
}
bool anything(std::string_view) { return true; }

const std::vector<Field<ApiSection>>& api_fields() {
  static const std::vector<Field<ApiSection>> fields = {
      field("public_url", &ApiSection::public_url, string_where(http_url, "an http:// or https:// URL")),
      field("complaints_address", &ApiSection::complaints_address,
            string_where(address_or_empty, "an address like \"fbl@example.com\"")),
      {"rate_limit",
       [](Diag& d, const toml::node& n, const std::string& k, ApiSection& s) {
         auto text = read_string(d, n, k);
         if (!text) return;
         ShapingRule parsed;
         if (!parse_rate(*text, parsed))
           return d.add(n, k, "expected \"N/s\", \"N/m\", \"N/h\" or \"N/d\" with N > 0, got " + describe(n));
         s.rate_limit = *text;
         s.rate_count = parsed.rate_count;
         s.rate_period = parsed.rate_period;
       }},
      field("max_request_size", &ApiSection::max_request_size, size_at_least(1)),
      field("bounce_rules", &ApiSection::bounce_rules, string_where(anything, "a file path")),
  };
  return fields;
}

}  // namespace

void read_inbound(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  const toml::table* t = read_table_node(d, n, key);
  if (!t) return;
  read_fields(d, *t, key, inbound_fields(), out.cfg.inbound);
  // DMARC passes only through an aligned SPF or DKIM pass: with either check
  // off, every message would lack that pass and "enforce" would refuse
  // legitimate mail.
  const InboundSection& in = out.cfg.inbound;
  if (in.dmarc != DmarcMode::Off && (!in.spf || !in.dkim_verify)) {
    const toml::node* at = t->get("dmarc");
    d.add(at ? *at : n, key + ".dmarc",
          "DMARC needs both inbound.spf and inbound.dkim_verify on (set dmarc = \"off\" to turn them off)");
  }
}

void read_mailbox(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  if (auto t = read_table_node(d, n, key)) read_fields(d, *t, key, mailbox_fields(), out.cfg.mailbox);
}

void read_api(Diag& d, const toml::node& n, const std::string& key, Draft& out) {
  if (auto t = read_table_node(d, n, key)) read_fields(d, *t, key, api_fields(), out.cfg.api);
}

}  // namespace volley::config::detail
