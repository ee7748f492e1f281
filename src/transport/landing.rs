//! `GET /` (the landing page) and `GET /query` (the query form's answer as a timeline).
//!
//! The pages are built by [`browse_page::landing`]; this file reads the request and the
//! store. The query page runs the real `?Cmd=freebusy` answer ([`answer::answer`]) and
//! draws the items of its XML, so what a lab sees is what a CAS gets, digit for digit.
//! A browser (`Accept: text/html`) gets HTML; `curl /` gets the same facts as text.
//!
//! [`browse_page::landing`]: crate::protocol::browse_page::landing

use quick_xml::events::Event;
use warp::http::{HeaderValue, StatusCode, header};

use super::{AppState, HttpError, Request, Response, bytes_response, text_response};
use crate::app::freebusy as answer;
use crate::protocol::browse_page::landing::{
    self, AnswerRow, AnswerView, LandingView, QueryForm, QueryView,
};
use crate::protocol::query::parse_query;
use crate::protocol::time::{Minutes1601, format_rfc3339};

/// `0.1.0 (git 1a2b3c4d5e6f)`, as `schedplus --version` says it.
pub const VERSION: &str = env!("SCHEDPLUS_VERSION");

fn wants_html(req: &Request) -> bool {
    req.headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"))
}

fn html(status: StatusCode, page: String) -> Response {
    let mut r = bytes_response(status, "text/html; charset=utf-8", page.into_bytes());
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The form as it first shows: today (UTC) and the week after, hourly digits.
fn default_form(state: &AppState) -> QueryForm {
    let today = Minutes1601::from_timestamp(state.clock().now()).floor_day();
    QueryForm {
        start: format_rfc3339(today.to_timestamp()),
        end: format_rfc3339(today.plus_minutes(7 * 1440).to_timestamp()),
        interval: "60".into(),
        users: String::new(),
    }
}

/// `GET /`.
pub async fn landing(state: &AppState, req: Request) -> Result<Response, HttpError> {
    let stats = state.store().stats();
    let t = &state.topology().settings;
    if !wants_html(&req) {
        return Ok(text_response(
            StatusCode::OK,
            format!(
                "schedplus {VERSION}: an Exchange 2000/2003 public-folder free/busy store\n\
                 public folders: {tree}\n\
                 free/busy query: /public/?Cmd=freebusy&start=…&end=…&interval=30&u=SMTP:user@domain\n\
                 as a timeline in a browser: {query}\n\
                 metrics: /metrics\n\
                 {users} directory users, {messages} free/busy messages\n\
                 server {server} of {organization}; replicas: {replicas}\n",
                server = t.server_name,
                organization = t.organization,
                replicas = t.replicas.describe(),
                tree = landing::TREE_HREF,
                query = landing::QUERY_PATH,
                users = stats.users,
                messages = stats.messages,
            ),
        ));
    }
    let form = default_form(state);
    Ok(html(
        StatusCode::OK,
        landing::landing_page(&LandingView {
            version: VERSION,
            users: stats.users,
            messages: stats.messages,
            form: &form,
            server: landing::ServerView {
                name: &t.server_name,
                organization: &t.organization,
                replicas: &t.replicas.describe(),
            },
        }),
    ))
}

/// The query page's parameters: the form's fields, or a CAS query string as it is
/// (`u=` repeated), so `/query?` + any `?Cmd=freebusy` query draws that query.
#[derive(Debug, Default)]
struct Params {
    start: Option<String>,
    end: Option<String>,
    interval: Option<String>,
    users: Vec<String>,
    xml: bool,
}

fn read_params(raw: &str) -> Params {
    let mut p = Params::default();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let first = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = Some(v.trim().to_string());
            }
        };
        match k.to_ascii_lowercase().as_str() {
            "start" => first(&mut p.start),
            "end" => first(&mut p.end),
            "interval" => first(&mut p.interval),
            "u" => p.users.push(v.trim().to_string()),
            // The form's box: one address per line (commas and semicolons too).
            "users" => p.users.extend(
                v.split(['\n', '\r', ',', ';'])
                    .map(str::trim)
                    .map(str::to_string),
            ),
            "format" => p.xml = v.eq_ignore_ascii_case("xml"),
            _ => {}
        }
    }
    p.users.retain(|u| !u.is_empty());
    p
}

impl Params {
    /// The `?Cmd=freebusy` query string these parameters make.
    fn cas_query(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("Cmd", "freebusy");
        for (k, v) in [
            ("start", &self.start),
            ("end", &self.end),
            ("interval", &self.interval),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                s.append_pair(k, v);
            }
        }
        for u in &self.users {
            s.append_pair("u", u);
        }
        s.finish()
    }

    fn is_empty(&self) -> bool {
        self.start.is_none() && self.end.is_none() && self.users.is_empty()
    }
}

/// `GET /query`.
pub async fn query(state: &AppState, req: Request) -> Result<Response, HttpError> {
    state.auth().read(&req.principal)?;
    let mut p = read_params(req.query.as_deref().unwrap_or(""));
    let asked = !p.is_empty();
    // What the form would have shown fills what the query leaves out, so
    // `/query?u=danw@xcs.example` is this week for Dan.
    let defaults = default_form(state);
    p.start.get_or_insert(defaults.start);
    p.end.get_or_insert(defaults.end);
    p.interval.get_or_insert(defaults.interval);
    let cas = p.cas_query();
    if p.xml {
        let mut r = Response::new(Default::default());
        *r.status_mut() = StatusCode::SEE_OTHER;
        let location = format!("/public/?{cas}");
        r.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(&location)
                .map_err(|_| HttpError::bad_request("the query cannot be made into a URL"))?,
        );
        return Ok(r);
    }
    let form = QueryForm {
        start: p.start.clone().unwrap_or_default(),
        end: p.end.clone().unwrap_or_default(),
        interval: p.interval.clone().unwrap_or_default(),
        users: p.users.join("\n"),
    };
    let page = |status, answer: Option<AnswerView<'_>>, error: Option<&str>| {
        html(
            status,
            landing::query_page(&QueryView {
                version: VERSION,
                form: &form,
                answer,
                error,
            }),
        )
    };
    if !asked {
        return Ok(page(StatusCode::OK, None, None));
    }
    let q = match parse_query(&cas, &state.limits().query) {
        Ok(q) => q,
        Err(e) => return Ok(page(StatusCode::BAD_REQUEST, None, Some(&e.to_string()))),
    };
    let xml_href = format!("/public/?{cas}");
    let grid = q.grid();
    let digits = (q.users.len() + 1).saturating_mul(grid.slots);
    if q.users.len() > landing::MAX_PAGE_USERS
        || grid.slots > landing::MAX_PAGE_SLOTS
        || digits > landing::MAX_PAGE_DIGITS
    {
        let why = format!(
            "this page draws at most {} users, {} slots per user and {} digits in all; the query asks for {} users and {} slots ({digits} digits with All Attendees): raise the interval, shorten start..end, name fewer users, or read the XML answer at {xml_href}",
            landing::MAX_PAGE_USERS,
            landing::MAX_PAGE_SLOTS,
            landing::MAX_PAGE_DIGITS,
            q.users.len(),
            grid.slots
        );
        return Ok(page(StatusCode::BAD_REQUEST, None, Some(&why)));
    }
    let (xml, _stats) = state
        .blocking(move |st| answer::answer(st.store(), &q))
        .await?;
    let rows = answer_rows(&xml)
        .map_err(|e| HttpError::internal(format!("the free/busy answer did not read back: {e}")))?;
    Ok(page(
        StatusCode::OK,
        Some(AnswerView {
            start: grid.start,
            interval: grid.interval,
            rows: &rows,
            xml_href: &xml_href,
        }),
        None,
    ))
}

/// The items of a `?Cmd=freebusy` answer (PROTOCOL.md §3), in order.
pub fn answer_rows(xml: &[u8]) -> Result<Vec<AnswerRow>, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut rows: Vec<AnswerRow> = Vec::new();
    // Which field of the current item text goes to.
    let mut field: Option<&'static str> = None;
    let mut text = String::new();
    let mut buf = Vec::new();
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?
        {
            Event::Start(e) => match e.local_name().into_inner() {
                "item" => rows.push(AnswerRow {
                    display_name: String::new(),
                    email: None,
                    digits: String::new(),
                }),
                "displayname" => field = Some("displayname"),
                "email" => field = Some("email"),
                "fbdata" => field = Some("fbdata"),
                _ => {}
            },
            Event::Text(t) if field.is_some() => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if field.is_some() => {
                let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c,
                    None => match &*r {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(format!("the entity &{other}; is not defined")),
                    },
                };
                text.push(c);
            }
            Event::End(_) => {
                if let (Some(f), Some(row)) = (field.take(), rows.last_mut()) {
                    let value = std::mem::take(&mut text);
                    match f {
                        "displayname" => row.display_name = value,
                        "email" => row.email = Some(value),
                        _ => row.digits = value,
                    }
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_rows_read_the_protocol_example() {
        let xml = br#"<a:response xmlns:a="WM"><a:recipients><a:item><a:displayname>All Attendees</a:displayname><a:type>1</a:type><a:fbdata>0000002222000000</a:fbdata></a:item><a:item><a:displayname>Dan &amp; Winship</a:displayname><a:email type="SMTP">danw@xcs.example</a:email><a:type>1</a:type><a:fbdata>0000000000000004</a:fbdata></a:item></a:recipients></a:response>"#;
        let rows = answer_rows(xml).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].display_name, "All Attendees");
        assert_eq!(rows[0].email, None);
        assert_eq!(rows[0].digits, "0000002222000000");
        assert_eq!(rows[1].display_name, "Dan & Winship");
        assert_eq!(rows[1].email.as_deref(), Some("danw@xcs.example"));
        assert_eq!(rows[1].digits, "0000000000000004");
    }

    #[test]
    fn params_take_the_form_box_and_cas_style_u() {
        let p = read_params(
            "start=2026-11-26T00%3A00%3A00Z&end=2026-11-27T00%3A00%3A00Z&interval=60&users=danw%40xcs.example%0D%0A%0D%0Akbaker%2C+SMTP%3Ajsguillet%40companyabc.example&u=EX%3A%2Fo%3DX%2Fcn%3Dy&format=xml",
        );
        assert!(p.xml);
        assert_eq!(
            p.users,
            vec![
                "danw@xcs.example",
                "kbaker",
                "SMTP:jsguillet@companyabc.example",
                "EX:/o=X/cn=y"
            ]
        );
        assert_eq!(
            p.cas_query(),
            "Cmd=freebusy&start=2026-11-26T00%3A00%3A00Z&end=2026-11-27T00%3A00%3A00Z&interval=60&u=danw%40xcs.example&u=kbaker&u=SMTP%3Ajsguillet%40companyabc.example&u=EX%3A%2Fo%3DX%2Fcn%3Dy"
        );
    }
}
