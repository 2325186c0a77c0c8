// API keys: the SQLite store, the daemon's in-memory directory (revocation
// seen after a refresh, constant-time lookup by hash) and `volley apikey`.
#include <gtest/gtest.h>

#include <sstream>
#include <sys/stat.h>

#include "admin/apikey_command.hpp"
#include "auth/api_key_directory.hpp"
#include "auth/api_key_store.hpp"
#include "temp_dir.hpp"

using namespace volley;
using namespace volley::auth;

namespace {

TEST(ApiKey, Format) {
  auto k = generate_api_key();
  ASSERT_TRUE(k);
  EXPECT_EQ(k->size(), kApiKeyLength);
  EXPECT_TRUE(k->starts_with("vk_"));
  for (char c : k->substr(3)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
  EXPECT_NE(*k, *generate_api_key());
  EXPECT_EQ(api_key_hash("abc").size(), 32u);
}

TEST(ApiKey, Names) {
  EXPECT_TRUE(valid_api_key_name("shop-prod_1.x"));
  EXPECT_FALSE(valid_api_key_name(""));
  EXPECT_FALSE(valid_api_key_name("a b"));
  EXPECT_FALSE(valid_api_key_name("a=b"));
  EXPECT_FALSE(valid_api_key_name(std::string(65, 'a')));
  EXPECT_TRUE(valid_api_key_scope("admin"));
  EXPECT_FALSE(valid_api_key_scope("root"));
}

TEST(ApiKeyStore, CreateListRevoke) {
  test::TempDir dir("apikeys");
  const std::string path = api_key_db_path(dir.path);
  auto store = ApiKeyStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto key = (*store)->create("shop", "send");
  ASSERT_TRUE(key);
  auto again = (*store)->create("shop", "read");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists);
  EXPECT_EQ((*store)->create("bad name", "send").error().code, ErrorCode::Invalid);
  EXPECT_EQ((*store)->create("x", "root").error().code, ErrorCode::Invalid);

  auto list = (*store)->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->at(0).name, "shop");
  EXPECT_EQ(list->at(0).scope, "send");
  EXPECT_EQ(list->at(0).hash, api_key_hash(*key));  // only the hash is stored
  EXPECT_EQ(list->at(0).revoked_at, 0);

  EXPECT_TRUE((*store)->revoke("shop"));
  EXPECT_TRUE((*store)->revoke("shop"));  // stays revoked
  EXPECT_EQ((*store)->revoke("other").error().code, ErrorCode::NotFound);
  EXPECT_NE((*store)->list()->at(0).revoked_at, 0);
  EXPECT_EQ((*store)->create("shop", "send").error().code, ErrorCode::AlreadyExists);  // names stay unique
}

TEST(ApiKeyDirectory, SeesChangesAfterRefresh) {
  test::TempDir dir("apikeys");
  const std::string path = api_key_db_path(dir.path);
  auto store = ApiKeyStore::open(path);
  ASSERT_TRUE(store);
  auto key = (*store)->create("shop", "admin");
  ASSERT_TRUE(key);

  ApiKeyDirectory keys(path);
  EXPECT_EQ(keys.authenticate(*key).error().code, ErrorCode::Temporary);  // nothing loaded yet
  ASSERT_TRUE(keys.refresh(true));
  auto found = keys.authenticate(*key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "shop");
  EXPECT_EQ(found->scope, "admin");
  EXPECT_EQ(keys.authenticate("vk_wrong").error().code, ErrorCode::NotFound);
  std::string near = *key;
  near.back() = near.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(keys.authenticate(near).error().code, ErrorCode::NotFound);

  // Another connection (the CLI) revokes; the next refresh sees it.
  auto cli = ApiKeyStore::open(path);
  ASSERT_TRUE(cli);
  ASSERT_TRUE((*cli)->revoke("shop"));
  ASSERT_TRUE(keys.refresh());
  EXPECT_EQ(keys.authenticate(*key).error().code, ErrorCode::NotFound);
}

TEST(ApiKeyCommand, CreateListRevoke) {
  test::TempDir dir("apikeys");
  std::ostringstream out, err;
  admin::ApiKeyOptions o;
  o.action = "list";
  EXPECT_EQ(admin::run_apikey_command(o, dir.path, out, err), 0);  // no database: no keys, none created
  EXPECT_EQ(out.str(), "");
  struct stat st {};
  EXPECT_NE(::stat(api_key_db_path(dir.path).c_str(), &st), 0);

  o.action = "create";
  o.name = "shop";
  ASSERT_EQ(admin::run_apikey_command(o, dir.path, out, err), 0) << err.str();
  const std::string key = out.str().substr(0, out.str().size() - 1);
  EXPECT_EQ(key.size(), kApiKeyLength);
  EXPECT_NE(err.str().find("shown only this once"), std::string::npos);

  out.str("");
  err.str("");
  EXPECT_EQ(admin::run_apikey_command(o, dir.path, out, err), 1);
  EXPECT_EQ(err.str(), "volley: apikey create: a key named shop already exists\n");

  err.str("");
  o.name = "two";
  o.scope = "owner";
  EXPECT_EQ(admin::run_apikey_command(o, dir.path, out, err), 1);
  EXPECT_EQ(err.str(), "volley: apikey create: bad --scope \"owner\": use send, read or admin\n");

  o.action = "revoke";
  o.name = "shop";
  EXPECT_EQ(admin::run_apikey_command(o, dir.path, out, err), 0);
  err.str("");
  o.name = "ghost";
  EXPECT_EQ(admin::run_apikey_command(o, dir.path, out, err), 1);
  EXPECT_EQ(err.str(), "volley: apikey revoke: no key named ghost\n");

  out.str("");
  o.action = "list";
  EXPECT_EQ(admin::run_apikey_command(o, dir.path, out, err), 0);
  const std::string line = out.str();
  EXPECT_TRUE(line.starts_with("shop scope=send created=20")) << line;
  EXPECT_NE(line.find(" revoked=20"), std::string::npos) << line;
  EXPECT_EQ(line.find(key), std::string::npos);  // never the key
}

}  // namespace
