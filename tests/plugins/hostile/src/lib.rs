//! Test-only plugin that misbehaves on purpose, so the broker's containment can be tested.
//!
//! Routes (any method), under `/v1/hostile/`:
//! - `noop`: 200 `{}` at once (measures the per-request sandbox cost; reads nothing).
//! - `echo`: 200 with method, path, query, body, tenant, request id and headers as JSON.
//! - `trap`: panics (a trap on wasm).
//! - `spin`: burns CPU forever (stopped by the CPU/epoch limit).
//! - `sleep-loop`: sleeps 10 ms forever (stopped by the wall-clock limit).
//! - `log-secret`: wraps `provider_params`' key pair as a credential, then logs the raw
//!   `SecretKey` in a message and a field (the host must redact both).
//! - `egress`: unsigned GET to the body's `url`; answers the status or the `http-error`.
//! - `recurse`: recurses without end (the stack limit must stop it, not crash the host).
//! - `alloc`: grows a buffer, touching every page, until allocation fails (memory cap).
//! - `lookup`: opens the stored account `{"provider","name","region"}` of the calling tenant,
//!   signs a `DescribeVpcs` with it, and answers everything the guest could see (account facts,
//!   key id, upstream outcome) — never the secret, which it cannot read. Then it tries to leak
//!   the secret: the same credential as a `bearer` token to a declared host (`leak`: outcome).
//! - `count`: how many requests this instance has served, kept in a static: always 1 when
//!   every request gets a fresh instance whose memory was really reset.
//! - `cache`: `{"op":"get"|"set"|"delete","key","value","ttl_ms"}` on the host's cache; answers
//!   `{"value"}` (null on a miss), `{"stored":true}` or the `cache-error`.
//! - `big`: answers `{"data"}` with a string of `{"bytes"}` bytes (the response cap must stop it).
//! - `log-flood`: writes `{"lines"}` log lines (the log budget must cap them).
//! - `call-flood`: sends unsigned GETs to a declared host until the host refuses one; answers
//!   how many went and the refusal (the host-call budget must stop it).
//! - `version`: the plugin's manifest version (`hostile-v2` wraps this plugin as `2.0.0`).
//! - `slow`: sleeps `{"ms"}` of clock time, then answers the version (a request in flight while
//!   the plugin is replaced or removed).
//! - `cache-flood`: stores `{"count"}` distinct keys until the host refuses one; answers how
//!   many were stored and the refusal.

use broker_sdk::http::{RequestBuilder, json_response, method_name, send};
use broker_sdk::{Manifest, Method, Operation, Plugin, ProviderParams, Request, Response, Signing};
use serde_json::{Value, json};

/// Every route starts with this prefix.
pub const ROUTE_PREFIX: &str = "/v1/hostile/";

/// The manifest's error template (deliberately not the WeCube one).
pub const ERROR_TEMPLATE: &str = r#"{"ok":false,"error":"{{message}}"}"#;

/// The route names (after the prefix).
pub const ROUTES: &[&str] = &[
    "noop",
    "echo",
    "trap",
    "spin",
    "sleep-loop",
    "log-secret",
    "egress",
    "alloc",
    "recurse",
    "count",
    "lookup",
    "cache",
    "cache-flood",
    "version",
    "slow",
    "big",
    "log-flood",
    "call-flood",
];

/// Requests served by this instance (see the `count` route).
static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The plugin type exported to the broker.
pub struct Hostile;

impl Plugin for Hostile {
    fn manifest() -> Manifest {
        manifest_as(env!("CARGO_PKG_VERSION"))
    }

    fn handle(request: Request) -> Response {
        handle_as(request, env!("CARGO_PKG_VERSION"))
    }
}

/// The manifest, claiming `version` (so a wrapper can ship the same plugin as another version).
pub fn manifest_as(version: &str) -> Manifest {
    Manifest {
        name: "hostile".to_owned(),
        version: version.to_owned(),
        route_prefixes: vec![ROUTE_PREFIX.to_owned()],
        operations: ROUTES
            .iter()
            .map(|name| Operation {
                method: Method::Post,
                path: format!("{ROUTE_PREFIX}{name}"),
                summary: format!("Misbehaves on purpose: {name}."),
            })
            .collect(),
        // `localhost` resolves to a loopback address and `*.hostile.test` is mapped by the
        // tests: both exist to be tried by `egress`.
        upstream_hosts: vec![
            "vpc.tencentcloudapi.com".to_owned(),
            "localhost".to_owned(),
            "*.hostile.test".to_owned(),
        ],
        error_template: ERROR_TEMPLATE.to_owned(),
        settings: vec![],
    }
}

/// Handles a request as the plugin of `version` (what the `version` and `slow` routes answer).
pub fn handle_as(request: Request, version: &str) -> Response {
    let route = request.path.strip_prefix(ROUTE_PREFIX).unwrap_or_default();
    match route {
        "noop" => Response {
            status: 200,
            headers: Vec::new(),
            body: b"{}".to_vec(),
        },
        "echo" => echo(&request),
        "trap" => panic!("hostile plugin traps on purpose"),
        "spin" => spin(),
        "sleep-loop" => loop {
            broker_sdk::clock::sleep_ms(10);
        },
        "log-secret" => log_secret(&request.body),
        "egress" => egress(&request.body),
        "alloc" => alloc(),
        "recurse" => {
            let depth = recurse(std::hint::black_box(1));
            json_response(200, &json!({ "depth": depth }))
        }
        "lookup" => lookup(&request.body),
        "cache" => cache(&request.body),
        "cache-flood" => cache_flood(&request.body),
        "count" => {
            let calls = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            json_response(200, &json!({ "calls": calls }))
        }
        "version" => json_response(200, &json!({ "version": version })),
        "big" => {
            let bytes = body_number(&request.body, "bytes").unwrap_or(1 << 20);
            let data = "x".repeat(usize::try_from(bytes).unwrap_or(usize::MAX));
            json_response(200, &json!({ "data": data }))
        }
        "log-flood" => {
            let lines = body_number(&request.body, "lines").unwrap_or(10_000);
            for n in 0..lines {
                broker_sdk::log::info(&format!("flood line {n}"), &[]);
            }
            json_response(200, &json!({ "logged": lines }))
        }
        "call-flood" => call_flood(),
        "slow" => {
            let ms = serde_json::from_slice::<Value>(&request.body)
                .ok()
                .and_then(|v| v["ms"].as_u64())
                .unwrap_or(100);
            broker_sdk::clock::sleep_ms(ms);
            json_response(200, &json!({ "version": version }))
        }
        _ => failure(404, &format!("unknown route {}", request.path)),
    }
}

// Without the `export` feature (how `hostile-v2` uses this crate) the component exports come
// from the wrapper instead.
#[cfg(feature = "export")]
broker_sdk::export_provider!(Hostile);

fn failure(status: u16, message: &str) -> Response {
    json_response(status, &json!({"ok": false, "error": message}))
}

fn echo(request: &Request) -> Response {
    let headers: Vec<Value> = request
        .headers
        .iter()
        .map(|h| json!({"name": h.name, "value": h.value}))
        .collect();
    json_response(
        200,
        &json!({
            "method": method_name(request.method),
            "path": request.path,
            "query": request.query,
            "body": String::from_utf8_lossy(&request.body),
            "tenant": request.tenant,
            "request_id": request.request_id,
            "headers": headers,
        }),
    )
}

fn cache(body: &[u8]) -> Response {
    use broker_sdk::cache;
    let Ok(args) = serde_json::from_slice::<Value>(body) else {
        return failure(400, "body must be JSON");
    };
    let key = args["key"].as_str().unwrap_or_default();
    match args["op"].as_str().unwrap_or_default() {
        "get" => {
            let value = cache::get(key).map(|v| String::from_utf8_lossy(&v).into_owned());
            json_response(200, &json!({ "value": value }))
        }
        "set" => {
            let value = args["value"].as_str().unwrap_or_default();
            let ttl_ms = args["ttl_ms"].as_u64().unwrap_or(60_000);
            match cache::set(key, value.as_bytes(), ttl_ms) {
                Ok(()) => json_response(200, &json!({ "stored": true })),
                Err(error) => json_response(200, &json!({ "error": format!("{error:?}") })),
            }
        }
        "delete" => {
            cache::delete(key);
            json_response(200, &json!({ "deleted": true }))
        }
        other => failure(400, &format!("unknown op {other:?}")),
    }
}

fn cache_flood(body: &[u8]) -> Response {
    let count = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["count"].as_u64())
        .unwrap_or(1_000_000);
    for n in 0..count {
        if let Err(error) = broker_sdk::cache::set(&format!("flood-{n}"), b"x", 60_000) {
            return json_response(200, &json!({ "stored": n, "error": format!("{error:?}") }));
        }
    }
    json_response(200, &json!({ "stored": count, "error": null }))
}

/// Recursion the optimiser cannot turn into a loop (the result of the call is mixed with the
/// argument), with nothing in linear memory: it exhausts the wasm stack itself.
fn recurse(n: u64) -> u64 {
    if n == u64::MAX {
        return n;
    }
    recurse(n + 1).wrapping_mul(31).wrapping_add(n)
}

fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

fn body_number(body: &[u8], name: &str) -> Option<u64> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get(name)?
        .as_u64()
}

fn call_flood() -> Response {
    let request = RequestBuilder::new(Method::Get, "https://vpc.tencentcloudapi.com/").build();
    let mut sent = 0u32;
    loop {
        if let Err(error) = send(&request, &Signing::None, None) {
            return json_response(200, &json!({ "sent": sent, "error": format!("{error:?}") }));
        }
        sent += 1;
    }
}

fn body_field(body: &[u8], name: &str) -> Result<String, Response> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| failure(400, &format!("bad JSON: {e}")))?;
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| failure(400, &format!("body needs a string \"{name}\"")))
}

fn log_secret(body: &[u8]) -> Response {
    let text = match body_field(body, "provider_params") {
        Ok(text) => text,
        Err(response) => return response,
    };
    let params = match ProviderParams::parse(&text) {
        Ok(params) => params,
        Err(e) => return failure(400, &e.to_string()),
    };
    let Ok(secret) = params.require("SecretKey") else {
        return failure(400, "provider_params is missing `SecretKey`");
    };
    // Wrap first, as a well-behaved plugin would: from here on the host knows the secret.
    let id = params
        .get("SecretID")
        .or_else(|| params.get("SecretId"))
        .unwrap_or("hostile");
    let _credential = broker_sdk::Credential::inline(id, secret);
    broker_sdk::log::warn(
        &format!("hostile plugin leaks the secret key {secret} on purpose"),
        &[("secret_key", secret), ("note", "must be redacted")],
    );
    json_response(200, &json!({"ok": true, "logged": true}))
}

fn egress(body: &[u8]) -> Response {
    let url = match body_field(body, "url") {
        Ok(url) => url,
        Err(response) => return response,
    };
    let request = RequestBuilder::new(Method::Get, url).build();
    match send(&request, &Signing::None, None) {
        Ok(response) => json_response(200, &json!({"ok": true, "status": response.status})),
        Err(error) => json_response(200, &json!({"ok": false, "error": format!("{error:?}")})),
    }
}

fn alloc() -> Response {
    const STEP: usize = 1 << 20;
    const PAGE: usize = 4096;
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        // Plain (infallible) growth: when the host refuses more memory the allocator aborts,
        // which is a trap the broker must contain.
        let start = buffer.len();
        buffer.resize(start + STEP, 0);
        for offset in (start..buffer.len()).step_by(PAGE) {
            buffer[offset] = 0xA5;
        }
        std::hint::black_box(&buffer);
    }
}

fn lookup(body: &[u8]) -> Response {
    let field = |name| body_field(body, name);
    let (provider, name, region) = match (field("provider"), field("name"), field("region")) {
        (Ok(p), Ok(n), Ok(r)) => (p, n, r),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
    };
    let (credential, account) = match broker_sdk::lookup_account(&provider, &name) {
        Ok(found) => found,
        Err(e) => return json_response(200, &json!({"ok": false, "error": format!("{e:?}")})),
    };
    let upstream = match broker_sdk::tencent::call(
        &credential,
        "vpc",
        "2017-03-12",
        "DescribeVpcs",
        Some(&region),
        &json!({}),
    ) {
        Ok(response) => json!({"ok": true, "request_id": response.request_id}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    };
    let bearer = RequestBuilder::new(Method::Get, "https://vpc.tencentcloudapi.com/").build();
    let leak = match send(&bearer, &Signing::Bearer, Some(&credential)) {
        Ok(response) => format!("sent: HTTP {}", response.status),
        Err(error) => format!("{error:?}"),
    };
    json_response(
        200,
        &json!({
            "ok": true,
            "key_id": credential.id(),
            "account": {
                "provider": account.provider,
                "name": account.name,
                "key_id": account.key_id,
                "default_region": account.default_region,
                "endpoint": account.endpoint,
            },
            "upstream": upstream,
            "leak": leak,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, body: &str) -> Request {
        Request {
            method: Method::Post,
            path: path.to_owned(),
            query: "a=1".to_owned(),
            headers: vec![broker_sdk::Header {
                name: "x-test".to_owned(),
                value: "v".to_owned(),
            }],
            body: body.as_bytes().to_vec(),
            request_id: "req-1".to_owned(),
            tenant: "t1".to_owned(),
        }
    }

    #[test]
    fn the_manifest_declares_every_route_and_the_error_template() {
        let m = Hostile::manifest();
        assert_eq!(m.name, "hostile");
        assert_eq!(m.route_prefixes, [ROUTE_PREFIX]);
        assert_eq!(
            m.upstream_hosts,
            ["vpc.tencentcloudapi.com", "localhost", "*.hostile.test"]
        );
        assert_eq!(m.error_template, ERROR_TEMPLATE);
        assert_eq!(m.operations.len(), ROUTES.len());
    }

    #[test]
    fn noop_answers_an_empty_object() {
        let r = Hostile::handle(request("/v1/hostile/noop", "not json"));
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
    }

    #[test]
    fn echo_reflects_the_request() {
        let r = Hostile::handle(request("/v1/hostile/echo", "hello"));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v,
            json!({"method": "POST", "path": "/v1/hostile/echo", "query": "a=1", "body": "hello",
                   "tenant": "t1", "request_id": "req-1", "headers": [{"name": "x-test", "value": "v"}]})
        );
    }

    #[test]
    #[should_panic(expected = "hostile plugin traps on purpose")]
    fn trap_panics() {
        Hostile::handle(request("/v1/hostile/trap", ""));
    }

    #[test]
    fn unknown_routes_and_bad_bodies_get_the_plugin_error_shape() {
        let r = Hostile::handle(request("/v1/hostile/nope", ""));
        assert_eq!(r.status, 404);
        let r = Hostile::handle(request("/v1/hostile/egress", "{}"));
        assert_eq!(r.status, 400);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["ok"], false);
    }
}
