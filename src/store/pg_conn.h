// A thin RAII layer over one libpq connection, shared by the PostgreSQL store and the cluster
// module (leases, notifications). Parameters are sent and results read in binary format.
//
// Thread-safety: a PgConn is used by one thread at a time (libpq connections are not shared).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bp::store {

// One result set; empty when the statement returned no rows.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view Get(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col))};
  }
  // A binary int8 / int4 / bool column.
  int64_t GetInt64(int row, int col) const;
  int32_t GetInt32(int row, int col) const;
  bool GetBool(int row, int col) const { return Get(row, col) == std::string_view("\x01", 1); }
  // Rows affected by INSERT/UPDATE/DELETE.
  int64_t Affected() const;

 private:
  std::shared_ptr<PGresult> r_;
};

// A parameter, sent in binary (bytea, int8, text bytes as given).
struct PgParam {
  std::string data;
};

PgParam PgInt64(int64_t v);
PgParam PgText(std::string_view v);
// A one-dimensional bytea[] in PostgreSQL's binary array format.
PgParam PgByteaArray(const std::vector<const std::string*>& items);
// A one-dimensional text[] in the binary array format.
PgParam PgTextArray(const std::vector<std::string>& items);

class PgConn {
 public:
  // Connects to `url` (a libpq URL or key=value string) with short connect/keepalive timeouts,
  // so that an unreachable database shows up as an error within seconds rather than a hang.
  static StatusOr<std::unique_ptr<PgConn>> Connect(const std::string& url);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs one statement. A broken connection yields kUnavailable (and broken() becomes true); a
  // statement error yields kIoError with the server's message.
  [[nodiscard]] StatusOr<PgResult> Exec(std::string_view sql,
                                        const std::vector<PgParam>& params = {});
  // Runs a parameterless statement (or several separated by ';').
  [[nodiscard]] Status Run(std::string_view sql);
  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  PGconn* raw() { return conn_; }
  int socket() const { return PQsocket(conn_); }

 private:
  explicit PgConn(PGconn* c) : conn_(c) {}
  Status ErrorStatus(const PGresult* r);

  PGconn* conn_;
  bool broken_ = false;
};

}  // namespace bp::store
