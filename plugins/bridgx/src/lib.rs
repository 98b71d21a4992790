//! BridgX plugin: BridgX's developer API (`shared/spec/bridgx-api.md`) at `/v1/bridgx/<path>`,
//! forwarded to `<endpoint>/api/v1/<path>` of the calling tenant's BridgX server.
//!
//! * Methods, parameters and the `{code, msg, data}` answers are BridgX's; its answers (errors
//!   included) pass through unchanged, byte for byte, so task ids above 2^53 stay exact.
//! * Where the handbook is wrong, BridgX's code is followed ([`routes`], [`corrections`]):
//!   `cluster/shrink` at its own route, `subnet/create` by `POST` (the handbook's `GET` is
//!   accepted and converted), the parameters the code requires checked here (`param_invalid:
//!   missing <name>` instead of the server's bare error or 500), `port_range` turned into
//!   `port_from`/`port_to`, handbook dates (`yyyy-dd-mm`) into `YYYY-MM-DD`.
//! * Login, token reuse and re-login: [`session`].
//! * The broker's own failures use the same envelope: unknown route 404, wrong method 405, bad
//!   body or missing parameter 400 `param_invalid: …`, no account 400, login refused 401,
//!   egress refused 403, BridgX unreachable or not answering its envelope 502, timeout 504.

use broker_sdk::envelope::bridgx;
use broker_sdk::http::{header, method_name, response};
use broker_sdk::{Manifest, Method, Operation, Plugin, Request, Response, log};
use serde_json::Value;

pub mod corrections;
pub mod params;
pub mod routes;
pub mod session;

use routes::Route;
use session::Session;

/// Every route this plugin serves starts with this prefix.
pub const ROUTE_PREFIX: &str = "/v1/bridgx/";

/// A broker-side failure, answered in BridgX's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status and `code`.
    pub code: u16,
    /// `msg`: what went wrong, for people.
    pub msg: String,
}

impl Failure {
    /// A failure with `code` and `msg`.
    pub fn new(code: u16, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }

    /// BridgX's `param_invalid`, with what is wrong.
    pub fn invalid(why: &str) -> Self {
        Self::new(400, format!("param_invalid: {why}"))
    }
}

/// The plugin type exported to the broker.
pub struct Bridgx;

impl Plugin for Bridgx {
    fn manifest() -> Manifest {
        Manifest {
            name: "bridgx".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            route_prefixes: vec![ROUTE_PREFIX.to_owned()],
            operations: routes::ROUTES
                .iter()
                .map(|r| Operation {
                    method: r.method,
                    path: format!("{ROUTE_PREFIX}{}", r.path),
                    summary: r.summary.to_owned(),
                })
                .collect(),
            // BridgX servers are per tenant: the host allows the endpoint of the stored account
            // the request looked up, so nothing is declared here.
            upstream_hosts: vec![],
            error_template: broker_sdk::BRIDGX_ERROR_TEMPLATE.to_owned(),
            settings: session::declare(),
        }
    }

    fn handle(request: Request) -> Response {
        match serve(&request) {
            Ok(answer) => answer,
            Err(failure) => bridgx::error(failure.code, &failure.msg),
        }
    }
}

broker_sdk::export_provider!(Bridgx);

fn serve(request: &Request) -> Result<Response, Failure> {
    let path = request.path.strip_prefix(ROUTE_PREFIX).unwrap_or_default();
    let route = routes::find(path).ok_or_else(|| {
        Failure::new(
            404,
            format!(
                "unknown route {} {}",
                method_name(request.method),
                request.path
            ),
        )
    })?;
    let from_query = request.method == Method::Get;
    if request.method != route.method && !(route.handbook_get && from_query) {
        return Err(Failure::new(
            405,
            format!(
                "method {} is not allowed on {}; use {}",
                method_name(request.method),
                request.path,
                method_name(route.method)
            ),
        ));
    }
    let mut params = if from_query {
        params::from_query(&request.query)
    } else {
        params::from_body(&request.body)?
    };
    if let Some(password) = params.get("password").and_then(Value::as_str) {
        log::redact(password);
    }
    (route.correct)(&mut params)?;
    if let Some(missing) = route.required.iter().find(|n| !params::present(&params, n)) {
        return Err(Failure::invalid(&format!("missing {missing}")));
    }
    let account = header(&request.headers, session::ACCOUNT_HEADER)
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or(session::DEFAULT_ACCOUNT);
    let session = Session::open(account)?;
    let answer = forward(&session, route, path, &params)?;
    pass_through(answer)
}

/// Sends the request as BridgX's code wants it: `GET` with a query, `POST` with a JSON body.
fn forward(
    session: &Session,
    route: &Route,
    path: &str,
    params: &params::Params,
) -> session::Answer {
    match route.method {
        Method::Post => session.call(
            Method::Post,
            path,
            &[],
            Some(&Value::Object(params.clone())),
        ),
        method => session.call(method, path, &params::to_query(params), None),
    }
}

/// BridgX's answer as it came, if it is BridgX's envelope; a 502 otherwise.
fn pass_through(answer: broker_sdk::IncomingResponse) -> Result<Response, Failure> {
    let envelope: Option<Value> = serde_json::from_slice(&answer.body).ok();
    let is_envelope = envelope
        .as_ref()
        .is_some_and(|v| v.get("code").is_some_and(Value::is_i64) && v.get("msg").is_some());
    if !is_envelope {
        let text = String::from_utf8_lossy(&answer.body);
        let text: String = text.chars().take(200).collect();
        return Err(Failure::new(
            502,
            format!(
                "BridgX answered HTTP {} without its JSON envelope: {text}",
                answer.status
            ),
        ));
    }
    Ok(response(
        answer.status,
        broker_sdk::http::JSON_CONTENT_TYPE,
        answer.body,
    ))
}
