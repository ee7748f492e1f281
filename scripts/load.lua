-- wrk script for scripts/load.sh: a CAS-like mix against `schedplus serve --demo`.
--
-- Per request, by weight: ?Cmd=freebusy for 1-3 demo users over 14-42 days (55%), PROPFIND
-- Depth 1 of the demo's first admin-group folder (15%), PROPPATCH of a free/busy message of
-- one of LOAD_USERS dedicated load users (30%; they have no calendar, so the poller never
-- writes them). Counts answers by status class per thread and prints one summary line,
-- `LOAD-RESULT key=value ...`, that load.sh parses.
--
-- Environment (set by load.sh): LOAD_TODAY (YYYY-MM-DD), LOAD_MONTH (Exchange month value,
-- year*16+month, of today's month), LOAD_RANGE_START and LOAD_RANGE_END (the PROPPATCH
-- publish range, minutes since 1601), LOAD_USERS, LOAD_AUTH (the `Authorization` value the
-- PROPPATCHes carry: the demo admin's Basic credentials, so sign-in is part of the load).

local today = os.getenv("LOAD_TODAY")
local month = tonumber(os.getenv("LOAD_MONTH"))
local range_start = os.getenv("LOAD_RANGE_START")
local range_end = os.getenv("LOAD_RANGE_END")
local load_users = tonumber(os.getenv("LOAD_USERS") or "100")
local auth = os.getenv("LOAD_AUTH")

local fb_users = {
  "danw@xcs.example", "kbaker@xcs.example", "tnguyen@xcs.example", "rpowell@xcs.example",
  "jsguillet@companyabc.example", "amartin@companyabc.example", "mgarcia@companyabc.example",
  "cdubois@companyabc.example", "lchen@companyabc.example", "opatel@companyabc.example",
  "shughes@companyabc.example", "bwright@companyabc.example",
}

local ag_path = "/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/"
  .. "EX:_xF8FF_o=First%20Organization_xF8FF_ou=First%20Administrative%20Group/"

local propfind_body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
  .. 'xmlns:p="http://schemas.microsoft.com/mapi/proptag/"><D:prop>'
  .. '<D:displayname/><D:getlastmodified/><p:x6849001f/><p:x68470003/><p:x68480003/>'
  .. '<p:x684f1003/><p:x68501102/><p:x68531003/><p:x68541102/></D:prop></D:propfind>'

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(bytes)
  local out = {}
  for i = 1, #bytes, 3 do
    local a, b, c = bytes[i], bytes[i + 1], bytes[i + 2]
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local function ch(shift)
      local v = math.floor(n / 2 ^ shift) % 64
      return b64chars:sub(v + 1, v + 1)
    end
    out[#out + 1] = ch(18) .. ch(12) .. (b and ch(6) or "=") .. (c and ch(0) or "=")
  end
  return table.concat(out)
end

-- One busy block in today's month: a random hour, minutes from the month's start as two
-- little-endian 16-bit values (MS-OXOPFFB).
local function block()
  local s = math.random(0, 27 * 24 - 1) * 60
  local e = s + 60
  return base64({ s % 256, math.floor(s / 256), e % 256, math.floor(e / 256) })
end

local function proppatch_body(alias)
  local subject = "USER-/CN=RECIPIENTS/CN=" .. alias:upper()
  local b = block()
  return '<?xml version="1.0"?><a:propertyupdate xmlns:a="DAV:" '
    .. 'xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:" '
    .. 'xmlns:d="http://schemas.microsoft.com/mapi/proptag/" '
    .. 'xmlns:e="http://schemas.microsoft.com/exchange/"><a:set><a:prop>'
    .. '<d:x68410003 b:dt="int">0</d:x68410003>'
    .. '<d:x6846000B b:dt="boolean">1</d:x6846000B>'
    .. '<d:x68470003 b:dt="int">' .. range_start .. '</d:x68470003>'
    .. '<d:x68480003 b:dt="int">' .. range_end .. '</d:x68480003>'
    .. '<d:x6849001F>/o=First Organization/ou=First Administrative Group/cn=Recipients/cn='
    .. alias .. '</d:x6849001F>'
    .. '<d:x684F1003 b:dt="mv.int"><c:v>' .. month .. '</c:v></d:x684F1003>'
    .. '<d:x68501102 b:dt="mv.bin.base64"><c:v>' .. b .. '</c:v></d:x68501102>'
    .. '<d:x68511003 b:dt="mv.int"></d:x68511003>'
    .. '<d:x68521102 b:dt="mv.bin.base64"/>'
    .. '<d:x68531003 b:dt="mv.int"><c:v>' .. month .. '</c:v></d:x68531003>'
    .. '<d:x68541102 b:dt="mv.bin.base64"><c:v>' .. b .. '</c:v></d:x68541102>'
    .. '<d:x68551003 b:dt="mv.int"></d:x68551003>'
    .. '<d:x68561102 b:dt="mv.bin.base64"/>'
    .. '<d:x0E1D001F>' .. subject .. '</d:x0E1D001F>'
    .. '<d:x0037001F>' .. subject .. '</d:x0037001F>'
    .. '<e:outlookmessageclass>IPM.Post</e:outlookmessageclass>'
    .. '</a:prop></a:set></a:propertyupdate>'
end

local function load_alias(n)
  return string.format("load%03d", n)
end

local function message_path(alias)
  return ag_path .. "USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=" .. alias:upper() .. ".EML"
end

-- The query's end dates: 14 to 42 days after today.
local end_dates = {}
do
  local y, m, d = today:match("(%d+)-(%d+)-(%d+)")
  local noon = os.time({ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 })
  for days = 14, 42 do
    end_dates[#end_dates + 1] = os.date("%Y-%m-%d", noon + days * 86400)
  end
end

local threads = {}
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(id * 7919 + os.time())
  counts = { c2xx = 0, c3xx = 0, c4xx = 0, c5xx = 0, fb = 0, propfind = 0, proppatch = 0 }
end

function request()
  local r = math.random(100)
  if r <= 55 then
    counts.fb = counts.fb + 1
    local q = "/public/?Cmd=freebusy&start=" .. today .. "T00:00:00Z&end="
      .. end_dates[math.random(#end_dates)] .. "T00:00:00Z&interval=30"
    for _ = 1, math.random(1, 3) do
      q = q .. "&u=SMTP:" .. fb_users[math.random(#fb_users)]
    end
    return wrk.format("GET", q)
  elseif r <= 70 then
    counts.propfind = counts.propfind + 1
    return wrk.format("PROPFIND", ag_path,
      { ["Depth"] = "1", ["Content-Type"] = "text/xml" }, propfind_body)
  else
    counts.proppatch = counts.proppatch + 1
    local alias = load_alias(math.random(load_users))
    return wrk.format("PROPPATCH", message_path(alias),
      { ["Brief"] = "t", ["Content-Type"] = "text/xml", ["Authorization"] = auth },
      proppatch_body(alias))
  end
end

function response(status, headers, body)
  if status >= 500 then
    counts.c5xx = counts.c5xx + 1
  elseif status >= 400 then
    counts.c4xx = counts.c4xx + 1
  elseif status >= 300 then
    counts.c3xx = counts.c3xx + 1
  else
    counts.c2xx = counts.c2xx + 1
  end
end

function done(summary, latency, requests)
  local total = { c2xx = 0, c3xx = 0, c4xx = 0, c5xx = 0, fb = 0, propfind = 0, proppatch = 0 }
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, _ in pairs(total) do
      total[k] = total[k] + c[k]
    end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "LOAD-RESULT requests=%d seconds=%.1f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f "
      .. "errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d non_2xx_3xx=%d "
      .. "s2xx=%d s3xx=%d s4xx=%d s5xx=%d sent_freebusy=%d sent_propfind=%d sent_proppatch=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status,
    total.c2xx, total.c3xx, total.c4xx, total.c5xx, total.fb, total.propfind, total.proppatch))
end
