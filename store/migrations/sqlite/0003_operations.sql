-- Every routed plugin call is an operation (see store/src/operations.rs). The finished answer
-- is kept byte for byte so an idempotent retry or a poll gets exactly what the sync call got.
CREATE TABLE operations (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    plugin          TEXT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    idempotency_key TEXT,
    request_hash    TEXT,
    response_status INTEGER,
    response_type   TEXT,
    response_body   BLOB,
    error           TEXT,
    upstream_calls  TEXT NOT NULL DEFAULT '[]'
);
-- The store, not the host, makes one key one operation (NULL keys never collide).
CREATE UNIQUE INDEX operations_tenant_key ON operations (tenant, idempotency_key);
CREATE INDEX operations_tenant_created ON operations (tenant, created_at, id);
-- Only open operations are looked up by status (at start); finished rows stay out of it.
CREATE INDEX operations_open ON operations (status) WHERE status IN ('running', 'waiting');
CREATE INDEX operations_finished ON operations (finished_at);
