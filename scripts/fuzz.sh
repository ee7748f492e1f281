#!/usr/bin/env bash
# Fuzz every target in fuzz/ (cargo-fuzz, libFuzzer) on stable Rust (--sanitizer none).
#
#   scripts/fuzz.sh --build-only     build the targets (what CI runs), run nothing
#   scripts/fuzz.sh SECONDS [TARGET…] run each target (default: all) for SECONDS
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); installs nothing itself.
# Corpora live in fuzz/corpus/TARGET (gitignored) and grow from run to run; each target is
# seeded from tests/data/hostile/ (the request bodies, without the HTTP head), from the
# fixtures that fit it (calendars, directory exports) and from its regression folder.
# A crash (panic), a timeout (an input slower than 10 s) or an out-of-memory (2 GiB) is
# copied to tests/data/fuzz-regressions/TARGET/, where `cargo test` replays it through the
# same function (tests/hostile.rs), and the script exits non-zero after the remaining
# targets ran. Prints one line per target: seconds, executions and the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: scripts/fuzz.sh --build-only | scripts/fuzz.sh SECONDS [TARGET...]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is not installed; run: cargo install cargo-fuzz --locked" >&2
    exit 2
}

if [ "$1" = "--build-only" ]; then
    start=$SECONDS
    cargo fuzz build --sanitizer none
    echo "fuzz targets built in $((SECONDS - start))s"
    exit 0
fi

secs=$1
shift
[[ "$secs" =~ ^[0-9]+$ ]] || usage
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build --sanitizer none

# Seeds for each target: the hostile corpus files whose names say what they carry.
seed_pattern() {
    case "$1" in
        propfind) echo 'propfind*' ;;
        proppatch) echo 'proppatch*' ;;
        search) echo 'search*' ;;
        icalendar) echo 'calendar*' ;;
        directory) echo 'import*' ;;
        freebusy_query) echo 'freebusy*' ;;
        *) echo '' ;;
    esac
}

failed=0
for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    regressions=tests/data/fuzz-regressions/$t
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    pattern=$(seed_pattern "$t")
    if [ -n "$pattern" ]; then
        # The bodies of the hostile requests (what the parsers see), without the HTTP head.
        for f in $(find tests/data/hostile -maxdepth 1 -name "$pattern"); do
            awk 'body { print } /^\r?$/ { body = 1 }' "$f" >"$corpus/seed-$(basename "$f" .http)"
        done
    fi
    # Well-formed inputs too, so the fuzzer starts deep inside the parsers.
    case "$t" in
        icalendar) cp -n fixtures/calendars/*.ics "$corpus/" ;;
        directory) cp -n fixtures/demo/directory.csv fixtures/demo/directory.ldif "$corpus/" ;;
    esac
    if [ "$t" = dav_path ]; then
        # The request paths of the hostile corpus, one seed each (without "/public/").
        for f in tests/data/hostile/*.http; do
            head -n1 "$f" | awk '{print $2}' | sed 's|^/[Pp]ublic/\{0,1\}||' \
                >"$corpus/seed-$(basename "$f" .http)"
        done
    fi
    if [ -d "$regressions" ]; then
        cp -n "$regressions"/* "$corpus/" 2>/dev/null || true
    fi
    log=fuzz/artifacts/$t/last-run.log
    status=ok
    cargo fuzz run --sanitizer none "$t" "$corpus" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=FOUND
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^stat::.*//;s/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    if [ "$status" != ok ]; then
        failed=1
        mkdir -p "$regressions"
        for a in fuzz/artifacts/"$t"/crash-* fuzz/artifacts/"$t"/timeout-* fuzz/artifacts/"$t"/oom-*; do
            [ -e "$a" ] || continue
            cp "$a" "$regressions/"
            echo "  $t: kept $regressions/$(basename "$a")"
            rm "$a"
        done
        grep -m3 -E 'panicked|ERROR: libFuzzer' "$log" | sed "s/^/  $t: /" || true
    fi
    # libFuzzer prints "Done N runs in S second(s)" only when it ran to the end.
    echo "$t: ${took:-?}s, ${execs:-?} executions, $status (log: $log)"
done
exit $failed
