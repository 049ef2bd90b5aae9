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
];
