#include "http/routes.hpp"

#include <nlohmann/json.hpp>

namespace volley::http {
namespace {

class DirectoryKeyCheck final : public KeyCheck {
 public:
  explicit DirectoryKeyCheck(std::shared_ptr<const auth::ApiKeyDirectory> keys) : keys_(std::move(keys)) {}
  Result<Caller> check(std::string_view key) const override {
    auto found = keys_->authenticate(key);
    if (!found) return found.error();
    auto scope = parse_scope(found->scope);
    if (!scope) return make_error(ErrorCode::NotFound, "key with an unknown scope");
    return Caller{found->name, *scope};
  }

 private:
  std::shared_ptr<const auth::ApiKeyDirectory> keys_;
};

}  // namespace

void add_builtin_routes(Router& router, std::shared_ptr<const auth::ApiKeyDirectory> keys) {
  router.add("GET", "/v1/apikeys/self", ScopeSet{Scope::Read, Scope::Send},
             [](const Request&, const Caller& caller, const PathParams&) {
               nlohmann::json j;
               j["name"] = caller.key_name;
               j["scope"] = scope_name(caller.scope);
               return Response::json(200, j);
             });
  if (!keys) return;
  router.add("GET", "/v1/apikeys", ScopeSet{}, [keys](const Request&, const Caller&, const PathParams&) {
    nlohmann::json list = nlohmann::json::array();
    if (auto snap = keys->snapshot())
      for (const auto& k : snap->keys()) list.push_back({{"name", k.name}, {"scope", k.scope}});
    return Response::json(200, {{"keys", list}});
  });
}

std::shared_ptr<const KeyCheck> make_key_check(std::shared_ptr<const auth::ApiKeyDirectory> keys) {
  return std::make_shared<DirectoryKeyCheck>(std::move(keys));
}

}  // namespace volley::http
