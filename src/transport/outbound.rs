//! Large answers on their way to clients: produced page by page, held within a budget, and
//! given up when the client stops reading.
//!
//! Owns [`Pages`] (a body produced in pages on the blocking pool), [`stream_pages`] (the
//! response that drives it), [`whole`] and [`shared`] (a body already made), [`RowPages`]
//! (a head, rows from a store iterator, a tail: the shape of every listing),
//! [`AnswerBudget`] (the bytes of pages handed to connections and not yet written to their
//! sockets, across all connections) and [`WriteTimeout`] (a connection whose client has not
//! taken a byte for `send_timeout` is closed).
//!
//! Why pages: a producer that runs to its end on a store thread and waits for the client
//! whenever its buffer is full holds that thread for as long as the client does not read;
//! 33 clients that sent `PROPFIND Depth: 1` and never read held all 32 store threads and
//! froze every query. Here a store thread fills one page (about [`CHUNK`] bytes) and
//! returns; the next page is produced only when the connection has taken the previous one,
//! resuming from the producer's own state (a lazy store iterator, an index into the query's
//! users). A connection asks for the next page only once hyper's write buffer has room
//! (`max_buf_size` is set near one chunk in `serve`), so a client that does not read holds
//! one or two pages, and all of them together hold at most `answer_buffer` bytes: a page is
//! produced only after its bytes are reserved, and they are given back when the socket has
//! taken them (the page's memory is freed at the same moment).
//!
//! Must not touch: what the pages say (handlers and `fbquery` write them).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use warp::Reply;
use warp::http::{HeaderValue, StatusCode, header};

use super::{AppState, Response};
use crate::store::StoreError;

/// The size a producer fills a page to (it stops at the first row that reaches it).
pub const CHUNK: usize = 64 * 1024;

/// A body produced in pages on the blocking pool.
pub trait Pages: Send + 'static {
    /// Append the next part of the body to `buf`, stopping soon after it holds [`CHUNK`]
    /// bytes. `Ok(true)`: more follows; `Ok(false)`: the body is complete.
    fn fill(&mut self, st: &AppState, buf: &mut Vec<u8>) -> Result<bool, StoreError>;
}

/// The bytes of answer pages handed to connections and not yet written to a socket, over
/// all connections of one server, capped at `answer_buffer`.
#[derive(Clone)]
pub struct AnswerBudget {
    inner: Arc<BudgetInner>,
}

struct BudgetInner {
    sem: Arc<Semaphore>,
    total: usize,
    peak: AtomicUsize,
}

impl AnswerBudget {
    pub fn new(total: usize) -> Self {
        // Semaphore permits are counted in u32 per acquisition and usize in all.
        let total = total.clamp(1, u32::MAX as usize);
        AnswerBudget {
            inner: Arc::new(BudgetInner {
                sem: Arc::new(Semaphore::new(total)),
                total,
                peak: AtomicUsize::new(0),
            }),
        }
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.inner.total - self.inner.sem.available_permits()
    }

    /// The most bytes ever held at once.
    pub fn peak(&self) -> usize {
        self.inner.peak.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> usize {
        self.inner.total
    }

    /// Wait until `n` bytes (at most the whole budget) can be held.
    async fn reserve(&self, n: usize) -> OwnedSemaphorePermit {
        let n = n.clamp(1, self.inner.total) as u32;
        let permit = self
            .inner
            .sem
            .clone()
            .acquire_many_owned(n)
            .await
            .expect("the budget's semaphore is never closed");
        self.noted();
        permit
    }

    /// Make `permit` exactly `n` bytes (never more than the whole budget): give back what
    /// the page did not use, or, for a page that ran past its reservation (its last row
    /// crossed the chunk), wait for the whole of it. The reservation is given back and the
    /// whole asked for again: pages that each held a part while waiting for more could hold
    /// the budget between them and wait forever, whereas the semaphore hands released bytes
    /// only to the first in line, which always gets what it asks for once pages already
    /// handed to connections are written (or their clients time out).
    async fn fit(&self, mut permit: OwnedSemaphorePermit, n: usize) -> OwnedSemaphorePermit {
        let n = n.clamp(1, self.inner.total);
        let have = permit.num_permits();
        if n < have {
            drop(permit.split(have - n));
            self.noted();
        } else if n > have {
            drop(permit);
            permit = self.reserve(n).await;
        }
        permit
    }

    fn noted(&self) {
        let held = self.held();
        self.inner.peak.fetch_max(held, Ordering::Relaxed);
        crate::app::metrics::answer_bytes_held(held);
    }
}

/// A page on its way to a socket: its bytes and their share of the budget go together.
struct Held {
    buf: Bytes,
    permit: OwnedSemaphorePermit,
    budget: AnswerBudget,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // The permit goes back right after this; report the level it leaves.
        let after = self.budget.held().saturating_sub(self.permit.num_permits());
        crate::app::metrics::answer_bytes_held(after);
    }
}

/// A response whose body `pages` produces, one page per store-thread task, each after its
/// bytes are reserved in the server's [`AnswerBudget`]. A store failure midway aborts the
/// body (the client sees a truncated transfer, never a silently short answer).
pub fn stream_pages<P: Pages>(
    state: &AppState,
    status: StatusCode,
    content_type: &'static str,
    pages: P,
) -> Response {
    let st = state.clone();
    let body = futures_util::stream::unfold(Some(pages), move |pages| {
        let st = st.clone();
        async move {
            let mut pages = pages?;
            let budget = st.answer_budget().clone();
            let reservation = budget.reserve(CHUNK).await;
            let producer = st.clone();
            let produced = tokio::task::spawn_blocking(move || {
                let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
                let r = pages.fill(&producer, &mut buf);
                (pages, r.map(|more| (buf, more)))
            })
            .await;
            let (pages, result) = match produced {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "a streamed answer's producer failed");
                    return Some((Err(io::Error::other(e.to_string())), None));
                }
            };
            match result {
                Ok((buf, more)) => {
                    if buf.is_empty() && !more {
                        return None;
                    }
                    let permit = budget.fit(reservation, buf.len()).await;
                    let page = Bytes::from_owner(Held {
                        buf: buf.into(),
                        permit,
                        budget,
                    });
                    Some((Ok(page), more.then_some(pages)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "a streamed answer broke off");
                    Some((Err(io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let r = warp::reply::stream(sync_wrapper::SyncStream::new(Box::pin(body))).into_response();
    typed(r, status, content_type)
}

/// A response whose body is kept by a cache and shared by every response that sends it
/// (`store::fb_cache`'s answers, already counted in `fb_cache_bytes`): a client that does
/// not read holds a reference, not a copy, so one of at most a page ([`CHUNK`]) is sent
/// outside the budget (connections holding one evicted meanwhile hold at most
/// `max_connections` pages); a larger one is held within it like [`whole`]'s.
pub async fn shared(
    state: &AppState,
    status: StatusCode,
    content_type: &'static str,
    buf: Bytes,
) -> Response {
    if buf.len() > CHUNK {
        return whole(state, status, content_type, buf).await;
    }
    typed(Response::new(buf.into()), status, content_type)
}

/// `r` with `status` and `content_type`.
fn typed(mut r: Response, status: StatusCode, content_type: &'static str) -> Response {
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A response whose body is already whole (a small answer), held within the budget like a
/// page until the socket has taken it; it goes with its `Content-Length`.
pub async fn whole(
    state: &AppState,
    status: StatusCode,
    content_type: &'static str,
    buf: Bytes,
) -> Response {
    let budget = state.answer_budget().clone();
    let permit = budget.reserve(buf.len()).await;
    let body = Bytes::from_owner(Held {
        buf,
        permit,
        budget,
    });
    typed(Response::new(body.into()), status, content_type)
}

type Start<I> = Box<dyn FnOnce(&AppState, &mut Vec<u8>) -> Result<I, StoreError> + Send>;
type Row<T> = Box<dyn FnMut(&AppState, T, &mut Vec<u8>) + Send>;
type End = Box<dyn FnOnce(usize, &mut Vec<u8>) + Send>;

/// A listing: `start` writes the head and returns the rows (a lazy store iterator), `row`
/// writes one, `end` writes the tail given how many rows there were.
pub struct RowPages<I, T> {
    start: Option<Start<I>>,
    rows: Option<I>,
    row: Row<T>,
    end: Option<End>,
    count: usize,
}

impl<I, T> RowPages<I, T>
where
    I: Iterator<Item = Result<T, StoreError>> + Send + 'static,
    T: 'static,
{
    pub fn new(
        start: impl FnOnce(&AppState, &mut Vec<u8>) -> Result<I, StoreError> + Send + 'static,
        row: impl FnMut(&AppState, T, &mut Vec<u8>) + Send + 'static,
        end: impl FnOnce(usize, &mut Vec<u8>) + Send + 'static,
    ) -> Self {
        RowPages {
            start: Some(Box::new(start)),
            rows: None,
            row: Box::new(row),
            end: Some(Box::new(end)),
            count: 0,
        }
    }
}

impl<I, T> Pages for RowPages<I, T>
where
    I: Iterator<Item = Result<T, StoreError>> + Send + 'static,
    T: 'static,
{
    fn fill(&mut self, st: &AppState, buf: &mut Vec<u8>) -> Result<bool, StoreError> {
        if let Some(start) = self.start.take() {
            self.rows = Some(start(st, buf)?);
        }
        let Some(rows) = self.rows.as_mut() else {
            return Ok(false);
        };
        while buf.len() < CHUNK {
            match rows.next() {
                Some(row) => {
                    (self.row)(st, row?, buf);
                    self.count += 1;
                }
                None => {
                    self.rows = None;
                    if let Some(end) = self.end.take() {
                        end(self.count, buf);
                    }
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// A connection whose writes make no progress for `timeout` fails with `TimedOut`, which
/// ends it: a client that stops reading is let go, and with it the pages it held.
pub struct WriteTimeout<T> {
    inner: T,
    timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteTimeout<T> {
    pub fn new(inner: T, timeout: Duration) -> Self {
        WriteTimeout {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// After the inner write returned `poll`: start or check the stall clock on `Pending`,
    /// reset it on progress.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match poll {
            Poll::Pending => {
                let timeout = self.timeout;
                let sleep = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if sleep.as_mut().poll(cx).is_ready() {
                    crate::app::metrics::client_stopped_reading();
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the client took nothing for {} s", timeout.as_secs_f64()),
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let p = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, p)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let p = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, p)
    }

    fn is_write_vectored(&self) -> bool {
        // hyper then queues pages instead of copying them, so a page's reservation lasts
        // until the socket has taken it.
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let p = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, p)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let p = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Is `f` still waiting (not ready when polled once)?
    fn waits<F: std::future::Future + Unpin>(f: &mut F) -> bool {
        futures_util::FutureExt::now_or_never(f).is_none()
    }

    #[test]
    fn the_budget_holds_what_pages_use_and_never_more_than_its_total() {
        runtime().block_on(async {
            let budget = AnswerBudget::new(100);
            let a = budget.reserve(60).await;
            let a = budget.fit(a, 10).await;
            assert_eq!(budget.held(), 10, "a short page gives the rest back");
            let b = budget.reserve(90).await;
            assert_eq!(budget.held(), 100);
            // A page that needs more waits until some is given back.
            let mut more = Box::pin(budget.reserve(50));
            assert!(waits(&mut more));
            drop(b);
            let c = more.await;
            assert_eq!(budget.held(), 60);
            drop((a, c));
            assert_eq!(budget.held(), 0);
            assert_eq!(budget.peak(), 100);
            // A page larger than the whole budget takes all of it, rather than waiting
            // for more than there will ever be.
            let all = budget.reserve(500).await;
            assert_eq!(all.num_permits(), 100);
        });
    }

    #[test]
    fn a_page_past_its_reservation_waits_first_in_line() {
        runtime().block_on(async {
            let budget = AnswerBudget::new(100);
            let held = budget.reserve(70).await;
            let small = budget.reserve(30).await;
            // 30 reserved, 60 produced: it gives its 30 back and waits, first in line, for 60.
            let mut fit = Box::pin(budget.fit(small, 60));
            assert!(waits(&mut fit));
            // Another page queues behind it rather than taking what it gave back.
            let mut other = Box::pin(budget.reserve(30));
            assert!(waits(&mut other));
            drop(held);
            let page = fit.await;
            assert_eq!(page.num_permits(), 60);
            let other = other.await;
            assert_eq!(other.num_permits(), 30);
            drop(page);
            assert_eq!(budget.held(), 30);
        });
    }

    #[test]
    fn a_client_that_takes_nothing_is_let_go_after_the_timeout() {
        runtime().block_on(async {
            // The client's end of a 16-byte pipe, never read.
            let (server, _client) = tokio::io::duplex(16);
            let mut conn = WriteTimeout::new(server, Duration::from_millis(50));
            conn.write_all(&[0u8; 16]).await.unwrap();
            let e = conn.write_all(&[0u8; 16]).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            assert!(e.to_string().contains("took nothing"), "{e}");
        });
    }

    #[test]
    fn a_client_that_reads_slowly_is_kept() {
        runtime().block_on(async {
            use tokio::io::AsyncReadExt;
            let (server, mut client) = tokio::io::duplex(16);
            let mut conn = WriteTimeout::new(server, Duration::from_millis(200));
            let reader = tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 8];
                loop {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    match client.read(&mut buf).await.unwrap() {
                        0 => return got,
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
            });
            conn.write_all(&[7u8; 256]).await.unwrap();
            conn.shutdown().await.unwrap();
            drop(conn);
            assert_eq!(reader.await.unwrap(), vec![7u8; 256]);
        });
    }
}
