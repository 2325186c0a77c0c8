// SqlStatementCache: a statement is prepared once and reused with fresh
// bindings; one already borrowed (a query nested in another's loop) is
// prepared afresh; the cache stops growing at its cap.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "util/sqlite.hpp"

namespace volley {
namespace {

struct MemoryDb {
  sqlite3* db = nullptr;
  MemoryDb() {
    sqlite3_open(":memory:", &db);
    sqlite3_exec(db, "CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER); INSERT INTO t VALUES('a', 1), ('b', 2);", nullptr,
                 nullptr, nullptr);
  }
  ~MemoryDb() { sqlite3_close_v2(db); }
};

int64_t lookup(SqlStatementCache& cache, const char* key) {
  SqlStatement st(cache, "SELECT v FROM t WHERE k = ?1");
  EXPECT_TRUE(st.ok());
  st.bind_text(1, key);
  return st.step() == SQLITE_ROW ? st.column_int64(0) : -1;
}

TEST(SqlStatementCache, ReusesOneStatementWithFreshBindings) {
  MemoryDb m;
  SqlStatementCache cache(m.db);
  sqlite3_stmt* first = nullptr;
  {
    SqlStatement st(cache, "SELECT v FROM t WHERE k = ?1");
    first = st.get();
  }
  EXPECT_EQ(lookup(cache, "a"), 1);
  EXPECT_EQ(lookup(cache, "b"), 2);
  EXPECT_EQ(lookup(cache, "zz"), -1);
  SqlStatement again(cache, "SELECT v FROM t WHERE k = ?1");
  EXPECT_EQ(again.get(), first) << "prepared once";
  EXPECT_EQ(sqlite3_bind_parameter_count(again.get()), 1);
  EXPECT_EQ(again.step(), SQLITE_DONE) << "no value left bound from the last use (NULL matches nothing)";
}

TEST(SqlStatementCache, ABorrowedStatementIsPreparedAfreshForANestedQuery) {
  MemoryDb m;
  SqlStatementCache cache(m.db);
  SqlStatement outer(cache, "SELECT k FROM t ORDER BY k");
  ASSERT_EQ(outer.step(), SQLITE_ROW);
  {
    SqlStatement inner(cache, "SELECT k FROM t ORDER BY k");
    ASSERT_TRUE(inner.ok());
    EXPECT_NE(inner.get(), outer.get());
    EXPECT_EQ(inner.step(), SQLITE_ROW);
  }
  EXPECT_EQ(outer.column_text(0), "a") << "the outer query is undisturbed";
  ASSERT_EQ(outer.step(), SQLITE_ROW);
  EXPECT_EQ(outer.column_text(0), "b");
}

TEST(SqlStatementCache, StopsCachingAtItsCapAndStillServes) {
  MemoryDb m;
  SqlStatementCache cache(m.db);
  for (size_t i = 0; i < SqlStatementCache::kMaxCached + 10; ++i) {
    const std::string sql = "SELECT " + std::to_string(i);
    SqlStatement st(cache, sql.c_str());
    ASSERT_TRUE(st.ok());
    ASSERT_EQ(st.step(), SQLITE_ROW);
    EXPECT_EQ(st.column_int64(0), static_cast<int64_t>(i));
  }
}

TEST(SqlStatementCache, BadSqlIsNotOk) {
  MemoryDb m;
  SqlStatementCache cache(m.db);
  SqlStatement st(cache, "SELEKT nothing");
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace volley
