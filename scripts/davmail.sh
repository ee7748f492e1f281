#!/usr/bin/env bash
# A real reader of ?Cmd=freebusy: DavMail's own Exchange 2003 free/busy lookup against a fresh
# schedplus, checked against free/busy we published ourselves.
#
# Installs nothing: expects java, javac and DavMail's jar (Debian package `davmail`:
# /usr/share/davmail/davmail.jar, whose manifest names the library jars it needs;
# DAVMAIL_JAR overrides). .ci/run installs them with apt-get. Builds the debug binary if it
# is missing or older than the sources (SCHEDPLUS_BIN overrides), compiles
# scripts/DavmailFreebusy.java against the jar, imports the demo directory into a temporary
# data directory, publishes known free/busy for two users with `fb set` at a fixed --now,
# starts the server on 127.0.0.1:0 with the same --now, and asks DavMail (its
# DavExchangeSession: PROPFIND /public/, then GET /public/?cmd=freebusy&...&u=SMTP:...,
# parsed by its FreeBusy class) for:
#   - danw@xcs.example: busy, tentative and out-of-office periods, as DavMail's FREEBUSY lines;
#   - jsguillet@companyabc.example (another organisation, a DN with no spaces);
#   - nobody@xcs.example, not in the directory: DavMail must report an unknown attendee;
#   - danw before his publish range: all `4`, which DavMail also reads as unknown.
# Prints one line per check and exits non-zero when any differs.
set -euo pipefail
cd "$(dirname "$0")/.."

JAR=${DAVMAIL_JAR:-/usr/share/davmail/davmail.jar}
for tool in java javac; do
    command -v "$tool" >/dev/null || {
        echo "$tool is not installed; install a JDK (apt-get install default-jdk-headless) and run again" >&2
        exit 2
    }
done
[ -f "$JAR" ] || {
    echo "DavMail's jar is not at $JAR; install it (apt-get install davmail) or set DAVMAIL_JAR" >&2
    exit 2
}
. scripts/lib/server.sh
schedplus_debug_bin

javac -d "$WORK/classes" -cp "$JAR" scripts/DavmailFreebusy.java

NOW=2008-02-01T12:00:00Z
DATA="$WORK/data"
"$BIN" --data "$DATA" directory import fixtures/demo/directory.csv >/dev/null
"$BIN" --data "$DATA" --now "$NOW" fb set danw@xcs.example \
    --busy 2008-02-02T20:00:00Z/2008-02-02T21:00:00Z \
    --busy 2008-02-03T09:00:00Z/2008-02-03T09:45:00Z \
    --tentative 2008-02-02T21:00:00Z/2008-02-02T22:30:00Z \
    --oof 2008-02-04T00:00:00Z/2008-02-05T00:00:00Z >/dev/null
"$BIN" --data "$DATA" --now "$NOW" fb set jsguillet@companyabc.example \
    --busy 2008-02-04T08:15:00Z/2008-02-04T10:00:00Z >/dev/null
start_server "$DATA" 10 --data "$DATA" --now "$NOW" serve --listen 127.0.0.1:0
BASE="http://$ADDR/"
echo "DavMail $(unzip -p "$JAR" META-INF/MANIFEST.MF 2>/dev/null | sed -n 's/^Implementation-Version: *//p' | tr -d '\r') against $BASE"

failures=0
# check NAME ATTENDEE START END EXPECTED-LINES…
check() {
    local name=$1 attendee=$2 start=$3 end=$4
    shift 4
    local want got
    want=$(printf 'publicFolderUrl %spublic/\n' "$BASE"; printf '%s\n' "$@")
    if ! got=$(java -cp "$JAR:$WORK/classes" DavmailFreebusy "$BASE" "$attendee" "$start" "$end" 2>"$WORK/java.err"); then
        cat "$WORK/java.err" >&2
    fi
    if [ "$got" = "$want" ]; then
        echo "ok   $name"
    else
        echo "FAIL $name"
        diff <(echo "$want") <(echo "$got") | sed 's/^/     /' || true
        failures=$((failures + 1))
    fi
}

check "danw: busy, tentative and out of office" \
    danw@xcs.example 20080202T000000Z 20080205T120000Z \
    "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20080202T210000Z/20080202T223000Z" \
    "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20080204T000000Z/20080205T000000Z" \
    "FREEBUSY;FBTYPE=BUSY:20080202T200000Z/20080202T210000Z,20080203T090000Z/20080203T094500Z"
check "jsguillet: another organisation" \
    jsguillet@companyabc.example 20080203T000000Z 20080206T000000Z \
    "FREEBUSY;FBTYPE=BUSY:20080204T081500Z/20080204T100000Z"
check "nobody: not in the directory" \
    nobody@xcs.example 20080202T000000Z 20080205T120000Z \
    "UNKNOWN ATTENDEE"
check "danw before his publish range: no data" \
    danw@xcs.example 20080101T000000Z 20080103T000000Z \
    "UNKNOWN ATTENDEE"

if [ "$failures" -ne 0 ]; then
    echo "$failures DavMail check(s) failed; server log:" >&2
    tail -20 "$WORK/server.log" >&2
    exit 1
fi
echo "all DavMail checks passed"
