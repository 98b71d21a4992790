//! The accept loop: HTTP/1.1 connections under a cap, with header-read, body-read and idle
//! timeouts, and a bounded drain at shutdown.
//!
//! `axum::serve` has no timeouts: a client that trickles its headers (slowloris), never ends its
//! body, or just keeps a connection open holds a file descriptor forever. Here each connection
//! is watched ([`Activity`]): with no request in flight, it is closed `idle` after its last
//! response, or `header_read` after the first byte of a request head that never completes. A
//! request's body must arrive within `body_read` of its head ([`BodyReadTimeout`]). At
//! `max_connections` the loop stops accepting: new connections wait in the kernel's backlog
//! until a served one closes, which the idle timeout guarantees within `idle`.
//!
//! Every request carries `ConnectInfo<SocketAddr>` (the client's address) in its extensions.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::config::Limits;

/// The connection limits in force (from [`Limits`], as durations).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest a request head may take from its first byte.
    pub header_read: Duration,
    /// Longest a request body may take from the end of its head.
    pub body_read: Duration,
    /// Longest a connection may stay open with no request in flight.
    pub idle: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Longest shutdown waits for open connections before dropping them.
    pub drain: Duration,
}

impl From<&Limits> for ConnectionLimits {
    fn from(l: &Limits) -> Self {
        Self {
            header_read: Duration::from_secs(l.header_read_secs),
            body_read: Duration::from_secs(l.body_read_secs),
            idle: Duration::from_secs(l.idle_secs),
            max_connections: usize::try_from(l.max_connections).unwrap_or(usize::MAX),
            drain: Duration::from_secs(l.drain_secs),
        }
    }
}

/// A request body that did not arrive within the body-read limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
pub struct BodyReadTimeout(pub Duration);

/// The [`BodyReadTimeout`] behind `error` (from reading a request body), however wrapped.
pub fn body_timeout<'e>(error: &'e (dyn StdError + 'static)) -> Option<&'e BodyReadTimeout> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(timeout) = e.downcast_ref::<BodyReadTimeout>() {
            return Some(timeout);
        }
        next = e.source();
    }
    None
}

/// Descriptors the broker needs besides client connections (database pool, upstream
/// connections, the listener, files): a generous estimate.
const RESERVED_FDS: u64 = 256;

/// Raises the soft open-files limit to the hard one, as Go's runtime does: the soft limit is
/// often 1,024 while every connection holds a descriptor. Returns the soft limit now in force
/// (`None`: unlimited).
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum || (limit.current.is_some() && limit.maximum.is_none()) {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => limit.current = limit.maximum,
            Err(e) => tracing::debug!(error = %e, "cannot raise the open-files limit"),
        }
    }
    limit.current
}

/// Warns when `max_connections` could exhaust the open-files limit before the cap is reached:
/// then the cap protects nothing and `accept` fails instead.
pub fn check_open_files_budget(max_connections: usize) {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    if let Some(soft) = soft
        && (max_connections as u64).saturating_add(RESERVED_FDS) > soft
    {
        tracing::warn!(
            max_connections,
            open_files_limit = soft,
            "limits.max_connections plus {RESERVED_FDS} descriptors for the broker's own use \
             exceeds the open-files limit (`ulimit -n`): lower max_connections or raise the limit"
        );
    }
}

/// Serves `app` on `listener` until `shutdown` fires, then stops accepting, lets each connection
/// finish the request it is serving, and drops whatever is still open after `limits.drain`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut shutdown: oneshot::Receiver<()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (drain, draining) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        // Take a slot before accepting: at the cap, connections wait in the backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // the semaphore is never closed
            },
            _ = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
        };
        let (app, draining) = (app.clone(), draining.clone());
        connections.spawn(async move {
            connection(stream, remote, app, limits, draining).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = drain.send(true);
    let open = connections.len();
    let drained = tokio::time::timeout(limits.drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open,
            remaining = connections.len(),
            drain_secs = limits.drain.as_secs(),
            "shutdown: drain deadline passed; closing the remaining connections"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Accept errors are about one connection (retry at once) or about the process, e.g. out of
/// file descriptors (pause, so the loop does not spin while nothing can be accepted).
async fn accept_failed(e: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves one connection until the client closes it, a timeout closes it, or the drain ends.
async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut draining: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            let in_flight = activity.request_started();
            request.extensions_mut().insert(ConnectInfo(remote));
            let request = request.map(|body| Body::new(Deadline::new(body, limits.body_read)));
            let app = app.clone();
            async move {
                let response = match app.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                // The request stays in flight until hyper has written the whole response.
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(Tracked {
                        inner: body,
                        _in_flight: in_flight,
                    })
                }))
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        // Timed by `Activity` instead: hyper's timer starts when it waits for a head, so it
        // would also cut idle keep-alive connections at the header limit.
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut shutting_down = *draining.borrow();
    if shutting_down {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%remote, error = %e, "connection ended with an error");
                }
                return;
            }
            expired = activity.expired(&limits) => {
                // Nothing is in flight, so dropping the connection loses no answer.
                tracing::debug!(%remote, "closing connection: {expired}");
                return;
            }
            _ = draining.changed(), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What one connection is doing, for its idle and header-read timeouts. Times are ms since
/// `epoch`; written by the I/O wrapper and the service, read by the connection's watchdog.
struct Activity {
    epoch: Instant,
    /// Requests whose response is not yet fully written.
    in_flight: AtomicUsize,
    /// When `in_flight` last fell to zero (or the connection opened).
    idle_since: AtomicU64,
    /// When the first byte of a request head arrived; [`NO_HEAD`] while none has.
    head_since: AtomicU64,
    /// Wakes the watchdog sleeping out an idle period when a head starts (a shorter limit).
    head_started: Notify,
}

const NO_HEAD: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(NO_HEAD),
            head_started: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// Bytes arrived: with nothing in flight they start a request head.
    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self
                .head_since
                .compare_exchange(NO_HEAD, self.now(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.head_started.notify_one();
        }
    }

    /// A complete head arrived and the request is being served.
    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(NO_HEAD, Ordering::Release);
        InFlight(self.clone())
    }

    /// Resolves when the connection has been idle, or reading a head, for too long.
    async fn expired(&self, limits: &ConnectionLimits) -> &'static str {
        let recheck = limits
            .idle
            .min(limits.header_read)
            .max(Duration::from_millis(10));
        loop {
            let wait = if self.in_flight.load(Ordering::Acquire) > 0 {
                recheck
            } else {
                let head = self.head_since.load(Ordering::Acquire);
                let (since, limit, why) = if head == NO_HEAD {
                    (
                        self.idle_since.load(Ordering::Acquire),
                        limits.idle,
                        "idle timeout",
                    )
                } else {
                    (
                        head,
                        limits.header_read,
                        "request head not complete in time",
                    )
                };
                let elapsed = Duration::from_millis(self.now().saturating_sub(since));
                match limit.checked_sub(elapsed) {
                    Some(left) if !left.is_zero() => left,
                    _ => return why,
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.head_started.notified() => {}
            }
        }
    }
}

/// One request in flight; dropped when hyper has sent (or dropped) its response body.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle_since.store(self.0.now(), Ordering::Release);
        }
    }
}

/// The socket, reporting reads to the connection's [`Activity`].
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A request body that fails with [`BodyReadTimeout`] once `limit` has passed since the head.
struct Deadline {
    inner: Incoming,
    limit: Duration,
    deadline: Instant,
    /// Armed only when the body is not all there at once (most bodies are).
    timer: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    fn new(inner: Incoming, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            deadline: Instant::now() + limit,
            timer: None,
        }
    }
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyReadTimeout(self.limit).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that holds its request's [`InFlight`] until hyper drops it.
struct Tracked {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read: Duration::from_millis(300),
        body_read: Duration::from_millis(300),
        idle: Duration::from_millis(300),
        max_connections: 2,
        drain: Duration::from_millis(300),
    };

    async fn start(limits: ConnectionLimits) -> (SocketAddr, oneshot::Sender<()>) {
        let (addr, stop, _) = start_with_handle(limits).await;
        (addr, stop)
    }

    /// Serves a tiny app: `/who` answers the client's address, `/echo` its body's length or
    /// 408 on a body timeout.
    async fn start_with_handle(
        limits: ConnectionLimits,
    ) -> (
        SocketAddr,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<io::Result<()>>,
    ) {
        let app = Router::new()
            .route(
                "/who",
                get(|ConnectInfo(addr): ConnectInfo<SocketAddr>| async move { addr.to_string() }),
            )
            .route(
                "/echo",
                post(|body: Body| async move {
                    match axum::body::to_bytes(body, 1 << 20).await {
                        Ok(bytes) => (http::StatusCode::OK, bytes.len().to_string()),
                        Err(e) => match body_timeout(&e) {
                            Some(timeout) => {
                                (http::StatusCode::REQUEST_TIMEOUT, timeout.to_string())
                            }
                            None => (http::StatusCode::BAD_REQUEST, e.to_string()),
                        },
                    }
                }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let server = tokio::spawn(serve(listener, app, limits, stopped));
        (addr, stop, server)
    }

    /// Reads until the server closes (or 5 s pass); returns what it sent.
    async fn read_to_close(stream: &mut TcpStream) -> String {
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
            .await
            .expect("server closed the connection")
            .ok();
        String::from_utf8_lossy(&out).into_owned()
    }

    async fn get_who(addr: SocketAddr) -> (TcpStream, String) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /who HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        let local = stream.local_addr().unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(text.ends_with(&local.to_string()), "{text}");
        (stream, text)
    }

    #[test]
    fn the_open_files_limit_is_raised_to_the_hard_limit() {
        let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
        assert_eq!(raise_open_files_limit(), hard);
        assert_eq!(
            rustix::process::getrlimit(rustix::process::Resource::Nofile).current,
            hard
        );
    }

    #[tokio::test]
    async fn requests_carry_the_client_address_and_idle_connections_close() {
        let (addr, _stop) = start(LIMITS).await;
        let (mut stream, text) = get_who(addr).await;
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        let started = std::time::Instant::now();
        assert_eq!(read_to_close(&mut stream).await, "");
        assert!(started.elapsed() >= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn a_trickled_head_is_cut_at_the_header_limit_even_while_bytes_arrive() {
        let limits = ConnectionLimits {
            idle: Duration::from_secs(30),
            ..LIMITS
        };
        let (addr, _stop) = start(limits).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // Connected and quiet first, so the watchdog is already waiting out the idle limit.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        let mut closed = false;
        for byte in b"GET /who HTTP/1.1\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if stream.write_all(&[*byte]).await.is_err() {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let rest = read_to_close(&mut stream).await;
        assert!(closed || rest.is_empty(), "{rest}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "cut at ~300 ms, not by idle"
        );
    }

    #[tokio::test]
    async fn a_partial_body_gets_a_timeout_error() {
        let (addr, _stop) = start(LIMITS).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly-part")
            .await
            .unwrap();
        let answer = read_to_close(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("did not arrive within 0.3 s"), "{answer}");
    }

    #[tokio::test]
    async fn beyond_the_cap_a_connection_waits_until_another_closes() {
        let limits = ConnectionLimits {
            idle: Duration::from_millis(800),
            ..LIMITS
        };
        let (addr, _stop) = start(limits).await;
        let (_a, _) = get_who(addr).await;
        let (_b, _) = get_who(addr).await;
        // The third connects (kernel backlog) but is not served while two are open.
        let started = std::time::Instant::now();
        let (_c, text) = get_who(addr).await;
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "served only after an idle connection closed ({:?})",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn shutdown_drops_connections_left_after_the_drain_deadline() {
        let limits = ConnectionLimits {
            body_read: Duration::from_secs(30),
            ..LIMITS
        };
        let (addr, stop, server) = start_with_handle(limits).await;
        // A request in flight whose body never comes: graceful shutdown would wait for it.
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 9\r\n\r\nab")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(3), server)
            .await
            .expect("serve returns after the drain deadline")
            .unwrap()
            .unwrap();
        assert_eq!(read_to_close(&mut slow).await, "");
    }
}
