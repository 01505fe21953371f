// The PostgreSQL implementation of Store (cluster mode, `serve --postgres URL`).
//
// Layout: one table per family, `bp_<family>(k bytea PRIMARY KEY, v bytea)`; bytea compares
// bytewise, so key order equals RocksDB's. Schema changes are versioned migrations applied under
// `pg_advisory_lock`, so any number of nodes may start at once.
//
// Group commit: one commit thread with its own connection takes every queued batch and applies
// them in one transaction (the COMMIT is the fsync). A transaction that touched the meta family
// also bumps `bp_control.version` and sends NOTIFY bp_control, so other nodes reload their
// control plane (see cluster/). Reads use a small pool of further connections.
//
// Failure: a lost or refused connection fails the affected batches with kUnavailable (never a
// success that was not committed; an ambiguous COMMIT is reported as a failure), marks the store
// unavailable and reconnects on the next use or the once-a-second health probe.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace bp::store {

struct PgStoreOptions {
  std::string url;  // libpq URL, e.g. postgresql://bp@127.0.0.1:5432/bridgeport
  // synchronous_commit for the commit thread (benchmarks of the non-durable path only).
  bool sync = true;
  // Idle read connections kept open.
  int idle_read_connections = 4;
  // Cluster hand-over: record new delivery tasks in bp_task_feed and send NOTIFY bp_tasks.
  bool notify_tasks = false;
};

// Connects, applies pending migrations and starts the commit thread. Fails (kUnavailable) if the
// database cannot be reached at start.
StatusOr<std::unique_ptr<Store>> OpenPgStore(const PgStoreOptions& options);

// The table that holds family `f` ("bp_meta", "bp_tasks", ...).
const char* PgTableName(Family f);

// Applies every migration not yet recorded in bp_schema_migrations, holding the migration
// advisory lock. Exposed for the store and its tests.
class PgConn;
[[nodiscard]] Status PgMigrate(PgConn& conn);

}  // namespace bp::store
