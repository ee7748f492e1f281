//! `PUT`, `GET` and `DELETE /calendars/ADDRESS.ics`: a user's iCalendar calendar.
//!
//! ADDRESS is an SMTP address or alias (percent-decoded; a legacyDN works too). `PUT`
//! stores the body through `app::ops::CalendarPutRequest`, the same check and write as
//! `calendar import` and `--calendar-dir`, and queues the user for the poller: the answer
//! is `201` for a new calendar, `200` for a replaced or identical one, `400` with the line
//! and reason for one that does not parse or could never be published (over the instance
//! cap in some publish window, a VTIMEZONE over its onset cap), `413` for one over
//! `Limits::max_calendar_bytes` (nothing changes). An accepted calendar's answer lists,
//! one `warning: line N: …` line each, the RFC 5545 violations read as the writer meant. `DELETE` removes the calendar
//! and, at the next poll, the user's free/busy. `POST …/ADDRESS.ics?Cmd=cleanfreebusy`
//! republishes the user's free/busy from the stored calendar at once, as Outlook's
//! `/cleanfreebusy` does, and answers the publish report as JSON. Each method runs its
//! operation of `app::ops` as the admin API does (`admin_api::run`).
//!
//! A calendar holds event details and writes the user's free/busy, so every method here,
//! reads included, follows the `owner-or-admin` rule of `auth` (with `--auth basic`): the
//! user it belongs to or an admin; `--permissions legacy` lets any signed-in user. The
//! store decides it for the writes (`PUT`, `DELETE`), under its write lock, against the
//! signed-in [`Writer`](crate::store::Writer) the operation runs as; `auth`'s `user_data`
//! asks the same rule early and read-only for the rest and before a `PUT`'s body is read.

use warp::http::{Method, StatusCode};

use super::admin_api::{run, run_as};
use super::{AppState, HttpError, Request, Response, bytes_response, text_response};
use crate::app::ops::{
    CalendarDeleteRequest, CalendarGetRequest, CalendarPutRequest, RepublishRequest,
};
use crate::store::{CalendarChange, CalendarSource};

pub async fn handle(state: &AppState, mut req: Request) -> Result<Response, HttpError> {
    let user = address(&req.path)?;
    // Sign-in first, with the calendar's own sentence; then who writes, for the store.
    state.auth().calendar_user(&req.principal)?;
    let writer = state.auth().fb_writer(&req.principal)?;
    // DELETE writes without a body: the store alone decides.
    if writer.key.is_some() && req.method != Method::DELETE {
        let name = user.clone();
        let owner = state
            .blocking(move |st| st.store().resolve_user(&name))
            .await?
            .map_err(crate::app::Error::from)?;
        state.auth().user_data(&req.principal, &owner.legacy_dn)?;
    }
    match req.method {
        Method::POST if is_cleanfreebusy(req.query.as_deref()) => {
            // No body: the calendar is already stored (413 for one that is sent).
            req.body(0).await?;
            let republish = RepublishRequest {
                user,
                reason: Some("cleanfreebusy".into()),
                ..RepublishRequest::default()
            };
            let report = run(state, republish).await??;
            Ok(bytes_response(
                StatusCode::OK,
                "application/json",
                serde_json::to_vec(&report).expect("reports serialise"),
            ))
        }
        Method::PUT => {
            let body = req.body(state.limits().max_calendar_bytes).await?;
            let text = String::from_utf8(body.to_vec()).map_err(|_| {
                HttpError::bad_request("the calendar is not UTF-8 text; send iCalendar as UTF-8")
            })?;
            let put = CalendarPutRequest {
                user,
                text,
                source: CalendarSource::Http,
                publish_now: false,
                now: None,
            };
            let r = run_as(state, put, writer).await??;
            let (status, what) = match r.change {
                CalendarChange::Created => (StatusCode::CREATED, "stored"),
                CalendarChange::Replaced => (StatusCode::OK, "replaced"),
                CalendarChange::Unchanged => (StatusCode::OK, "unchanged"),
            };
            let mut text = format!(
                "calendar for {} {what} ({} events); free/busy is republished at the next poll\n",
                r.user, r.events
            );
            if !r.warnings.is_empty() {
                text.push_str(&format!(
                    "{} part(s) of the file break RFC 5545 and were read as the writer meant:\n",
                    r.warnings.len()
                ));
                for w in &r.warnings {
                    text.push_str(&format!("warning: {w}\n"));
                }
            }
            Ok(text_response(status, text))
        }
        Method::GET | Method::HEAD => {
            let rec = run(state, CalendarGetRequest::new(user)).await??;
            Ok(bytes_response(
                StatusCode::OK,
                "text/calendar; charset=utf-8",
                rec.text.into_bytes(),
            ))
        }
        Method::DELETE => {
            let del = CalendarDeleteRequest::new(user);
            let r = run_as(state, del, writer).await??;
            if r.deleted {
                Ok(text_response(StatusCode::NO_CONTENT, ""))
            } else {
                Err(HttpError::not_found(format!(
                    "{} has no calendar stored",
                    r.user
                )))
            }
        }
        _ => Err(HttpError::method_not_allowed(
            "PUT, GET, HEAD, DELETE, POST",
            "calendars answer PUT, GET, HEAD, DELETE and POST ?Cmd=cleanfreebusy",
        )),
    }
}

/// `Cmd=cleanfreebusy` in the query, any case.
fn is_cleanfreebusy(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k.eq_ignore_ascii_case("cmd") && v.eq_ignore_ascii_case("cleanfreebusy"))
    })
}

/// `/calendars/danw%40xcs.example.ics` → `danw@xcs.example`.
fn address(path: &str) -> Result<String, HttpError> {
    let usage = || {
        HttpError::bad_request(format!(
            "{path}: calendars live at /calendars/ADDRESS.ics, ADDRESS being an SMTP address or alias"
        ))
    };
    let leaf = path.strip_prefix("/calendars/").ok_or_else(usage)?;
    let stem = leaf
        .len()
        .checked_sub(4)
        .filter(|&i| leaf.is_char_boundary(i) && leaf[i..].eq_ignore_ascii_case(".ics"))
        .map(|i| &leaf[..i])
        .ok_or_else(usage)?;
    let decoded = percent_encoding::percent_decode_str(stem)
        .decode_utf8()
        .map_err(|_| usage())?;
    let name = decoded.trim();
    if name.is_empty() || name.contains('/') && !name.starts_with('/') {
        return Err(usage());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            address("/calendars/danw%40xcs.example.ics").unwrap(),
            "danw@xcs.example"
        );
        assert_eq!(address("/calendars/dwinship.ICS").unwrap(), "dwinship");
        assert!(address("/calendars/.ics").is_err());
        assert!(address("/calendars/dwinship").is_err());
        assert!(address("/calendars/a/b.ics").is_err());
    }
}
