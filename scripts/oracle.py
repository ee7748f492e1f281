#!/usr/bin/env python3
"""Differential oracle for schedplus's iCalendar -> free/busy expansion.

For every fixture in fixtures/calendars/*.ics and tests/data/calendars-real/*.ics (exports
in the shape of Google, Outlook, Exchange, Confluence, Calendar Labs, a booking system and a
mail client, with their RFC 5545 violations) and every "now" date, this script expands the
calendar independently (icalendar + recurring-ical-events + zoneinfo), applies the same
status mapping as schedplus, merges intervals per status and compares with what the
schedplus expander prints for the same window.

Window: [now - 7 days, now + 62 days), cut to whole minutes. That is wider than any real
publish range (the previous week plus two months) and simple to reason about; it is not
PublishRange::at.

Usage:
    .venv/bin/python scripts/oracle.py                     # default dates, all fixtures
    .venv/bin/python scripts/oracle.py --now 2026-03-08T12:00:00Z --only dwinship
    .venv/bin/python scripts/oracle.py --expander "target/debug/schedplus calendar expand"

The expander is called as `CMD FILE START END DEFAULT_TZ` and must print
{"tentative": [[start, end], ...], "busy": [...], "oof": [...]} in RFC 3339 UTC.
By default the oracle builds the schedplus binary (`cargo build --bin schedplus`) once and
runs its `calendar expand` subcommand.

Independence: nothing here is generated from the Rust code. Time zones:
  * IANA names go to zoneinfo (the pinned tzdata package, not the OS database);
  * Windows names ("Pacific Standard Time"), display names ("(UTC-08:00) Pacific Time
    (US & Canada)") and vendor prefixes ("/mozilla.org/20050126_1/America/New_York") are
    rewritten to IANA by this file's own small table before icalendar sees them, because
    schedplus prefers the IANA rules over the file's VTIMEZONE for names it knows;
  * any other TZID is left alone, so icalendar evaluates the file's VTIMEZONE itself
    (dateutil's tzical), an implementation independent of schedplus's; so is a TZID the
    file defines with a VTIMEZONE unless it is exactly an IANA or Windows name;
  * the documented leniencies are applied by this file's own pre-pass (lenient_text,
    lenient_components), written from docs/behaviour.md's table.

Status mapping (same rules, written separately): STATUS:CANCELLED -> nothing; then
X-MICROSOFT-CDO-BUSYSTATUS (INTENDEDSTATUS only if BUSYSTATUS is absent): FREE -> nothing,
TENTATIVE -> tentative, BUSY/WORKINGELSEWHERE -> busy, OOF -> oof; then TRANSP:TRANSPARENT
-> nothing; STATUS:TENTATIVE -> tentative; else busy. VFREEBUSY FBTYPE BUSY (default) ->
busy, BUSY-TENTATIVE -> tentative, BUSY-UNAVAILABLE -> oof, FREE -> nothing.
Spans are rounded outward to whole minutes (start down, end up), as schedplus does.

Known disagreements between recurring-ical-events and RFC 5545 are listed in SKIP with the
reason; a skipped (fixture, date) is reported as `skip` and does not count as a failure.
None are needed for the current fixtures. Investigated and kept in mind:
  * Python adds a timedelta to an aware datetime in wall-clock time, so an instance that
    spans a DST change gets a wall-clock length, while RFC 5545 §3.8.5.3 says DTEND-based
    instances keep the exact duration. Fixtures avoid instances that span a DST change.
  * dateutil drops a DTSTART that does not match its RRULE, while RFC 5545 says DTSTART is
    always the first instance. Fixtures keep DTSTART in step with the rule.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.timezone.utc

DEFAULT_NOWS = [
    "2026-03-08T12:00:00Z",  # US DST starts (02:00 local)
    "2026-10-25T12:00:00Z",  # EU DST ends (01:00 UTC)
    "2026-01-31T23:30:00Z",  # month end
    "2026-12-31T22:00:00Z",  # year end
    "2028-02-29T12:00:00Z",  # leap day
]

# Zone of floating and all-day events per fixture (the user's own zone).
DEFAULT_TZ = {
    "dwinship": "America/Los_Angeles",
    "jsguillet": "Europe/Paris",
    "amartin": "Europe/London",
    "kbaker": "America/New_York",
    "lchen": "Australia/Sydney",
    "mgarcia": "America/Denver",
    "tnguyen": "America/Chicago",
    "rpowell": "America/New_York",
    "cdubois": "Europe/Paris",
    "opatel": "Europe/London",
    "shughes": "Europe/Dublin",
    # tests/data/calendars-real: exports with the quirks of real writers.
    "google": "Europe/Lisbon",
    "outlook": "Europe/Berlin",
    "exchange": "Europe/Berlin",
    "confluence": "Australia/Sydney",
    "calendarlabs": "America/New_York",
    "booking": "UTC",
    "mailclient": "America/New_York",
}

# (fixture, now) -> reason. Empty: no disagreement needs skipping today.
SKIP: dict[tuple[str, str], str] = {}

# The oracle's own Windows-name table: only what a lab is likely to meet, spelt as Windows
# spells them (an exact name wins over the file's VTIMEZONE; see iana_for).
WINDOWS_EXACT = {
    "Pacific Standard Time": "America/Los_Angeles",
    "Mountain Standard Time": "America/Denver",
    "US Mountain Standard Time": "America/Phoenix",
    "Central Standard Time": "America/Chicago",
    "Eastern Standard Time": "America/New_York",
    "Atlantic Standard Time": "America/Halifax",
    "Alaskan Standard Time": "America/Anchorage",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kyiv",
    "GTB Standard Time": "Europe/Bucharest",
    "Russian Standard Time": "Europe/Moscow",
    "India Standard Time": "Asia/Kolkata",
    "China Standard Time": "Asia/Shanghai",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "Singapore Standard Time": "Asia/Singapore",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "E. Australia Standard Time": "Australia/Brisbane",
    "New Zealand Standard Time": "Pacific/Auckland",
    "E. South America Standard Time": "America/Sao_Paulo",
    "UTC": "UTC",
}
WINDOWS = {k.lower(): v for k, v in WINDOWS_EXACT.items()}

# Display-name bodies (after the "(UTC+hh:mm) " prefix, before any "; ...").
DISPLAY = {
    "pacific time (us & canada)": "America/Los_Angeles",
    "mountain time (us & canada)": "America/Denver",
    "central time (us & canada)": "America/Chicago",
    "eastern time (us & canada)": "America/New_York",
    "amsterdam, berlin, bern, rome, stockholm, vienna": "Europe/Berlin",
    "brussels, copenhagen, madrid, paris": "Europe/Paris",
    "dublin, edinburgh, lisbon, london": "Europe/London",
    "beijing, chongqing, hong kong, urumqi": "Asia/Shanghai",
    "osaka, sapporo, tokyo": "Asia/Tokyo",
    "canberra, melbourne, sydney": "Australia/Sydney",
    "chennai, kolkata, mumbai, new delhi": "Asia/Kolkata",
}

DISPLAY_RE = re.compile(r"^\((?:UTC|GMT)(?:[+-]\d{1,2}[:.]\d{2})?\)\s*(.*)$")


def exact_known(name: str) -> str | None:
    """The IANA zone of a name that is exactly (case included) an IANA or Windows name."""
    if name in WINDOWS_EXACT:
        return WINDOWS_EXACT[name]
    try:
        import zoneinfo

        if name in zoneinfo.available_timezones():
            return name
    except Exception:
        pass
    return None


def iana_for(tzid: str, defined: set[str] = frozenset()) -> str | None:
    """IANA name for a TZID this oracle understands, else None (use the VTIMEZONE).

    A TZID the file defines with its own VTIMEZONE is that VTIMEZONE unless it is exactly an
    IANA or Windows name (docs/behaviour.md, "Calendar leniencies")."""
    name = tzid.strip().strip('"').replace("\\,", ",")
    if name in defined:
        return exact_known(name)
    if name.startswith("/"):
        # Vendor prefix: keep the last two path segments ("America/New_York").
        name = "/".join(name.split("/")[-2:])
    if name.lower() in WINDOWS:
        return WINDOWS[name.lower()]
    m = DISPLAY_RE.match(name)
    if m:
        return DISPLAY.get(m.group(1).split(";")[0].strip().lower())
    try:
        ZoneInfo(name)
        return name
    except Exception:
        return None


def rewrite_tzids(text: str) -> str:
    """Point every TZID parameter we can name at its IANA zone (unfolded text)."""
    defined = {
        m.group(1).strip().replace("\\,", ",")
        for m in re.finditer(r"^TZID:(.*)$", text, re.MULTILINE)
    }

    def param(m: re.Match) -> str:
        iana = iana_for(m.group(1), defined)
        return f";TZID={iana}" if iana else m.group(0)

    return re.sub(r';TZID=("[^"]*"|[^;:]*)', param, text)


def unfold(text: str) -> str:
    return re.sub(r"\r?\n[ \t]", "", text)


# --- the documented leniencies (docs/behaviour.md, "Calendar leniencies"), written here
# from that table, not from the Rust code, so that real exports the Python libraries refuse
# can still be compared. Applied to every file; the clean fixtures have none of them.

FREE_BUSY_PROPERTIES = {
    "BEGIN", "END", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
    "RECURRENCE-ID", "STATUS", "TRANSP", "UID", "SEQUENCE", "X-MICROSOFT-CDO-BUSYSTATUS",
    "X-MICROSOFT-CDO-INTENDEDSTATUS", "FREEBUSY", "TZID", "TZOFFSETFROM", "TZOFFSETTO",
}
RULE_PARTS = ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYSECOND", "BYMINUTE", "BYHOUR",
              "BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS", "BYDAY", "WKST"]
NAME_RE = re.compile(r"^([A-Za-z0-9-]+)[;:]")


def fix_rule(value: str) -> str:
    import difflib

    value = value.replace("\\;", ";").replace("\\,", ",")
    parts = []
    for part in value.split(";"):
        if "=" not in part:
            continue
        key, val = part.split("=", 1)
        key = key.strip().upper()
        if key not in RULE_PARTS and not key.startswith("X-"):
            near = difflib.get_close_matches(key, RULE_PARTS, n=1, cutoff=0.75)
            if not near:
                continue
            key = near[0]
        if key == "COUNT" and val.strip().startswith("-"):
            continue
        parts.append(f"{key}={val}")
    return ";".join(parts)


def lenient_text(text: str) -> str:
    """Unfolded text with the line-level leniencies applied."""
    out: list[str] = []
    depth = 0
    seen_calendar = False
    previous = None
    component = []
    for line in text.splitlines():
        if not line.strip():
            continue
        upper = line.strip().upper()
        if depth == 0 and seen_calendar and upper != "BEGIN:VCALENDAR":
            continue  # after END:VCALENDAR
        m = NAME_RE.match(line)
        if not m or (line.count('"') % 2 == 1):
            owner = m.group(1).upper() if m else previous
            if owner not in FREE_BUSY_PROPERTIES:
                continue  # a broken line of a property without free/busy meaning
        name = m.group(1).upper() if m else ""
        previous = name or previous
        if upper.startswith("BEGIN:"):
            depth += 1
            seen_calendar = True
            component.append(upper[6:])
        elif upper.startswith("END:"):
            depth -= 1
            component.pop() if component else None
        elif name == "RRULE":
            head, value = line.split(":", 1)
            if not value.strip():
                continue  # empty RRULE: not recurring
            line = f"{head}:{fix_rule(value)}"
        elif name in ("RDATE", "EXDATE", "DTSTART", "DTEND") and "VALUE=DATE:" in line.upper():
            head, value = line.split(":", 1)
            dates = [v.strip()[:8] for v in value.split(",") if v.strip()]
            if component and component[-1] in ("STANDARD", "DAYLIGHT") and name == "DTSTART":
                line = f"DTSTART:{dates[0]}T000000"  # observance on a DATE: midnight
            else:
                line = f"{head}:{','.join(dates)}"
        out.append(line)
    return "\n".join(out) + "\n"


def lenient_components(cal, tz: ZoneInfo) -> None:
    """Component-level leniencies: DTEND before DTSTART swapped; of several revisions of
    one UID (same RECURRENCE-ID or none), only the highest SEQUENCE stays."""
    events = [c for c in cal.subcomponents if c.name == "VEVENT"]
    for ev in events:
        if "DTEND" in ev and "DTSTART" in ev:
            s, e = ev["DTSTART"].dt, ev["DTEND"].dt
            if to_utc(e, tz) < to_utc(s, tz):
                ev["DTSTART"].dt, ev["DTEND"].dt = e, s
    best: dict[tuple, int] = {}
    def key(ev):
        rid = ev.get("RECURRENCE-ID")
        return (str(ev.get("UID", "")), str(rid.to_ical()) if rid is not None else None)
    for ev in events:
        if ev.get("UID"):
            best[key(ev)] = max(best.get(key(ev), -(10**9)), int(ev.get("SEQUENCE", 0)))
    cal.subcomponents = [
        c for c in cal.subcomponents
        if c.name != "VEVENT" or not c.get("UID")
        or int(c.get("SEQUENCE", 0)) == best[key(c)]
    ]


def parse_utc(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def fmt(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_utc(value, tz: ZoneInfo) -> dt.datetime:
    """A DTSTART-like value as an aware UTC datetime; dates and floating times in `tz`."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=tz).astimezone(UTC)


def event_status(ev) -> str | None:
    def up(name):
        v = ev.get(name)
        return str(v).strip().upper() if v is not None else None

    if up("STATUS") == "CANCELLED":
        return None
    cdo = up("X-MICROSOFT-CDO-BUSYSTATUS")
    if cdo is None:
        cdo = up("X-MICROSOFT-CDO-INTENDEDSTATUS")
    mapping = {"FREE": None, "TENTATIVE": "tentative", "BUSY": "busy",
               "WORKINGELSEWHERE": "busy", "OOF": "oof"}
    if cdo in mapping:
        return mapping[cdo]
    if up("TRANSP") == "TRANSPARENT":
        return None
    if up("STATUS") == "TENTATIVE":
        return "tentative"
    return "busy"


def occurrence_span(ev, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = ev["DTSTART"].dt
    if "DTEND" in ev:
        end = ev["DTEND"].dt
    elif "DURATION" in ev:
        end = start + ev["DURATION"].dt
    elif isinstance(start, dt.datetime):
        end = start
    else:
        end = start + dt.timedelta(days=1)
    return to_utc(start, tz), to_utc(end, tz)


def freebusy_spans(cal, tz: ZoneInfo):
    types = {"BUSY": "busy", "BUSY-TENTATIVE": "tentative",
             "BUSY-UNAVAILABLE": "oof", "FREE": None}
    for comp in cal.walk("VFREEBUSY"):
        props = comp.get("FREEBUSY", [])
        if not isinstance(props, list):
            props = [props]
        for prop in props:
            fbtype = str(prop.params.get("FBTYPE", "BUSY")).upper()
            status = types.get(fbtype, "busy")
            periods = prop.dt if isinstance(prop.dt, list) else [prop.dt]
            for p in periods:
                start, second = p[0], p[1]
                end = start + second if isinstance(second, dt.timedelta) else second
                yield status, to_utc(start, tz), to_utc(end, tz)


def merge(spans):
    out = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def floor_minute(t):
    return t.replace(second=0, microsecond=0)


def ceil_minute(t):
    f = floor_minute(t)
    return f if f == t else f + dt.timedelta(minutes=1)


def oracle_expand(path: Path, start: dt.datetime, end: dt.datetime, tzname: str):
    tz = ZoneInfo(tzname)
    text = rewrite_tzids(lenient_text(unfold(path.read_text(encoding="utf-8"))))
    spans = {"tentative": [], "busy": [], "oof": []}
    for cal in icalendar.Calendar.from_ical(text, multiple=True):
        lenient_components(cal, tz)
        # Ask for a wider range and clip exactly ourselves: recurring-ical-events compares
        # floating and all-day values in their own terms.
        margin = dt.timedelta(days=3)
        found = []
        for ev in recurring_ical_events.of(cal).between(start - margin, end + margin):
            if ev.name != "VEVENT":
                continue
            s, e = occurrence_span(ev, tz)
            found.append((event_status(ev), s, e))
        found.extend(freebusy_spans(cal, tz))
        for status, s, e in found:
            s, e = max(s, start), min(e, end)
            if status and s < e:
                spans[status].append((floor_minute(s), ceil_minute(e)))
    return {k: [[fmt(a), fmt(b)] for a, b in merge(v)] for k, v in spans.items()}


def build_expander() -> list[str]:
    subprocess.run(["cargo", "build", "-q", "--bin", "schedplus"], cwd=ROOT, check=True)
    return [str(ROOT / "target" / "debug" / "schedplus"), "calendar", "expand"]


def schedplus_expand(cmd, path, start, end, tzname):
    out = subprocess.run(cmd + [str(path), fmt(start), fmt(end), tzname],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip()
    got = json.loads(out.stdout)
    return {k: got.get(k, []) for k in ("tentative", "busy", "oof")}, None


def diff(want, got, limit=6):
    lines = []
    for status in ("tentative", "busy", "oof"):
        w = {tuple(x) for x in want[status]}
        g = {tuple(x) for x in got[status]}
        for iv in sorted(w - g):
            lines.append(f"    {status}: oracle only     {iv[0]} .. {iv[1]}")
        for iv in sorted(g - w):
            lines.append(f"    {status}: schedplus only  {iv[0]} .. {iv[1]}")
    return lines[:limit] + ([f"    ... {len(lines) - limit} more"] if len(lines) > limit else [])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--now", action="append", help="RFC 3339 instant (repeatable)")
    ap.add_argument("--fixtures", action="append",
                    help="folder of .ics files (repeatable); default: fixtures/calendars and "
                         "tests/data/calendars-real")
    ap.add_argument("--only", action="append", help="fixture name without .ics")
    ap.add_argument("--expander", help="command to run instead of `schedplus calendar expand`")
    args = ap.parse_args()

    today = dt.datetime.now(UTC).replace(second=0, microsecond=0)
    nows = args.now or DEFAULT_NOWS + [fmt(today)]
    cmd = shlex.split(args.expander) if args.expander else build_expander()
    folders = args.fixtures or [ROOT / "fixtures" / "calendars",
                                ROOT / "tests" / "data" / "calendars-real"]
    files = [f for d in folders for f in sorted(Path(d).glob("*.ics"))]
    if args.only:
        files = [f for f in files if f.stem in args.only]

    passed = failed = 0
    for path in files:
        tzname = DEFAULT_TZ.get(path.stem, "UTC")
        for now_s in nows:
            now = floor_minute(parse_utc(now_s))
            start, end = now - dt.timedelta(days=7), now + dt.timedelta(days=62)
            label = f"{path.stem:10} {fmt(now)}"
            if (path.stem, fmt(now)) in SKIP:
                print(f"skip     {label}  ({SKIP[(path.stem, fmt(now))]})")
                continue
            want = oracle_expand(path, start, end, tzname)
            got, err = schedplus_expand(cmd, path, start, end, tzname)
            if err is not None:
                failed += 1
                print(f"MISMATCH {label}  schedplus failed: {err}")
            elif got == want:
                passed += 1
                n = sum(len(v) for v in want.values())
                print(f"ok       {label}  ({n} intervals)")
            else:
                failed += 1
                print(f"MISMATCH {label}")
                print("\n".join(diff(want, got)))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
