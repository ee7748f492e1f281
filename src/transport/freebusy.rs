//! `GET /public/?Cmd=freebusy`: always XML, whatever the User-Agent (PROTOCOL.md §3),
//! streamed a page at a time (up to 20 MB; see `answer::AnswerPages`). A repeated query is
//! answered with the document kept whole for its query string ([`kept`]), which the router
//! looks up before anything else.

use bytes::Bytes;
use warp::http::{Method, StatusCode, header};

use super::{AppState, HttpError, Request, Response, outbound};
use crate::app::freebusy as answer;
use crate::protocol::query::parse_query;
use crate::store::StoreError;

/// The answer kept whole for the query string `raw` (`store::fb_cache`), if any: looked up
/// by the router before anything else, so that a repeated query is not even parsed (and
/// recognised as a `?Cmd=freebusy` query by being kept).
pub fn kept(state: &AppState, raw: &str) -> Option<(Bytes, answer::AnswerStats)> {
    answer::kept_answer(state.store(), raw, &state.limits().query)
}

/// Answer the query; `kept` is what [`kept`] found for it.
pub async fn handle(
    state: &AppState,
    req: Request,
    kept: Option<(Bytes, answer::AnswerStats)>,
) -> Result<Response, HttpError> {
    // A kept answer passed the no-replica gate when it was made, and cannot outlive a write
    // that moves one of its users (`replicas` is fixed while serving). Otherwise the query is
    // parsed once, for the gate and the answer; the gate comes first, as a bad query is the
    // answer's 400 and a wrong method its 405.
    let raw = req.query.unwrap_or_default();
    // Err: the kept answer; Ok: the query parsed, or why it is refused.
    let parsed = match kept {
        Some(whole) => Err(whole),
        None => Ok(parse_query(&raw, &state.limits().query)),
    };
    if let Ok(Ok(q)) = &parsed {
        super::replication::no_replica_for_query(state, q).await?;
    }
    if req.method != Method::GET && req.method != Method::HEAD {
        return Err(HttpError::method_not_allowed(
            "GET, HEAD",
            "the freebusy query is answered to GET and HEAD",
        ));
    }
    let parsed = match parsed {
        Err((whole, stats)) => {
            counted(stats);
            let r = outbound::shared(state, StatusCode::OK, ANSWER_TYPE, whole).await;
            return Ok(no_cache(r));
        }
        Ok(parsed) => parsed,
    };
    let q = parsed.map_err(|e| {
        tracing::warn!(
            event_id = 4003,
            url = %format!("{}?{raw}", req.path),
            reason = %e,
            "refused a free/busy query; an Exchange CAS logs event 4003 for this and tries another public-folder server"
        );
        HttpError::bad_request(e.to_string())
    })?;
    let inline = q.users.len().saturating_mul(q.grid().slots) <= INLINE_DIGITS;
    // A repeated query whose every row is cached is copies only: answered here too.
    let cached = if inline {
        None
    } else {
        answer::cached_answer(state.store(), &q, &raw)
    };
    let work = move |st: &AppState| {
        let (pages, stats) = answer::AnswerPages::new(st.store(), q);
        // The usual query (up to 256 KiB of digits) is answered whole, from one store
        // read, with a length (and kept whole for the next time it is asked); a large one
        // a page at a time as the client takes it.
        let answer = if pages.is_small() {
            Err(pages.finish_keeping(st.store(), &raw))
        } else {
            Ok(pages)
        };
        (answer, stats)
    };
    // A few users' worth of digits is answered on this thread: their reads are a handful of
    // point reads that sled's cache holds, microseconds of work, whereas the hand-off to the
    // blocking pool and back (two wake-ups, two context switches) was 37% of a one-user
    // query. Larger answers still go to the pool, so no long read ever holds an async worker.
    let (answer, stats) = if let Some((whole, stats)) = cached {
        (Err(whole), stats)
    } else if inline {
        work(state)
    } else {
        state.blocking(work).await?
    };
    counted(stats);
    Ok(no_cache(match answer {
        // For HEAD, hyper sends the headers (with this body's length) and no body.
        Err(whole) => outbound::whole(state, StatusCode::OK, ANSWER_TYPE, whole).await,
        // HEAD gets the same headers; hyper sends no body, so no page is produced.
        Ok(pages) => outbound::stream_pages(state, StatusCode::OK, ANSWER_TYPE, Answer(pages)),
    }))
}

/// Count and log an answer.
fn counted(stats: answer::AnswerStats) {
    crate::app::metrics::freebusy_answered(stats.users, stats.unknown + stats.no_message);
    tracing::debug!(
        users = stats.users,
        unknown = stats.unknown,
        no_message = stats.no_message,
        "freebusy answered"
    );
}

const ANSWER_TYPE: &str = "text/xml; charset=utf-8";

/// Answers of at most this many digits are produced without the blocking-pool hand-off
/// (one user over 42 days in 15-minute slots; four users over 10 days). Measured on the
/// one-user query: 14 µs of server CPU per request answered here, 35 µs through the pool.
const INLINE_DIGITS: usize = 4 * 1024;

fn no_cache(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    r
}

/// The answer, a page at a time (see `answer::AnswerPages`).
struct Answer(answer::AnswerPages);

impl outbound::Pages for Answer {
    fn fill(&mut self, st: &AppState, buf: &mut Vec<u8>) -> Result<bool, StoreError> {
        Ok(self.0.fill(st.store(), buf, outbound::CHUNK))
    }
}
