#!lua name=newspush
--[[
newspush history: an append-only log of news events that makes delivery lossless.

A publisher calls newspush_publish / newspush_retract; each call appends one entry to a Redis
stream and PUBLISHes a notification in the same atomic step, so a subscriber that reconnects can
read (newspush_read) exactly what it missed after its last cursor, or learn that it cannot
(reset:*) and resynchronise from newspush_recent.

Keys. KEYS[1] is the stream (default "news:log"); every other key is derived from it:
  <log>             stream, one entry per event; fields:
                      k  kind: article | update | retract
                      i  article id (lets newspush_recent dedupe without decoding JSON)
                      c  category          br "1" | "0" (breaking)
                      p  id of the previous entry ever added ("0-0" for the first)
                      b  body: the article JSON byte for byte as published, or for a retract
                         {"id":...,"category":...,"breaking":bool}
  <log>:epoch       names this incarnation of the history; a Redis that lost its data gets a new
                    one, so cursors handed out before are recognisably foreign. Delete <log> and
                    <log>:epoch together or not at all: a recreated stream under an old epoch
                    would look continuous to old cursors.
  <log>:config      hash maxlen, max_age_ms, channel (newspush_init).
  <log>:id:<id>     hash sha, cursor, category, breaking, title, url ("" when absent); expires
                    after max_age_ms. Recognises a retried publish, routes a retract, and is what
                    makes an id a live article for trending.
Trending (decayed view counts; the weight of a view at time t is 2^((t - t0)/hl), computed by the
node, so scores only ever grow until a rebase scales them back down):
  <log>:trend:base     hash t0 (ms), hl (half-life ms), integer texts.
  <log>:trend:c:<cat>  sorted set article id -> summed view weight; <log>:trend:c:* for all
                       categories. Capped: above 1100 members the lowest are dropped to 1000.
  <log>:trend:cats     set of categories that may have a sorted set (never "*").
  <log>:trend:leader   node id holding the trending lease, with a PX TTL.
  <log>:trend:current  hash category | "*" -> payload last published for it.
  <log>:trend:sig      hash category | "*" -> signature of that list (chosen by the node).
  <log>:trend:seq      integer, INCR per published list.
  Trending notification on the node's channel: "<seq>\n<category>\n<frame>".
Derived keys are not declared to Redis: this library is for a single Redis instance (or a
primary with replicas), not Redis Cluster.

Cursor: "<epoch>:<stream id>", opaque to clients. Notification on the channel:
"<cursor>\n<kind>\n<body>" (the body is everything after the second newline).

Trending functions: newspush_trending_base, newspush_view, newspush_trending_tick (lease +
current top lists), newspush_trending_publish, newspush_trending_current,
newspush_trending_rebase, newspush_trending_release. Writers of trending lists are fenced by the
lease: a node that lost it gets not_leader.

Load: redis-cli -x FUNCTION LOAD REPLACE < server/redis/newspush.lua
]]

local DEFAULT_MAXLEN = 10000
local DEFAULT_MAX_AGE_MS = 86400000
local DEFAULT_CHANNEL = 'news:events'
local READ_DEFAULT, READ_CAP = 1000, 10000
local RECENT_DEFAULT, RECENT_CAP = 20, 200
local SCAN_DEFAULT, SCAN_CAP = 2000, 10000
-- newspush_recent pages through the log so that it stops early without copying scan_cap bodies.
local SCAN_PAGE = 100
local MAX_ID_BYTES = 128
local MAX_CATEGORY_BYTES = 32
-- Trending. A sorted set is trimmed back to TREND_KEEP only once it passes TREND_CAP, so the
-- trim (a ZREMRANGEBYRANK) happens once per 100 new members rather than on every view.
local TREND_KEEP, TREND_CAP = 1000, 1100
local VIEW_IDS_CAP = 1000
local TREND_LIMIT_CAP = 100
-- Scores that a rebase shrinks below this are views from many half-lives ago: noise.
local TREND_MIN_SCORE = 1e-9
local MAX_NODE_ID_BYTES = 256
-- A lease is a few tick intervals; a day means a misconfiguration, not a choice.
local LEASE_CAP_MS = 86400000
-- Bounds one publish call; there is one triple per category.
local PUBLISH_TRIPLES_CAP = 1000
-- Members per ZADD / ZREM in a rebase: keeps unpack() well inside the Lua stack.
local BATCH = 200

local function fail(code, detail)
  return redis.error_reply('ERR newspush: ' .. code .. ': ' .. detail)
end

-- Returns the key layout, or nil and an error reply.
local function layout(keys)
  if #keys ~= 1 or keys[1] == '' then
    return nil, fail('bad_keys', 'expected exactly one key, the stream')
  end
  local log = keys[1]
  local trend = log .. ':trend:'
  return {
    log = log, epoch = log .. ':epoch', config = log .. ':config', id_prefix = log .. ':id:',
    trend_base = trend .. 'base', trend_set_prefix = trend .. 'c:', trend_all = trend .. 'c:*',
    trend_cats = trend .. 'cats', trend_leader = trend .. 'leader',
    trend_current = trend .. 'current', trend_sig = trend .. 'sig', trend_seq = trend .. 'seq'
  }
end

-- A positive integer argument: the default when absent or empty, nil when malformed.
local function positive_integer(text, default)
  if text == nil or text == '' then return default end
  -- 15 digits stay exact in a Lua double.
  if not string.match(text, '^%d+$') or #text > 15 then return nil end
  local n = tonumber(text)
  if n < 1 then return nil end
  return n
end

local function integer_text(n)
  return string.format('%d', n)
end

-- Stream ids -------------------------------------------------------------------------------

-- Both halves of a stream id are unsigned 64-bit, beyond what a Lua double holds exactly, so ids
-- are kept as digit strings without leading zeros and compared by length, then lexically.
local function strip_zeros(digits)
  local stripped = string.gsub(digits, '^0+', '')
  if stripped == '' then return '0' end
  return stripped
end

local function parse_id(text)
  if type(text) ~= 'string' then return nil end
  local ms, seq = string.match(text, '^(%d+)%-(%d+)$')
  if not ms or #ms > 20 or #seq > 20 then return nil end
  return {strip_zeros(ms), strip_zeros(seq)}
end

local function id_text(id)
  return id[1] .. '-' .. id[2]
end

local function compare_digits(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end

local function compare_ids(a, b)
  local c = compare_digits(a[1], b[1])
  if c ~= 0 then return c end
  return compare_digits(a[2], b[2])
end

-- Stream state -------------------------------------------------------------------------------

-- A stream entry's flat field list as a table.
local function fields_of(entry)
  local fields = {}
  local list = entry[2]
  for i = 1, #list, 2 do fields[list[i]] = list[i + 1] end
  return fields
end

-- What the cursor logic needs from XINFO STREAM. `last` is the last generated id, not the last
-- entry's: once age trimming has emptied the stream, cursors handed out earlier must still
-- compare against it.
local function stream_state(log)
  local state = {
    exists = false, last = '0-0', max_deleted = '0-0', length = 0, added = 0,
    first = nil, last_entry_id = nil
  }
  if redis.call('EXISTS', log) == 0 then return state end
  state.exists = true
  local info = redis.call('XINFO', 'STREAM', log)
  for i = 1, #info, 2 do
    local name, value = info[i], info[i + 1]
    if name == 'last-generated-id' then state.last = value
    elseif name == 'max-deleted-entry-id' then state.max_deleted = value
    elseif name == 'length' then state.length = value
    elseif name == 'entries-added' then state.added = value
    elseif name == 'first-entry' and value then state.first = value
    elseif name == 'last-entry' and value then state.last_entry_id = value[1]
    end
  end
  return state
end

-- True when entries newer than `since` may have been removed, so reading after it could
-- silently skip events. XDEL moves max-deleted-entry-id but trimming does not, hence the 'p'
-- field: the first surviving entry names its predecessor, the newest entry trimming removed.
local function may_have_lost_after(since, state)
  if state.added == state.length then return false end  -- nothing was ever removed
  if compare_ids(since, parse_id(state.max_deleted)) < 0 then return true end
  if not state.first then
    -- Everything ever added is gone: only a cursor at the very end missed nothing.
    return compare_ids(since, parse_id(state.last)) < 0
  end
  -- An entry added by something other than this library has no 'p': what preceded it is
  -- unknown, so only a cursor at or after it is known to be complete.
  local bound = parse_id(fields_of(state.first).p) or parse_id(state.first[1])
  return compare_ids(since, bound) < 0
end

-- True when `since` names a position of this log: an entry it holds, or one it is known to have
-- had (its last generated id, the newest deleted, the predecessor of the first survivor). A
-- replica promoted after a failover may lack the newest entries of the old primary (replication
-- is asynchronous): a cursor naming one of them passes every other check once the new primary
-- has appended past it, and reading after it would silently skip what the new log holds instead.
local function names_known_entry(k, since, state)
  if compare_ids(since, parse_id('0-0')) == 0 then return true end
  if compare_ids(since, parse_id(state.last)) == 0 then return true end
  if compare_ids(since, parse_id(state.max_deleted)) == 0 then return true end
  if state.first then
    local before_first = parse_id(fields_of(state.first).p)
    if before_first and compare_ids(since, before_first) == 0 then return true end
  end
  local text = id_text(since)
  return #redis.call('XRANGE', k.log, text, text, 'COUNT', 1) == 1
end

-- Epoch and config ----------------------------------------------------------------------------

local function base36(n)
  local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
  local out = ''
  repeat
    local d = n % 36
    out = string.sub(digits, d + 1, d + 1) .. out
    n = (n - d) / 36
  until n == 0
  return out
end

-- Creates the epoch on first use. Microseconds since 1970 (about 2^51) are exact in a double,
-- and a new incarnation of the data cannot start in the same microsecond as the old one.
local function ensure_epoch(k)
  local epoch = redis.call('GET', k.epoch)
  if epoch then return epoch end
  local now = redis.call('TIME')
  epoch = base36(tonumber(now[1]) * 1000000 + tonumber(now[2]))
  redis.call('SET', k.epoch, epoch)
  return epoch
end

local function read_config(k)
  local v = redis.call('HMGET', k.config, 'maxlen', 'max_age_ms', 'channel')
  return {
    maxlen = positive_integer(v[1] or nil, DEFAULT_MAXLEN) or DEFAULT_MAXLEN,
    max_age_ms = positive_integer(v[2] or nil, DEFAULT_MAX_AGE_MS) or DEFAULT_MAX_AGE_MS,
    channel = v[3] or DEFAULT_CHANNEL
  }
end

local function now_ms()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end

-- Appends one event, trims by length and age, notifies; returns the new cursor.
local function append(k, epoch, kind, id, category, breaking, body)
  local config = read_config(k)
  local previous = stream_state(k.log).last
  local stream_id = redis.call('XADD', k.log, 'MAXLEN', '~', integer_text(config.maxlen), '*',
    'k', kind, 'i', id, 'c', category, 'br', breaking and '1' or '0', 'p', previous, 'b', body)
  -- Exact, not '~': an approximate MINID only drops whole stream nodes, so entries far older
  -- than max_age_ms could linger. New entries are never older than now, so this cannot remove
  -- the one just added, and in steady state each publish trims about one entry.
  local oldest_kept = math.max(0, now_ms() - config.max_age_ms)
  redis.call('XTRIM', k.log, 'MINID', integer_text(oldest_kept))
  local cursor = epoch .. ':' .. stream_id
  redis.call('PUBLISH', config.channel, cursor .. '\n' .. kind .. '\n' .. body)
  return cursor, config
end

-- Article validation ---------------------------------------------------------------------------

local function is_category(value)
  return type(value) == 'string' and #value >= 1 and #value <= MAX_CATEGORY_BYTES
    and string.match(value, '^[a-z0-9%-]+$') ~= nil
end

local function is_article_id(value)
  return type(value) == 'string' and #value >= 1 and #value <= MAX_ID_BYTES
end

-- Returns the decoded article, or nil and an error reply.
local function validate_article(raw)
  if type(raw) ~= 'string' then return nil, fail('not_json', 'missing article argument') end
  local ok, article = pcall(cjson.decode, raw)
  if not ok then return nil, fail('not_json', 'article is not valid JSON') end
  -- cjson decodes arrays to tables too; only the text tells them apart.
  if type(article) ~= 'table' or not string.match(raw, '^%s*{') then
    return nil, fail('not_object', 'article must be a JSON object')
  end
  if not is_article_id(article.id) then
    return nil, fail('bad_id', '"id" must be a string of 1..' .. MAX_ID_BYTES .. ' bytes')
  end
  if not is_category(article.category) then
    return nil, fail('bad_category',
      '"category" must match ^[a-z0-9-]+$ with 1..' .. MAX_CATEGORY_BYTES .. ' bytes')
  end
  if type(article.title) ~= 'string' or article.title == '' then
    return nil, fail('bad_title', '"title" must be a non-empty string')
  end
  -- cjson.null is userdata, so null is rejected here along with strings and numbers.
  if article.breaking ~= nil and type(article.breaking) ~= 'boolean' then
    return nil, fail('bad_breaking', '"breaking" must be true or false when present')
  end
  return article
end

-- Trending helpers -----------------------------------------------------------------------------

-- A required integer argument (times in ms, t0), or nil when malformed.
local function integer_arg(text)
  if type(text) ~= 'string' or not string.match(text, '^%-?%d+$') then return nil end
  -- 15 digits stay exact in a Lua double.
  if #string.gsub(text, '^%-', '') > 15 then return nil end
  return tonumber(text)
end

-- A finite number in decimal notation, or nil. The character check comes first because Lua's
-- tonumber (strtod) would also take "inf", "nan", hex and surrounding spaces.
local function finite_number(text)
  if type(text) ~= 'string' or not string.match(text, '^[%d%.eE%+%-]+$') then return nil end
  local n = tonumber(text)
  if not n or n ~= n or n == math.huge or n == -math.huge then return nil end
  return n
end

-- Scores cross into Redis as text: Lua's default number formatting keeps only 14 digits.
local function score_text(x)
  return string.format('%.17g', x)
end

local function is_node_id(value)
  return type(value) == 'string' and #value >= 1 and #value <= MAX_NODE_ID_BYTES
end

-- The error reply for a bad node id argument, or nil when it is fine.
local function bad_node(value)
  if is_node_id(value) then return nil end
  return fail('bad_node', 'node id must be 1..' .. MAX_NODE_ID_BYTES .. ' bytes')
end

local function trend_set(k, category)
  return k.trend_set_prefix .. category
end

-- Trims a sorted set that grew past TREND_CAP back to its TREND_KEEP highest members.
local function cap_trend_set(key)
  local size = redis.call('ZCARD', key)
  if size > TREND_CAP then
    redis.call('ZREMRANGEBYRANK', key, '0', integer_text(size - TREND_KEEP - 1))
  end
end

-- A sorted set that lost its last member no longer exists; its category leaves trend:cats so
-- that ticks do not keep visiting it (a category with a stored signature is still visited once
-- more through trend:sig, which is how its now empty list gets published).
local function forget_category_if_empty(k, category)
  if redis.call('EXISTS', trend_set(k, category)) == 0 then
    redis.call('SREM', k.trend_cats, category)
  end
end

-- t0 and hl as stored (integer texts), or nil when there is no complete base yet.
local function read_base(k)
  local v = redis.call('HMGET', k.trend_base, 't0', 'hl')
  if not v[1] or not v[2] then return nil end
  return v[1], v[2]
end

local function holds_lease(k, node)
  return redis.call('GET', k.trend_leader) == node
end

-- An update that moves an article to another category takes its views along, so its place in
-- the new category's list reflects its readership. The "*" set is unaffected.
local function move_trending_score(k, id, from, to)
  local old_key = trend_set(k, from)
  local score = redis.call('ZSCORE', old_key, id)
  if not score then return end
  redis.call('ZREM', old_key, id)
  forget_category_if_empty(k, from)
  local new_key = trend_set(k, to)
  -- ZINCRBY, not ZADD: should the id somehow already have a score there, neither is lost.
  redis.call('ZINCRBY', new_key, score_text(tonumber(score)), id)
  redis.call('SADD', k.trend_cats, to)
  cap_trend_set(new_key)
end

-- Appends up to `limit` live items of one list to out as id, title, url, category, raw score,
-- best first; returns how many. Ids whose article record is gone (retracted, expired) are
-- ZREMed on the way, as are ids whose record now names another category (defensive: publish
-- moves scores on a category change), so dead entries cannot crowd the top of a list forever.
local function top_items(k, category, limit, out)
  local key = trend_set(k, category)
  local found = 0
  while found < limit do
    -- The `found` live members kept so far are now ranks 0..found-1: removed ones shifted up.
    local page = redis.call('ZREVRANGE', key, integer_text(found),
      integer_text(found + limit - 1), 'WITHSCORES')
    for i = 1, #page, 2 do
      local id = page[i]
      local record = redis.call('HMGET', k.id_prefix .. id, 'category', 'title', 'url')
      if record[1] and (category == '*' or record[1] == category) then
        out[#out + 1] = id
        out[#out + 1] = record[2] or ''
        out[#out + 1] = record[3] or ''
        out[#out + 1] = record[1]
        out[#out + 1] = score_text(tonumber(page[i + 1]))
        found = found + 1
        if found == limit then break end
      else
        redis.call('ZREM', key, id)
      end
    end
    if #page < 2 * limit then break end  -- the set is exhausted
  end
  if category ~= '*' then forget_category_if_empty(k, category) end
  return found
end

-- Multiplies every score of a sorted set by factor; drops those that become negligible.
local function rescale(key, factor)
  local flat = redis.call('ZRANGE', key, '0', '-1', 'WITHSCORES')
  local pairs_to_add, dropped = {}, {}
  for i = 1, #flat, 2 do
    local score = tonumber(flat[i + 1]) * factor
    if score < TREND_MIN_SCORE then
      dropped[#dropped + 1] = flat[i]
    else
      pairs_to_add[#pairs_to_add + 1] = score_text(score)
      pairs_to_add[#pairs_to_add + 1] = flat[i]
    end
  end
  for i = 1, #pairs_to_add, 2 * BATCH do
    redis.call('ZADD', key, unpack(pairs_to_add, i, math.min(i + 2 * BATCH - 1, #pairs_to_add)))
  end
  for i = 1, #dropped, BATCH do
    redis.call('ZREM', key, unpack(dropped, i, math.min(i + BATCH - 1, #dropped)))
  end
end

-- Functions -----------------------------------------------------------------------------------

-- newspush_init <log> [maxlen] [max_age_ms] [channel] -> head cursor
local function init(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local maxlen = positive_integer(args[1], DEFAULT_MAXLEN)
  local max_age_ms = positive_integer(args[2], DEFAULT_MAX_AGE_MS)
  local channel = args[3]
  if channel == nil or channel == '' then channel = DEFAULT_CHANNEL end
  if not maxlen then return fail('bad_config', 'maxlen must be a positive integer') end
  if not max_age_ms then return fail('bad_config', 'max_age_ms must be a positive integer') end
  redis.call('HSET', k.config, 'maxlen', integer_text(maxlen), 'max_age_ms',
    integer_text(max_age_ms), 'channel', channel)
  local epoch = ensure_epoch(k)
  return epoch .. ':' .. stream_state(k.log).last
end

-- newspush_head <log> -> head cursor, or "" before any epoch exists (read-only cannot make one)
local function head(keys)
  local k, err = layout(keys)
  if not k then return err end
  local epoch = redis.call('GET', k.epoch)
  if not epoch then return '' end
  return epoch .. ':' .. stream_state(k.log).last
end

-- newspush_publish <log> <article json> -> {cursor, "article" | "update" | "duplicate"}
local function publish(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local raw = args[1]
  local article, invalid = validate_article(raw)
  if not article then return invalid end

  local record_key = k.id_prefix .. article.id
  local sha = redis.sha1hex(raw)
  local record = redis.call('HMGET', record_key, 'sha', 'cursor', 'category')
  local kind = 'article'
  if record[1] then
    -- A retry of a publish that already succeeded: answer as before, change nothing.
    if record[1] == sha then
      -- Rewrites what is there, so this call is replicated too: a WAIT after it covers the
      -- original write, and a retry after a not_replicated answer can confirm it.
      redis.call('HSET', record_key, 'sha', sha)
      return {record[2], 'duplicate'}
    end
    kind = 'update'
  end

  local epoch = ensure_epoch(k)
  local breaking = article.breaking == true
  local cursor, config = append(k, epoch, kind, article.id, article.category, breaking, raw)
  -- title and url let a trending tick render a list without decoding article bodies.
  local url = type(article.url) == 'string' and article.url or ''
  redis.call('HSET', record_key, 'sha', sha, 'cursor', cursor, 'category', article.category,
    'breaking', breaking and '1' or '0', 'title', article.title, 'url', url)
  redis.call('PEXPIRE', record_key, integer_text(config.max_age_ms))
  if kind == 'update' and record[3] and record[3] ~= article.category then
    move_trending_score(k, article.id, record[3], article.category)
  end
  return {cursor, kind}
end

-- newspush_retract <log> <article id> -> cursor
local function retract(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local id = args[1]
  if not is_article_id(id) then
    return fail('bad_id', 'article id must be 1..' .. MAX_ID_BYTES .. ' bytes')
  end
  local record_key = k.id_prefix .. id
  local record = redis.call('HMGET', record_key, 'category', 'breaking')
  if not record[1] then
    return fail('not_found', 'no article ' .. id .. ' within max_age_ms')
  end
  local category, breaking = record[1], record[2] == '1'
  local body = cjson.encode({id = id, category = category, breaking = breaking})
  local epoch = ensure_epoch(k)
  local cursor = append(k, epoch, 'retract', id, category, breaking, body)
  redis.call('DEL', record_key)
  -- A retracted article must leave the trending lists at the next tick, not when it ages out.
  redis.call('ZREM', trend_set(k, category), id)
  redis.call('ZREM', k.trend_all, id)
  forget_category_if_empty(k, category)
  return cursor
end

-- Appends cursor, kind, category, breaking, body of one entry to a reply.
local function push_entry(out, epoch, entry)
  local f = fields_of(entry)
  out[#out + 1] = epoch .. ':' .. entry[1]
  out[#out + 1] = f.k or ''
  out[#out + 1] = f.c or ''
  out[#out + 1] = f.br or '0'
  out[#out + 1] = f.b or ''
end

-- newspush_read <log> <since cursor> [count] ->
--   {"ok" | "more", head, cursor1, kind1, category1, breaking1, body1, ...}
--   {"reset:unknown_cursor" | "reset:cursor_too_old", head}
local function read(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local count = positive_integer(args[2], READ_DEFAULT)
  if not count then return fail('bad_count', 'count must be a positive integer') end
  count = math.min(count, READ_CAP)

  local epoch = redis.call('GET', k.epoch)
  if not epoch then return {'reset:unknown_cursor', ''} end
  local state = stream_state(k.log)
  local head_cursor = epoch .. ':' .. state.last

  local since_epoch, since_text = string.match(args[1] or '', '^([^:]+):([^:]+)$')
  local since = parse_id(since_text)
  -- A cursor beyond the head comes from data this Redis no longer has (e.g. a restore from an
  -- older snapshot): the client holds events the log never will again.
  if not since or since_epoch ~= epoch or compare_ids(since, parse_id(state.last)) > 0 then
    return {'reset:unknown_cursor', head_cursor}
  end
  if may_have_lost_after(since, state) then return {'reset:cursor_too_old', head_cursor} end
  if not names_known_entry(k, since, state) then return {'reset:unknown_cursor', head_cursor} end

  local out = {'ok', head_cursor}
  if not state.exists then return out end
  local entries = redis.call('XRANGE', k.log, '(' .. id_text(since), '+', 'COUNT', count)
  for _, entry in ipairs(entries) do push_entry(out, epoch, entry) end
  if #entries == count and entries[#entries][1] ~= state.last_entry_id then out[1] = 'more' end
  return out
end

-- newspush_recent <log> [category | "*"] [limit] [scan cap] ->
--   {head, cursor1, kind1, category1, breaking1, body1, ...} newest first
-- Calls visit(fields, entry) on the newest entries, newest first, at most scan_cap of them, until
-- it returns true. Pages through the log so that stopping early copies few bodies.
local function scan_newest(log, scan_cap, visit)
  local scanned, upper = 0, '+'
  while scanned < scan_cap do
    local page = redis.call('XREVRANGE', log, upper, '-', 'COUNT',
      math.min(SCAN_PAGE, scan_cap - scanned))
    if #page == 0 then return end
    for _, entry in ipairs(page) do
      scanned = scanned + 1
      if visit(fields_of(entry), entry) then return end
    end
    upper = '(' .. page[#page][1]
  end
end

local function recent(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local category = args[1]
  if category == nil or category == '' then category = '*' end
  if category ~= '*' and not is_category(category) then
    return fail('bad_category', 'category must be "*" or match ^[a-z0-9-]+$')
  end
  local limit = positive_integer(args[2], RECENT_DEFAULT)
  local scan_cap = positive_integer(args[3], SCAN_DEFAULT)
  if not limit then return fail('bad_count', 'limit must be a positive integer') end
  if not scan_cap then return fail('bad_count', 'scan cap must be a positive integer') end
  limit, scan_cap = math.min(limit, RECENT_CAP), math.min(scan_cap, SCAN_CAP)

  local epoch = redis.call('GET', k.epoch)
  if not epoch then return {''} end
  local out = {epoch .. ':' .. stream_state(k.log).last}

  -- Newest first, only the first entry seen for an id counts: it is that article's latest
  -- state. A retract hides it, and so does a move to another category.
  local seen, found = {}, 0
  scan_newest(k.log, scan_cap, function(f, entry)
    if f.i and not seen[f.i] then
      seen[f.i] = true
      if (f.k == 'article' or f.k == 'update') and (category == '*' or f.c == category) then
        push_entry(out, epoch, entry)
        found = found + 1
      end
    end
    return found == limit
  end)
  return out
end

-- newspush_categories <log> [scan_cap] -> {category, ...}
-- The distinct categories among the newest entries, as far back as newspush_recent looks: a node
-- tells a category with recent articles from a name nobody publishes in without a scan per name.
local function categories(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local scan_cap = positive_integer(args[1], SCAN_DEFAULT)
  if not scan_cap then return fail('bad_count', 'scan cap must be a positive integer') end
  scan_cap = math.min(scan_cap, SCAN_CAP)
  local seen, out = {}, {}
  scan_newest(k.log, scan_cap, function(f)
    if f.c and not seen[f.c] then
      seen[f.c] = true
      out[#out + 1] = f.c
    end
    return false
  end)
  return out
end

-- Trending --------------------------------------------------------------------------------------

-- newspush_trending_base <log> <hl_ms> <now_ms> -> {t0, hl}
-- The first node to ask fixes the base and every other node adopts it: all weights must share
-- one t0 to be summable.
local function trending_base(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local hl = positive_integer(args[1], nil)
  if not hl then return fail('bad_hl', 'hl_ms must be a positive integer') end
  local now = integer_arg(args[2])
  if not now then return fail('bad_now', 'now_ms must be an integer') end
  local t0, stored_hl = read_base(k)
  if t0 then return {t0, stored_hl} end
  t0, stored_hl = integer_text(now), integer_text(hl)
  redis.call('HSET', k.trend_base, 't0', t0, 'hl', stored_hl)
  return {t0, stored_hl}
end

-- newspush_view <log> <t0> <weight> <id>... -> {"ok", counted, unknown} | {"rebased", t0, hl}
-- The node computed weight against its t0; after a rebase that weight would be on the wrong
-- scale, so a differing t0 changes nothing and hands back the base to recompute with.
local function view(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local t0 = integer_arg(args[1])
  if not t0 then return fail('bad_t0', 't0 must be an integer') end
  local weight = finite_number(args[2])
  if not weight or weight <= 0 then
    return fail('bad_weight', 'weight must be a positive finite number')
  end
  local count = #args - 2
  if count < 1 or count > VIEW_IDS_CAP then
    return fail('bad_ids', 'expected 1..' .. VIEW_IDS_CAP .. ' article ids')
  end
  -- All ids are checked before anything is written: a rejected call changed nothing.
  for i = 3, #args do
    if not is_article_id(args[i]) then
      return fail('bad_id', 'article id must be 1..' .. MAX_ID_BYTES .. ' bytes')
    end
  end
  local stored_t0, hl = read_base(k)
  if not stored_t0 then return {'rebased', '', ''} end
  if tonumber(stored_t0) ~= t0 then return {'rebased', stored_t0, hl} end

  local weight_text = score_text(weight)
  local counted, unknown, touched = 0, 0, {}
  for i = 3, #args do
    local id = args[i]
    local category = redis.call('HGET', k.id_prefix .. id, 'category')
    if category then
      redis.call('ZINCRBY', trend_set(k, category), weight_text, id)
      redis.call('ZINCRBY', k.trend_all, weight_text, id)
      if not touched[category] then
        touched[category] = true
        redis.call('SADD', k.trend_cats, category)
      end
      counted = counted + 1
    else
      unknown = unknown + 1  -- retracted, expired or never published
    end
  end
  -- Capping once per touched set after the batch keeps a view call O(ids * log n).
  if counted > 0 then
    cap_trend_set(k.trend_all)
    for category in pairs(touched) do cap_trend_set(trend_set(k, category)) end
  end
  return {'ok', counted, unknown}
end

-- newspush_trending_tick <log> <node_id> <lease_ms> <limit> ->
--   {"follower", holder}
--   {"leader", t0, hl, ncat, (category, sig, n, (id, title, url, category, raw_score) * n) * ncat}
-- Lists: every category in trend:cats and trend:sig, and "*", sorted bytewise ("*" first). A
-- category in trend:sig but without a set still gets its (empty) list, so that the node can
-- publish that it emptied. t0 and hl are "" when there is no base.
local function trending_tick(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local node = args[1]
  local invalid_node = bad_node(node)
  if invalid_node then return invalid_node end
  local lease = positive_integer(args[2], nil)
  if not lease or lease > LEASE_CAP_MS then
    return fail('bad_lease', 'lease_ms must be an integer in 1..' .. LEASE_CAP_MS)
  end
  local limit = positive_integer(args[3], nil)
  if not limit or limit > TREND_LIMIT_CAP then
    return fail('bad_limit', 'limit must be an integer in 1..' .. TREND_LIMIT_CAP)
  end

  local lease_text = integer_text(lease)
  if not redis.call('SET', k.trend_leader, node, 'NX', 'PX', lease_text) then
    local holder = redis.call('GET', k.trend_leader)
    if holder ~= node then return {'follower', holder} end
    redis.call('PEXPIRE', k.trend_leader, lease_text)
  end

  local t0, hl = read_base(k)
  local categories, seen = {'*'}, {['*'] = true}
  local function add_all(list)
    for _, category in ipairs(list) do
      if not seen[category] then
        seen[category] = true
        categories[#categories + 1] = category
      end
    end
  end
  add_all(redis.call('SMEMBERS', k.trend_cats))
  add_all(redis.call('HKEYS', k.trend_sig))
  table.sort(categories)

  local out = {'leader', t0 or '', hl or '', #categories}
  for _, category in ipairs(categories) do
    out[#out + 1] = category
    out[#out + 1] = redis.call('HGET', k.trend_sig, category) or ''
    local count_at = #out + 1
    out[count_at] = 0
    out[count_at] = top_items(k, category, limit, out)
  end
  return out
end

-- newspush_trending_publish <log> <node_id> <channel> (<category> <sig> <frame>)... -> published
-- Fenced: a node whose lease expired (say it stalled) and that another node took over must not
-- overwrite the newer lists.
local function trending_publish(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local node, channel = args[1], args[2]
  local invalid_node = bad_node(node)
  if invalid_node then return invalid_node end
  if type(channel) ~= 'string' or channel == '' then
    return fail('bad_channel', 'channel must be a non-empty string')
  end
  local values = #args - 2
  if values % 3 ~= 0 or values / 3 > PUBLISH_TRIPLES_CAP then
    return fail('bad_args', 'expected up to ' .. PUBLISH_TRIPLES_CAP ..
      ' triples of category, signature, frame')
  end
  for i = 3, #args, 3 do
    local category, frame = args[i], args[i + 2]
    if category ~= '*' and not is_category(category) then
      return fail('bad_category', 'category must be "*" or match ^[a-z0-9-]+$')
    end
    -- Clients read newline-delimited JSON: a frame is exactly one line.
    if frame == '' or string.find(frame, '\n', 1, true) then
      return fail('bad_frame', 'frame must be one non-empty line')
    end
  end
  if not holds_lease(k, node) then
    return fail('not_leader', 'the trending lease is not held by ' .. node)
  end
  local published = 0
  for i = 3, #args, 3 do
    local category, sig, frame = args[i], args[i + 1], args[i + 2]
    local seq = redis.call('INCR', k.trend_seq)
    local payload = integer_text(seq) .. '\n' .. category .. '\n' .. frame
    redis.call('HSET', k.trend_current, category, payload)
    redis.call('HSET', k.trend_sig, category, sig)
    redis.call('PUBLISH', channel, payload)
    published = published + 1
  end
  return published
end

-- newspush_trending_current <log> -> {payload, ...}, one per list (a starting node's snapshot)
local function trending_current(keys)
  local k, err = layout(keys)
  if not k then return err end
  local flat = redis.call('HGETALL', k.trend_current)
  local out = {}
  for i = 2, #flat, 2 do out[#out + 1] = flat[i] end
  return out
end

-- newspush_trending_rebase <log> <node_id> <old_t0> <new_t0> <new_hl> <factor> -> "ok"
-- Scores grow as 2^((t - t0)/hl); before they overflow (or to change hl) the leader moves t0 and
-- scales every score by factor (2^((old_t0 - new_t0)/hl), computed by the node). The one call
-- that is O(set sizes); the caps keep that to about 1100 members per category.
local function trending_rebase(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local node = args[1]
  local invalid_node = bad_node(node)
  if invalid_node then return invalid_node end
  local old_t0, new_t0 = integer_arg(args[2]), integer_arg(args[3])
  if not old_t0 then return fail('bad_t0', 'old_t0 must be an integer') end
  if not new_t0 then return fail('bad_t0', 'new_t0 must be an integer') end
  local new_hl = positive_integer(args[4], nil)
  if not new_hl then return fail('bad_hl', 'new_hl must be a positive integer') end
  local factor = finite_number(args[5])
  if not factor or factor <= 0 or factor > 1 then
    return fail('bad_factor', 'factor must be a number in (0, 1]')
  end
  if not holds_lease(k, node) then
    return fail('not_leader', 'the trending lease is not held by ' .. node)
  end
  -- Compare-and-set: a rebase computed against another base would scale twice.
  local t0, hl = read_base(k)
  if not t0 or tonumber(t0) ~= old_t0 then
    return fail('stale_base', 't0=' .. (t0 or '') .. ' hl=' .. (hl or ''))
  end

  rescale(k.trend_all, factor)
  for _, category in ipairs(redis.call('SMEMBERS', k.trend_cats)) do
    rescale(trend_set(k, category), factor)
    forget_category_if_empty(k, category)
  end
  redis.call('HSET', k.trend_base, 't0', integer_text(new_t0), 'hl', integer_text(new_hl))
  return 'ok'
end

-- newspush_trending_release <log> <node_id> -> 1 when it deleted its own lease, else 0
local function trending_release(keys, args)
  local k, err = layout(keys)
  if not k then return err end
  local node = args[1]
  local invalid_node = bad_node(node)
  if invalid_node then return invalid_node end
  if not holds_lease(k, node) then return 0 end
  redis.call('DEL', k.trend_leader)
  return 1
end

redis.register_function{function_name = 'newspush_init', callback = init}
redis.register_function{function_name = 'newspush_head', callback = head, flags = {'no-writes'}}
redis.register_function{function_name = 'newspush_publish', callback = publish}
redis.register_function{function_name = 'newspush_retract', callback = retract}
redis.register_function{function_name = 'newspush_read', callback = read, flags = {'no-writes'}}
redis.register_function{function_name = 'newspush_recent', callback = recent,
  flags = {'no-writes'}}
redis.register_function{function_name = 'newspush_categories', callback = categories,
  flags = {'no-writes'}}
redis.register_function{function_name = 'newspush_trending_base', callback = trending_base}
redis.register_function{function_name = 'newspush_view', callback = view}
redis.register_function{function_name = 'newspush_trending_tick', callback = trending_tick}
redis.register_function{function_name = 'newspush_trending_publish', callback = trending_publish}
redis.register_function{function_name = 'newspush_trending_current', callback = trending_current,
  flags = {'no-writes'}}
redis.register_function{function_name = 'newspush_trending_rebase', callback = trending_rebase}
redis.register_function{function_name = 'newspush_trending_release', callback = trending_release}
