//! Reading a public-folder server's answer to `?Cmd=freebusy` (the `<a:response
//! xmlns:a="WM">` document of PROTOCOL.md §3), as the CAS did.
//!
//! The user items are read in order (the All Attendees item, which has no `email`, is
//! skipped); each must carry `fbdata` made of the digits 0-4. Anything else (not XML, not
//! that document, letters in the digits) is a failed answer, so the front end fails over
//! to the next server as it does for a refused connection.

use super::tree;
use crate::protocol::dav_xml::XmlLimits;

/// One user item: the address as echoed and its digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyItem {
    pub email: String,
    pub fbdata: Vec<u8>,
}

/// The user items of an answer, in order.
pub fn parse_answer(body: &[u8], limits: &XmlLimits) -> Result<Vec<LegacyItem>, String> {
    let root = tree::parse(body, limits).map_err(|e| e.to_string())?;
    if root.ns != "WM" || root.local != "response" {
        return Err(format!(
            "the answer's root is {{{}}}{}, not the WM response",
            root.ns, root.local
        ));
    }
    let recipients = root
        .child("recipients")
        .ok_or("the answer has no recipients element")?;
    let mut items = Vec::new();
    for item in recipients.children_named("item") {
        let Some(email) = item.child("email") else {
            continue;
        };
        let fb = item
            .child_text("fbdata")
            .ok_or_else(|| format!("the item of {} has no fbdata", email.text.trim()))?;
        if !fb.bytes().all(|b| (b'0'..=b'4').contains(&b)) {
            return Err(format!(
                "the fbdata of {} holds something other than the digits 0-4",
                email.text.trim()
            ));
        }
        items.push(LegacyItem {
            email: email.text.trim().to_string(),
            fbdata: fb.as_bytes().to_vec(),
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_items_after_all_attendees() {
        let body = br#"<?xml version="1.0"?><a:response xmlns:a="WM"><a:recipients>
<a:item><a:displayname>All Attendees</a:displayname><a:type>1</a:type><a:fbdata>0220</a:fbdata></a:item>
<a:item><a:displayname>Dan</a:displayname><a:email type="SMTP">danw@xcs.example</a:email><a:type>1</a:type><a:fbdata>0220</a:fbdata></a:item>
<a:item><a:displayname>x</a:displayname><a:email type="SMTP">x@y</a:email><a:type>1</a:type><a:fbdata>4444</a:fbdata></a:item>
</a:recipients></a:response>"#;
        let items = parse_answer(body, &XmlLimits::default()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].email, "danw@xcs.example");
        assert_eq!(items[0].fbdata, b"0220");
        assert_eq!(items[1].fbdata, b"4444");
    }

    #[test]
    fn an_html_page_or_letters_are_a_failed_answer() {
        assert!(parse_answer(b"<html><body>OWA</body></html>", &XmlLimits::default()).is_err());
        let bad = br#"<a:response xmlns:a="WM"><a:recipients><a:item><a:email>a@b</a:email><a:fbdata>02x</a:fbdata></a:item></a:recipients></a:response>"#;
        let e = parse_answer(bad, &XmlLimits::default()).unwrap_err();
        assert!(e.contains("a@b"), "{e}");
    }
}
