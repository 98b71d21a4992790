-- Initial schema (PostgreSQL). Timestamps are Unix milliseconds (UTC). Keep in step with ../sqlite/.
CREATE TABLE tenants (
    id         TEXT    PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);

-- Only the SHA-256 of a key is stored, never the key. tenant_id NULL = an admin key.
CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY NOT NULL,
    tenant_id  TEXT    REFERENCES tenants (id),
    label      TEXT    NOT NULL,
    key_hash   TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    revoked_at BIGINT
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
    secret         BYTEA   NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, provider, name)
);

-- No row = the unrestricted default. allowed_plugins is a JSON array or NULL (= all).
CREATE TABLE policies (
    tenant_id       TEXT    PRIMARY KEY NOT NULL REFERENCES tenants (id),
    allowed_plugins TEXT,
    max_concurrent  BIGINT,
    rate_per_minute BIGINT
);

-- Audit rows name the tenant instead of referencing it, so they outlive the tenant.
CREATE TABLE audit (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT  NOT NULL,
    tenant      TEXT,
    plugin      TEXT    NOT NULL,
    route       TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    guids       TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    status      BIGINT  NOT NULL,
    duration_ms BIGINT  NOT NULL
);
CREATE INDEX audit_tenant_id ON audit (tenant, id);
CREATE INDEX audit_plugin_id ON audit (plugin, id);
CREATE INDEX audit_at ON audit (at);
