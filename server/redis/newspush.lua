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
  <log>:id:<id>     hash sha, cursor, category, breaking; expires after max_age_ms. Recognises a
                    retried publish and routes a retract.
Derived keys are not declared to Redis: this library is for a single Redis instance (or a
primary with replicas), not Redis Cluster.

Cursor: "<epoch>:<stream id>", opaque to clients. Notification on the channel:
"<cursor>\n<kind>\n<body>" (the body is everything after the second newline).

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

local function fail(code, detail)
  return redis.error_reply('ERR newspush: ' .. code .. ': ' .. detail)
end

-- Returns the key layout, or nil and an error reply.
local function layout(keys)
  if #keys ~= 1 or keys[1] == '' then
    return nil, fail('bad_keys', 'expected exactly one key, the stream')
  end
  local log = keys[1]
  return {log = log, epoch = log .. ':epoch', config = log .. ':config', id_prefix = log .. ':id:'}
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
  local record = redis.call('HMGET', record_key, 'sha', 'cursor')
  local kind = 'article'
  if record[1] then
    -- A retry of a publish that already succeeded: answer as before, change nothing.
    if record[1] == sha then return {record[2], 'duplicate'} end
    kind = 'update'
  end

  local epoch = ensure_epoch(k)
  local breaking = article.breaking == true
  local cursor, config = append(k, epoch, kind, article.id, article.category, breaking, raw)
  redis.call('HSET', record_key, 'sha', sha, 'cursor', cursor, 'category', article.category,
    'breaking', breaking and '1' or '0')
  redis.call('PEXPIRE', record_key, integer_text(config.max_age_ms))
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

  local out = {'ok', head_cursor}
  if not state.exists then return out end
  local entries = redis.call('XRANGE', k.log, '(' .. id_text(since), '+', 'COUNT', count)
  for _, entry in ipairs(entries) do push_entry(out, epoch, entry) end
  if #entries == count and entries[#entries][1] ~= state.last_entry_id then out[1] = 'more' end
  return out
end

-- newspush_recent <log> [category | "*"] [limit] [scan cap] ->
--   {head, cursor1, kind1, category1, breaking1, body1, ...} newest first
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
  local seen, found, scanned, upper = {}, 0, 0, '+'
  while found < limit and scanned < scan_cap do
    local page = redis.call('XREVRANGE', k.log, upper, '-', 'COUNT',
      math.min(SCAN_PAGE, scan_cap - scanned))
    if #page == 0 then break end
    for _, entry in ipairs(page) do
      scanned = scanned + 1
      local f = fields_of(entry)
      if f.i and not seen[f.i] then
        seen[f.i] = true
        if (f.k == 'article' or f.k == 'update') and (category == '*' or f.c == category) then
          push_entry(out, epoch, entry)
          found = found + 1
          if found == limit then break end
        end
      end
    end
    upper = '(' .. page[#page][1]
  end
  return out
end

redis.register_function{function_name = 'newspush_init', callback = init}
redis.register_function{function_name = 'newspush_head', callback = head, flags = {'no-writes'}}
redis.register_function{function_name = 'newspush_publish', callback = publish}
redis.register_function{function_name = 'newspush_retract', callback = retract}
redis.register_function{function_name = 'newspush_read', callback = read, flags = {'no-writes'}}
redis.register_function{function_name = 'newspush_recent', callback = recent,
  flags = {'no-writes'}}
