// A thin RAII layer over the sqlite3 C API for SqliteStore: one connection
// (Db), prepared statements kept for the connection's life (Stmt), a
// scoped use of a statement that binds, steps and resets (Query), and a
// transaction that rolls back unless committed (Txn). Every failure becomes
// a core::Error naming the database path and SQLite's own message; nothing
// here throws or aborts. Not thread-safe: one thread uses a Db.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace torii::store::sqlite {

class Db;

// A prepared statement, finalized on destruction. Used through Query.
class Stmt {
 public:
  Stmt() = default;
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  ~Stmt();

 private:
  friend class Db;
  friend class Query;
  Stmt(Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// One execution of a Stmt: bind parameters in order (1, 2, ...), step, read
// columns of the current row. The statement is reset and its bindings
// cleared when the Query goes out of scope, so a cached Stmt is reusable.
class Query {
 public:
  explicit Query(Stmt& stmt) : stmt_(stmt) {}
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int64_t v);
  Query& bind_text(std::string_view v);
  Query& bind_blob(std::string_view v);
  Query& bind_null();

  // true: a row is available; false: the statement is done. A bind error
  // recorded earlier is reported here.
  core::Result<bool> step();
  // step() for statements that return no rows.
  core::Status run();

  bool is_null(int col) const;
  int64_t int64(int col) const;
  std::string text(int col) const;
  std::string blob(int col) const;

 private:
  Stmt& stmt_;
  int next_param_ = 1;
  int bind_rc_ = 0;  // first failed bind (SQLITE_OK when none)
};

// An open connection. Errors from any of its statements name `path`.
class Db {
 public:
  // Opens (creating if missing) the database file. The parent directory
  // must exist.
  static core::Result<std::unique_ptr<Db>> open(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  core::Result<Stmt> prepare(std::string_view sql);
  // Runs one or more statements that return no rows (schema, pragmas).
  core::Status exec(const char* sql);
  // Rows changed by the last INSERT / UPDATE / DELETE.
  int64_t changes() const;

  // The error for a failed call that returned `rc`, with SQLite's message
  // for this connection: "sqlite /var/lib/torii/config.db: put: disk I/O error".
  core::Error error(int rc, std::string_view what) const;

 private:
  friend class Txn;
  explicit Db(std::string path) : path_(std::move(path)) {}
  std::string path_;
  sqlite3* db_ = nullptr;
  Stmt begin_, begin_immediate_, commit_, rollback_;
};

// A transaction. begin() or begin_immediate() (takes the write lock now, so
// a write never fails halfway on a lock upgrade); commit(); anything not
// committed is rolled back when the Txn is destroyed.
class Txn {
 public:
  explicit Txn(Db& db) : db_(db) {}
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  core::Status begin();
  core::Status begin_immediate();
  core::Status commit();

 private:
  Db& db_;
  bool open_ = false;
};

// A core::Error in SqliteStore's format for failures that are not SQLite's.
core::Error store_error(core::ErrorKind kind, const std::string& path, std::string_view message);

}  // namespace torii::store::sqlite
