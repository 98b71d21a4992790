-- Initial schema (SQLite). Timestamps are Unix milliseconds (UTC). Keep in step with ../postgres/.
CREATE TABLE tenants (
    id         TEXT    PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Only the SHA-256 of a key is stored, never the key. tenant_id NULL = an admin key.
CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY NOT NULL,
    tenant_id  TEXT    REFERENCES tenants (id),
    label      TEXT    NOT NULL,
    key_hash   TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- secret = nonce || AES-256-GCM ciphertext, AAD = "tenant/provider/name".
CREATE TABLE accounts (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id),
    provider       TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    secret_id      TEXT,
    default_region TEXT,
    endpoint       TEXT,
    username       TEXT,
    secret         BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, provider, name)
);

-- No row = the unrestricted default. allowed_plugins is a JSON array or NULL (= all).
CREATE TABLE policies (
    tenant_id       TEXT    PRIMARY KEY NOT NULL REFERENCES tenants (id),
    allowed_plugins TEXT,
    max_concurrent  INTEGER,
    rate_per_minute INTEGER
);

-- Audit rows name the tenant instead of referencing it, so they outlive the tenant.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    tenant      TEXT,
    plugin      TEXT    NOT NULL,
    route       TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    guids       TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX audit_tenant_id ON audit (tenant, id);
CREATE INDEX audit_plugin_id ON audit (plugin, id);
CREATE INDEX audit_at ON audit (at);
