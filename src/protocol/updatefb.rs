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

    /// A file written on Windows (byte order mark, CRLF), with a comment and a blank line:
    /// each mailbox line gives its alias and server, each bad line its numbered error.
    #[test]
    fn lines_comments_and_errors() {
        let text = "\u{feff}# mailboxes to refresh\r\ndwinship, EXCH01\r\n\r\n  kbaker ,EXCH01  \njust-a-name\n, EXCH02\nbob smith, EXCH01\na, b, c\nlchen,\n";
        let said: Vec<String> = parse(text)
            .into_iter()
            .map(|r| match r {
                Ok(m) => format!("line {}: {} on {}", m.line, m.alias, m.server),
                Err(e) => e.to_string(),
            })
            .collect();
        let want = [
            "line 2: dwinship on EXCH01",
            "line 4: kbaker on EXCH01",
            "line 5: 'just-a-name' has no comma; write '<alias>, <home server>'",
            "line 6: ', EXCH02' has no alias before the comma",
            "line 7: alias 'bob smith' contains a space",
            "line 8: 'a, b, c' has 3 fields; write '<alias>, <home server>'",
            "line 9: 'lchen,' has no home server after the comma; write '<alias>, <home server>'",
        ];
        assert_eq!(said, want);
    }
}
