#include "store/pg_conn.h"

#include <cstring>

#include "store/store.h"

namespace bp::store {

namespace {

void PutBe32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

uint64_t ReadBe(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

constexpr uint32_t kByteaOid = 17;
constexpr uint32_t kTextOid = 25;

}  // namespace

int64_t PgResult::GetInt64(int row, int col) const {
  std::string_view v = Get(row, col);
  if (v.size() == 4) return static_cast<int32_t>(ReadBe(v, 4));
  if (v.size() != 8) return 0;
  return static_cast<int64_t>(ReadBe(v, 8));
}

int32_t PgResult::GetInt32(int row, int col) const {
  std::string_view v = Get(row, col);
  return v.size() == 4 ? static_cast<int32_t>(ReadBe(v, 4)) : 0;
}

int64_t PgResult::Affected() const {
  if (!r_) return 0;
  const char* n = PQcmdTuples(r_.get());
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

PgParam PgInt64(int64_t v) {
  PgParam p;
  AppendBigEndian64(p.data, static_cast<uint64_t>(v));
  return p;
}

PgParam PgText(std::string_view v) { return PgParam{std::string(v)}; }

namespace {

PgParam BinaryArray(const std::vector<const std::string*>& items, uint32_t element_oid) {
  PgParam p;
  size_t total = 20;
  for (const std::string* s : items) total += 4 + s->size();
  p.data.reserve(total);
  PutBe32(p.data, 1);  // dimensions
  PutBe32(p.data, 0);  // no nulls
  PutBe32(p.data, element_oid);
  PutBe32(p.data, static_cast<uint32_t>(items.size()));
  PutBe32(p.data, 1);  // lower bound
  for (const std::string* s : items) {
    PutBe32(p.data, static_cast<uint32_t>(s->size()));
    p.data.append(*s);
  }
  return p;
}

}  // namespace

PgParam PgByteaArray(const std::vector<const std::string*>& items) {
  return BinaryArray(items, kByteaOid);
}

PgParam PgTextArray(const std::vector<std::string>& items) {
  std::vector<const std::string*> ptrs;
  ptrs.reserve(items.size());
  for (const std::string& s : items) ptrs.push_back(&s);
  return BinaryArray(ptrs, kTextOid);
}

StatusOr<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& url) {
  // Defaults first, the operator's URL last: anything the URL sets wins (expand_dbname).
  const char* keys[] = {"connect_timeout",     "keepalives",       "keepalives_idle",
                        "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                        "application_name",    "dbname",           nullptr};
  const char* values[] = {"3", "1", "5", "2", "2", "5000", "bridgeport", url.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (c == nullptr) return Status::Unavailable("PostgreSQL: out of memory for a connection");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Status::Unavailable("PostgreSQL unreachable: " + msg);
  }
  return std::unique_ptr<PgConn>(new PgConn(c));
}

PgConn::~PgConn() { PQfinish(conn_); }

Status PgConn::ErrorStatus(const PGresult* r) {
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (PQstatus(conn_) != CONNECTION_OK) {
    broken_ = true;
    return Status::Unavailable("PostgreSQL connection lost: " + msg);
  }
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  // Class 08 (connection exception), 57P (operator intervention: shutdown), 53 (resources).
  if (state && (std::strncmp(state, "08", 2) == 0 || std::strncmp(state, "57P", 3) == 0 ||
                std::strncmp(state, "53", 2) == 0)) {
    broken_ = true;
    return Status::Unavailable("PostgreSQL unavailable: " + msg);
  }
  return Status::IoError("PostgreSQL: " + msg);
}

StatusOr<PgResult> PgConn::Exec(std::string_view sql, const std::vector<PgParam>& params) {
  std::string text(sql);
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  values.reserve(params.size());
  for (const PgParam& p : params) {
    values.push_back(p.data.data());
    lengths.push_back(static_cast<int>(p.data.size()));
    formats.push_back(1);
  }
  PGresult* r = PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                             values.data(), lengths.data(), formats.data(), /*resultFormat=*/1);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Status s = ErrorStatus(r);
    if (r) PQclear(r);
    return s;
  }
  return PgResult(r);
}

Status PgConn::Run(std::string_view sql) {
  std::string text(sql);
  PGresult* r = PQexec(conn_, text.c_str());
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  Status s = Status::Ok();
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) s = ErrorStatus(r);
  if (r) PQclear(r);
  return s;
}

}  // namespace bp::store
