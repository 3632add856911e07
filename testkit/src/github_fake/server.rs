//! The HTTP/1.1 server loop and the per-request pipeline:
//! record → fault → auth → rate limit → route → common headers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::sync::watch;

use super::codec::{parse_query, percent_decode, random_alnum};
use super::json as gj;
use super::routes::{dispatch, Ctx, Reply};
use super::state::{now, Fault, RecordedRequest, State, BOT_ID};

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: dropping connection")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until `shutdown` changes or its sender is dropped.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<Mutex<State>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(_) => continue,
            },
        };
        let state = state.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = conn_shutdown.changed() => {}
            }
        });
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(Body::new(body), 64 << 20)
        .await
        .map_err(|_| DropConnection)?
        .to_vec();
    let path_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (path, query) = path_query.split_once('?').unwrap_or((&path_query, ""));
    let is_app = path == "/app" || path.starts_with("/app/");
    let auth = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone());
    let fault = {
        let mut st = lock(&state);
        st.requests.push(RecordedRequest {
            method: parts.method.as_str().to_string(),
            path: path_query.clone(),
            headers: headers.clone(),
            body: body.clone(),
            received_at: Instant::now(),
        });
        if is_app {
            None
        } else {
            st.take_fault()
        }
    };
    let (early, after) = match fault {
        Some(Fault::Drop) => return Err(DropConnection),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            (None, None)
        }
        Some(f @ (Fault::DropAfterApply | Fault::StatusAfterApply(_))) => (None, Some(f)),
        Some(f) => (Some(fault_reply(&f)), None),
        None => (None, None),
    };
    let mut st = lock(&state);
    let reply = early.unwrap_or_else(|| {
        let cx = Ctx {
            method: parts.method.as_str().to_string(),
            path: path.to_string(),
            segs: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(percent_decode)
                .collect(),
            query: parse_query(query),
            body,
            base: st.base_url.clone(),
            token: auth
                .as_deref()
                .and_then(|a| a.trim().split_once(' '))
                .map(|(_, t)| t.trim().to_string()),
        };
        authorize(&mut st, auth.as_deref(), is_app).unwrap_or_else(|| dispatch(&mut st, &cx))
    });
    let reply = match after {
        Some(Fault::DropAfterApply) => return Err(DropConnection),
        Some(Fault::StatusAfterApply(s)) => fault_reply(&Fault::Status(s)),
        _ => reply,
    };
    let token = auth
        .as_deref()
        .and_then(|a| a.trim().split_once(' '))
        .map(|(_, t)| t.trim().to_string());
    Ok(to_response(&st, token.as_deref(), path, reply))
}

/// `None` if the request may proceed; otherwise the 401/403 to send.
fn authorize(st: &mut State, auth: Option<&str>, is_app: bool) -> Option<Reply> {
    let credential = auth.and_then(|a| {
        let (scheme, rest) = a.trim().split_once(' ')?;
        let scheme = scheme.to_ascii_lowercase();
        (scheme == "bearer" || scheme == "token").then(|| (scheme, rest.trim().to_string()))
    });
    if is_app {
        let jwt_ok = credential.as_ref().is_some_and(|(scheme, t)| {
            scheme == "bearer" && t.split('.').count() == 3 && t.split('.').all(|p| !p.is_empty())
        });
        return (!jwt_ok)
            .then(|| Reply::new(401, gj::error("A JSON web token could not be decoded")));
    }
    if !credential
        .as_ref()
        .is_some_and(|(_, t)| st.tokens.contains(t))
    {
        return Some(Reply::new(401, gj::error("Bad credentials")));
    }
    let token = credential.map(|(_, t)| t).unwrap_or_default();
    let rate = match st.token_rate.get_mut(&token) {
        Some(r) => r,
        None => &mut st.rate,
    };
    rate.refresh(now());
    if rate.remaining == 0 {
        return Some(Reply::new(
            403,
            json!({
                "message": format!("API rate limit exceeded for user ID {BOT_ID}. If you reach out to GitHub Support for help, please include the request ID {}.", request_id()),
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            }),
        ));
    }
    rate.remaining -= 1;
    None
}

fn fault_reply(fault: &Fault) -> Reply {
    let secondary = |status: u16, secs: u64| {
        Reply::new(
            status,
            json!({
                "message": format!("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {}.", request_id()),
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            }),
        )
        .with_header("retry-after", secs.to_string())
    };
    match fault {
        Fault::Status(s) => {
            let reason = StatusCode::from_u16(*s)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("Server Error");
            Reply::new(*s, gj::error(reason))
        }
        Fault::SecondaryRateLimit { retry_after_secs } => secondary(403, *retry_after_secs),
        Fault::TooManyRequests { retry_after_secs } => secondary(429, *retry_after_secs),
        Fault::Drop | Fault::Delay(_) | Fault::DropAfterApply | Fault::StatusAfterApply(_) => {
            unreachable!("handled in handle()")
        }
    }
}

fn request_id() -> String {
    random_alnum(8).to_ascii_uppercase()
}

fn to_response(st: &State, token: Option<&str>, path: &str, reply: Reply) -> Response<Body> {
    let rate = token.and_then(|t| st.token_rate.get(t)).unwrap_or(&st.rate);
    let resource = if path.starts_with("/search/") {
        "search"
    } else {
        "core"
    };
    let mut b = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("x-ratelimit-limit", rate.limit.to_string())
        .header("x-ratelimit-remaining", rate.remaining.to_string())
        .header("x-ratelimit-reset", rate.reset.timestamp().to_string())
        .header(
            "x-ratelimit-used",
            rate.limit.saturating_sub(rate.remaining).to_string(),
        )
        .header("x-ratelimit-resource", resource)
        .header("x-github-api-version-selected", "2022-11-28")
        .header("x-github-media-type", "github.v3; format=json")
        .header("x-github-request-id", request_id());
    for (k, v) in &reply.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let body = match reply.body {
        Some(v) => {
            b = b.header("content-type", "application/json; charset=utf-8");
            Body::from(serde_json::to_vec_pretty(&v).unwrap_or_default())
        }
        None => Body::empty(),
    };
    b.body(body).expect("headers are valid ASCII")
}
