//! Writing the SOAP answers: `GetUserAvailabilityResponse`, `GetServerTimeZonesResponse`
//! and faults.
//!
//! Every answer carries a `ServerVersionInfo` header echoing the version the client asked
//! for (with a build of that release): clients such as exchangelib adopt the version a
//! server names, and the two operations answered here are the same in every version, so
//! naming another would only make a client stop asking for `GetServerTimeZones`.

use quick_xml::escape::escape;

use super::timezone::{WEEKDAYS, ZoneDefinition};
use super::{EwsFault, M_NS, SOAP_NS, T_NS};

/// What one `FreeBusyResponse` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxAnswer {
    /// `MergedOnly` with these digits (what a 2007 CAS returned for a legacy mailbox).
    Merged(Vec<u8>),
    /// An error: Exchange's response code and a sentence.
    Error { code: &'static str, message: String },
}

/// A build of the Exchange release that speaks `version` (RTM builds; SP1 of 2007 and
/// 2010 where asked for).
fn build_of(version: &str) -> (u32, u32, u32, u32) {
    match version {
        "Exchange2007" => (8, 0, 685, 24),
        v if v.starts_with("Exchange2007") => (8, 1, 240, 6),
        "Exchange2010" => (14, 0, 639, 21),
        "Exchange2010_SP1" => (14, 1, 218, 15),
        v if v.starts_with("Exchange2010") => (14, 2, 247, 5),
        _ => (15, 0, 516, 32),
    }
}

fn head(out: &mut String, version: &str) {
    let (major, minor, build, rev) = build_of(version);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n");
    out.push_str(&format!(
        "<s:Envelope xmlns:s=\"{SOAP_NS}\"><s:Header><h:ServerVersionInfo xmlns:h=\"{T_NS}\" MajorVersion=\"{major}\" MinorVersion=\"{minor}\" MajorBuildNumber=\"{build}\" MinorBuildNumber=\"{rev}\" Version=\"{}\"/></s:Header><s:Body>",
        escape(version)
    ));
}

fn tail(out: &mut String) {
    out.push_str("</s:Body></s:Envelope>");
}

/// The answer to `GetUserAvailability`: one `FreeBusyResponse` per mailbox, in request
/// order.
pub fn availability_response(version: &str, answers: &[MailboxAnswer]) -> String {
    let digits: usize = answers
        .iter()
        .map(|a| match a {
            MailboxAnswer::Merged(d) => d.len(),
            MailboxAnswer::Error { .. } => 0,
        })
        .sum();
    let mut out = String::with_capacity(digits + answers.len() * 400 + 512);
    head(&mut out, version);
    out.push_str(&format!(
        "<m:GetUserAvailabilityResponse xmlns:m=\"{M_NS}\" xmlns:t=\"{T_NS}\"><m:FreeBusyResponseArray>"
    ));
    for a in answers {
        out.push_str("<m:FreeBusyResponse>");
        match a {
            MailboxAnswer::Merged(d) => {
                out.push_str("<m:ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode></m:ResponseMessage>");
                out.push_str("<m:FreeBusyView><t:FreeBusyViewType>MergedOnly</t:FreeBusyViewType><t:MergedFreeBusy>");
                // Digits only: nothing to escape.
                out.push_str(std::str::from_utf8(d).unwrap_or(""));
                out.push_str("</t:MergedFreeBusy></m:FreeBusyView>");
            }
            MailboxAnswer::Error { code, message } => {
                out.push_str(&format!(
                    "<m:ResponseMessage ResponseClass=\"Error\"><m:MessageText>{}</m:MessageText><m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:ResponseMessage>",
                    escape(message.as_str())
                ));
                out.push_str("<m:FreeBusyView><t:FreeBusyViewType>None</t:FreeBusyViewType></m:FreeBusyView>");
            }
        }
        out.push_str("</m:FreeBusyResponse>");
    }
    out.push_str("</m:FreeBusyResponseArray></m:GetUserAvailabilityResponse>");
    tail(&mut out);
    out
}

/// `-PT1H30M`-style durations for `Period/@Bias` and `TimeOffset` (minutes).
fn duration(minutes: i32) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let m = minutes.unsigned_abs();
    match (m / 60, m % 60) {
        (0, 0) => "PT0M".to_string(),
        (h, 0) => format!("{sign}PT{h}H"),
        (0, mm) => format!("{sign}PT{mm}M"),
        (h, mm) => format!("{sign}PT{h}H{mm}M"),
    }
}

fn write_zone(out: &mut String, z: &ZoneDefinition, full: bool) {
    out.push_str(&format!(
        "<t:TimeZoneDefinition Id=\"{}\" Name=\"{}\">",
        escape(z.id),
        escape(z.name)
    ));
    if full {
        // Period biases are the negated UTC offsets, as Windows writes them.
        out.push_str(&format!(
            "<t:Periods><t:Period Bias=\"{}\" Name=\"Standard\" Id=\"Std\"/>",
            duration(z.bias)
        ));
        if let Some((extra, _, _)) = z.daylight {
            out.push_str(&format!(
                "<t:Period Bias=\"{}\" Name=\"Daylight\" Id=\"Dlt\"/>",
                duration(z.bias + extra)
            ));
        }
        out.push_str("</t:Periods><t:TransitionsGroups><t:TransitionsGroup Id=\"0\">");
        match z.daylight {
            None => out.push_str("<t:Transition><t:To Kind=\"Period\">Std</t:To></t:Transition>"),
            Some((_, start, end)) => {
                for (to, (month, order, weekday, time)) in [("Dlt", start), ("Std", end)] {
                    let occurrence = if order == 5 { -1 } else { order as i32 };
                    out.push_str(&format!(
                        "<t:RecurringDayTransition><t:To Kind=\"Period\">{to}</t:To><t:TimeOffset>{}</t:TimeOffset><t:Month>{month}</t:Month><t:DayOfWeek>{}</t:DayOfWeek><t:Occurrence>{occurrence}</t:Occurrence></t:RecurringDayTransition>",
                        duration(time),
                        WEEKDAYS[weekday as usize]
                    ));
                }
            }
        }
        out.push_str("</t:TransitionsGroup></t:TransitionsGroups><t:Transitions><t:Transition><t:To Kind=\"Group\">0</t:To></t:Transition></t:Transitions>");
    }
    out.push_str("</t:TimeZoneDefinition>");
}

/// The answer to `GetServerTimeZones`: the definitions found, or one error message naming
/// the ids that are not known.
pub fn time_zones_response(
    version: &str,
    zones: &[&ZoneDefinition],
    full: bool,
    unknown: &[String],
) -> String {
    let mut out = String::with_capacity(1024 + zones.len() * 900);
    head(&mut out, version);
    out.push_str(&format!(
        "<m:GetServerTimeZonesResponse xmlns:m=\"{M_NS}\" xmlns:t=\"{T_NS}\"><m:ResponseMessages>"
    ));
    if unknown.is_empty() {
        out.push_str("<m:GetServerTimeZonesResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:TimeZoneDefinitions>");
        for z in zones {
            write_zone(&mut out, z, full);
        }
        out.push_str("</m:TimeZoneDefinitions></m:GetServerTimeZonesResponseMessage>");
    } else {
        let known: Vec<&str> = super::timezone::ZONES.iter().map(|z| z.id).collect();
        out.push_str(&format!(
            "<m:GetServerTimeZonesResponseMessage ResponseClass=\"Error\"><m:MessageText>{}</m:MessageText><m:ResponseCode>ErrorInvalidServerTimeZone</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:GetServerTimeZonesResponseMessage>",
            escape(
                format!(
                    "no time zone is defined here with the id {}; known: {}",
                    unknown.join(", "),
                    known.join(", ")
                )
                .as_str()
            )
        ));
    }
    out.push_str("</m:ResponseMessages></m:GetServerTimeZonesResponse>");
    tail(&mut out);
    out
}

/// A SOAP 1.1 fault carrying Exchange's response code in its detail, where EWS clients
/// look for it.
pub fn fault(f: &EwsFault) -> String {
    let code = if f.client { "s:Client" } else { "s:Server" };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<s:Envelope xmlns:s=\"{SOAP_NS}\"><s:Body><s:Fault><faultcode>{code}</faultcode><faultstring xml:lang=\"en-US\">{msg}</faultstring><detail><e:ResponseCode xmlns:e=\"{E_NS}\">{rc}</e:ResponseCode><e:Message xmlns:e=\"{E_NS}\">{msg}</e:Message></detail></s:Fault></s:Body></s:Envelope>",
        msg = escape(f.message.as_str()),
        rc = f.code,
        E_NS = super::E_NS,
    )
}
