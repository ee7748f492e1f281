#!/usr/bin/env python3
"""exchangelib (a real EWS client) asks schedplus's Availability front end for free/busy.

Called by scripts/ews.sh in two phases:

  up    every server answers: the digits exchangelib gets for users of two admin groups
        equal what the public-folder server answers to ?Cmd=freebusy directly, the
        distribution group Lab Team gets the merge of its members' digits (per slot the
        busiest; 4 only where no member has data), and the front end logged no event 4003.
  down  the free/busy server B is stopped: the First Administrative Group fails over to
        the front end's own URL (event 4003 names B's URL) and still answers the same
        digits; London, whose only server is B, gets event 4004 and an error for its users
        only, while the others still answer.

Basic auth, a fixed server version (Exchange 2010), no autodiscover.
"""

import argparse
import re
import sys
import urllib.request

from exchangelib import BASIC, Build, Configuration, Credentials, EWSDateTime, EWSTimeZone, Version
from exchangelib.protocol import BaseProtocol, Protocol

DAN = "danw@xcs.example"  # First Administrative Group
LI = "lchen@companyabc.example"  # London
AMELIE = "amartin@companyabc.example"  # Paris (not listed: the front end's own store)
LAB_TEAM = "lab-team@xcs.example"  # fixtures/ews/groups.ldf
# Its members two levels deep: Dan, Li, Jean-Sébastien (Paris), and through Lab Core Rachel.
LAB_TEAM_MEMBERS = [DAN, LI, "jsguillet@companyabc.example", "rpowell@xcs.example"]


def merged(rows):
    """A group's row from its members' rows: per slot the highest of 0-3, else 4."""
    return "".join(max((c for c in col if c != "4"), default="4") for col in zip(*rows))


def direct_digits(base, start, end, users):
    """What a public-folder server answers to ?Cmd=freebusy, one string per user."""
    q = "&".join(f"u=SMTP:{u}" for u in users)
    url = f"{base}/public/?Cmd=freebusy&start={start}&end={end}&interval=30&{q}"
    with urllib.request.urlopen(url, timeout=30) as r:
        text = r.read().decode()
    digits = re.findall(r"<a:fbdata>([0-4]*)</a:fbdata>", text)
    return digits[1:]  # after All Attendees


def ask(front, users, start, end):
    """exchangelib's get_free_busy_info; (views, exception) — the exception raised while
    reading the answers, if any (exchangelib raises on the first mailbox in error)."""
    BaseProtocol.HTTP_ADAPTER_CLS.max_retries = 0
    config = Configuration(
        service_endpoint=f"{front}/EWS/Exchange.asmx",
        credentials=Credentials("dwinship", "demo"),
        auth_type=BASIC,
        version=Version(build=Build(14, 0)),
    )
    protocol = Protocol(config=config)
    views, error = [], None
    try:
        for v in protocol.get_free_busy_info(
            accounts=[(u, "Required", False) for u in users],
            start=start,
            end=end,
            merged_free_busy_interval=30,
            requested_view="DetailedMerged",
        ):
            views.append(v)
    except Exception as e:  # noqa: BLE001 - the error class is what is checked
        error = e
    return views, error


failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("phase", choices=["up", "down"])
    p.add_argument("--front", required=True, help="the front end, http://host:port")
    p.add_argument("--b", required=True, help="free/busy server B, http://host:port")
    p.add_argument("--day", required=True, help="the day asked for, YYYY-MM-DD")
    p.add_argument("--log", required=True, help="the front end's log file")
    a = p.parse_args()

    utc = EWSTimeZone("UTC")
    y, m, d = (int(x) for x in a.day.split("-"))
    start = EWSDateTime(y, m, d, 0, 0, tzinfo=utc)
    end = EWSDateTime(y, m, d + 7, 0, 0, tzinfo=utc)
    s, e = f"{a.day}T00:00:00Z", end.strftime("%Y-%m-%dT%H:%M:%SZ")

    # The front end's own store holds the same demo (same --now) as B.
    want = dict(zip([DAN, LI, AMELIE], direct_digits(a.front, s, e, [DAN, LI, AMELIE])))
    if a.phase == "up":
        want_b = dict(zip([DAN, LI], direct_digits(a.b, s, e, [DAN, LI])))
        check(want_b[DAN] == want[DAN] and want_b[LI] == want[LI], "A and B hold the same demo")
    check(any(c in "123" for c in want[DAN]), f"{DAN} has busy time in the week asked ({want[DAN][:48]}…)")

    log_before = open(a.log).read()
    order = [DAN, AMELIE, LI]
    views, error = ask(a.front, order, start, end)
    log = open(a.log).read()[len(log_before):]
    got = {u: v.merged for u, v in zip(order, views)}
    if a.phase == "up":
        check(error is None, f"no error ({error!r})")
        for u in order:
            check(got.get(u) == want[u], f"{u}: exchangelib's MergedFreeBusy equals ?Cmd=freebusy's digits")
        check(all(v.view_type == "MergedOnly" for v in views), "legacy mailboxes are answered MergedOnly")
        members = direct_digits(a.front, s, e, LAB_TEAM_MEMBERS)
        group_views, group_error = ask(a.front, [LAB_TEAM], start, end)
        check(group_error is None, f"{LAB_TEAM}: no error ({group_error!r})")
        group = group_views[0].merged if group_views else None
        check(group == merged(members), f"{LAB_TEAM}: the merge of its members' digits ({group and group[:48]}…)")
        check(group is not None and group != want[DAN], f"{LAB_TEAM}: more than Dan's digits")
        check("event_id=4003" not in log, "no event 4003 while every server answers")
    else:
        for u in [DAN, AMELIE]:
            check(got.get(u) == want[u], f"{u}: still answered with the same digits")
        check(
            type(error).__name__ == "ErrorNoPublicFolderServerAvailable",
            f"{LI}: error ErrorNoPublicFolderServerAvailable ({error!r})",
        )
        check(LI not in got, f"{LI}: no digits")
        b_url = a.b + "/public"
        check(
            any("event_id=4003" in line and b_url in line for line in log.splitlines()),
            f"event 4003 logged with {b_url}",
        )
        check(
            any("event_id=4004" in line and "London" in line for line in log.splitlines()),
            "event 4004 logged for London",
        )
    print(f"ews {a.phase}: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
