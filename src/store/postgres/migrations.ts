// Versioned schema migrations, applied in order at start under an advisory lock, so
// nodes starting together apply each one exactly once. Append only: never edit a
// migration that has shipped.
export const postgresMigrations: readonly string[] = [
  `CREATE TABLE calls (
     seq BIGSERIAL PRIMARY KEY,
     request_id TEXT NOT NULL UNIQUE,
     ts BIGINT NOT NULL,
     config_version INTEGER NOT NULL,
     route_id TEXT,
     method TEXT NOT NULL,
     path TEXT NOT NULL,
     status INTEGER NOT NULL,
     code TEXT,
     answered_by TEXT NOT NULL,
     consumer_id TEXT,
     credential_id TEXT,
     client_ip TEXT NOT NULL,
     duration_ms DOUBLE PRECISION NOT NULL,
     trace TEXT NOT NULL
   );
   CREATE INDEX calls_ts ON calls (ts);
   CREATE INDEX calls_code_ts ON calls (code, ts) WHERE code IS NOT NULL;
   CREATE TABLE config_versions (
     version INTEGER PRIMARY KEY,
     hash TEXT NOT NULL,
     file TEXT NOT NULL,
     loaded_at BIGINT NOT NULL,
     text TEXT NOT NULL
   );
   CREATE TABLE log_stats (
     name TEXT PRIMARY KEY,
     value BIGINT NOT NULL,
     updated_at BIGINT NOT NULL
   );`,
  // 2: the tenancy state (see src/store/postgres/state-store.ts). Entity data is stored as the
  // exact JSON text it was committed with: optimistic concurrency compares it with a change's
  // `before`, as the SQLite store does.
  `CREATE TABLE state_entities (
     kind TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
     PRIMARY KEY (kind, id)
   );
   CREATE TABLE state_versions (
     version INTEGER PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, actor_role TEXT NOT NULL, summary TEXT NOT NULL
   );
   CREATE TABLE state_changes (
     version INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL,
     action TEXT NOT NULL, before TEXT, after TEXT, before_version INTEGER NOT NULL,
     PRIMARY KEY (version, seq)
   );
   CREATE INDEX state_changes_tenant ON state_changes (tenant, version);
   CREATE INDEX state_changes_kind_id ON state_changes (kind, id, version);
   CREATE TABLE state_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // 3: hourly rollups of calls past retention (as in SQLite: src/analytics/rollup.ts), and the
  // alerts' shared firing state and notifications (src/store/postgres/alert-state.ts).
  `CREATE TABLE calls_rollup (
     bucket BIGINT NOT NULL,
     route_id TEXT, status INTEGER NOT NULL, code TEXT, answered_by TEXT NOT NULL,
     consumer_id TEXT, tenant_id TEXT, client_ip TEXT NOT NULL, config_version INTEGER NOT NULL, state_version BIGINT,
     n BIGINT NOT NULL
   );
   CREATE INDEX calls_rollup_bucket ON calls_rollup (bucket);
   CREATE TABLE alert_state (rule TEXT NOT NULL, grp TEXT NOT NULL, rule_hash TEXT NOT NULL, since BIGINT NOT NULL, PRIMARY KEY (rule, grp));
   CREATE TABLE alert_notifications (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, at BIGINT NOT NULL, body TEXT NOT NULL, delivery TEXT NOT NULL);`,
];
