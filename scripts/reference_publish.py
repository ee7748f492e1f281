#!/usr/bin/env python3
"""Reference publisher for scripts/bench.sh: icalendar + recurring-ical-events.

Expands every FOLDER/*.ics over [START, END) into merged free/busy intervals with
scripts/oracle.py's independent expansion (the same status mapping and leniencies), times
that, then asks schedplus (`EXPANDER FILE START END UTC`, not timed) for the same and
compares the two for equality. Prints one line:

    REFERENCE-RESULT users=N seconds=S per_s=R equal=E differ=D

and the first differences, if any; exits non-zero when any calendar differs.

Usage: reference_publish.py FOLDER START END --expander "target/release/schedplus calendar expand"
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import oracle  # noqa: E402  (the sibling script, as a module)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("start", help="RFC 3339 UTC instant")
    ap.add_argument("end", help="RFC 3339 UTC instant")
    ap.add_argument("--expander", required=True, help="schedplus's `calendar expand` command")
    args = ap.parse_args()

    start, end = oracle.parse_utc(args.start), oracle.parse_utc(args.end)
    files = sorted(args.folder.glob("*.ics"))
    if not files:
        print(f"no .ics files in {args.folder}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    ours = {f: oracle.oracle_expand(f, start, end, "UTC") for f in files}
    seconds = time.perf_counter() - began

    cmd = shlex.split(args.expander)
    equal = differ = 0
    for f in files:
        got, err = oracle.schedplus_expand(cmd, f, start, end, "UTC")
        if err is None and got == ours[f]:
            equal += 1
            continue
        differ += 1
        if differ <= 3:
            print(f"DIFFERS {f.name}: " + (err or ""), file=sys.stderr)
            if err is None:
                print("\n".join(oracle.diff(ours[f], got)), file=sys.stderr)
    print(f"REFERENCE-RESULT users={len(files)} seconds={seconds:.2f} "
          f"per_s={len(files) / seconds:.1f} equal={equal} differ={differ}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
