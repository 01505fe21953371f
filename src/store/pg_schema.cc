// Versioned schema migrations for the PostgreSQL store. A migration is applied once, in its own
// transaction, under a cluster-wide advisory lock: nodes starting together wait for each other
// and then find the work done. Migrations are append-only; never edit a released one.
#include <string>
#include <vector>

#include "common/log.h"
#include "store/pg_conn.h"
#include "store/pg_store.h"

namespace bp::store {

namespace {

// Arbitrary constant naming "bridgeport schema migration" in pg_advisory_lock's key space.
constexpr int64_t kMigrationLockKey = 0x62705f6d69677231;  // "bp_migr1"

struct Migration {
  int version;
  const char* sql;
};

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kAll = {
      {1,
       "CREATE TABLE bp_meta (k bytea PRIMARY KEY, v bytea NOT NULL);"
       "CREATE TABLE bp_events (k bytea PRIMARY KEY, v bytea NOT NULL);"
       "CREATE TABLE bp_tasks (k bytea PRIMARY KEY, v bytea NOT NULL);"
       "CREATE TABLE bp_queues (k bytea PRIMARY KEY, v bytea NOT NULL);"
       "CREATE TABLE bp_archive (k bytea PRIMARY KEY, v bytea NOT NULL);"
       "CREATE TABLE bp_attempts (k bytea PRIMARY KEY, v bytea NOT NULL);"
       // One row: bumped by every transaction that changes the control plane.
       "CREATE TABLE bp_control (id int PRIMARY KEY, version bigint NOT NULL);"
       "INSERT INTO bp_control VALUES (1, 0);"},
      {2,
       // Cluster membership (slot: the node's residue in task sequence numbers) and lane leases;
       // all times are the database's clock.
       "CREATE TABLE bp_nodes (node_id text PRIMARY KEY, slot int NOT NULL UNIQUE,"
       " started_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL);"
       "CREATE TABLE bp_leases (lane text PRIMARY KEY, owner text NOT NULL,"
       " expires_at timestamptz NOT NULL, epoch bigint NOT NULL DEFAULT 1);"
       // New delivery tasks, by the transaction that wrote them: lane owners read it to pick up
       // tasks another node ingested.
       "CREATE TABLE bp_task_feed (xid xid8 NOT NULL DEFAULT pg_current_xact_id(),"
       " k bytea NOT NULL, at timestamptz NOT NULL DEFAULT now());"
       "CREATE INDEX bp_task_feed_xid ON bp_task_feed (xid);"},
  };
  return kAll;
}

}  // namespace

const char* PgTableName(Family f) {
  static const char* kNames[kFamilyCount] = {"bp_meta",   "bp_events",  "bp_tasks",
                                             "bp_queues", "bp_archive", "bp_attempts"};
  return kNames[static_cast<int>(f)];
}

Status PgMigrate(PgConn& conn) {
  BP_RETURN_IF_ERROR(
      conn.Exec("SELECT pg_advisory_lock($1::int8)", {PgInt64(kMigrationLockKey)}).status());
  auto unlock = [&conn] {
    conn.Exec("SELECT pg_advisory_unlock($1::int8)", {PgInt64(kMigrationLockKey)})
        .status()
        .IgnoreError();
  };
  Status s = conn.Run(
      "CREATE TABLE IF NOT EXISTS bp_schema_migrations (version int PRIMARY KEY,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  int current = 0;
  if (s.ok()) {
    auto r = conn.Exec("SELECT coalesce(max(version), 0)::int8 FROM bp_schema_migrations");
    if (r.ok()) {
      current = static_cast<int>(r->GetInt64(0, 0));
    } else {
      s = r.status();
    }
  }
  for (const Migration& m : Migrations()) {
    if (!s.ok()) break;
    if (m.version <= current) continue;
    s = conn.Run(std::string("BEGIN;") + m.sql +
                 "INSERT INTO bp_schema_migrations (version) VALUES (" + std::to_string(m.version) +
                 ");COMMIT");
    if (!s.ok()) {
      conn.Run("ROLLBACK").IgnoreError();
      s = Status::IoError("schema migration " + std::to_string(m.version) +
                          " failed: " + s.message());
      break;
    }
    log::Info("store", "applied schema migration", {{"version", m.version}});
  }
  unlock();
  return s;
}

}  // namespace bp::store
