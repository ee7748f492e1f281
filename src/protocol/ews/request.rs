//! Parsing the SOAP 1.1 requests the front end answers: `GetUserAvailability` and
//! `GetServerTimeZones`, with the limits Exchange put on the first.
//!
//! Element names are matched by local name under the EWS namespaces (clients differ on
//! whether `MailboxDataArray` and friends are in the messages or the types namespace); the
//! envelope and body must be SOAP 1.1's. Everything a request cannot be answered for
//! becomes an [`EwsFault`]: the response code Exchange used and a sentence.

use jiff::Timestamp;

use super::timezone::{SerializableTimeZone, Transition, WEEKDAYS};
use super::tree::{self, XNode};
use super::{EwsFault, SOAP_NS};
use crate::protocol::dav_xml::XmlLimits;

/// At most this many mailboxes per request, as Exchange ([MS-OXWAVLS]).
pub const MAX_MAILBOXES: usize = 100;
/// At most this long a time window, as Exchange 2007 SP1 and later (in days).
pub const MAX_WINDOW_DAYS: i64 = 42;

/// A request the front end knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EwsRequest {
    Availability(AvailabilityRequest),
    ServerTimeZones(TimeZonesRequest),
}

/// The `RequestedView` of `FreeBusyViewOptions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestedView {
    MergedOnly,
    FreeBusy,
    FreeBusyMerged,
    Detailed,
    DetailedMerged,
}

impl RequestedView {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "MergedOnly" => RequestedView::MergedOnly,
            "FreeBusy" => RequestedView::FreeBusy,
            "FreeBusyMerged" => RequestedView::FreeBusyMerged,
            "Detailed" => RequestedView::Detailed,
            "DetailedMerged" => RequestedView::DetailedMerged,
            _ => return None,
        })
    }

    /// Does the view carry `MergedFreeBusy`? A legacy mailbox can only be answered merged.
    pub fn is_merged(self) -> bool {
        matches!(
            self,
            RequestedView::MergedOnly
                | RequestedView::FreeBusyMerged
                | RequestedView::DetailedMerged
        )
    }
}

/// One `MailboxData`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxData {
    /// `Email/Address` as sent.
    pub address: String,
    /// `Email/RoutingType` (`SMTP` or `EX`), when sent.
    pub routing_type: Option<String>,
    /// `AttendeeType` (`Required`, `Optional`, `Organizer`, `Room`, `Resource`); accepted
    /// and not used: free/busy does not depend on it.
    pub attendee_type: String,
    /// `ExcludeConflicts`; accepted, it only matters for suggestions.
    pub exclude_conflicts: bool,
}

/// A parsed `GetUserAvailabilityRequest` with free/busy view options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityRequest {
    pub time_zone: SerializableTimeZone,
    pub mailboxes: Vec<MailboxData>,
    /// The window, as instants (a time without an offset is read in `time_zone`).
    pub start: Timestamp,
    pub end: Timestamp,
    /// `MergedFreeBusyIntervalInMinutes`, 5-1440 (default 30).
    pub interval: u32,
    pub view: RequestedView,
}

impl AvailabilityRequest {
    /// Digits per mailbox: ceil(window / interval).
    pub fn slots(&self) -> usize {
        let span = (self.end.as_second() - self.start.as_second()).max(0);
        let step = self.interval as i64 * 60;
        ((span + step - 1) / step) as usize
    }
}

/// A parsed `GetServerTimeZones`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeZonesRequest {
    /// `Ids/Id`; empty: every zone.
    pub ids: Vec<String>,
    pub full: bool,
}

/// The whole request: the version the client asked for and the operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// `RequestServerVersion/@Version`; Exchange 2007 assumed when absent.
    pub version: String,
    pub request: EwsRequest,
}

/// Versions answered: the 2007, 2007 SP1 and 2010 schemas (later ones are supersets for
/// these two operations, so they are read the same way).
pub fn version_known(v: &str) -> bool {
    v.starts_with("Exchange2007") || v.starts_with("Exchange2010") || v.starts_with("Exchange2013")
}

fn schema(message: impl Into<String>) -> EwsFault {
    EwsFault::client("ErrorSchemaValidation", message)
}

/// Parse a SOAP request body.
pub fn parse_envelope(body: &[u8], limits: &XmlLimits) -> Result<Envelope, EwsFault> {
    let root = tree::parse(body, limits).map_err(|e| schema(e.to_string()))?;
    if root.local != "Envelope" {
        return Err(schema(format!(
            "the request's root element is {}; send a SOAP 1.1 soap:Envelope",
            root.local
        )));
    }
    if root.ns != SOAP_NS {
        return Err(schema(format!(
            "the envelope's namespace is '{}'; this service speaks SOAP 1.1 ({SOAP_NS})",
            root.ns
        )));
    }
    let version = match root
        .child("Header")
        .and_then(|h| h.child("RequestServerVersion"))
    {
        Some(v) => {
            let v = v.attr("Version").unwrap_or("").trim().to_string();
            if !version_known(&v) {
                return Err(EwsFault::client(
                    "ErrorInvalidServerVersion",
                    format!(
                        "RequestServerVersion '{v}' is not answered here; send Exchange2007, Exchange2007_SP1 or Exchange2010"
                    ),
                ));
            }
            v
        }
        None => "Exchange2007".to_string(),
    };
    let body = root
        .children
        .iter()
        .find(|c| c.local == "Body" && c.ns == SOAP_NS)
        .ok_or_else(|| schema("the envelope has no soap:Body"))?;
    let op = body
        .children
        .first()
        .ok_or_else(|| schema("the soap:Body is empty; send a GetUserAvailabilityRequest"))?;
    let request = match op.local.as_str() {
        "GetUserAvailabilityRequest" => EwsRequest::Availability(parse_availability(op)?),
        "GetServerTimeZones" => EwsRequest::ServerTimeZones(parse_time_zones(op)?),
        other => {
            return Err(EwsFault::client(
                "ErrorInvalidRequest",
                format!(
                    "{other} is not answered here; this front end answers GetUserAvailability and GetServerTimeZones"
                ),
            ));
        }
    };
    Ok(Envelope { version, request })
}

fn parse_time_zones(op: &XNode) -> Result<TimeZonesRequest, EwsFault> {
    let full = op
        .attr("ReturnFullTimeZoneData")
        .is_none_or(|v| parse_bool(v).unwrap_or(true));
    let ids = op
        .child("Ids")
        .map(|ids| {
            ids.children_named("Id")
                .map(|i| i.text.trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    Ok(TimeZonesRequest { ids, full })
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn parse_availability(op: &XNode) -> Result<AvailabilityRequest, EwsFault> {
    let time_zone = match op.child("TimeZone") {
        Some(tz) => parse_time_zone(tz)?,
        None => {
            return Err(schema(
                "GetUserAvailabilityRequest has no TimeZone; send the client's t:TimeZone (Bias, StandardTime, DaylightTime)",
            ));
        }
    };
    let array = op.child("MailboxDataArray").ok_or_else(|| {
        schema("GetUserAvailabilityRequest has no MailboxDataArray; name the mailboxes to ask for")
    })?;
    let n = array.children_named("MailboxData").count();
    if n == 0 {
        return Err(EwsFault::client(
            "ErrorMailboxDataArrayEmpty",
            "MailboxDataArray names no mailbox; add one or more MailboxData elements",
        ));
    }
    if n > MAX_MAILBOXES {
        return Err(EwsFault::client(
            "ErrorMailboxDataArrayTooBig",
            format!(
                "MailboxDataArray names {n} mailboxes; at most {MAX_MAILBOXES} are answered per request"
            ),
        ));
    }
    let mut mailboxes = Vec::with_capacity(n);
    for (i, m) in array.children_named("MailboxData").enumerate() {
        let email = m
            .child("Email")
            .ok_or_else(|| schema(format!("MailboxData {} has no Email", i + 1)))?;
        let address = email.child_text("Address").unwrap_or("").to_string();
        if address.is_empty() {
            return Err(schema(format!(
                "MailboxData {} has no Email/Address",
                i + 1
            )));
        }
        let exclude = match m.child_text("ExcludeConflicts") {
            None => false,
            Some(v) => parse_bool(v).ok_or_else(|| {
                schema(format!(
                    "ExcludeConflicts '{v}' of MailboxData {} is not true or false",
                    i + 1
                ))
            })?,
        };
        mailboxes.push(MailboxData {
            address,
            routing_type: email
                .child_text("RoutingType")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            attendee_type: m
                .child_text("AttendeeType")
                .unwrap_or("Required")
                .to_string(),
            exclude_conflicts: exclude,
        });
    }
    let options = op.child("FreeBusyViewOptions").ok_or_else(|| {
        EwsFault::client(
            "ErrorInvalidRequest",
            "GetUserAvailabilityRequest has no FreeBusyViewOptions; this front end answers free/busy, not suggestions",
        )
    })?;
    let window = options
        .child("TimeWindow")
        .ok_or_else(|| schema("FreeBusyViewOptions has no TimeWindow"))?;
    let time = |name: &str| -> Result<Timestamp, EwsFault> {
        let raw = window
            .child_text(name)
            .ok_or_else(|| schema(format!("TimeWindow has no {name}")))?;
        parse_date_time(raw, &time_zone)
            .ok_or_else(|| schema(format!("TimeWindow/{name} '{raw}' is not an xs:dateTime")))
    };
    let (start, end) = (time("StartTime")?, time("EndTime")?);
    if end <= start {
        return Err(EwsFault::client(
            "ErrorInvalidTimeInterval",
            "TimeWindow's EndTime must be after its StartTime",
        ));
    }
    if end.as_second() - start.as_second() > MAX_WINDOW_DAYS * 86_400 {
        return Err(EwsFault::client(
            "ErrorTimeIntervalTooBig",
            format!(
                "the TimeWindow spans more than {MAX_WINDOW_DAYS} days; ask for {MAX_WINDOW_DAYS} days or less per request"
            ),
        ));
    }
    let interval = match options.child_text("MergedFreeBusyIntervalInMinutes") {
        None => 30,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|i| (5..=1440).contains(i))
            .ok_or_else(|| {
                EwsFault::client(
                    "ErrorInvalidMergedFreeBusyInterval",
                    format!(
                        "MergedFreeBusyIntervalInMinutes '{raw}' is not a whole number from 5 to 1440"
                    ),
                )
            })?,
    };
    let view = match options.child_text("RequestedView") {
        None => RequestedView::MergedOnly,
        Some(raw) => RequestedView::parse(raw).ok_or_else(|| {
            EwsFault::client(
                "ErrorInvalidFreeBusyViewType",
                format!(
                    "RequestedView '{raw}' is not one of MergedOnly, FreeBusy, FreeBusyMerged, Detailed, DetailedMerged"
                ),
            )
        })?,
    };
    Ok(AvailabilityRequest {
        time_zone,
        mailboxes,
        start,
        end,
        interval,
        view,
    })
}

/// An xs:dateTime: with `Z` or an offset it is an instant; without (as Outlook sends the
/// window, in the request's zone) it is a wall-clock time in `tz`.
pub fn parse_date_time(raw: &str, tz: &SerializableTimeZone) -> Option<Timestamp> {
    let raw = raw.trim();
    if let Ok(ts) = raw.parse::<Timestamp>() {
        return Some(ts);
    }
    let local: jiff::civil::DateTime = raw.parse().ok()?;
    Some(tz.to_utc(local))
}

fn parse_time_zone(tz: &XNode) -> Result<SerializableTimeZone, EwsFault> {
    let int = |node: &XNode, name: &str| -> Result<i32, EwsFault> {
        let raw = node
            .child_text(name)
            .ok_or_else(|| schema(format!("{} has no {name}", node.local)))?;
        raw.parse::<i32>()
            .ok()
            .filter(|v| (-1440..=1440).contains(v))
            .ok_or_else(|| {
                schema(format!(
                    "{}/{name} '{raw}' is not a whole number of minutes",
                    node.local
                ))
            })
    };
    let transition = |name: &str| -> Result<Option<Transition>, EwsFault> {
        let Some(t) = tz.child(name) else {
            return Ok(None);
        };
        let bias = int(t, "Bias")?;
        let time_raw = t
            .child_text("Time")
            .ok_or_else(|| schema(format!("{name} has no Time")))?;
        let time = parse_clock(time_raw)
            .ok_or_else(|| schema(format!("{name}/Time '{time_raw}' is not hh:mm:ss")))?;
        let day_order = int(t, "DayOrder")?;
        let month = int(t, "Month")?;
        if !(0..=12).contains(&month) {
            return Err(schema(format!("{name}/Month '{month}' is not 1-12")));
        }
        // Some writers use -1 for "last", as the time zone definitions do.
        let day_order = match day_order {
            -1 => 5,
            d if (1..=5).contains(&d) => d,
            d => return Err(schema(format!("{name}/DayOrder '{d}' is not 1-5"))),
        };
        let day = t
            .child_text("DayOfWeek")
            .ok_or_else(|| schema(format!("{name} has no DayOfWeek")))?;
        let weekday = WEEKDAYS
            .iter()
            .position(|w| *w == day)
            .ok_or_else(|| schema(format!("{name}/DayOfWeek '{day}' is not a day of the week")))?;
        Ok(Some(Transition {
            bias,
            time,
            day_order: day_order as u8,
            month: month as u8,
            weekday: weekday as u8,
        }))
    };
    Ok(SerializableTimeZone {
        bias: int(tz, "Bias")?,
        standard: transition("StandardTime")?,
        daylight: transition("DaylightTime")?,
    })
}

/// `hh:mm[:ss]` → minutes after midnight.
fn parse_clock(s: &str) -> Option<i32> {
    let mut parts = s.split(':');
    let h: i32 = parts.next()?.parse().ok()?;
    let m: i32 = parts.next()?.parse().ok()?;
    let _s: f64 = parts.next().map_or(Some(0.0), |s| s.parse().ok())?;
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}
