#include "store/sqlite_db.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <utility>

namespace torii::store::sqlite {

using core::ErrorKind;
using core::ErrorSource;

core::Error store_error(ErrorKind kind, const std::string& path, std::string_view message) {
  std::string m = "sqlite " + path + ": ";
  m.append(message);
  return core::Error{kind, ErrorSource::kInternal, false, std::move(m)};
}

// --- Stmt -------------------------------------------------------------------

Stmt::Stmt(Stmt&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }  // no-op on nullptr

// --- Query ------------------------------------------------------------------

Query::~Query() {
  sqlite3_reset(stmt_.stmt_);
  sqlite3_clear_bindings(stmt_.stmt_);
}

Query& Query::bind(int64_t v) {
  const int rc = sqlite3_bind_int64(stmt_.stmt_, next_param_++, v);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bind_text(std::string_view v) {
  // The explicit length keeps embedded NUL bytes; SQLITE_TRANSIENT copies,
  // so the caller's buffer need not outlive the step.
  const int rc = sqlite3_bind_text64(stmt_.stmt_, next_param_++, v.data(), v.size(),
                                     SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bind_blob(std::string_view v) {
  // A zero-length blob must not bind as NULL (value is NOT NULL).
  static const char kEmpty = 0;
  const int rc = sqlite3_bind_blob64(stmt_.stmt_, next_param_++, v.empty() ? &kEmpty : v.data(),
                                     v.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bind_null() {
  const int rc = sqlite3_bind_null(stmt_.stmt_, next_param_++);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

core::Result<bool> Query::step() {
  if (bind_rc_ != SQLITE_OK) return stmt_.db_->error(bind_rc_, "bind");
  const int rc = sqlite3_step(stmt_.stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return stmt_.db_->error(rc, sqlite3_sql(stmt_.stmt_));
}

core::Status Query::run() {
  auto r = step();
  if (!r) return r.error();
  return core::ok_status();
}

bool Query::is_null(int col) const { return sqlite3_column_type(stmt_.stmt_, col) == SQLITE_NULL; }

int64_t Query::int64(int col) const { return sqlite3_column_int64(stmt_.stmt_, col); }

std::string Query::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.stmt_, col));
  const int n = sqlite3_column_bytes(stmt_.stmt_, col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::string Query::blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_.stmt_, col));
  const int n = sqlite3_column_bytes(stmt_.stmt_, col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

// --- Db ---------------------------------------------------------------------

namespace {

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

core::Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
  if (path.empty()) return store_error(ErrorKind::kInvalid, path, "empty database path");
  // SQLite says only "unable to open database file"; name the likely cause.
  const std::string dir = parent_dir(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return store_error(ErrorKind::kUnavailable, path,
                       "cannot open: directory " + dir + " does not exist");
  }
  std::unique_ptr<Db> db(new Db(path));
  const int rc =
      sqlite3_open_v2(path.c_str(), &db->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "cannot open: ";
    msg += db->db_ ? sqlite3_errmsg(db->db_) : sqlite3_errstr(rc);
    return store_error(ErrorKind::kUnavailable, path, msg);
  }
  sqlite3_extended_result_codes(db->db_, 1);
  struct {
    Stmt* stmt;
    const char* sql;
  } txn_stmts[] = {{&db->begin_, "BEGIN"},
                   {&db->begin_immediate_, "BEGIN IMMEDIATE"},
                   {&db->commit_, "COMMIT"},
                   {&db->rollback_, "ROLLBACK"}};
  for (auto& [stmt, sql] : txn_stmts) {
    auto s = db->prepare(sql);
    if (!s) return s.error();
    *stmt = std::move(*s);
  }
  return db;
}

Db::~Db() {
  begin_ = Stmt();
  begin_immediate_ = Stmt();
  commit_ = Stmt();
  rollback_ = Stmt();
  // close_v2: if a statement outlives the Db by mistake, the handle is freed
  // once it is finalized instead of leaking.
  sqlite3_close_v2(db_);
}

core::Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return error(rc, "prepare " + std::string(sql));
  }
  return Stmt(this, stmt);
}

core::Status Db::exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, sql);
  return core::ok_status();
}

int64_t Db::changes() const { return sqlite3_changes64(db_); }

core::Error Db::error(int rc, std::string_view what) const {
  std::string msg(what);
  msg += ": ";
  // The connection's message is more precise than the code's ("no such
  // table: kv" vs "SQL logic error") when it belongs to this failure.
  msg += (db_ && (sqlite3_extended_errcode(db_) == rc)) ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  core::Error e = store_error(ErrorKind::kUnavailable, path_, msg);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      e.retryable = true;  // another connection holds the lock
      break;
    case SQLITE_TOOBIG:
      e.kind = ErrorKind::kInvalid;  // a value over SQLite's limit: the writer's fault
      e.source = ErrorSource::kDownstream;
      break;
    default:
      break;
  }
  return e;
}

// --- Txn --------------------------------------------------------------------

Txn::~Txn() {
  // A failed COMMIT (or an I/O error) may already have rolled back.
  if (open_ && sqlite3_get_autocommit(db_.db_) == 0) {
    (void)Query(db_.rollback_).step();
  }
}

core::Status Txn::begin() {
  auto s = Query(db_.begin_).run();
  open_ = s.ok();
  return s;
}

core::Status Txn::begin_immediate() {
  auto s = Query(db_.begin_immediate_).run();
  open_ = s.ok();
  return s;
}

core::Status Txn::commit() {
  auto s = Query(db_.commit_).run();
  if (s) open_ = false;
  return s;
}

}  // namespace torii::store::sqlite
