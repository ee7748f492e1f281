//! Updatefb.exe's input file (KB 294282): one mailbox per line, `<alias>, <home server>`.
//!
//! Owns [`parse`], pure. Blank lines and lines starting with `#` are skipped; a UTF-8 byte
//! order mark and CRLF line ends (files written on Windows) are accepted. Every other line
//! gives an [`UpdatefbLine`] or a [`LineError`] naming the line, so one bad line never
//! hides the others. The home server is kept for reports only: schedplus is the one
//! server, so it is not checked.

/// A mailbox to republish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdatefbLine {
    /// 1-based line number in the file.
    pub line: usize,
    /// The alias (an SMTP address or legacyDN also resolves).
    pub alias: String,
    pub server: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    pub line: usize,
    pub reason: String,
}

/// Every mailbox line of `text`, in file order.
pub fn parse(text: &str) -> Vec<Result<UpdatefbLine, LineError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') {
                return None;
            }
            Some(parse_line(line, t))
        })
        .collect()
}

fn parse_line(line: usize, t: &str) -> Result<UpdatefbLine, LineError> {
    let err = |reason: String| LineError { line, reason };
    let fields: Vec<&str> = t.split(',').map(str::trim).collect();
    match fields.as_slice() {
        [alias, server] => {
            if alias.is_empty() {
                return Err(err(format!("'{t}' has no alias before the comma")));
            }
            if server.is_empty() {
                return Err(err(format!(
                    "'{t}' has no home server after the comma; write '<alias>, <home server>'"
                )));
            }
            if alias.chars().any(char::is_whitespace) {
                return Err(err(format!("alias '{alias}' contains a space")));
            }
            Ok(UpdatefbLine {
                line,
                alias: alias.to_string(),
                server: server.to_string(),
            })
        }
        [_] => Err(err(format!(
            "'{t}' has no comma; write '<alias>, <home server>'"
        ))),
        _ => Err(err(format!(
            "'{t}' has {} fields; write '<alias>, <home server>'",
            fields.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_errors() {
        let text = "\u{feff}# mailboxes to refresh\r\ndwinship, EXCH01\r\n\r\n  kbaker ,EXCH01  \njust-a-name\n, EXCH02\nbob smith, EXCH01\na, b, c\nlchen,\n";
        let got = parse(text);
        assert_eq!(
            got[0],
            Ok(UpdatefbLine {
                line: 2,
                alias: "dwinship".into(),
                server: "EXCH01".into()
            })
        );
        assert_eq!(got[1].as_ref().unwrap().alias, "kbaker");
        assert_eq!(got[1].as_ref().unwrap().line, 4);
        let errs: Vec<String> = got[2..]
            .iter()
            .map(|r| r.as_ref().unwrap_err().to_string())
            .collect();
        assert_eq!(errs.len(), 5);
        assert!(
            errs[0].starts_with("line 5: 'just-a-name' has no comma"),
            "{}",
            errs[0]
        );
        assert!(errs[1].starts_with("line 6: ") && errs[1].contains("no alias"));
        assert!(errs[2].contains("contains a space"));
        assert!(errs[3].starts_with("line 8: ") && errs[3].contains("3 fields"));
        assert!(errs[4].contains("no home server"));
    }
}
