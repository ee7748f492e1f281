//! Fault rules: what a lab server answers wrongly on purpose, and to which requests (issue
//! 14 item 5). Pure: the grammar ([`FaultRule`]'s `FromStr`, whose errors name the bad
//! token), the match against what a request names ([`RequestFacts`]) and the set of rules
//! with its seeded random draws and counts ([`FaultSet`]). The runtime that answers
//! (`transport/faults.rs`) and the admin operations that change the set (`app/ops/fault_*`)
//! sit above.
//!
//! A rule is one line: the fault first, then matchers, in any order, separated by spaces:
//!
//! ```text
//! 503 path=/public/?Cmd=freebusy group=EX:/o=Org/ou=AG1 p=0.5
//! reset count=3 method=GET
//! delay=250ms user=jan@example.com
//! ```
//!
//! Faults: `403` (IIS's "SSL required", as Exchange answered when `/public` required SSL),
//! `503` (no replica), `401`, `500`, `delay=DURATION` (then the normal answer), `hang`
//! (no answer until the client gives up), `reset` (the connection is closed unanswered).
//! Matchers: `method=GET[,POST…]`, `path=PATTERN` (a prefix of the path and query, or with
//! `*` a whole-string glob; `%XX` escapes decoded, case ignored), `user=NAME` (an address,
//! alias or legacyDN the request names), `group=EX:/o=Org/ou=AG` (`EX:` optional), `p=P` (the
//! rule fires with probability P of a match) and `count=N` (it fires on the first N matches
//! only). A rule without matchers fires on every request.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// What an injected fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// 403 with IIS's page for a resource that requires SSL (403.4).
    SslRequired,
    /// 503: no replica of the folder on this server.
    NoReplica,
    /// 401 with a Basic challenge.
    Unauthorized,
    /// 500.
    ServerError,
    /// Wait, then answer as usual.
    Delay(Duration),
    /// Never answer; the client's own timeout ends the request.
    Hang,
    /// Close the connection without an answer.
    Reset,
}

impl FaultKind {
    /// The name in rules, logs and the metric's `kind` label.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::SslRequired => "403",
            FaultKind::NoReplica => "503",
            FaultKind::Unauthorized => "401",
            FaultKind::ServerError => "500",
            FaultKind::Delay(_) => "delay",
            FaultKind::Hang => "hang",
            FaultKind::Reset => "reset",
        }
    }
}

/// One rule: a fault and the requests it applies to. `methods` are upper-case (none: any);
/// `path`, `user` and `group` decoded and lower-cased, `group` without `EX:`, `path` with
/// `*` matching any run of characters; `p` is the chance a match fires, in (0, 1]; `count`
/// limits it to the first matches.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    kind: FaultKind,
    methods: Vec<String>,
    path: Option<String>,
    user: Option<String>,
    group: Option<String>,
    p: f64,
    count: Option<u64>,
}

/// A rule that does not parse: the rule and the token at fault, in a sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("fault rule '{rule}': {reason}")]
pub struct FaultRuleError {
    pub rule: String,
    pub reason: String,
}

const KEYS: &str = "method, path, user, group, p, count";
const FAULTS: &str = "403, 503, 401, 500, delay=DURATION, hang, reset";

impl FromStr for FaultRule {
    type Err = FaultRuleError;

    fn from_str(text: &str) -> Result<FaultRule, FaultRuleError> {
        let fail = |reason: String| FaultRuleError {
            rule: text.trim().to_string(),
            reason,
        };
        let mut tokens = text.split_whitespace();
        let first = tokens
            .next()
            .ok_or_else(|| fail(format!("empty; a rule starts with a fault: {FAULTS}")))?;
        let kind = parse_kind(first).map_err(fail)?;
        let mut rule = FaultRule {
            kind,
            methods: Vec::new(),
            path: None,
            user: None,
            group: None,
            p: 1.0,
            count: None,
        };
        for token in tokens {
            let (key, value) = token
                .split_once('=')
                .filter(|(_, v)| !v.is_empty())
                .ok_or_else(|| fail(format!("'{token}' is not KEY=VALUE (keys: {KEYS})")))?;
            let bad = |why: &str| fail(format!("'{token}': {why}"));
            match key.to_ascii_lowercase().as_str() {
                "method" => {
                    rule.methods = value
                        .split(',')
                        .map(|m| m.trim().to_ascii_uppercase())
                        .collect();
                    if rule.methods.iter().any(|m| {
                        m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
                    }) {
                        return Err(bad("a method is a word, e.g. GET or PROPPATCH"));
                    }
                }
                "path" => rule.path = Some(fold(&decode(value))),
                "user" => rule.user = Some(fold(&decode(value))),
                "group" => rule.group = Some(group_key(&decode(value))),
                "p" => {
                    rule.p = value
                        .parse::<f64>()
                        .ok()
                        .filter(|p| *p > 0.0 && *p <= 1.0)
                        .ok_or_else(|| bad("p is a probability above 0 and at most 1"))?;
                }
                "count" => {
                    rule.count = Some(
                        value
                            .parse::<u64>()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| bad("count is a whole number above 0"))?,
                    );
                }
                _ => {
                    return Err(fail(format!(
                        "unknown key '{key}' in '{token}' (keys: {KEYS})"
                    )));
                }
            }
        }
        Ok(rule)
    }
}

fn parse_kind(token: &str) -> Result<FaultKind, String> {
    if let Some((key, value)) = token.split_once('=') {
        if key.eq_ignore_ascii_case("delay") {
            return parse_delay(value).map(FaultKind::Delay).ok_or_else(|| {
                format!("'{token}': a delay is a duration, e.g. delay=250ms or delay=2s")
            });
        }
    }
    Ok(match token.to_ascii_lowercase().as_str() {
        "403" => FaultKind::SslRequired,
        "503" => FaultKind::NoReplica,
        "401" => FaultKind::Unauthorized,
        "500" => FaultKind::ServerError,
        "hang" => FaultKind::Hang,
        "reset" => FaultKind::Reset,
        "delay" => return Err("'delay' needs its duration: delay=250ms".into()),
        _ => return Err(format!("'{token}' is not a fault (faults: {FAULTS})")),
    })
}

/// `250ms`, `2s`, `1m`, or a bare number of milliseconds.
fn parse_delay(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: u64 = v[..split].parse().ok()?;
    match &v[split..] {
        "" | "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

/// `%XX` escapes decoded (so a rule can name `SCHEDULE%2B%20FREE%20BUSY`, or a `;`).
pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// An admin group as compared: without `EX:`, lower-cased.
fn group_key(s: &str) -> String {
    let s = s.trim();
    let s = match s.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("EX:") => &s[3..],
        _ => s,
    };
    fold(s)
}

/// `*` in `pattern` matches any run of characters; the rest must match exactly.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

impl fmt::Display for FaultRule {
    /// The rule in its canonical form (what `fault list` prints, and parses back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FaultKind::Delay(d) => write!(f, "delay={}ms", d.as_millis())?,
            k => f.write_str(k.name())?,
        }
        let enc =
            |s: &str| percent_encoding::utf8_percent_encode(s, &SPACES_AND_SEMICOLONS).to_string();
        if !self.methods.is_empty() {
            write!(f, " method={}", self.methods.join(","))?;
        }
        if let Some(p) = &self.path {
            write!(f, " path={}", enc(p))?;
        }
        if let Some(u) = &self.user {
            write!(f, " user={}", enc(u))?;
        }
        if let Some(g) = &self.group {
            write!(f, " group=EX:{}", enc(g))?;
        }
        if self.p < 1.0 {
            write!(f, " p={}", self.p)?;
        }
        if let Some(n) = self.count {
            write!(f, " count={n}")?;
        }
        Ok(())
    }
}

/// What must be escaped to keep a value one token of one rule of a `;`-list.
const SPACES_AND_SEMICOLONS: percent_encoding::AsciiSet = percent_encoding::CONTROLS
    .add(b' ')
    .add(b';')
    .add(b'%')
    .add(b'\t');

/// The rules of a `;`-separated list (the `faults` setting); empty items are skipped.
pub fn parse_rules(list: &str) -> Result<Vec<FaultRule>, FaultRuleError> {
    list.split(';')
        .filter(|r| !r.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// What a request names, as the rules compare it (all lower-cased by [`RequestFacts::new`]).
#[derive(Clone, Debug, Default)]
pub struct RequestFacts {
    method: String,
    /// The decoded path, then `?` and the decoded query if there is one.
    target: String,
    /// Every name of every user the request names: addresses, aliases, legacyDNs.
    users: Vec<String>,
    /// Admin groups, without `EX:`.
    groups: Vec<String>,
}

impl RequestFacts {
    pub fn new(method: &str, path: &str, query: Option<&str>) -> RequestFacts {
        let mut target = decode(path);
        if let Some(q) = query {
            target.push('?');
            target.push_str(&decode(q));
        }
        RequestFacts {
            method: method.to_ascii_uppercase(),
            target: fold(&target),
            users: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// A name of a user the request names (`SMTP:` dropped).
    pub fn add_user(&mut self, name: &str) {
        let name = name.trim();
        let name = match name.get(..5) {
            Some(p) if p.eq_ignore_ascii_case("SMTP:") => &name[5..],
            _ => name,
        };
        if name.is_empty() {
            return;
        }
        self.users.push(fold(name));
        // A legacyDN names its admin group too.
        if name.starts_with('/')
            && let Ok(dn) = crate::protocol::legacy_dn::LegacyDn::parse(name)
        {
            self.add_group(dn.admin_group().as_str());
        }
    }

    pub fn add_group(&mut self, group: &str) {
        let g = group_key(group);
        if !g.is_empty() && !self.groups.contains(&g) {
            self.groups.push(g);
        }
    }

    /// The admin groups the request names (without `EX:`), first found first.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    pub fn users(&self) -> &[String] {
        &self.users
    }
}

impl FaultRule {
    /// Whether this rule applies to a request naming `facts` (before `p` and `count`).
    pub fn matches(&self, facts: &RequestFacts) -> bool {
        let method = self.methods.is_empty() || self.methods.contains(&facts.method);
        let path = self.path.as_deref().is_none_or(|p| {
            if p.contains('*') {
                glob(p, &facts.target)
            } else {
                facts.target.starts_with(p)
            }
        });
        let user = self
            .user
            .as_deref()
            .is_none_or(|u| facts.users.iter().any(|n| n == u));
        let group = self
            .group
            .as_deref()
            .is_none_or(|g| facts.groups.iter().any(|n| n == g));
        method && path && user && group
    }

    /// Whether matching needs the directory (the request's users' other names and groups).
    pub fn names_users(&self) -> bool {
        self.user.is_some() || self.group.is_some()
    }
}

/// A rule in a [`FaultSet`], with its number and what it has done so far.
#[derive(Clone, Debug)]
pub struct ArmedRule {
    /// Its number, fixed for the life of the set (`fault clear --rule N`, logs, metrics).
    pub id: u32,
    pub rule: FaultRule,
    pub matched: u64,
    pub fired: u64,
}

/// A rule that fired on a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Fired {
    pub id: u32,
    pub kind: FaultKind,
    /// The rule's canonical text, for the log.
    pub rule: String,
}

/// A server's rules, in order, with the random draws of `p=` from one seeded generator: the
/// same seed and the same requests fire the same faults.
#[derive(Clone, Debug)]
pub struct FaultSet {
    seed: u64,
    rng: fastrand::Rng,
    next_id: u32,
    rules: Vec<ArmedRule>,
}

impl FaultSet {
    pub fn new(seed: u64, rules: Vec<FaultRule>) -> FaultSet {
        let mut set = FaultSet {
            seed,
            rng: fastrand::Rng::with_seed(seed),
            next_id: 1,
            rules: Vec::new(),
        };
        for r in rules {
            set.add(r);
        }
        set
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Add a rule at the end; its number.
    pub fn add(&mut self, rule: FaultRule) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.rules.push(ArmedRule {
            id,
            rule,
            matched: 0,
            fired: 0,
        });
        id
    }

    /// Remove rule `id`, or every rule; how many went.
    pub fn clear(&mut self, id: Option<u32>) -> usize {
        let before = self.rules.len();
        match id {
            Some(id) => self.rules.retain(|r| r.id != id),
            None => self.rules.clear(),
        }
        before - self.rules.len()
    }

    pub fn rules(&self) -> &[ArmedRule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether a request's users must be looked up in the directory to match.
    pub fn names_users(&self) -> bool {
        self.rules.iter().any(|r| r.rule.names_users())
    }

    /// The first rule that fires on a request naming `facts`: every matching rule counts
    /// the match; a rule past its `count` is skipped; `p` is drawn per match.
    pub fn decide(&mut self, facts: &RequestFacts) -> Option<Fired> {
        for armed in &mut self.rules {
            if !armed.rule.matches(facts) {
                continue;
            }
            armed.matched += 1;
            if armed.rule.count.is_some_and(|n| armed.fired >= n) {
                continue;
            }
            if armed.rule.p < 1.0 && self.rng.f64() >= armed.rule.p {
                continue;
            }
            armed.fired += 1;
            return Some(Fired {
                id: armed.id,
                kind: armed.rule.kind,
                rule: armed.rule.to_string(),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> FaultRule {
        s.parse().unwrap()
    }

    fn err(s: &str) -> String {
        s.parse::<FaultRule>().unwrap_err().to_string()
    }

    fn freebusy(u: &str) -> RequestFacts {
        let mut f = RequestFacts::new(
            "GET",
            "/public/",
            Some(&format!("Cmd=freebusy&start=x&u={u}")),
        );
        f.add_user(u);
        f
    }

    #[test]
    fn the_grammar_reads_every_fault_and_key() {
        let r = rule("503 path=/public/?Cmd=freebusy group=EX:/o=Org/ou=AG1 p=0.5");
        assert_eq!(r.kind, FaultKind::NoReplica);
        assert_eq!(r.path.as_deref(), Some("/public/?cmd=freebusy"));
        assert_eq!(r.group.as_deref(), Some("/o=org/ou=ag1"));
        assert_eq!(r.p, 0.5);
        let r = rule("reset count=3 method=get,Post");
        assert_eq!(r.kind, FaultKind::Reset);
        assert_eq!(r.count, Some(3));
        assert_eq!(r.methods, ["GET", "POST"]);
        assert_eq!(
            rule("delay=250ms").kind,
            FaultKind::Delay(Duration::from_millis(250))
        );
        assert_eq!(
            rule("DELAY=2s").kind,
            FaultKind::Delay(Duration::from_secs(2))
        );
        for (text, kind) in [
            ("403", FaultKind::SslRequired),
            ("401", FaultKind::Unauthorized),
            ("500", FaultKind::ServerError),
            ("hang", FaultKind::Hang),
        ] {
            assert_eq!(rule(text).kind, kind);
        }
    }

    #[test]
    fn parse_errors_name_the_bad_token() {
        assert!(
            err("502").contains("'502' is not a fault"),
            "{}",
            err("502")
        );
        assert!(err("503 pth=/x").contains("unknown key 'pth' in 'pth=/x'"));
        assert!(err("503 p=2").contains("'p=2': p is a probability"));
        assert!(err("503 count=0").contains("'count=0'"));
        assert!(err("503 path").contains("'path' is not KEY=VALUE"));
        assert!(err("delay=soon").contains("'delay=soon'"));
        assert!(err("delay").contains("needs its duration"));
        assert!(err("  ").contains("empty"));
        assert!(err("hang method=G3T").contains("'method=G3T'"));
        assert!(err("503 p=0.5 oops").starts_with("fault rule '503 p=0.5 oops':"));
    }

    #[test]
    fn a_rule_prints_as_it_parses_back() {
        for text in [
            "503 path=/public/?cmd=freebusy group=EX:/o=org/ou=ag1 p=0.5",
            "reset method=GET count=3",
            "delay=250ms user=jan@example.com",
            "403 path=/public/non_ipm_subtree/schedule+%20free%20busy/*",
        ] {
            let r = rule(text);
            assert_eq!(r.to_string(), text);
            assert_eq!(rule(&r.to_string()), r);
        }
    }

    #[test]
    fn a_list_is_split_on_semicolons() {
        let rules = parse_rules("503 count=1; ;hang method=PROPFIND").unwrap();
        assert_eq!(rules.len(), 2);
        let e = parse_rules("503; 999").unwrap_err().to_string();
        assert!(e.contains("'999'"), "{e}");
    }

    #[test]
    fn paths_match_by_prefix_or_glob_any_case() {
        let f = RequestFacts::new("GET", "/public/", Some("Cmd=freebusy&u=SMTP:a%40b.example"));
        assert!(rule("500 path=/PUBLIC/?cmd=freebusy").matches(&f));
        assert!(!rule("500 path=/public/x").matches(&f));
        assert!(rule("500 path=*u=smtp:a@b.example").matches(&f));
        assert!(!rule("500 path=*u=smtp:a@b").matches(&f));
        assert!(rule("500 path=/pub*freebusy*").matches(&f));
        let m = RequestFacts::new(
            "PROPPATCH",
            "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Org",
            None,
        );
        assert!(rule("hang path=/public/non_ipm_subtree/schedule+%20free%20busy/").matches(&m));
        assert!(rule("hang method=PROPPATCH").matches(&m));
        assert!(!rule("hang method=GET").matches(&m));
    }

    #[test]
    fn users_and_groups_match_by_any_name() {
        let f = freebusy("SMTP:Jan@Example.com");
        assert!(rule("503 user=jan@example.com").matches(&f));
        assert!(!rule("503 user=piet@example.com").matches(&f));
        assert!(
            !rule("503 group=/o=Org/ou=AG1").matches(&f),
            "no group known yet"
        );
        let dn = "/o=Org/ou=AG1/cn=Recipients/cn=jan";
        let f = freebusy(dn);
        assert!(rule("503 group=EX:/o=org/ou=ag1").matches(&f));
        assert!(rule("503 group=/o=Org/ou=AG1").matches(&f));
        assert!(!rule("503 group=/o=Org/ou=AG2").matches(&f));
        assert!(rule(&format!("503 user={dn}")).matches(&f));
    }

    #[test]
    fn count_fires_the_first_matches_only() {
        let mut set = FaultSet::new(1, vec![rule("500 count=2"), rule("401")]);
        let f = RequestFacts::new("GET", "/", None);
        let kinds: Vec<_> = (0..4).map(|_| set.decide(&f).unwrap().kind).collect();
        assert_eq!(
            kinds,
            [
                FaultKind::ServerError,
                FaultKind::ServerError,
                FaultKind::Unauthorized,
                FaultKind::Unauthorized
            ]
        );
        assert_eq!(set.rules()[0].matched, 4);
        assert_eq!(set.rules()[0].fired, 2);
        assert_eq!(set.rules()[1].fired, 2);
    }

    #[test]
    fn a_seed_gives_the_same_draws() {
        let f = RequestFacts::new("GET", "/", None);
        let run = |seed| {
            let mut set = FaultSet::new(seed, vec![rule("503 p=0.3")]);
            (0..200)
                .map(|_| set.decide(&f).is_some())
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        let fired = a.iter().filter(|x| **x).count();
        assert!((30..=90).contains(&fired), "about 30% of 200: {fired}");
        assert_ne!(a, run(8));
    }

    #[test]
    fn ids_stay_with_their_rules() {
        let mut set = FaultSet::new(0, vec![rule("500"), rule("401")]);
        assert_eq!(set.clear(Some(1)), 1);
        assert_eq!(set.add(rule("403")), 3);
        let ids: Vec<u32> = set.rules().iter().map(|r| r.id).collect();
        assert_eq!(ids, [2, 3]);
        assert_eq!(set.clear(Some(9)), 0);
        assert_eq!(set.clear(None), 2);
        assert!(set.is_empty());
    }
}
