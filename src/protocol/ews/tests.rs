use super::*;
use crate::protocol::dav_xml::XmlLimits;

/// A request as exchangelib writes it (Exchange2010, the zone from GetServerTimeZones).
pub(crate) fn availability_body(mailboxes: &[&str], start: &str, end: &str, extra: &str) -> String {
    let mut m = String::new();
    for a in mailboxes {
        m.push_str(&format!(
            "<t:MailboxData><t:Email><t:Address>{a}</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType><t:ExcludeConflicts>false</t:ExcludeConflicts></t:MailboxData>"
        ));
    }
    format!(
        r#"<?xml version='1.0' encoding='utf-8'?>
<s:Envelope xmlns:m="{M_NS}" xmlns:s="{SOAP_NS}" xmlns:t="{T_NS}"><s:Header><t:RequestServerVersion Version="Exchange2010"/></s:Header><s:Body><m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>-60</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>03:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>10</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>-60</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone><m:MailboxDataArray>{m}</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>{start}</t:StartTime><t:EndTime>{end}</t:EndTime></t:TimeWindow>{extra}<t:RequestedView>DetailedMerged</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest></s:Body></s:Envelope>"#
    )
}

fn parse(body: &str) -> Result<AvailabilityRequest, EwsFault> {
    match parse_envelope(body.as_bytes(), &XmlLimits::default())?.request {
        EwsRequest::Availability(a) => Ok(a),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_exchangelib_request_parses_and_local_times_use_its_zone() {
    let body = availability_body(
        &["danw@xcs.example", "kbaker@xcs.example"],
        "2026-07-06T09:00:00",
        "2026-07-06T17:00:00",
        "<t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes>",
    );
    let env = parse_envelope(body.as_bytes(), &XmlLimits::default()).unwrap();
    assert_eq!(env.version, "Exchange2010");
    let a = parse(&body).unwrap();
    assert_eq!(a.mailboxes.len(), 2);
    assert_eq!(a.mailboxes[1].address, "kbaker@xcs.example");
    assert_eq!(a.interval, 60);
    assert_eq!(a.view, RequestedView::DetailedMerged);
    // 09:00 in Paris summer time is 07:00 UTC.
    assert_eq!(a.start.to_string(), "2026-07-06T07:00:00Z");
    assert_eq!(a.slots(), 8);
    // A time with an offset is an instant whatever the zone.
    let a = parse(&availability_body(
        &["a@b"],
        "2026-07-06T09:00:00Z",
        "2026-07-06T10:00:00+00:00",
        "",
    ))
    .unwrap();
    assert_eq!(a.start.to_string(), "2026-07-06T09:00:00Z");
    assert_eq!(a.interval, 30);
}

#[test]
fn limits_are_refused_with_exchanges_codes() {
    let many: Vec<String> = (0..101).map(|i| format!("u{i}@x.example")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let f = parse(&availability_body(
        &many,
        "2026-07-06T00:00:00Z",
        "2026-07-07T00:00:00Z",
        "",
    ))
    .unwrap_err();
    assert_eq!(f.code, "ErrorMailboxDataArrayTooBig");
    assert!(f.message.contains("101"), "{}", f.message);
    let f = parse(&availability_body(
        &["a@b"],
        "2026-07-01T00:00:00Z",
        "2026-08-13T00:00:00Z",
        "",
    ))
    .unwrap_err();
    assert_eq!(f.code, "ErrorTimeIntervalTooBig");
    // Exactly 42 days is allowed.
    parse(&availability_body(
        &["a@b"],
        "2026-07-01T00:00:00Z",
        "2026-08-12T00:00:00Z",
        "",
    ))
    .unwrap();
    for bad in ["4", "1441", "x"] {
        let f = parse(&availability_body(
            &["a@b"],
            "2026-07-01T00:00:00Z",
            "2026-07-02T00:00:00Z",
            &format!(
                "<t:MergedFreeBusyIntervalInMinutes>{bad}</t:MergedFreeBusyIntervalInMinutes>"
            ),
        ))
        .unwrap_err();
        assert_eq!(f.code, "ErrorInvalidMergedFreeBusyInterval", "{bad}");
    }
    let f = parse(&availability_body(
        &[],
        "2026-07-01T00:00:00Z",
        "2026-07-02T00:00:00Z",
        "",
    ))
    .unwrap_err();
    assert_eq!(f.code, "ErrorMailboxDataArrayEmpty");
    let f = parse(&availability_body(
        &["a@b"],
        "2026-07-02T00:00:00Z",
        "2026-07-01T00:00:00Z",
        "",
    ))
    .unwrap_err();
    assert_eq!(f.code, "ErrorInvalidTimeInterval");
}

#[test]
fn malformed_soap_is_a_fault_with_a_sentence() {
    for (body, code, words) in [
        ("not xml", "ErrorSchemaValidation", "not well-formed"),
        ("<a/>", "ErrorSchemaValidation", "soap:Envelope"),
        (
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body/></s:Envelope>",
            "ErrorSchemaValidation",
            "SOAP 1.1",
        ),
        (
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><m:FindItem xmlns:m=\"x\"/></s:Body></s:Envelope>",
            "ErrorInvalidRequest",
            "FindItem",
        ),
        (
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header><t:RequestServerVersion xmlns:t=\"t\" Version=\"Exchange2003\"/></s:Header><s:Body/></s:Envelope>",
            "ErrorInvalidServerVersion",
            "Exchange2003",
        ),
    ] {
        let f = parse_envelope(body.as_bytes(), &XmlLimits::default()).unwrap_err();
        assert_eq!(f.code, code, "{body}");
        assert!(f.message.contains(words), "{}", f.message);
        let xml = fault(&f);
        assert!(
            xml.contains(&format!(
                "<e:ResponseCode xmlns:e=\"{E_NS}\">{code}</e:ResponseCode>"
            )),
            "{xml}"
        );
    }
    // The XML limits of the WebDAV bodies apply.
    let deep = format!(
        "<s:Envelope xmlns:s=\"{SOAP_NS}\"><s:Body>{}{}</s:Body></s:Envelope>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    let f = parse_envelope(deep.as_bytes(), &XmlLimits::default()).unwrap_err();
    assert!(f.message.contains("deeper"), "{}", f.message);
}

#[test]
fn the_answer_has_one_response_per_mailbox_in_order() {
    let xml = availability_response(
        "Exchange2010",
        &[
            MailboxAnswer::Merged(b"0220".to_vec()),
            MailboxAnswer::Error {
                code: "ErrorMailRecipientNotFound",
                message: "no <one>".into(),
            },
        ],
    );
    let ok = xml
        .find("<t:MergedFreeBusy>0220</t:MergedFreeBusy>")
        .unwrap();
    let err = xml
        .find("<m:ResponseCode>ErrorMailRecipientNotFound</m:ResponseCode>")
        .unwrap();
    assert!(ok < err);
    assert!(xml.contains("no &lt;one&gt;"));
    assert!(xml.contains("<t:FreeBusyViewType>MergedOnly</t:FreeBusyViewType>"));
}

#[test]
fn server_time_zones_are_listed_with_their_transitions() {
    let body = format!(
        "<s:Envelope xmlns:s=\"{SOAP_NS}\" xmlns:m=\"{M_NS}\" xmlns:t=\"{T_NS}\"><s:Header><t:RequestServerVersion Version=\"Exchange2010\"/></s:Header><s:Body><m:GetServerTimeZones ReturnFullTimeZoneData=\"true\"><m:Ids><t:Id>Romance Standard Time</t:Id></m:Ids></m:GetServerTimeZones></s:Body></s:Envelope>"
    );
    let EwsRequest::ServerTimeZones(q) = parse_envelope(body.as_bytes(), &XmlLimits::default())
        .unwrap()
        .request
    else {
        panic!()
    };
    assert_eq!(q.ids, ["Romance Standard Time"]);
    assert!(q.full);
    let z = timezone::zone(&q.ids[0]).unwrap();
    let xml = time_zones_response("Exchange2010", &[z], true, &[]);
    assert!(
        xml.contains("<t:Period Bias=\"-PT1H\" Name=\"Standard\" Id=\"Std\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains("<t:Period Bias=\"-PT2H\" Name=\"Daylight\" Id=\"Dlt\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek><t:Occurrence>-1</t:Occurrence>"
        ),
        "{xml}"
    );
    let xml = time_zones_response("Exchange2010", &[], true, &["Mars Standard Time".into()]);
    assert!(xml.contains("ResponseClass=\"Error\""));
    assert!(xml.contains("Mars Standard Time"));
}

#[test]
fn autodiscover_reads_the_address_and_answers_the_ews_url() {
    let body = format!(
        "<Autodiscover xmlns=\"{}\"><Request><EMailAddress>danw@xcs.example</EMailAddress><AcceptableResponseSchema>{}</AcceptableResponseSchema></Request></Autodiscover>",
        autodiscover::REQUEST_NS,
        autodiscover::OUTLOOK_NS
    );
    let email = autodiscover::parse_request(body.as_bytes(), &XmlLimits::default()).unwrap();
    assert_eq!(email, "danw@xcs.example");
    let xml = autodiscover::response(
        &autodiscover::AutodiscoverUser {
            display_name: "Dan",
            legacy_dn: "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship",
            email: "danw@xcs.example",
        },
        "127.0.0.1",
        "http://127.0.0.1:8080/EWS/Exchange.asmx",
    );
    assert!(xml.contains("<EwsUrl>http://127.0.0.1:8080/EWS/Exchange.asmx</EwsUrl>"));
}
