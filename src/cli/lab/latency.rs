//! `lab latency`: how long a calendar change takes to reach every server's `?Cmd=freebusy`
//! answer (and the EWS front end's answer of a `cas` or `both` server), beside Exchange's formulas: P on the home
//! server, P + R one replication hop away, P + nR + mF across n replication and m Exchsync
//! hops (issue 14 item 6).
//!
//! Each sample waits a random part of P (so changes fall anywhere in the poller's period),
//! writes the probe user's calendar into its home server's calendar directory with one busy
//! half hour that differs from the previous sample's (the server publishes it at its next
//! poll, every P, as Outlook published every P: a `PUT /calendars/` would publish at once),
//! and asks every server every [`PROBE`] until its answer shows that half hour busy and the
//! previous one free.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::spec::{AdminGroupSpec, Intervals, LabSpec, Organization, folder};
use super::up::{Lab, LabServer, LabState, LabUser, agent, generated_users, healthy};
use crate::app::Error;
use crate::cli::print::Progress;

/// How often each server is asked while a change is awaited.
const PROBE: Duration = Duration::from_millis(100);

/// Half hours of the probed day that samples use in turn (08:00 to 16:00 UTC).
const SLOTS: usize = 16;
const FIRST_SLOT: usize = 16;

/// Where a change is looked for, and the bound it should arrive within.
struct Target {
    label: String,
    url: String,
    /// `?Cmd=freebusy` or the EWS front end.
    ews: bool,
    /// The formula, its hop counts and its value; `None` when no path reaches the server.
    bound: Option<(String, Duration)>,
    seen: Vec<Duration>,
    missed: usize,
}

pub fn latency(
    file: &Path,
    dir: Option<PathBuf>,
    samples: usize,
    slack: Duration,
) -> Result<(), Error> {
    let spec = LabSpec::read(file)?;
    let iv = spec
        .intervals()
        .map_err(|(k, e)| Error::BadInput(format!("{}: {k}: {e}", file.display())))?;
    let dir = dir.unwrap_or_else(|| PathBuf::from(format!("./lab-{}", spec.name)));
    let running = LabState::find(Some(&dir))
        .ok()
        .filter(|s| s.servers.iter().all(|x| healthy(&x.url)));
    // A lab started here is stopped when this returns (`Lab`'s drop).
    let (state, _started) = match running {
        Some(s) => (s, None),
        None => {
            eprintln!("starting lab {} in {}", spec.name, dir.display());
            let lab = Lab::start(spec.clone(), &dir)?;
            (lab.state.clone(), Some(lab))
        }
    };
    let (org, group, user) = probe_user(&spec)?;
    let group_folder = folder(&org.name, &group.name);
    let home = spec
        .home_of(org, group)
        .ok_or_else(|| Error::BadInput(format!("no server holds a replica of {group_folder}")))?;
    let home = state
        .servers
        .iter()
        .find(|s| s.name == home.name)
        .expect("started");
    let mut targets = targets(&spec, &state, home, &group_folder, iv);
    let calendar_dir = match spec.server(&home.name).and_then(|s| s.calendars.as_ref()) {
        Some(d) => spec.resolve(d),
        None => state.dir.join(&home.name).join("calendars"),
    };
    println!(
        "lab {}: {samples} changes of {}'s calendar on {} (P = {}, R = {}, F = {}; slack {} for the measuring)",
        spec.name,
        user.mail,
        home.name,
        secs(iv.p),
        secs(iv.r),
        secs(iv.f),
        secs(slack)
    );
    let day = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(1))
        .map_err(|e| Error::Internal(e.to_string()))?;
    let client = agent(Duration::from_secs(10));
    let mut rng = fastrand::Rng::new();
    let progress = Progress::new(samples);
    for k in 0..samples {
        std::thread::sleep(iv.p.mul_f64(rng.f64()));
        let slot = FIRST_SLOT + k % SLOTS;
        let previous = (k > 0).then(|| FIRST_SLOT + (k - 1) % SLOTS);
        let started = Instant::now();
        write_calendar(&calendar_dir, &user.alias, day, slot)?;
        let mut waiting: Vec<usize> = (0..targets.len())
            .filter(|i| targets[*i].bound.is_some() && targets[*i].missed < 2)
            .collect();
        while !waiting.is_empty() {
            let now = started.elapsed();
            waiting.retain(|&i| {
                let t = &mut targets[i];
                let (_, bound) = t.bound.as_ref().expect("filtered");
                if visible(&client, t, &user.mail, day, slot, previous) {
                    t.seen.push(started.elapsed());
                    return false;
                }
                if now > *bound * 2 + Duration::from_secs(2) {
                    t.missed += 1;
                    return false;
                }
                true
            });
            std::thread::sleep(PROBE);
        }
        progress.show(k + 1, "samples");
    }
    progress.finish();
    print_table(&targets, slack)
}

/// The first generated user of the first admin group with generated users.
fn probe_user(spec: &LabSpec) -> Result<(&Organization, &AdminGroupSpec, LabUser), Error> {
    for o in &spec.organizations {
        for g in &o.admin_groups {
            if let Some(n) = g.users.filter(|n| *n > 0) {
                let user = generated_users(&o.name, &g.name, n).remove(0);
                return Ok((o, g, user));
            }
        }
    }
    Err(Error::BadInput(format!(
        "{}: lab latency needs an admin group with generated users (users = N)",
        spec.file.display()
    )))
}

/// Every server that should come to show the change, with its bound: Dijkstra over
/// replication hops (R, between servers of one organization holding the folder) and
/// Exchsync links (F).
fn targets(
    spec: &LabSpec,
    state: &LabState,
    home: &LabServer,
    group_folder: &str,
    iv: Intervals,
) -> Vec<Target> {
    let holds = |s: &LabServer| {
        s.role != "cas"
            && (s
                .replicas
                .iter()
                .any(|r| r.eq_ignore_ascii_case(group_folder))
                || (!s.organization.eq_ignore_ascii_case(&home.organization)
                    && spec.server(&s.name).is_some_and(|x| x.replicas.is_empty())))
    };
    let n = state.servers.len();
    // (time, replication hops, exchsync hops) from the home server.
    let mut best: Vec<Option<(Duration, u32, u32)>> = vec![None; n];
    let start = state
        .servers
        .iter()
        .position(|s| s.name == home.name)
        .expect("home");
    best[start] = Some((iv.p, 0, 0));
    let mut done = vec![false; n];
    while let Some(u) = (0..n)
        .filter(|i| !done[*i] && best[*i].is_some())
        .min_by_key(|i| best[*i].map(|b| b.0))
    {
        done[u] = true;
        let (t, hops_r, hops_f) = best[u].expect("reached");
        let from = &state.servers[u];
        for (v, to) in state.servers.iter().enumerate() {
            if v == u || !holds(to) {
                continue;
            }
            let replication = from.organization.eq_ignore_ascii_case(&to.organization);
            let link = spec.links.iter().any(|l| {
                l.from.eq_ignore_ascii_case(&from.name)
                    && l.to.eq_ignore_ascii_case(&to.name)
                    && l.folders.iter().any(|f| {
                        f == "*" || folder(&from.organization, f).eq_ignore_ascii_case(group_folder)
                    })
            });
            let step = if replication {
                Some((t + iv.r, hops_r + 1, hops_f))
            } else if link {
                Some((t + iv.f, hops_r, hops_f + 1))
            } else {
                None
            };
            if let Some(s) = step
                && best[v].is_none_or(|b| s.0 < b.0)
            {
                best[v] = Some(s);
            }
        }
    }
    let formula = |(t, r, f): (Duration, u32, u32)| {
        let mut text = "P".to_string();
        match r {
            0 => {}
            1 => text.push_str(" + R"),
            r => text.push_str(&format!(" + {r}R")),
        }
        match f {
            0 => {}
            1 => text.push_str(" + F"),
            f => text.push_str(&format!(" + {f}F")),
        }
        (format!("{text} = {}", secs(t)), t)
    };
    let mut out = Vec::new();
    for (i, s) in state.servers.iter().enumerate().filter(|(_, s)| holds(s)) {
        // A `both` server's EWS front end answers from its own store: the same bound.
        let ews = [false]
            .into_iter()
            .chain((s.role == "both").then_some(true));
        for ews in ews {
            let way = if ews { "EWS" } else { "?Cmd=freebusy" };
            out.push(Target {
                label: format!("{} {way}", s.name),
                url: s.url.clone(),
                ews,
                bound: best[i].map(formula),
                seen: Vec::new(),
                missed: 0,
            });
        }
    }
    // A front end asks the servers of its organization holding the folder: it shows the
    // change once the slowest of them does.
    for s in state.servers.iter().filter(|s| s.role == "cas") {
        let worst = state
            .servers
            .iter()
            .enumerate()
            .filter(|(_, o)| holds(o) && o.organization.eq_ignore_ascii_case(&s.organization))
            .filter_map(|(i, _)| best[i])
            .max_by_key(|b| b.0);
        out.push(Target {
            label: format!("{} EWS", s.name),
            url: s.url.clone(),
            ews: true,
            bound: worst.map(formula),
            seen: Vec::new(),
            missed: 0,
        });
    }
    out
}

/// The probe user's calendar, one busy half hour (`slot` of `day`), written whole (a
/// temporary file renamed) so the poller never reads half of it.
fn write_calendar(
    dir: &Path,
    alias: &str,
    day: jiff::civil::Date,
    slot: usize,
) -> Result<(), Error> {
    let start = day
        .to_datetime(jiff::civil::time(0, 0, 0, 0))
        .checked_add(jiff::Span::new().minutes(30 * slot as i64))
        .map_err(|e| Error::Internal(e.to_string()))?;
    let end = start
        .checked_add(jiff::Span::new().minutes(30))
        .map_err(|e| Error::Internal(e.to_string()))?;
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//schedplus//lab latency//EN\r\nBEGIN:VEVENT\r\nUID:lab-latency\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}Z\r\nDTEND:{}Z\r\nSUMMARY:latency probe\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        start.strftime("%Y%m%dT%H%M%S"),
        end.strftime("%Y%m%dT%H%M%S")
    );
    let path = dir.join(format!("{alias}.ics"));
    let tmp = dir.join(format!(".{alias}.ics.tmp"));
    std::fs::write(&tmp, ics)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| Error::Unavailable(format!("cannot write {}: {e}", path.display())))
}

/// Does `t` show `slot` busy (and `previous` free) for `mail` on `day`?
fn visible(
    client: &ureq::Agent,
    t: &Target,
    mail: &str,
    day: jiff::civil::Date,
    slot: usize,
    previous: Option<usize>,
) -> bool {
    let start = day.strftime("%Y-%m-%dT00:00:00").to_string();
    let end = day
        .checked_add(jiff::Span::new().days(1))
        .map(|d| d.strftime("%Y-%m-%dT00:00:00").to_string())
        .unwrap_or_default();
    let answer = if t.ews {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><s:Body><m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias></t:TimeZone><m:MailboxDataArray><t:MailboxData><t:Email><t:Address>{mail}</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData></m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>{start}</t:StartTime><t:EndTime>{end}</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>30</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>DetailedMerged</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest></s:Body></s:Envelope>"
        );
        client
            .post(format!("{}/EWS/Exchange.asmx", t.url))
            .header("content-type", "text/xml; charset=utf-8")
            .send(body.as_bytes())
    } else {
        client
            .get(format!(
                "{}/public/?Cmd=freebusy&start={start}Z&end={end}Z&interval=30&u=SMTP:{mail}",
                t.url
            ))
            .call()
    };
    let Ok(mut resp) = answer else {
        return false;
    };
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    // One mailbox: EWS's first `MergedFreeBusy` (the opening tag); the query's last
    // `fbdata` (the user's row, after All Attendees).
    let row = if t.ews {
        text.split_once("MergedFreeBusy>")
    } else {
        text.rsplit_once("<a:fbdata>")
    };
    let Some(digits) = row.and_then(|(_, rest)| rest.split('<').next()) else {
        return false;
    };
    let at = |i: usize| digits.as_bytes().get(i).copied();
    at(slot) == Some(b'2') && previous.is_none_or(|p| at(p) == Some(b'0'))
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The `q`-quantile of sorted `v` (nearest rank).
fn quantile(v: &[Duration], q: f64) -> Duration {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// The table; an error (exit 1) when a maximum exceeds its bound plus `slack`, or a
/// server never showed a change.
fn print_table(targets: &[Target], slack: Duration) -> Result<(), Error> {
    println!(
        "  {:<22} {:<22} {:>8} {:>8} {:>8} {:>7}  verdict",
        "where", "bound", "p50", "p95", "max", "seen"
    );
    let mut failed = Vec::new();
    for t in targets {
        let mut v = t.seen.clone();
        v.sort();
        let (bound_text, verdict) = match &t.bound {
            None => ("no path".to_string(), "not measured".to_string()),
            Some((text, bound)) => {
                let verdict = if t.missed > 0 {
                    failed.push(t.label.clone());
                    format!("NEVER SEEN {} time(s)", t.missed)
                } else if v.last().is_some_and(|m| *m > *bound + slack) {
                    failed.push(t.label.clone());
                    "OVER BOUND".to_string()
                } else {
                    "ok".to_string()
                };
                (text.clone(), verdict)
            }
        };
        let cell = |q: f64| {
            if v.is_empty() {
                "-".to_string()
            } else {
                secs(quantile(&v, q))
            }
        };
        println!(
            "  {:<22} {:<22} {:>8} {:>8} {:>8} {:>7}  {verdict}",
            t.label,
            bound_text,
            cell(0.5),
            cell(0.95),
            cell(1.0),
            v.len()
        );
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Partial(format!(
            "latency over its bound or never seen at: {}",
            failed.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounds of a fixture's servers, as `lab latency` computes them from its topology.
    fn bounds(fixture: &str) -> Vec<(String, String)> {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/labs")
            .join(fixture);
        let spec = LabSpec::read(&file).unwrap();
        let servers = spec
            .servers
            .iter()
            .map(|s| LabServer {
                name: s.name.clone(),
                organization: s.organization.clone(),
                url: format!("http://{}", s.name),
                data_dir: PathBuf::new(),
                pid: 0,
                role: s.role.clone(),
                replicas: match s.role.as_str() {
                    "cas" => Vec::new(),
                    _ => spec
                        .replicas_of(s)
                        .iter()
                        .map(|g| folder(&s.organization, &g.name))
                        .collect(),
                },
            })
            .collect();
        let state = LabState {
            name: spec.name.clone(),
            file,
            dir: PathBuf::new(),
            supervisor: 0,
            servers,
        };
        let (org, group, _) = probe_user(&spec).unwrap();
        let home = spec.home_of(org, group).unwrap();
        let home = state.servers.iter().find(|s| s.name == home.name).unwrap();
        let iv = spec.intervals().unwrap();
        targets(&spec, &state, home, &folder(&org.name, &group.name), iv)
            .into_iter()
            .map(|t| (t.label, t.bound.map_or("no path".into(), |b| b.0)))
            .collect()
    }

    fn row(label: &str, bound: &str) -> (String, String) {
        (label.to_string(), bound.to_string())
    }

    #[test]
    fn hops_are_counted_from_the_topology() {
        assert_eq!(
            bounds("multi-forest.toml"),
            [
                row("FB01 ?Cmd=freebusy", "P = 2.0 s"),
                row("FB01 EWS", "P = 2.0 s"),
                row("FB02 ?Cmd=freebusy", "P + R = 5.0 s"),
                row("FB02 EWS", "P + R = 5.0 s"),
                row("FB11 ?Cmd=freebusy", "P + F = 8.0 s"),
                row("FB11 EWS", "P + F = 8.0 s"),
                row("FB12 ?Cmd=freebusy", "P + R + F = 11.0 s"),
                row("FB12 EWS", "P + R + F = 11.0 s"),
            ]
        );
        let per_site = bounds("server-per-site.toml");
        assert!(per_site.contains(&row("FB02 ?Cmd=freebusy", "P + R = 5.0 s")));
        assert!(
            per_site.contains(&row("CAS01 EWS", "P + R = 5.0 s")),
            "{per_site:?}"
        );
        let single = bounds("single-server.toml");
        assert!(single.iter().all(|(_, b)| b == "P = 2.0 s"), "{single:?}");
    }

    #[test]
    fn a_maximum_over_its_bound_or_a_change_never_seen_fails() {
        let target = |seen: &[u64], missed| Target {
            label: "FB01 ?Cmd=freebusy".into(),
            url: String::new(),
            ews: false,
            bound: Some(("P = 2.0 s".into(), Duration::from_secs(2))),
            seen: seen.iter().map(|ms| Duration::from_millis(*ms)).collect(),
            missed,
        };
        let slack = Duration::from_millis(500);
        assert!(print_table(&[target(&[900, 2400], 0)], slack).is_ok());
        let over = print_table(&[target(&[900, 2600], 0)], slack).unwrap_err();
        assert!(matches!(over, Error::Partial(_)), "{over}");
        assert!(over.to_string().contains("FB01 ?Cmd=freebusy"), "{over}");
        assert!(print_table(&[target(&[900], 1)], slack).is_err());
        let unreachable = Target {
            bound: None,
            ..target(&[], 0)
        };
        assert!(
            print_table(&[unreachable], slack).is_ok(),
            "no path: not measured"
        );
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<Duration> = (1..=20).map(Duration::from_secs).collect();
        assert_eq!(quantile(&v, 0.5), Duration::from_secs(10));
        assert_eq!(quantile(&v, 0.95), Duration::from_secs(19));
        assert_eq!(quantile(&v, 1.0), Duration::from_secs(20));
        assert_eq!(quantile(&v[..1], 0.5), Duration::from_secs(1));
    }
}
