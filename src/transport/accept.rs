//! From the socket to [`dispatch`](super::dispatch): the accept loop ([`serve`]), where the
//! connection-level [`Limits`](super::Limits) apply, and the warp adapter ([`filter`]) that
//! turns every request, whatever its method or path, into a [`Request`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use warp::Filter;
use warp::http::{HeaderMap, Method, header};

use super::request::BodyStream;
use super::{AppState, HttpError, Request, Response, dispatch, heads, outbound};
use crate::auth::Principal;

/// The warp side: every request, whatever its method or path, reaches [`dispatch`].
pub fn filter(
    state: AppState,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    let raw_query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::method()
        .and(warp::path::full())
        .and(raw_query)
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<Peer>().map(|p: Option<Peer>| p.map(|Peer(a)| a)))
        .and(warp::ext::optional::<Connection>())
        .and(warp::body::stream().map(box_body))
        .then(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: Option<String>,
                  headers: HeaderMap,
                  remote: Option<SocketAddr>,
                  connection: Option<Connection>,
                  body: BodyStream| {
                let state = state.clone();
                let req = Request {
                    method,
                    path: path.as_str().to_string(),
                    query,
                    headers,
                    remote,
                    principal: Principal::Anonymous,
                    body: Some(body),
                    body_timeout: state.limits().body_timeout,
                    connection,
                };
                async move { dispatch(&state, req).await }
            },
        )
}

fn box_body<S, B>(s: S) -> BodyStream
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: bytes::Buf,
{
    Box::pin(s.map(|r| r.map(|mut b| b.copy_to_bytes(b.remaining()))))
}

/// The client's address, put on each request by [`serve`] for [`filter`] to read.
#[derive(Clone, Copy, Debug)]
struct Peer(SocketAddr);

/// The connection a request came on, for what must act on the socket itself: a fault rule
/// that resets it, or hangs until the client or the server gives up (`faults.rs`). Put on
/// each request by [`serve`].
#[derive(Clone, Debug)]
pub(super) struct Connection {
    reset: Arc<tokio::sync::Notify>,
    closing: tokio::sync::watch::Receiver<bool>,
}

impl Connection {
    /// Close the connection at once, unanswered, with an RST.
    pub(super) fn reset(&self) {
        self.reset.notify_one();
    }

    /// Resolves when the server shuts down.
    pub(super) async fn server_closing(&self) {
        let mut closing = self.closing.clone();
        let _ = closing.wait_for(|c| *c).await;
    }
}

/// Wait for [`Connection::reset`], then make the socket's close an RST (SO_LINGER 0): the
/// connection is dropped by the caller right after, still unanswered.
async fn reset_requested(reset: Arc<tokio::sync::Notify>, fd: std::os::fd::RawFd) {
    reset.notified().await;
    // SAFETY: `fd` belongs to the connection that the caller's `select!` still holds (this
    // future is one of its branches), so it is open for as long as it is borrowed here.
    let socket = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    if let Err(e) = socket2::SockRef::from(&socket).set_linger(Some(Duration::ZERO)) {
        tracing::debug!(error = %e, "SO_LINGER could not be set; the connection closes with a FIN");
    }
}

/// Serve until `shutdown` resolves; in-flight requests finish first.
///
/// The accept loop is ours rather than warp's so that the connection-level limits apply: at
/// most [`Limits::max_connections`](super::Limits::max_connections) connections are served
/// at once (one more is answered 503 with `Retry-After` and closed, a few at a time; beyond
/// that it is closed unanswered), request heads are capped in size and field count (431)
/// and must arrive within [`Limits::header_timeout`](super::Limits::header_timeout) (then
/// the connection is closed, which also ends idle keep-alive connections), connections
/// still sending their first head are bounded in all and per address ([`heads`]), and a
/// client that takes nothing of its answer for
/// [`Limits::send_timeout`](super::Limits::send_timeout) is let go
/// ([`outbound::WriteTimeout`]). hyper's write buffer is kept near one page
/// ([`outbound::CHUNK`]), so a client that does not read holds about one page of its answer
/// in this process. HTTP/1.x only: no Exchange or WebDAV client speaks HTTP/2 in clear
/// text, and every limit here is HTTP/1's.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use tokio::sync::Semaphore;

    let limits = *state.limits();
    let service = hyper_util::service::TowerToHyperService::new(warp::service(filter(state)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(limits.max_headers)
        .max_header_size(limits.max_header_bytes)
        // Also the read buffer, which must hold a whole request head.
        .max_buf_size(outbound::CHUNK.max(limits.max_header_bytes + 8192));
    let mut refuse = http.clone();
    refuse
        .keep_alive(false)
        .header_read_timeout(limits.header_timeout.min(REFUSAL_HEAD_TIMEOUT));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let pending = heads::PendingHeads::new(
        limits.max_pending_heads,
        limits.max_pending_heads_per_address,
    );
    let graceful = GracefulShutdown::new();
    // Ends the connections a fault rule keeps hanging, which would hold the shutdown.
    let (closing, closing_seen) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are written in pieces (a streamed answer's head, its pages, its last
        // chunk): without this, Nagle's algorithm holds each small piece back until the
        // client's delayed ACK, 40 ms per keep-alive request.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, %peer, "TCP_NODELAY could not be set");
        }
        // Before a slot is taken: a trickler closed to make room gives its slot back.
        let (ticket, evicted) = pending.admit(peer.ip());
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        let io = TokioIo::new(outbound::WriteTimeout::new(stream, limits.send_timeout));
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let svc = service.clone();
                let ticket = Arc::new(ticket);
                let headed = ticket.clone();
                let connection = Connection {
                    reset: Arc::new(tokio::sync::Notify::new()),
                    closing: closing_seen.clone(),
                };
                let reset = connection.reset.clone();
                let svc = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                    headed.headed();
                    req.extensions_mut().insert(Peer(peer));
                    req.extensions_mut().insert(connection.clone());
                    hyper::service::Service::call(&svc, req)
                });
                let conn = graceful.watch(http.serve_connection(io, svc));
                tokio::spawn(async move {
                    tokio::select! {
                        ended = conn => if let Err(e) = ended {
                            tracing::debug!(error = %e, %peer, "connection ended");
                        },
                        Ok(()) = evicted => {
                            tracing::info!(%peer, "closed a connection still sending its request head to make room for a newer one");
                        }
                        () = reset_requested(reset, fd) => {
                            tracing::debug!(%peer, "connection reset by a fault rule");
                        }
                    }
                    drop(ticket);
                    drop(slot);
                });
            }
            Err(_) => {
                drop(ticket);
                let Ok(permit) = refusals.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "too many connections; closed one unanswered");
                    crate::app::metrics::connection_refused(false);
                    continue;
                };
                crate::app::metrics::connection_refused(true);
                tracing::warn!(%peer, max = limits.max_connections, "too many connections; answered 503");
                let conn = graceful.watch(refuse.serve_connection(
                    io,
                    hyper::service::service_fn(move |_req| async move {
                        Ok::<_, Infallible>(too_many_connections(limits.max_connections))
                    }),
                ));
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
        }
    }
    // New clients are turned away at once rather than queued while in-flight ones finish.
    drop(listener);
    let _ = closing.send(true);
    graceful.shutdown().await;
}

/// How long a connection refused for being one too many may take to send its request head.
const REFUSAL_HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Refused connections answered at once; more are closed without an answer.
const MAX_REFUSALS_IN_FLIGHT: usize = 64;

fn too_many_connections(max: usize) -> Response {
    let mut r = HttpError::busy(format!(
        "the server already serves {max} connections; try again in a moment"
    ))
    .into_response();
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    r
}
