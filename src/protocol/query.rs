//! The CAS fallback query, `GET /public/?Cmd=freebusy&start=…&end=…&interval=…&u=…`, and
//! its XML answer.
//!
//! Owns the parsing of the query string into a [`FreeBusyQuery`] (parameter names and the
//! `freebusy` value case-insensitive; `u=` repeated, as `SMTP:addr`, bare `addr` or
//! `EX:/o=…`; times with `Z`, an offset or no zone), the [`QueryLimits`] that bound the
//! work one request may ask for, and the writing of the `<a:response xmlns:a="WM">`
//! document. PROTOCOL.md §3. Resolving users and painting digits happen elsewhere.

use jiff::Timestamp;
use quick_xml::escape::escape;

pub use super::address::UserAddress;
use super::raster::SlotGrid;
use super::time::{Minutes1601, parse_time};

/// Bounds on what one query may ask for; beyond them the answer is a 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueryLimits {
    pub max_users: usize,
    pub max_slots: usize,
    pub max_digits: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_users: 1000,
            max_slots: 100_000,
            max_digits: 20_000_000,
        }
    }
}

/// A parsed `?Cmd=freebusy` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreeBusyQuery {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Minutes per digit.
    pub interval: u32,
    /// In request order, duplicates kept (each gets its own item).
    pub users: Vec<UserAddress>,
}

impl FreeBusyQuery {
    /// The slot grid: starts at `start` (floored to the minute), ceil((end−start)/interval)
    /// slots.
    pub fn grid(&self) -> SlotGrid {
        let span_secs = (self.end.as_second() - self.start.as_second()).max(0);
        let slot_secs = self.interval as i64 * 60;
        SlotGrid {
            start: Minutes1601::from_timestamp(self.start),
            interval: self.interval as i64,
            slots: ((span_secs + slot_secs - 1) / slot_secs) as usize,
        }
    }
}

/// A request the query cannot answer; the message is the whole 400 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the freebusy query needs a {0} parameter")]
    Missing(&'static str),
    #[error("the {name} parameter: {reason}")]
    BadTime { name: &'static str, reason: String },
    #[error("end ({end}) must be after start ({start})")]
    EndNotAfterStart { start: String, end: String },
    #[error("interval '{0}' is not a whole number of minutes from 1 to 1440")]
    BadInterval(String),
    #[error("the query names {0} users; at most {1} are answered per request")]
    TooManyUsers(usize, usize),
    #[error(
        "the query asks for {0} slots per user; at most {1} are answered (shorten start..end or raise interval)"
    )]
    TooManySlots(usize, usize),
    #[error(
        "the answer would hold {0} digits ({1} users × {2} slots); at most {3} are answered per request"
    )]
    TooManyDigits(usize, usize, usize, usize),
    #[error("the query names no user: add one or more u=SMTP:address parameters")]
    NoUsers,
}

/// Does this query string ask for `Cmd=freebusy` (any case)?
pub fn is_freebusy_query(raw_query: &str) -> bool {
    form_urlencoded::parse(raw_query.as_bytes())
        .any(|(k, v)| k.eq_ignore_ascii_case("cmd") && v.trim().eq_ignore_ascii_case("freebusy"))
}

/// Parse the query string (without `?`).
pub fn parse_query(raw_query: &str, limits: &QueryLimits) -> Result<FreeBusyQuery, QueryError> {
    let (mut start, mut end, mut interval) = (None, None, None);
    let mut users = Vec::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        // The first of a repeated parameter counts; u= is the one that repeats.
        let slot = match k.to_ascii_lowercase().as_str() {
            "start" => &mut start,
            "end" => &mut end,
            "interval" => &mut interval,
            "u" => {
                users.push(UserAddress::parse(&v));
                // Stop collecting early: the cap is checked below without unbounded growth.
                if users.len() > limits.max_users {
                    return Err(QueryError::TooManyUsers(users.len(), limits.max_users));
                }
                continue;
            }
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v.into_owned());
        }
    }
    let start_raw = start.ok_or(QueryError::Missing("start"))?;
    let end_raw = end.ok_or(QueryError::Missing("end"))?;
    let start = parse_query_time("start", &start_raw)?;
    let end = parse_query_time("end", &end_raw)?;
    if end <= start {
        return Err(QueryError::EndNotAfterStart {
            start: start_raw,
            end: end_raw,
        });
    }
    let interval = match interval {
        None => 30,
        Some(raw) => raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|i| (1..=1440).contains(i))
            .ok_or(QueryError::BadInterval(raw))?,
    };
    if users.is_empty() {
        return Err(QueryError::NoUsers);
    }
    let q = FreeBusyQuery {
        start,
        end,
        interval,
        users,
    };
    limits.check(q.users.len(), q.grid().slots)?;
    Ok(q)
}

impl QueryLimits {
    /// Is an answer for `users` users of `slots` slots each within the limits? The checks
    /// of [`parse_query`] once the query is read (also made on an answer kept whole, whose
    /// query is not parsed again).
    pub fn check(&self, users: usize, slots: usize) -> Result<(), QueryError> {
        if users > self.max_users {
            return Err(QueryError::TooManyUsers(users, self.max_users));
        }
        if slots > self.max_slots {
            return Err(QueryError::TooManySlots(slots, self.max_slots));
        }
        // All Attendees counts as one more row of digits.
        let rows = users + 1;
        let digits = rows.saturating_mul(slots);
        if digits > self.max_digits {
            return Err(QueryError::TooManyDigits(
                digits,
                rows,
                slots,
                self.max_digits,
            ));
        }
        Ok(())
    }
}

/// A `start`/`end` value as real readers write it, made into one [`parse_time`] reads:
///
/// * a raw `+` arrives as a space after form decoding. A space after the time of day is an
///   offset (`T09:00:00 01:00` was `T09:00:00+01:00`); a space right after the date is the
///   date/time separator (`2008-08-04 09:00:00`, from `2008-08-04+09:00:00`);
/// * hours, minutes and seconds without zero padding (`T9:00:00Z`, Microsoft's published
///   sample code and the connectors that copied it) are padded.
///
/// `-00:00`, fractional seconds, `±hhmm`, no zone (UTC) and date-only values (midnight UTC)
/// are read by [`parse_time`] itself.
fn normalise_query_time(raw: &str) -> std::borrow::Cow<'_, str> {
    let t = raw.trim();
    // The usual value (`2026-03-02T00:00:00Z`: no space, two digits a field) as it is; a
    // query's parse was 4% of a one-user answer's CPU in the copies below.
    if !t.contains(' ') && clock_is_padded(t) {
        return std::borrow::Cow::Borrowed(t);
    }
    std::borrow::Cow::Owned(normalise_slowly(t))
}

/// Is every field of the time of day (after the date's `T`/`t`) two digits long? Also
/// true of a date without a time.
fn clock_is_padded(t: &str) -> bool {
    let Some(sep) = t.find(['T', 't']) else {
        return true;
    };
    let rest = &t[sep + 1..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    rest[..end].split(':').all(|f| f.len() != 1)
}

fn normalise_slowly(t: &str) -> String {
    let t = match t.rfind(' ') {
        Some(i) if i > 10 => format!("{}+{}", &t[..i], &t[i + 1..]),
        _ => t.to_string(),
    };
    // The time of day starts after the date's separator; pad each 1-digit h/m/s field.
    let Some(sep) = t
        .char_indices()
        .find(|&(_, c)| matches!(c, 'T' | 't' | ' '))
        .map(|(i, _)| i)
    else {
        return t;
    };
    let (date, rest) = t.split_at(sep + 1);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(end);
    let padded: Vec<String> = clock
        .split(':')
        .map(|f| {
            if f.len() == 1 {
                format!("0{f}")
            } else {
                f.to_string()
            }
        })
        .collect();
    format!("{date}{}{zone}", padded.join(":"))
}

fn parse_query_time(name: &'static str, raw: &str) -> Result<Timestamp, QueryError> {
    let fixed = normalise_query_time(raw);
    let ts = parse_time(&fixed).map_err(|e| QueryError::BadTime {
        name,
        reason: e.to_string(),
    })?;
    // Free/busy minutes are i32 on the wire: anything before 1601 or after ~5680 is absurd.
    // The years 1601 to 9000 (UTC), by their first and last seconds: no calendar arithmetic.
    const FIRST: i64 = -11_644_473_600; // 1601-01-01T00:00:00Z
    const AFTER: i64 = 221_876_928_000; // 9001-01-01T00:00:00Z
    let years =
        Timestamp::from_second(FIRST).expect("1601")..Timestamp::from_second(AFTER).expect("9001");
    if !years.contains(&ts) {
        return Err(QueryError::BadTime {
            name,
            reason: format!("'{raw}' is outside the years 1601-9000"),
        });
    }
    Ok(ts)
}

/// One `<a:item>` of the answer.
pub struct AnswerItem<'a> {
    pub display_name: &'a str,
    /// `None` for All Attendees.
    pub email: Option<&'a UserAddress>,
    pub fbdata: &'a [u8],
}

/// Write the answer document. Items in order; the caller puts All Attendees first.
pub fn write_answer(items: &[AnswerItem<'_>], out: &mut Vec<u8>) {
    let digits: usize = items.iter().map(|i| i.fbdata.len()).sum();
    out.reserve(digits + items.len() * (ANSWER_ITEM_OVERHEAD + 32) + 128);
    write_answer_head(out);
    for item in items {
        write_answer_item(item, out);
    }
    write_answer_tail(out);
}

/// The answer up to its first item (for answers written a piece at a time).
pub fn write_answer_head(out: &mut Vec<u8>) {
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<a:response xmlns:a=\"WM\"><a:recipients>",
    );
}

/// One `<a:item>`.
pub fn write_answer_item(item: &AnswerItem<'_>, out: &mut Vec<u8>) {
    write_answer_item_open(item.display_name, item.email, out);
    out.extend_from_slice(item.fbdata);
    write_answer_item_close(out);
}

/// The bytes of an item after its digits.
const ITEM_CLOSE: &[u8] = b"</a:fbdata></a:item>";

/// An `<a:item>` up to its digits, which the caller then paints straight into `out` (no
/// row copied from elsewhere), before [`write_answer_item_close`].
pub fn write_answer_item_open(display_name: &str, email: Option<&UserAddress>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<a:item><a:displayname>");
    out.extend_from_slice(escape(display_name).as_bytes());
    out.extend_from_slice(b"</a:displayname>");
    if let Some(addr) = email {
        out.extend_from_slice(b"<a:email type=\"");
        out.extend_from_slice(addr.kind().as_bytes());
        out.extend_from_slice(b"\">");
        out.extend_from_slice(escape(addr.value()).as_bytes());
        out.extend_from_slice(b"</a:email>");
    }
    out.extend_from_slice(b"<a:type>1</a:type><a:fbdata>");
}

/// The end of an item opened with [`write_answer_item_open`].
pub fn write_answer_item_close(out: &mut Vec<u8>) {
    out.extend_from_slice(ITEM_CLOSE);
}

/// Bytes an item of `slots` digits takes beyond its name and address: for sizing buffers.
pub const ANSWER_ITEM_OVERHEAD: usize = 128;

/// The answer after its last item.
pub fn write_answer_tail(out: &mut Vec<u8>) {
    out.extend_from_slice(b"</a:recipients></a:response>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A query that must parse under the default limits.
    fn query(q: &str) -> FreeBusyQuery {
        parse_query(q, &QueryLimits::default()).unwrap()
    }

    const EXAMPLE: &str = "Cmd=freebusy&start=2008-08-04T12:00:00Z&end=2008-09-03T12:00:00Z&interval=30&u=SMTP:a@x.com&u=SMTP:b@x.com";

    #[test]
    fn protocol_example_parses() {
        assert!(is_freebusy_query(EXAMPLE));
        let q = parse_query(EXAMPLE, &QueryLimits::default()).unwrap();
        assert_eq!(q.interval, 30);
        assert_eq!(
            q.users,
            vec![
                UserAddress::Smtp("a@x.com".into()),
                UserAddress::Smtp("b@x.com".into())
            ]
        );
        assert_eq!(q.grid().slots, 30 * 48);
    }

    #[test]
    fn names_and_values_are_case_insensitive_and_all_address_forms_parse() {
        let raw = "CMD=FreeBusy&START=2008-08-04T12:00:00Z&End=2008-08-04T13:00:00&Interval=15&U=smtp:A@x.com&u=bare@x.com&u=ex:%2Fo%3DOrg%2Fou%3DAG%2Fcn%3DRecipients%2Fcn%3Da";
        assert!(is_freebusy_query(raw));
        let q = parse_query(raw, &QueryLimits::default()).unwrap();
        assert_eq!(q.grid().slots, 4);
        assert_eq!(
            q.users,
            vec![
                UserAddress::Smtp("A@x.com".into()),
                UserAddress::Smtp("bare@x.com".into()),
                UserAddress::Ex("/o=Org/ou=AG/cn=Recipients/cn=a".into()),
            ]
        );
        assert!(!is_freebusy_query("Cmd=contents"));
    }

    #[test]
    fn offsets_including_unencoded_plus() {
        let q = query(
            "cmd=freebusy&start=2008-08-04T14:00:00+02:00&end=2008-08-04T15:00:00%2B02:00&u=a",
        );
        assert_eq!(q.start, parse_time("2008-08-04T12:00:00Z").unwrap());
        assert_eq!(q.end, parse_time("2008-08-04T13:00:00Z").unwrap());
    }

    /// Issue 10: the query as real readers send it.
    #[test]
    fn times_as_real_readers_write_them() {
        let at = |s: &str| parse_time(s).unwrap();
        let cases = [
            // Microsoft's sample: hours without zero padding.
            ("2008-08-04T9:00:00Z", at("2008-08-04T09:00:00Z")),
            ("2008-08-04T9:5:7Z", at("2008-08-04T09:05:07Z")),
            ("2008-08-04T9:00:00", at("2008-08-04T09:00:00Z")),
            ("2008-08-04T9:00:00-00:00", at("2008-08-04T09:00:00Z")),
            ("2008-08-04T09:00:00-00:00", at("2008-08-04T09:00:00Z")),
            ("2008-08-04T09:00:00.000Z", at("2008-08-04T09:00:00Z")),
            ("2008-08-04T09:00:00.5-07:00", at("2008-08-04T16:00:00.5Z")),
            ("2008-08-04", at("2008-08-04T00:00:00Z")),
        ];
        // A raw `+` decoded as space: after the time an offset, after the date the
        // separator.
        let plus_as_space = [
            ("2008-08-04T9:00:00 01:00", at("2008-08-04T08:00:00Z")),
            ("2008-08-04T09:00:00 0100", at("2008-08-04T08:00:00Z")),
            ("2008-08-04 09:00:00", at("2008-08-04T09:00:00Z")),
            ("2008-08-04 9:00:00 02:00", at("2008-08-04T07:00:00Z")),
        ];
        for (raw, want) in cases.into_iter().chain(plus_as_space) {
            let got = parse_query_time("start", raw);
            assert_eq!(got, Ok(want), "{raw}");
        }
        // Through form decoding, as the server gets them.
        let q = query("cmd=freebusy&start=2008-08-04T9:00:00Z&end=2008-08-04+10:30:00&u=a");
        assert_eq!(q.start, at("2008-08-04T09:00:00Z"));
        assert_eq!(q.end, at("2008-08-04T10:30:00Z"));
        for bad in [
            "2008-08-04T:00:00Z",
            "2008-08-04T123:00:00Z",
            "9:00",
            "2008-13-04",
        ] {
            assert!(parse_query_time("start", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slot_count_rounds_up() {
        let q = query(
            "cmd=freebusy&start=2008-08-04T12:00:00Z&end=2008-08-04T12:31:00Z&interval=30&u=a",
        );
        assert_eq!(q.grid().slots, 2);
    }

    #[test]
    fn bad_requests_say_why() {
        let l = QueryLimits::default();
        let base = "cmd=freebusy&u=a";
        let cases = [
            (
                format!("{base}&end=2008-08-04T12:00:00Z"),
                "start parameter",
            ),
            (
                format!("{base}&start=yesterday&end=2008-08-04T12:00:00Z"),
                "'yesterday'",
            ),
            (
                format!("{base}&start=2008-08-05T00:00:00Z&end=2008-08-04T12:00:00Z"),
                "must be after start",
            ),
            (
                format!("{base}&start=2008-08-04T00:00:00Z&end=2008-08-04T12:00:00Z&interval=0"),
                "interval '0'",
            ),
            (
                format!("{base}&start=2008-08-04T00:00:00Z&end=2008-08-04T12:00:00Z&interval=1441"),
                "1 to 1440",
            ),
            (
                format!("{base}&start=2008-08-04T00:00:00Z&end=2008-08-04T12:00:00Z&interval=x"),
                "interval 'x'",
            ),
            (
                format!("{base}&start=0001-01-01T00:00:00Z&end=2008-08-04T12:00:00Z"),
                "1601-9000",
            ),
            (
                "cmd=freebusy&start=2008-08-04T00:00:00Z&end=2008-08-04T12:00:00Z".to_string(),
                "no user",
            ),
        ];
        for (q, needle) in cases {
            let e = parse_query(&q, &l).unwrap_err().to_string();
            assert!(e.contains(needle), "{q}: {e}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let l = QueryLimits {
            max_users: 2,
            max_slots: 100,
            max_digits: 140,
        };
        let q = "cmd=freebusy&start=2008-08-04T00:00:00Z&end=2008-08-04T12:00:00Z&interval=15";
        assert!(matches!(
            parse_query(&format!("{q}&u=a&u=b&u=c"), &l),
            Err(QueryError::TooManyUsers(3, 2))
        ));
        let long =
            "cmd=freebusy&start=2008-08-04T00:00:00Z&end=2008-08-14T12:00:00Z&interval=15&u=a";
        assert!(matches!(
            parse_query(long, &l),
            Err(QueryError::TooManySlots(..))
        ));
        assert!(matches!(
            parse_query(&format!("{q}&u=a&u=b"), &l),
            Err(QueryError::TooManyDigits(144, 3, 48, 140))
        ));
    }

    #[test]
    fn a_full_cas_batch_fits_the_defaults() {
        let mut q = String::from(
            "cmd=freebusy&start=2008-08-04T00:00:00Z&end=2008-09-15T00:00:00Z&interval=5",
        );
        for i in 0..100 {
            q.push_str(&format!("&u=SMTP:user{i}@x.com"));
        }
        let parsed = parse_query(&q, &QueryLimits::default()).unwrap();
        assert_eq!(parsed.grid().slots, 42 * 288);
    }

    #[test]
    fn answer_document_shape() {
        let a = UserAddress::Smtp("danw@xcs.example".into());
        let items = [
            AnswerItem {
                display_name: "All Attendees",
                email: None,
                fbdata: b"0022",
            },
            AnswerItem {
                display_name: "Dan <Winship>",
                email: Some(&a),
                fbdata: b"0022",
            },
        ];
        let mut out = Vec::new();
        write_answer(&items, &mut out);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<a:response xmlns:a=\"WM\"><a:recipients>\
             <a:item><a:displayname>All Attendees</a:displayname><a:type>1</a:type><a:fbdata>0022</a:fbdata></a:item>\
             <a:item><a:displayname>Dan &lt;Winship&gt;</a:displayname><a:email type=\"SMTP\">danw@xcs.example</a:email><a:type>1</a:type><a:fbdata>0022</a:fbdata></a:item>\
             </a:recipients></a:response>"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,200}") {
            let _ = parse_query(&s, &QueryLimits::default());
            let _ = is_freebusy_query(&s);
        }
    }

    proptest! {
        /// Issue 13: the usual value is taken as it is; that shortcut answers what the full
        /// normalisation answers, for any value.
        #[test]
        fn the_shortcut_normalises_as_the_full_normalisation(raw in "[0-9Tt: +Z.-]{0,32}") {
            prop_assert_eq!(normalise_query_time(&raw).into_owned(), normalise_slowly(raw.trim()));
        }
    }

    #[test]
    fn the_years_1601_to_9000_are_accepted_to_the_second() {
        for (raw, ok) in [
            ("1600-12-31T23:59:59.999Z", false),
            ("1601-01-01T00:00:00Z", true),
            ("9000-12-31T23:59:59.999Z", true),
            ("9001-01-01T00:00:00Z", false),
        ] {
            assert_eq!(parse_query_time("start", raw).is_ok(), ok, "{raw}");
        }
    }
}
