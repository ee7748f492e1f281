//! The iCalendar text layer (RFC 5545 §3.1): unfolding, content lines, parameters and the
//! BEGIN/END component tree.
//!
//! Owns [`Property`] and [`Component`] and the line numbers every later error quotes (the
//! first physical line of an unfolded content line, 1-based). It does not interpret values:
//! what a DTSTART means is `value`, `tz` and `event`'s business.

use super::{CalendarError, Notes};

/// Properties whose value can change what free/busy shows (or a zone it depends on). A
/// line that cannot be read is refused when it belongs to one of these; any other broken
/// line (an ATTENDEE that Outlook folded without the leading space, an X- property with a
/// stray quote) is skipped with a leniency note.
const FREE_BUSY_PROPERTIES: &[&str] = &[
    "BEGIN",
    "END",
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "RDATE",
    "EXDATE",
    "RECURRENCE-ID",
    "STATUS",
    "TRANSP",
    "UID",
    "SEQUENCE",
    "X-MICROSOFT-CDO-BUSYSTATUS",
    "X-MICROSOFT-CDO-INTENDEDSTATUS",
    "FREEBUSY",
    "TZID",
    "TZOFFSETFROM",
    "TZOFFSETTO",
];

fn has_free_busy_meaning(name: &str) -> bool {
    FREE_BUSY_PROPERTIES
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// The property name a broken line starts with, if it starts with one.
fn leading_name(text: &str) -> Option<&str> {
    let end = text.find([';', ':'])?;
    let name = &text[..end];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then_some(name)
}

/// Deeper nesting than this is garbage, not a calendar (VCALENDAR > VEVENT > VALARM is 3),
/// and refusing it keeps the tree's recursive drop shallow.
const MAX_DEPTH: usize = 16;

/// One content line: `NAME;PARAM=a,b;OTHER="x:y":value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Property {
    pub line: usize,
    /// Upper-cased.
    pub name: String,
    /// Parameter names upper-cased, values as written (quotes removed).
    pub params: Vec<(String, Vec<String>)>,
    pub value: String,
}

impl Property {
    /// The first value of a parameter, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }
}

/// A BEGIN/END block with its properties and sub-components, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Component {
    pub line: usize,
    /// Upper-cased.
    pub name: String,
    pub props: Vec<Property>,
    pub children: Vec<Component>,
}

impl Component {
    pub fn prop(&self, name: &str) -> Option<&Property> {
        self.props.iter().find(|p| p.name == name)
    }

    pub fn props_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> + 'a {
        self.props.iter().filter(move |p| p.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Component> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Unfold physical lines into (first line number, logical line). Accepts CRLF and bare LF;
/// a line starting with a space or tab continues the previous one (the one whitespace
/// character is the fold and is dropped). Blank lines are skipped: some exporters emit them.
pub(crate) fn unfold(text: &str) -> Vec<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match raw.as_bytes().first() {
            Some(b' ' | b'\t') if !out.is_empty() => {
                if let Some(last) = out.last_mut() {
                    last.1.push_str(&raw[1..]);
                }
            }
            _ if raw.trim().is_empty() => {}
            _ => out.push((i + 1, raw.to_string())),
        }
    }
    out
}

/// Split one logical line into name, parameters and value.
pub(crate) fn parse_content_line(line: usize, text: &str) -> Result<Property, CalendarError> {
    let bad = |reason: &str| CalendarError::Syntax {
        line,
        reason: format!("'{}' is not a content line: {reason}", shorten(text)),
    };
    let name_end = text
        .find([';', ':'])
        .ok_or_else(|| bad("there is no ':' before the value"))?;
    let name = &text[..name_end];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(bad("the property name must be letters, digits and '-'"));
    }
    let mut params = Vec::new();
    let mut rest = &text[name_end..];
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after
            .find('=')
            .ok_or_else(|| bad("a parameter has no '='"))?;
        let pname = &after[..eq];
        if pname.is_empty()
            || !pname
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(bad("a parameter name must be letters, digits and '-'"));
        }
        let (values, remaining) = parse_param_values(&after[eq + 1..]).ok_or_else(|| {
            bad("a parameter value has an unclosed quote or the line has no value")
        })?;
        params.push((pname.to_ascii_uppercase(), values));
        rest = remaining;
    }
    let value = rest
        .strip_prefix(':')
        .ok_or_else(|| bad("there is no ':' before the value"))?;
    Ok(Property {
        line,
        name: name.to_ascii_uppercase(),
        params,
        value: value.to_string(),
    })
}

/// Parameter values up to the next unquoted `;` or `:`; returns them and the rest.
fn parse_param_values(mut s: &str) -> Option<(Vec<String>, &str)> {
    let mut values = Vec::new();
    loop {
        if let Some(quoted) = s.strip_prefix('"') {
            let close = quoted.find('"')?;
            values.push(quoted[..close].to_string());
            s = &quoted[close + 1..];
        } else {
            let end = s.find([',', ';', ':'])?;
            values.push(s[..end].to_string());
            s = &s[end..];
        }
        match s.strip_prefix(',') {
            Some(next) => s = next,
            None if s.starts_with([';', ':']) => return Some((values, s)),
            None => return None,
        }
    }
}

/// Parse a whole file into its VCALENDAR components (a file may hold several; some
/// exporters concatenate them).
pub(crate) fn parse_tree(text: &str, notes: &mut Notes) -> Result<Vec<Component>, CalendarError> {
    let lines = unfold(text);
    let Some((first_line, first)) = lines.first() else {
        return Err(CalendarError::NotACalendar {
            line: 1,
            reason: "the file is empty".into(),
        });
    };
    if !first.trim_end().eq_ignore_ascii_case("BEGIN:VCALENDAR") {
        return Err(CalendarError::NotACalendar {
            line: *first_line,
            reason: format!(
                "it must start with BEGIN:VCALENDAR, not '{}'",
                shorten(first)
            ),
        });
    }
    let mut calendars = Vec::new();
    let mut stack: Vec<Component> = Vec::new();
    // The name of the last property read, for a broken line that has none of its own.
    let mut previous: Option<String> = None;
    let mut skipping_tail = false;
    for (line, text) in &lines {
        // Outlook and some mail clients leave lines (a signature, a second END) after the
        // last END:VCALENDAR; a new BEGIN:VCALENDAR still starts another calendar.
        if stack.is_empty()
            && !calendars.is_empty()
            && !text.trim_end().eq_ignore_ascii_case("BEGIN:VCALENDAR")
        {
            if !skipping_tail {
                skipping_tail = true;
                notes.add(
                    *line,
                    "after_end_vcalendar",
                    format!(
                        "'{}' and the lines after it come after END:VCALENDAR; skipped",
                        shorten(text)
                    ),
                );
            }
            continue;
        }
        skipping_tail = false;
        let prop = match parse_content_line(*line, text) {
            Ok(p) => p,
            Err(e) => {
                let owner = leading_name(text)
                    .map(str::to_string)
                    .or_else(|| previous.clone());
                match owner {
                    Some(name) if !stack.is_empty() && !has_free_busy_meaning(&name) => {
                        notes.add(
                            *line,
                            "broken_line",
                            format!(
                                "'{}' is not a content line (part of {name}, which does not change free/busy); skipped",
                                shorten(text)
                            ),
                        );
                        continue;
                    }
                    _ => return Err(e),
                }
            }
        };
        previous = Some(prop.name.clone());
        match prop.name.as_str() {
            "BEGIN" => {
                let name = prop.value.trim().to_ascii_uppercase();
                if stack.is_empty() && name != "VCALENDAR" {
                    return Err(CalendarError::Syntax {
                        line: *line,
                        reason: format!("BEGIN:{name} is outside any VCALENDAR"),
                    });
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(CalendarError::Syntax {
                        line: *line,
                        reason: format!("components are nested more than {MAX_DEPTH} deep"),
                    });
                }
                stack.push(Component {
                    line: *line,
                    name,
                    ..Component::default()
                });
            }
            "END" => {
                let name = prop.value.trim().to_ascii_uppercase();
                let Some(open) = stack.pop() else {
                    return Err(CalendarError::Syntax {
                        line: *line,
                        reason: format!("END:{name} has no matching BEGIN"),
                    });
                };
                if open.name != name {
                    return Err(CalendarError::Syntax {
                        line: *line,
                        reason: format!(
                            "END:{name} does not close BEGIN:{} opened on line {}",
                            open.name, open.line
                        ),
                    });
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(open),
                    None => calendars.push(open),
                }
            }
            _ => match stack.last_mut() {
                Some(c) => c.props.push(prop),
                None => {
                    return Err(CalendarError::Syntax {
                        line: *line,
                        reason: format!("{} is outside any VCALENDAR", prop.name),
                    });
                }
            },
        }
    }
    if let Some(open) = stack.last() {
        return Err(CalendarError::Syntax {
            line: open.line,
            reason: format!("BEGIN:{} is never closed by END:{}", open.name, open.name),
        });
    }
    Ok(calendars)
}

/// Quote at most 60 characters of user input in an error sentence.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_crlf_lf_space_and_tab() {
        let text = "BEGIN:VCALENDAR\r\nSUMMARY:Long\r\n  line\r\n\tand more\nX:1\n\nY:2";
        let lines = unfold(text);
        assert_eq!(
            lines,
            vec![
                (1, "BEGIN:VCALENDAR".to_string()),
                (2, "SUMMARY:Long lineand more".to_string()),
                (5, "X:1".to_string()),
                (7, "Y:2".to_string()),
            ]
        );
    }

    #[test]
    fn content_line_with_quoted_and_multiple_params() {
        let p = parse_content_line(
            3,
            r#"ATTENDEE;CN="Doe, John: PhD";ROLE=REQ-PARTICIPANT;MEMBER="a:b","c:d":mailto:j@x"#,
        )
        .unwrap();
        assert_eq!(p.name, "ATTENDEE");
        assert_eq!(p.param("cn"), Some("Doe, John: PhD"));
        assert_eq!(p.param("ROLE"), Some("REQ-PARTICIPANT"));
        assert_eq!(p.params[2].1, vec!["a:b".to_string(), "c:d".to_string()]);
        assert_eq!(p.value, "mailto:j@x");
        assert_eq!(p.line, 3);
    }

    #[test]
    fn content_line_errors_name_the_line() {
        let e = parse_content_line(42, "no colon here").unwrap_err();
        assert!(e.to_string().starts_with("line 42: "), "{e}");
        assert!(parse_content_line(1, "X;P=\"open:v").is_err());
        assert!(parse_content_line(1, ":value").is_err());
        assert!(parse_content_line(1, "X;=a:v").is_err());
        assert_eq!(
            parse_content_line(1, "X;P=:v").unwrap().param("P"),
            Some("")
        );
    }

    #[test]
    fn tree_and_structural_errors() {
        let tree = |t: &str| parse_tree(t, &mut Notes::default());
        let cal =
            tree("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nEND:VEVENT\nEND:VCALENDAR\n").unwrap();
        assert_eq!(cal.len(), 1);
        assert_eq!(cal[0].children[0].name, "VEVENT");
        assert_eq!(cal[0].children[0].line, 2);

        let e = tree("BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VCALENDAR\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: END:VCALENDAR does not close BEGIN:VEVENT opened on line 2"
        );
        let e = tree("BEGIN:VCALENDAR\nBEGIN:VEVENT\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: BEGIN:VEVENT is never closed by END:VEVENT"
        );
        let e = tree("hello\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("line 1: this is not an iCalendar file"),
            "{e}"
        );
        assert!(tree("").is_err());
        // Lines after the last END:VCALENDAR are skipped with one note.
        let mut notes = Notes::default();
        let cals = parse_tree(
            "BEGIN:VCALENDAR\nEND:VCALENDAR\nEND:VCALENDAR\n-- \nSent from my phone\n",
            &mut notes,
        )
        .unwrap();
        assert_eq!(cals.len(), 1);
        assert_eq!(notes.0.len(), 1, "{:?}", notes.0);
        assert_eq!(notes.0[0].line, 3);
        assert_eq!(notes.0[0].kind, "after_end_vcalendar");
        // A second calendar after the first is still read.
        let cals =
            tree("BEGIN:VCALENDAR\nEND:VCALENDAR\nBEGIN:VCALENDAR\nEND:VCALENDAR\n").unwrap();
        assert_eq!(cals.len(), 2);
    }

    #[test]
    fn broken_lines_without_free_busy_meaning_are_skipped() {
        let tree = |t: &str| parse_tree(t, &mut Notes::default());
        // Outlook folds a long ATTENDEE without the leading space; a stray quote in an X-
        // property; both skipped with the line. A broken DTSTART is still an error.
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nATTENDEE;CN=Dan;RSVP=TRUE:mailto:dan@\nxcs.example\n\
X-ALT-DESC;FMTTYPE=\"text/html:<b>hi</b>\nORGANIZER;CN=\"Broken\nDTSTART:20260101T090000Z\nEND:VEVENT\nEND:VCALENDAR\n";
        let mut notes = Notes::default();
        let cals = parse_tree(text, &mut notes).unwrap();
        let lines: Vec<(usize, &str)> = notes.0.iter().map(|n| (n.line, n.kind)).collect();
        assert_eq!(
            lines,
            [(4, "broken_line"), (5, "broken_line"), (6, "broken_line")]
        );
        assert_eq!(cals[0].children[0].prop("DTSTART").unwrap().line, 7);
        let e = tree("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=\"x:20260101T090000\nEND:VEVENT\nEND:VCALENDAR\n")
            .unwrap_err();
        assert!(e.to_string().starts_with("line 3:"), "{e}");
        let e = tree("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260101T090000Z\nbroken\nEND:VEVENT\nEND:VCALENDAR\n")
            .unwrap_err();
        assert!(e.to_string().starts_with("line 4:"), "{e}");
    }
}
