-- omniroute routing transitions as one Redis Functions library.
--
-- A line-for-line port of the stateful half of router/engine.py: every registered
-- function is one routing transition, atomic because Redis runs it alone. Policy that
-- can be computed without state (ordering scores, targets after each escalation step,
-- deadlines, bucket keys and which agents a bucket admits) arrives as arguments from
-- router/redis_store.py, so the two stores share it instead of re-implementing it.
--
-- The Python side prepends a generated prelude defining LIB, CHANNELS and TRANSITIONS
-- from router.interaction, so the lifecycle table has one source.
--
-- Conventions: every value kept in a hash is a string; floats are written with %.17g
-- (exact round trip with Python's float); optional strings travel as '' (None) or
-- '~' .. value. Arguments to redis.call are strings too, numbers included ('0', I(n)):
-- Redis 7.0 turns a Lua number argument into text with snprintf('%.17g'), ~2k
-- instructions each (ten a lifecycle, 2 % of its server work, before they were strings).
-- Items and agents are read once per call into Lua tables and written
-- back at the end (flush), so a transition touching one item many times costs one HSET.

local P, NOW, NOWS, OFFER_AT, STRATEGY, OFFER_TIMEOUT, MISSED_LIMIT, WRAP_TIMEOUT
local RETAIN, IDEM_TTL, MAXLEN, FAST
local ITEMS, AGENTS, EV = {}, {}, {}
-- Per call: status moves counted (flushed as one HINCRBY per distinct move), the
-- timer sequence block taken (see timer()) and how many timers were set (op_tick).
local MOVES, TSEQ, TIDX, TSET = {}, nil, 0, 0
-- A batch of transitions (the 'batch' function, BATCH.run below) in progress: `on`; the
-- stream entries, status moves, sequence numbers, timers (score, member, …) and arrivals
-- per queue x channel its transitions made, written once when it ends (`ev`, `moves`,
-- `seq`, `timers`, `recv`); its functions by name (`ops`) and argument counts by text
-- (`count`).
-- (one table, not several locals: the main chunk is near Lua's limit of 200 locals)
local BATCH = {on = false, ev = {}, moves = {}, seq = nil, timers = {}, recv = {}, ops = {},
  count = {}}

local FINAL = {completed = true, abandoned = true, cancelled = true, expired = true}
local TIMER_OFFER, TIMER_STEP, TIMER_AT_RISK, TIMER_BREACH = 1, 2, 3, 4
local TIMER_MAX_WAIT, TIMER_PREFERRED, TIMER_WRAP_UP = 5, 6, 7

local function F(x) return string.format('%.17g', x) end
-- Integers as text; small non-negative ones (counts, tokens, priorities) formatted once
-- per server and then looked up: string.format costs ~3k instructions a call.
local INT_TEXT = {}
local function I(x)
  local s = INT_TEXT[x]
  if s then return s end
  s = string.format('%d', x)
  if x >= 0 and x < 4096 and x == math.floor(x) then INT_TEXT[x] = s end
  return s
end
-- ZEROS[n]: n zeros, to pad a decimal to a fixed width by concatenation (not format).
local ZEROS = {[0] = ''}
for n = 1, 20 do ZEROS[n] = ZEROS[n - 1] .. '0' end
local function enc(s) if s == nil then return '' end return '~' .. s end
local function dec(s) if s == nil or s == '' then return nil end return string.sub(s, 2) end

-- The settings argument last parsed: a worker sends the same one on every call, and
-- parsing it (gmatch, tonumber) cost about as much as a small transition's Redis calls.
-- Only a cache: every call still carries its settings, so nothing depends on history.
local PARSED = nil

-- K[name]: the site-wide key P .. name, made once per site prefix rather than
-- concatenated (a new string, hashed and interned) at every use.
local SITE_KEYS = {'agents', 'arrk', 'bdef', 'bmade', 'cnt', 'counts', 'events', 'fin', 'keyexp',
  'keys', 'recv', 'seq', 'timers', 'tseq'}
local K = {}

-- The Lua collector's pace: Redis runs one collector step of its own every 50 calls (of
-- any function), on top of Lua's, and at the default step multiplier (200) that finished
-- a whole cycle, re-marking everything live, far more often than the garbage called for:
-- 7 % of a lifecycle's server instructions. At 50 it does a quarter of the work a step;
-- the heap of the functions' VM settles at ~0.65-0.76 MB instead of ~0.4-0.5 MB (measured
-- over 480,000 lifecycles: below 100 a collector can fall behind, so this was checked,
-- not assumed), and a 4-call lifecycle costs 2.5 % fewer server instructions. The VM is
-- Redis's one for all function libraries; collectgarbage is not there while a library
-- loads, so the first call sets it, with the settings it parses first (again after a
-- restart, which reloads the library; and whenever the settings change, which is harmless).

local function setup(keys, args)
  if keys[1] ~= P then
    P = keys[1]
    K = {}
    for i = 1, #SITE_KEYS do K[SITE_KEYS[i]] = P .. SITE_KEYS[i] end
  end
  -- (the call's time as a number only when used, see now(): most straight lines write it
  -- as the text it came as, and tonumber is a strtod)
  NOWS, NOW, OFFER_AT = args[1], nil, nil
  -- The per-call tables, new only when the last call left something in them: most calls
  -- (the straight lines) leave ITEMS and AGENTS empty, and a table made and collected per
  -- call is not free.
  if next(ITEMS) ~= nil then ITEMS = {} end
  if next(AGENTS) ~= nil then AGENTS = {} end
  if #EV > 0 then EV = {} end
  if next(MOVES) ~= nil then MOVES = {} end
  TSEQ, TIDX, TSET = nil, 0, 0
  if args[2] == PARSED then return end
  collectgarbage('setstepmul', 50) -- (see above)
  -- the store's settings travel as one space-separated argument (fewer to encode)
  local c = {}
  for word in string.gmatch(args[2], '%S+') do c[#c + 1] = word end
  STRATEGY = c[1]
  OFFER_TIMEOUT = tonumber(c[2])
  MISSED_LIMIT = tonumber(c[3])
  WRAP_TIMEOUT = tonumber(c[4])
  RETAIN = tonumber(c[5])
  IDEM_TTL = tonumber(c[6])
  MAXLEN = c[7]
  FAST = c[8] ~= '0'
  PARSED = args[2]
end
local BASE = 2 -- common arguments (now, settings) before each operation's own

local function now()
  if NOW == nil then NOW = tonumber(NOWS) end
  return NOW
end

-- byte-wise string order (Lua's < uses strcoll, which depends on the server's locale)
local function bless(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- ------------------------------------------------------------------ state cache
-- Items and agents are hashes read field by field, on first use, and cached for the call:
-- moving a value from Redis into Lua costs ~2k instructions, so HGETALL of a 30-field
-- item cost more than all the writes of a transition. The fields nearly every transition
-- reads come in one HMGET when the record is first touched; any other field is fetched
-- alone when the code first reads it (the __index below). Fields starting with '_' are
-- the cache's own bookkeeping, never in Redis.
local ITEM_HOT = {'st', 'ag', 'ch', 'q', 'tok', 'enq', 'aat', 'thr', 'pri'}
-- An item's fields that are not kept while they hold their default value (layout 6): a
-- new interaction has them all so, and writing 13 fields nobody changed cost ingest ~30k
-- instructions (their arguments, entries and later deletion). Reading one that is not
-- there gives its default (load_record, prefetch and the record's __index below; the
-- straight lines map it themselves); a write of the value it already reads as is no
-- write (set()), so a field appears only once it differs. Items of older layouts have
-- every field, which reads the same.
local ITEM_DEFAULTS = {aat = '', disp = '', pref = '', sapp = '0', risk = '0', brk = '0',
  ovf = '0', mw = '', pa = '', ovq = '', othr = '', odue = '', tgo = ''}
local AGENT_HOT = {'pres', 'ao', 'nidx', 'nheld', 'bh', 'blk', 'wrap', 'npref'}
local VIEW_FIELDS = {'ix', 'plan', 'due', 'disp', 'ovf', 'hist'}
local CAPACITY_FIELDS = {}
-- Per channel, the names built from it (a concatenation per use interns a string anew):
-- the agent's capacity in use and configured, idle-since fields, and its mark in 'blk'.
local ACT, CAP, IDLE, MARK = {}, {}, {}, {}
for i = 1, #CHANNELS do -- (the standard library is not there while the library loads)
  local ch = CHANNELS[i]
  ACT[ch], CAP[ch], IDLE[ch], MARK[ch] = 'act:' .. ch, 'cap:' .. ch, 'idle:' .. ch, '|' .. ch .. '|'
  CAPACITY_FIELDS[#CAPACITY_FIELDS + 1] = ACT[ch]
  CAPACITY_FIELDS[#CAPACITY_FIELDS + 1] = CAP[ch]
end

local function concat(x, y) -- (numeric loops: no standard library at load time)
  local out = {}
  for i = 1, #x do out[#out + 1] = x[i] end
  for i = 1, #y do out[#out + 1] = y[i] end
  return out
end
local RESERVE_FIELDS = {'inq', 'seq', 'pref', 'ovf', 'sapp', 'tg', 'hist'}
local ITEM_RESERVE = concat(ITEM_HOT, RESERVE_FIELDS)
local ITEM_VIEW = concat(ITEM_HOT, VIEW_FIELDS)
local AGENT_PULL = concat(AGENT_HOT, CAPACITY_FIELDS)
-- Per channel: what offering work of that channel reads of the agent (its capacity, then
-- its idle time for re-scoring it in the ready indexes), in the first read.
local OFFER_FIELDS = {}
for i = 1, #CHANNELS do
  OFFER_FIELDS[CHANNELS[i]] = concat(AGENT_PULL, {'idle:' .. CHANNELS[i]})
end
-- Per channel: what releasing a hold reads of the agent.
local RELEASE_FIELDS = {}
for i = 1, #CHANNELS do
  RELEASE_FIELDS[CHANNELS[i]] = concat(AGENT_HOT, {'act:' .. CHANNELS[i]})
end

local LAZY = {__index = function(t, f)
  if string.byte(f, 1) == 95 or t._miss[f] then return nil end -- 95: '_'
  local v = redis.call('HGET', t._key, f)
  if not v then
    v = t._dflt and t._dflt[f]
    if v == nil then
      t._miss[f] = true
      return nil
    end
  end
  rawset(t, f, v)
  return v
end}

-- The record `id` (under P .. kind) with `hot` loaded and cached in `cache`, or nil when
-- it does not exist (`hot[1]` is a field every record has); `dflt`: the values of fields
-- not kept while at their default (ITEM_DEFAULTS).
local function load_record(cache, kind, id, hot, dflt)
  local key = P .. kind .. id
  local r = redis.call('HMGET', key, unpack(hot))
  if not r[1] then return nil end
  local t = setmetatable({_d = {}, _miss = {}, _key = key, id = id, _dflt = dflt}, LAZY)
  for i = 1, #hot do
    local v = r[i] or (dflt and dflt[hot[i]])
    if v then t[hot[i]] = v end
  end
  cache[id] = t
  return t
end

-- Load the fields of `fields` not yet read, in one HMGET.
local function prefetch(t, fields)
  if t._key == nil then return end -- created by this call: nothing in Redis to read
  local need = {}
  for i = 1, #fields do
    local f = fields[i]
    if rawget(t, f) == nil and not t._miss[f] then need[#need + 1] = f end
  end
  if #need == 0 then return end
  local r = redis.call('HMGET', t._key, unpack(need))
  local dflt = t._dflt
  for i = 1, #need do
    local v = r[i] or (dflt and dflt[need[i]])
    if v then rawset(t, need[i], v) else t._miss[need[i]] = true end
  end
end

-- `hot`: the fields to read at once when the item is first touched (ITEM_HOT by default;
-- an operation that will read more passes a longer list: one HMGET instead of two).
local function item(id, hot)
  local it = ITEMS[id] or load_record(ITEMS, 'i:', id, hot or ITEM_HOT, ITEM_DEFAULTS)
  if it == nil or it._gone then return nil end
  return it
end

-- An agent known to exist, read lazily (nothing is read until a field is used).
local function agent_ref(id)
  local a = AGENTS[id]
  if a == nil then
    a = setmetatable({_d = {}, _miss = {}, _key = P .. 'a:' .. id, id = id}, LAZY)
    AGENTS[id] = a
  end
  return a
end

local function agent(id, hot)
  return AGENTS[id] or load_record(AGENTS, 'a:', id, hot or AGENT_HOT)
end

local function set(t, f, v)
  if rawget(t, f) == v then return end -- unchanged: nothing to write back
  t[f] = v
  t._d[f] = true
end
local function num(t, f) return tonumber(t[f]) end

-- The text of a count (the '%d' text of a whole number) plus d = 1 or -1, from tables
-- filled as counts occur (up to 999): tonumber is a strtod and I() a format, and
-- transitions move counts (tokens, capacity in use) by one all the time.
local AFTER = {[1] = {}, [-1] = {}}
local function moved(count, d)
  local known = AFTER[d]
  local r = known and known[count]
  if r then return r end
  r = I(tonumber(count) + d)
  if known and #count < 4 then known[count] = r end
  return r
end
local function add(t, f, d) set(t, f, moved(t[f], d)) end

local function flush_table(prefix, tables)
  for id, t in pairs(tables) do
    if not t._gone then
      local args = {}
      for f in pairs(t._d) do
        args[#args + 1] = f
        args[#args + 1] = t[f]
      end
      if #args > 0 then redis.call('HSET', prefix .. id, unpack(args)) end
      t._d = {}
    end
  end
end

local function flush()
  -- (the straight lines leave both empty: no key prefix made for nothing)
  if next(ITEMS) ~= nil then flush_table(P .. 'i:', ITEMS) end
  if next(AGENTS) ~= nil then flush_table(P .. 'a:', AGENTS) end
  if BATCH.on then -- (counted once for the whole batch, see BATCH.run)
    local moves = BATCH.moves
    for k, n in pairs(MOVES) do
      moves[k] = (moves[k] or 0) + n
      MOVES[k] = nil
    end
    return
  end
  for k, n in pairs(MOVES) do
    redis.call('HINCRBY', K.cnt, k, I(n))
    MOVES[k] = nil -- (emptied in place for the next call)
  end
end

-- ------------------------------------------------------------------ events
-- An event is one JSON array of strings, encoded once: the stream entry's only field
-- ('e') and, unchanged, an element of the call's reply (router.redis_events reads both).
-- One field instead of one per attribute: each XADD argument costs a conversion and a
-- listpack entry, and the reply then needs no second encoding of the same event.
local function stream(e)
  EV[#EV + 1] = e
  if BATCH.on then -- (one entry for the whole batch, see BATCH.run)
    BATCH.ev[#BATCH.ev + 1] = e
    return
  end
  redis.call('XADD', K.events, 'MAXLEN', '~', MAXLEN, '*', 'e', e)
end

local function target(it)
  local key = (it.ovf == '1') and 'tgo' or 'tg'
  if it._tk ~= key or it._tsrc ~= it[key] then
    it._t = cjson.decode(it[key])
    it._tk = key
    it._tsrc = it[key]
  end
  return it._t[num(it, 'sapp') + 1]
end

-- The current priority, kept as its own field ('pri', set by retarget) so that events
-- need not decode the targets; items written before that field existed decode them.
local function priority(it)
  return it.pri or I(target(it).p)
end

-- The current target's priority ('pri') and, when it has one bucket only, that bucket
-- ('bk', else ''): a pull then removes the item from its bucket without decoding 'tg'.
local function retarget(it)
  local t = target(it)
  set(it, 'pri', I(t.p))
  set(it, 'bk', #t.b == 1 and t.b[1] or '')
end

-- Events and history entries are JSON arrays of strings, joined here from the JSON
-- text of each string rather than encoded from a table: cjson.encode of a 15-string
-- table cost ~5k instructions (the table made, walked and collected), as much as a
-- Redis command. The output is the same text: each string is cjson's own encoding of it,
-- or, for the texts of numbers (times, priorities, thresholds), the number's characters
-- in quotes, none of which cjson escapes.
-- J(s): cjson.encode(s), remembered for the values events repeat (kinds, statuses,
-- channels, queues, agents, reasons); the memo starts afresh when it holds JSON_KEPT.
local JSON_TEXT, JSON_KEPT, json_kept = {}, 2048, 0
local function J(s)
  local t = JSON_TEXT[s]
  if t then return t end
  t = cjson.encode(s)
  if json_kept >= JSON_KEPT then JSON_TEXT, json_kept = {}, 0 end
  JSON_TEXT[s], json_kept = t, json_kept + 1
  return t
end

-- An interaction event (all strings; `reason` as kept, '~' .. text or ''; `pri`, `enq`,
-- `aat` and `thr` the texts of numbers, or ''; `detail_json` the detail text's JSON string,
-- '""' when none).
local function event_text(kind, id, ch, q, st, previous, agent_id, pri, enq, aat, reason, thr,
                          detail_json)
  return '["i",' .. J(kind) .. ',' .. cjson.encode(id) .. ',' .. J(ch) .. ',' .. J(q) .. ','
    .. J(st) .. ',' .. J(previous) .. ',' .. J(agent_id) .. ',"' .. pri .. '","' .. enq
    .. '","' .. aat .. '",' .. J(reason) .. ',"' .. thr .. '",' .. detail_json .. ',"' .. NOWS
    .. '"]'
end

-- `detail`: a detail text, or its JSON string already (`detail_json`, as offer_expiry
-- gives it).
local function emit(kind, it, previous, agent_id, reason, detail, detail_json)
  if detail_json == nil then detail_json = detail and cjson.encode(detail) or '""' end
  stream(event_text(kind, it.id, it.ch, it.q, it.st, previous or '', agent_id or '',
    priority(it), it.enq, it.aat or '', enc(reason), it.thr, detail_json))
end

-- The item's history: a JSON array of [at, event, agent, queue, reason] entries kept in
-- its own hash ('hist'), so it is read with the fields a transition reads anyway and
-- written by the same HSET, where a list beside the item cost an RPUSH per transition
-- and an LRANGE (and a table in the reply) per view. Items written before this field
-- existed have the list ('h:<id>'): read from there, and moved into the field by their next
-- transition.
local function history(it)
  local h = it.hist
  if h ~= nil then return h end
  if it._key == nil then return '[]' end -- created in this call
  -- (read only: `get` may not write; the next record() moves the list in)
  local old = redis.call('LRANGE', P .. 'h:' .. it.id, '0', '-1')
  h = '[]'
  if #old > 0 then
    h = '[' .. table.concat(old, ',') .. ']'
    it._listed = true
  end
  rawset(it, 'hist', h) -- known for the rest of the call, not a change to write back
  return h
end

-- The history text `h` with one more entry (`reason` as kept: '~' .. text or ''), joined
-- in one concatenation: each string Lua makes (interned, then collected) costs ~1-2k
-- instructions, so the entry is not made apart first.
local function appended(h, kind, agent_id, q, reason)
  local head, sep = '[', ''
  if h ~= '[]' then head, sep = string.sub(h, 1, -2), ',' end
  return head .. sep .. '["' .. NOWS .. '",' .. J(kind) .. ',' .. J(agent_id) .. ',' .. J(q) .. ','
    .. J(reason) .. ']]'
end

local function record(it, kind, agent_id, reason)
  local h = history(it)
  if it._listed then -- moved into the field by the set() below
    redis.call('DEL', P .. 'h:' .. it.id)
    it._listed = nil
  end
  set(it, 'hist', appended(h, kind, agent_id or '', it.q, enc(reason)))
end

local function shown(a)
  if a.pres ~= 'offline' and num(a, 'wrap') > 0 then return 'wrap_up' end
  return a.pres
end

-- An agent's presence event (`reason` as kept).
local function presence_text(agent_id, now_shown, previous, reason)
  return '["a",' .. J(agent_id) .. ',' .. J(now_shown) .. ',' .. J(previous) .. ','
    .. J(reason) .. ',"' .. NOWS .. '"]'
end

local function emit_presence(a, previous)
  local now_shown = shown(a)
  if previous == now_shown then return end
  stream(presence_text(a.id, now_shown, previous, a.rsn or ''))
end

-- ------------------------------------------------------------------ agents
local function blocks(blk, ch) return string.find(blk, MARK[ch], 1, true) ~= nil end
local function is_blocking(a, ch) return blocks(a.blk, ch) end

-- (The counts the functions keep are the '%d' text of whole numbers, never negative, so
-- '0' is zero and anything else is more: a pull asks this of every channel, and each
-- tonumber is a strtod. Capacities come from the configuration: read as numbers.)
local function can_take(a, ch)
  if a.pres ~= 'available' or a.bh ~= '0' then return false end
  if a.nheld ~= '0' and is_blocking(a, ch) then return false end
  local active = a[ACT[ch]]
  if active == '0' then return num(a, CAP[ch]) > 0 end
  return tonumber(active) < num(a, CAP[ch])
end

local function load_of(a)
  local total = 0.0
  for _, ch in ipairs(CHANNELS) do
    local slots = num(a, CAP[ch])
    if slots > 0 then total = total + num(a, ACT[ch]) / slots end
  end
  return total
end

-- The agent's place in one bucket's ready index: (score as text, member), smaller first.
-- Longest idle: score = idle since, member = agent id (ties by id, as in the core); the
-- score is the idle time's text as kept (the time of a call, which Redis parses to the
-- same double as F(tonumber(text)) would give, without the two conversions).
-- Other strategies: score = load or -proficiency, member = fixed-width idle .. ':' .. id.
local function agent_key(a, bkey, ch)
  if STRATEGY == 'longest_idle' then return a[IDLE[ch]] or '0', a.id end
  local idle = tonumber(a[IDLE[ch]] or '0')
  local primary
  if STRATEGY == 'least_occupied' then
    primary = load_of(a)
  else
    primary = -tonumber(redis.call('HGET', P .. 'bp:' .. bkey, a.id) or '0')
  end
  return F(primary), string.format('%020.6f', idle) .. ':' .. a.id
end

local function member_agent(m)
  if STRATEGY == 'longest_idle' then return m end
  return string.sub(m, 22)
end

-- The agent into one bucket's ready index, at its place now; `old`: its member there
-- (nil when not in it). An agent already in it is re-scored in place: its member is its id
-- with the longest-idle strategy (the score alone moves: one ZADD), else it carries the
-- idle time and is replaced when that moved.
local function index_agent(a, bkey, ch, old)
  local s, m = agent_key(a, bkey, ch)
  local bakey = P .. 'ba:' .. bkey
  if old and old ~= m then redis.call('ZREM', bakey, old) end
  redis.call('ZADD', bakey, s, m)
  if old ~= m then redis.call('HSET', P .. 'ax:' .. a.id, bkey, m) end
  if not old then add(a, 'nidx', 1) end
end

local function unindex_agent(a, bkey)
  local old = redis.call('HGET', P .. 'ax:' .. a.id, bkey)
  if old then
    redis.call('ZREM', P .. 'ba:' .. bkey, old)
    redis.call('HDEL', P .. 'ax:' .. a.id, bkey)
    add(a, 'nidx', -1)
  end
end

-- engine._reindex_agent
local function reindex(a, ch)
  if a.ao ~= '1' and num(a, 'nidx') == 0 then return end
  if ch ~= nil and (STRATEGY == 'least_occupied' or is_blocking(a, ch)) then ch = nil end
  local chans
  if ch == nil then
    chans = CHANNELS
  else
    chans = {ch}
    for _, c in ipairs(CHANNELS) do
      if c ~= ch and is_blocking(a, c) then chans[#chans + 1] = c end
    end
  end
  local ax = P .. 'ax:' .. a.id
  for _, c in ipairs(chans) do
    local takes = a.ao == '1' and can_take(a, c)
    for _, bkey in ipairs(redis.call('SMEMBERS', P .. 'abk:' .. a.id .. ':' .. c)) do
      if takes then
        index_agent(a, bkey, c, redis.call('HGET', ax, bkey))
      else
        unindex_agent(a, bkey)
      end
    end
  end
end

-- engine._bucket: a bucket comes to exist when work first enters it; every agent the
-- bucket's definition admits learns of it, and the ready ones are indexed once.
local function ensure_bucket(bkey, ch)
  if redis.call('HSETNX', K.bmade, bkey, '1') == 0 then return end
  local def = cjson.decode(redis.call('HGET', K.bdef, bkey))
  for _, pair in ipairs(def) do
    local aid, prof = pair[1], pair[2]
    redis.call('SADD', P .. 'abk:' .. aid .. ':' .. ch, bkey)
    redis.call('HSET', P .. 'bp:' .. bkey, aid, I(prof))
    local a = agent(aid)
    if a ~= nil and a.ao == '1' and can_take(a, ch) then index_agent(a, bkey, ch) end
  end
end

-- ------------------------------------------------------------------ items
-- An item's queue member from its arrival number as kept (the '%d' text: padded, it is
-- what string.format('%016d') would give) and its id.
local function member_of(seq, id) return ZEROS[16 - #seq] .. seq .. ':' .. id end
local function member(it) return member_of(it.seq, it.id) end
local function member_id(m) return string.sub(m, 18) end
local function member_seq(m) return tonumber(string.sub(m, 1, 16)) end
-- universal order of two (score, member) item keys: score, then arrival sequence
local function klt(s1, m1, s2, m2)
  if s1 ~= s2 then return s1 < s2 end
  return member_seq(m1) < member_seq(m2)
end

local function rejected(id, aid)
  return redis.call('SISMEMBER', P .. 'rj:' .. id, aid) == 1
end

-- Interactions per status are kept as moves ('from>to' -> how many) in 'cnt', one
-- HINCRBY per distinct move of a call at flush, instead of two HINCRBYs per transition on
-- the statuses. Arrivals are the sum of 'recv' (ingest counts them there anyway), not a
-- move of their own: an HINCRBY less per ingest. 'counts' (per status) is what workers
-- before this layout wrote; op_snapshot adds both, so nothing needs migrating.
local MOVE_KEYS = {} -- from -> to -> 'from>to', made once per server
local function count_move(from, to)
  local keys = MOVE_KEYS[from]
  if keys == nil then
    keys = {}
    MOVE_KEYS[from] = keys
  end
  local k = keys[to]
  if k == nil then
    k = from .. '>' .. to
    keys[to] = k
  end
  MOVES[k] = (MOVES[k] or 0) + 1
end

local function set_status(it, st)
  if not TRANSITIONS[it.st][st] then
    error('omniroute: illegal transition ' .. it.id .. ' ' .. it.st .. ' -> ' .. st)
  end
  count_move(it.st, st)
  set(it, 'st', st)
end

-- One counter ('seq') numbers both arrivals (an item's place among equal scores) and the
-- calls that set timers: each needs only an increasing number, and an ingest then takes
-- one INCR for its item and its timers, not two. A call's first number also starts its
-- block of timer numbers (see timer()).
-- One arrival in queue x channel `qch`, counted in 'recv': whether it is the first there
-- (false in a batch, which counts them at its end, one HINCRBY per queue x channel, and
-- lists the first ones itself: see BATCH.run).
function BATCH.arrival(qch)
  if BATCH.on then
    BATCH.recv[qch] = (BATCH.recv[qch] or 0) + 1
    return false
  end
  return redis.call('HINCRBY', K.recv, qch, '1') == 1
end

-- In a batch the counter is read once and written once, at its end (see BATCH.run).
function BATCH.take_seq()
  if not BATCH.on then return redis.call('INCR', K.seq) end
  local n = BATCH.seq
  if n == nil then n = tonumber(redis.call('GET', K.seq) or '0') end
  BATCH.seq = n + 1
  return n + 1
end
local function next_seq()
  local n = BATCH.take_seq()
  if TSEQ == nil then TSEQ, TIDX = n, -1 end
  return n
end

-- Timers due at the same time fire in the order they were set: the member starts with a
-- sequence number. A call takes one number for a block of 100 (seq * 100 + index)
-- instead of one per timer; numbers stay increasing across calls, and past the numbers
-- older workers gave out (op_init moves 'seq' past their counter, 'tseq').
-- `token`: a number, or the '%d' text of one (an item's seq, as kept); `due_text`: F(due)
-- when the caller has it already.
local function timer(due, kind, id, token, due_text)
  if TSEQ == nil or TIDX >= 99 then
    TSEQ, TIDX = BATCH.take_seq(), 0
  else
    TIDX = TIDX + 1
  end
  local n = TSEQ * 100 + TIDX
  TSET = TSET + 1
  if type(token) == 'number' then token = I(token) end
  local member = string.format('%016d:%d:%s:%s', n, kind, token, id)
  if BATCH.on then -- (one ZADD for the batch: see BATCH.run; op_tick adds them first)
    local t = BATCH.timers
    t[#t + 1] = due_text or F(due)
    t[#t + 1] = member
    return
  end
  redis.call('ZADD', K.timers, due_text or F(due), member)
end

-- The timers a batch has set so far, into 'timers' (before anything reads it).
function BATCH.add_timers()
  local t = BATCH.timers
  local n = #t
  if n == 0 then return end
  for i = 1, n, 1000 do -- (score/member pairs; a bounded number of arguments a call)
    redis.call('ZADD', K.timers, unpack(t, i, math.min(i + 999, n)))
  end
  for i = n, 1, -1 do t[i] = nil end
end

-- (by id: the straight-line completion has no record to pass)
local function finish(id)
  redis.call('DEL', P .. 'rj:' .. id)
  local finished = redis.call('RPUSH', K.fin, id)
  while finished > RETAIN do
    finished = finished - 1
    local old = redis.call('LPOP', K.fin)
    redis.call('DEL', P .. 'i:' .. old, P .. 'h:' .. old) -- (h: of an older layout)
    local cached = ITEMS[old]
    if cached ~= nil then cached._gone = true end
  end
end

local function hold(a, it)
  local ch = it.ch
  redis.call('HSET', P .. 'ah:' .. a.id, it.id, ch)
  add(a, ACT[ch], 1)
  add(a, 'nheld', 1)
  if is_blocking(a, ch) then add(a, 'bh', 1) end
  reindex(a, ch)
end

local function release(a, it, idle)
  local ch = it.ch
  redis.call('HDEL', P .. 'ah:' .. a.id, it.id)
  add(a, ACT[ch], -1)
  add(a, 'nheld', -1)
  if is_blocking(a, ch) then add(a, 'bh', -1) end
  if idle then set(a, IDLE[ch], NOWS) end
  set(it, 'ag', '')
  reindex(a, ch)
end

-- `risk_at`: the at-risk time as text when the caller sent it (ingest: the store
-- computes it in Python, the same double as here, and a string.format less).
local function schedule_leg(it, risk_at)
  local token = it.seq
  local start -- (the leg's start: read only for a time computed here)
  if it.sa ~= '[]' or it.mw ~= '' or not risk_at then start = num(it, 'enq') end
  if it.sa ~= '[]' then -- (escalation steps: most plans have none)
    for index, after in ipairs(cjson.decode(it.sa)) do
      timer(start + after, TIMER_STEP, it.id, tonumber(token) * 100 + index - 1)
    end
  end
  -- (the breach timer is set when this one fires on unanswered work, as in the engine)
  if risk_at then
    timer(nil, TIMER_AT_RISK, it.id, token, risk_at)
  else
    timer(start + num(it, 'thr') * num(it, 'nbf'), TIMER_AT_RISK, it.id, token)
  end
  if it.mw ~= '' then timer(start + tonumber(it.mw), TIMER_MAX_WAIT, it.id, token) end
  if it.pa ~= '' and num(it, 'pt') > 0 then
    timer(now() + num(it, 'pt'), TIMER_PREFERRED, it.id, token)
  end
end

local enter_queue, match_agent, reserve

local function preferred_agent(it)
  local pa = it.pa
  if pa == '' or num(it, 'pt') <= 0 then return nil end
  if now() >= num(it, 'enq') + num(it, 'pt') then return nil end
  local a = agent(pa)
  if a == nil or a.pres == 'offline' then return nil end
  return pa
end

-- An agent's count of work waiting for it as preferred agent ('npref', layout 6: a pull
-- reads the set 'pref:<agent>' only when the count is not '0'), moved by `d`; left
-- absent when absent (made by op_init and create_agent from the set itself).
local function count_preferred(a, d)
  local n = a and tonumber(a.npref)
  if n then set(a, 'npref', I(n + d)) end
end

local function leave_queue(it)
  if it.inq ~= '1' then return end
  local m = member(it)
  if it.pref ~= '' then
    if redis.call('ZREM', P .. 'pref:' .. it.pref, m) == 1 then
      count_preferred(agent(it.pref), -1) -- (nil: the agent was removed since)
    end
    set(it, 'pref', '')
  else
    for _, b in ipairs(target(it).b) do redis.call('ZREM', P .. 'b:' .. b, m) end
  end
  redis.call('ZREM', P .. 'arr:' .. it.q .. '|' .. it.ch, m)
  set(it, 'inq', '0')
end

-- Whether a ready agent at (score s, member m) of a bucket's index comes before the best
-- found so far (none yet: nil): by score, then member byte-wise, as the core orders them.
local function agent_before(s, m, best_s, best_m)
  return best_s == nil or s < best_s or (s == best_s and bless(m, best_m))
end

-- engine._match_item: offer a queued item to the best ready agent (push direction)
local function match_item(it)
  if it.pref ~= '' then
    local a = agent(it.pref)
    if a.ao == '1' and can_take(a, it.ch) and not rejected(it.id, a.id) then
      reserve(it, a, true)
    end
    return
  end
  local nrej = 0
  if it._key then nrej = redis.call('SCARD', P .. 'rj:' .. it.id) end -- (nil: new here)
  local best_s, best_m
  for _, b in ipairs(target(it).b) do
    local r = redis.call('ZRANGE', P .. 'ba:' .. b, '0', I(nrej), 'WITHSCORES')
    for i = 1, #r, 2 do
      local m = r[i]
      if nrej == 0 or not rejected(it.id, member_agent(m)) then
        local s = tonumber(r[i + 1])
        if agent_before(s, m, best_s, best_m) then best_s, best_m = s, m end
        break
      end
    end
  end
  if best_m ~= nil then reserve(it, agent(member_agent(best_m)), true) end
end

enter_queue = function(it)
  local t = target(it)
  local m = member(it)
  -- Scored in whole microseconds: Redis keeps integer scores of a small sorted set as
  -- integers, while a fractional one is text that every insert re-parses (strtod) for
  -- each member it walks past. The exact time is the head item's 'enq' (op_snapshot).
  redis.call('ZADD', P .. 'arr:' .. it.q .. '|' .. it.ch, I(math.floor(num(it, 'enq') * 1e6)), m)
  redis.call('SADD', K.arrk, it.q .. '|' .. it.ch)
  local pref = preferred_agent(it)
  if pref ~= nil then
    set(it, 'pref', pref)
    if redis.call('ZADD', P .. 'pref:' .. pref, t.s, m) == 1 then
      count_preferred(agent(pref), 1)
    end
  else
    for _, b in ipairs(t.b) do
      ensure_bucket(b, it.ch)
      redis.call('ZADD', P .. 'b:' .. b, t.s, m)
    end
  end
  set(it, 'inq', '1')
  match_item(it)
end

-- engine._first_takeable over one sorted set, read in small pages
local function first_takeable(key, a, skip_rejected, check_channel)
  local start, page = 0, 16
  while true do
    local r = redis.call('ZRANGE', key, I(start), I(start + page - 1), 'WITHSCORES')
    if #r == 0 then return nil end
    for i = 1, #r, 2 do
      local m = r[i]
      local id = member_id(m)
      local ok = not (skip_rejected and rejected(id, a.id))
      if ok and check_channel then ok = can_take(a, item(id).ch) end
      if ok then return tonumber(r[i + 1]), m end
    end
    start = start + page
  end
end

local SETS = {}

-- engine._best_for: the best waiting item this agent may take now (pull direction)
-- The queue member of the best waiting item this agent may take now (nil when none), and
-- whether it waits for the agent as its preferred one.
local function best_member(a, skip_rejected)
  prefetch(a, CAPACITY_FIELDS)
  local best_s, best_m
  if a.npref ~= '0' then -- (work waits for it as preferred agent, or the count is unknown)
    best_s, best_m = first_takeable(P .. 'pref:' .. a.id, a, skip_rejected, true)
  end
  local preferred = best_m
  -- The buckets of every channel it can take now, in one call: the pick below is by a
  -- strict total order, so which bucket (or channel) comes first does not matter.
  -- (numeric loops: ipairs calls its iterator, a C function, once an element)
  -- (SETS: one table for every call, emptied before use: a call that failed halfway
  -- may have left names in it)
  local sets = SETS
  for i = #sets, 1, -1 do sets[i] = nil end
  for i = 1, #CHANNELS do
    local ch = CHANNELS[i]
    if can_take(a, ch) then sets[#sets + 1] = P .. 'abk:' .. a.id .. ':' .. ch end
  end
  local buckets = sets -- (empty when it can take no channel)
  if #sets == 1 then
    buckets = redis.call('SMEMBERS', sets[1])
  elseif #sets > 1 then
    buckets = redis.call('SUNION', unpack(sets))
  end
  for i = 1, #buckets do
    local b = buckets[i]
    local h = redis.call('ZRANGE', P .. 'b:' .. b, '0', '0', 'WITHSCORES')
    if #h > 0 then
      local s, m = tonumber(h[2]), h[1]
      if best_s == nil or klt(s, m, best_s, best_m) then
        if skip_rejected and rejected(member_id(m), a.id) then
          s, m = first_takeable(P .. 'b:' .. b, a, true, false)
        end
        if s ~= nil and (best_s == nil or klt(s, m, best_s, best_m)) then
          best_s, best_m = s, m
        end
      end
    end
  end
  return best_m, best_m ~= nil and best_m == preferred
end

local function best_for(a, skip_rejected)
  local m = best_member(a, skip_rejected)
  if m == nil then return nil end
  return item(member_id(m), ITEM_RESERVE) -- what reserve() reads, in the same HMGET
end

-- An offer's expiry as kept, and the event's JSON detail as a JSON string, what
-- cjson.encode('{"expires_at":' .. at .. '}') gives (by hand, not cjson: cjson writes 14
-- significant digits, a timestamp needs 17; and no second string to encode). Pulls get it
-- from the caller as text (OFFER_AT: the same double, a string.format less), other calls
-- compute it.
local function offer_expiry()
  local at = OFFER_AT or F(now() + OFFER_TIMEOUT)
  local json_at = at
  -- (a timestamp nearly always has a '.': one plain find, then the pattern, ~150
  -- instructions a character, only without one)
  if not string.find(at, '.', 1, true) and not string.find(at, '[eEn]') then
    json_at = at .. '.0'
  end
  return at, '"{\\"expires_at\\":' .. json_at .. '}"'
end

match_agent = function(a)
  if a.ao ~= '1' then return end
  while a.pres == 'available' do
    local it = best_for(a, true)
    if it == nil then return end
    reserve(it, a, true)
  end
end

reserve = function(it, a, offer)
  prefetch(it, RESERVE_FIELDS)
  leave_queue(it)
  set_status(it, 'reserved')
  set(it, 'ag', a.id)
  set(it, 'rat', NOWS)
  add(it, 'tok', 1)
  hold(a, it)
  local at, detail = offer_expiry()
  timer(nil, TIMER_OFFER, it.id, num(it, 'tok'), at)
  local why = offer and 'offer' or 'pull'
  record(it, 'reserved', a.id, why)
  emit('reserved', it, 'queued', a.id, why, nil, detail)
  return {it.id, a.id, it.ch, it.q, NOWS, at}
end

-- ------------------------------------------------------------------ escalation, SLA
local function escalate(it, applied)
  local indexed = it.inq == '1'
  if indexed then leave_queue(it) end
  set(it, 'sapp', I(applied))
  retarget(it)
  local t = target(it)
  record(it, 'escalated', nil, 'step ' .. applied)
  emit('escalated', it, it.st, nil, nil,
    cjson.encode({step = applied, queues = t.q, priority = t.p}))
  if indexed then enter_queue(it) end
end

local function catch_up_steps(it, upto)
  local waited = now() - num(it, 'enq')
  local afters = cjson.decode(it.sa)
  local due = 0
  for _, after in ipairs(afters) do
    if after <= waited then due = due + 1 end
  end
  if upto ~= nil and upto > due then due = upto end
  if due > #afters then due = #afters end
  if due <= num(it, 'sapp') then return end
  escalate(it, due)
end

local function overflow(it)
  local old = it.q
  set(it, 'q', it.ovq)
  set(it, 'ovf', '1')
  retarget(it)
  set(it, 'thr', it.othr)
  set(it, 'due', it.odue)
  set(it, 'mw', '')
  record(it, 'overflowed', nil, old .. ' -> ' .. it.q)
  emit('overflowed', it, it.st, nil, 'max_wait',
    cjson.encode({from_queue = old, to_queue = it.q}))
  enter_queue(it)
end

local function on_max_wait(it)
  if it.st == 'queued' and it.inq == '1' then leave_queue(it) end
  if it.ovq ~= '' and it.ovf ~= '1' and it.ovq ~= it.q then
    overflow(it)
    return
  end
  local previous = it.st
  set_status(it, 'expired')
  record(it, 'expired', nil, 'max_wait')
  emit('expired', it, previous, nil, 'max_wait')
  finish(it.id)
end

local function return_reservation(it, a, reason, kind)
  redis.call('SADD', P .. 'rj:' .. it.id, a.id)
  add(it, 'tok', 1)
  release(a, it, false)
  set_status(it, 'queued')
  record(it, kind, a.id, reason)
  emit(kind, it, 'reserved', a.id, reason)
  catch_up_steps(it, nil)
  if it.mw ~= '' and now() >= num(it, 'enq') + tonumber(it.mw) then
    on_max_wait(it)
    return
  end
  enter_queue(it)
end

-- ------------------------------------------------------------------ presence
local function do_presence(a, presence, reason, auto_offer)
  if auto_offer ~= nil then set(a, 'ao', auto_offer) end
  local previous = shown(a)
  local became = presence == 'available' and a.pres ~= presence
  set(a, 'pres', presence)
  if presence == 'not_ready' then set(a, 'rsn', enc(reason)) else set(a, 'rsn', '') end
  set(a, 'since', NOWS)
  if became then
    set(a, 'miss', '0')
    for _, ch in ipairs(CHANNELS) do set(a, 'idle:' .. ch, NOWS) end
  end
  if presence == 'offline' then
    -- HGETALL keeps insertion order for small hashes, like the core's dict
    local held = redis.call('HGETALL', P .. 'ah:' .. a.id)
    for i = 1, #held, 2 do
      local it = item(held[i])
      if it ~= nil and it.st == 'reserved' then
        return_reservation(it, a, 'agent_offline', 'rejected')
      end
    end
  end
  emit_presence(a, previous)
  reindex(a, nil)
  if presence == 'available' then match_agent(a) end
end

local function expire_offer(it)
  local a = agent(it.ag)
  add(a, 'miss', 1)
  return_reservation(it, a, 'offer_timeout', 'offer_expired')
  if num(a, 'miss') >= MISSED_LIMIT and a.pres == 'available' then
    do_presence(a, 'not_ready', 'missed_offers', nil)
  else
    match_agent(a)
  end
end

-- ------------------------------------------------------------------ completing
local function do_complete(a, it, disposition)
  prefetch(a, RELEASE_FIELDS[it.ch])
  local previous_presence = shown(a)
  local previous = it.st
  if previous == 'wrap_up' then add(a, 'wrap', -1) end
  set(it, 'disp', enc(disposition))
  set_status(it, 'completed')
  release(a, it, true)
  set(it, 'ag', a.id)
  record(it, 'completed', a.id, disposition)
  emit('completed', it, previous, a.id, disposition)
  finish(it.id)
  emit_presence(a, previous_presence)
  match_agent(a)
end

-- ------------------------------------------------------------------ timers
local function fire_leg_timer(kind, it)
  if it.st ~= 'queued' and it.st ~= 'reserved' then return end
  if kind == TIMER_AT_RISK then
    if it.risk == '1' then return end
    set(it, 'risk', '1')
    timer(num(it, 'enq') + num(it, 'thr'), TIMER_BREACH, it.id, it.seq) -- (engine._on_at_risk)
    emit('sla_at_risk', it, it.st)
    local nsteps = #cjson.decode(it.sa)
    if num(it, 'sapp') < nsteps then escalate(it, num(it, 'sapp') + 1) end
  elseif kind == TIMER_BREACH then
    if it.brk == '1' then return end
    set(it, 'brk', '1')
    emit('sla_breached', it, it.st)
  elseif it.st ~= 'queued' then
    return
  elseif kind == TIMER_MAX_WAIT then
    on_max_wait(it)
  elseif kind == TIMER_PREFERRED and it.pref ~= '' then
    leave_queue(it)
    enter_queue(it)
  end
end

local function fire(kind, it, token)
  if kind == TIMER_OFFER then
    if it.st == 'reserved' and token == num(it, 'tok') then expire_offer(it) end
  elseif kind == TIMER_WRAP_UP then
    if it.st == 'wrap_up' and token == num(it, 'tok') and it.ag ~= '' then
      do_complete(agent(it.ag), it, 'wrap_up_timeout')
    end
  elseif kind == TIMER_STEP then
    if math.floor(token / 100) == num(it, 'seq') and it.st == 'queued' then
      catch_up_steps(it, token % 100 + 1)
    end
  elseif token == num(it, 'seq') then
    fire_leg_timer(kind, it)
  end
end

-- ------------------------------------------------------------------ replies
local function item_view(it)
  prefetch(it, VIEW_FIELDS)
  return {
    it.ix, it.plan, it.st, it.q, priority(it), it.enq, it.due, it.ag, it.disp, it.ovf,
    history(it),
  }
end

local function agent_view(a)
  local active = {}
  for _, ch in ipairs(CHANNELS) do active[#active + 1] = a['act:' .. ch] end
  return {shown(a), a.rsn, a.ao, redis.call('HGETALL', P .. 'ah:' .. a.id), active, a.miss}
end

-- A reply: {'ok', events, the result...}. The events travel as one JSON text (see done()),
-- '' when none; a table result's elements follow them in the
-- same table, any other result is the one element after them. Redis converts a reply
-- table by table, field by field (~1k instructions a field and ~3k a table), so one
-- string costs a fraction of nested tables, and one table less is ~3k fewer.
local function reply(events, result)
  if type(result) ~= 'table' then return {'ok', events, result} end
  return {'ok', events, unpack(result)}
end

-- The events: '' when none, the one event's text (an array of strings, '["…') when one,
-- as most calls make, else the array of them ('[[…'). One event needs no second string
-- (table.concat's, then the brackets'): 4-call lifecycle -2 % server instructions.
local function events_text()
  flush()
  local n = #EV
  if n == 0 then return '' end
  local events = EV[1]
  if n > 1 then events = '[' .. table.concat(EV, ',') .. ']' end
  for i = n, 1, -1 do EV[i] = nil end -- (emptied in place for the next call)
  return events
end

local function done(result) return reply(events_text(), result) end

-- A reply the straight lines built whole, {'ok', '', the result...}: its events put in
-- place (no second table to copy the result into).
local function done_reply(t)
  t[2] = events_text()
  return t
end

local function fail(...) return {'err', {...}} end

-- The item `id`, not finished, that may move to `st`; or nil and the error reply.
local function live(id, st)
  local it = item(id)
  if it == nil then return nil, fail('unknown_interaction', id) end
  if FINAL[it.st] then return nil, fail('illegal', id, it.st, '(any)') end
  if not TRANSITIONS[it.st][st] then return nil, fail('illegal', id, it.st, st) end
  return it, nil
end

-- The agent args[BASE + 1] and the item args[BASE + 2] it holds, which may move to `st`;
-- or nil, nil and the error reply. (accept, complete and the rest return the item's
-- view: its fields come in the first read)
local function held_item(args, st)
  local aid, id = args[BASE + 1], args[BASE + 2]
  local it = item(id, ITEM_VIEW)
  if it ~= nil and it.ag == aid and not FINAL[it.st] then
    -- An agent holding work exists (remove_agent refuses a busy one): no read needed.
    -- (A finished item keeps the id of the agent that completed it but is held by
    -- nobody: it takes the errors below, which then always apply.)
    if not TRANSITIONS[it.st][st] then return nil, nil, fail('illegal', id, it.st, st) end
    return agent_ref(aid), it, nil
  end
  if agent(aid) == nil then return nil, nil, fail('unknown_agent', aid) end
  if it == nil then return nil, nil, fail('unknown_interaction', id) end
  if FINAL[it.st] then return nil, nil, fail('not_held', id, aid, '') end
  return nil, nil, fail('not_held', id, aid, it.ag)
end

-- Leg fields (queue, deadline, targets…) arrive as #LEG_FIELDS arguments from `from`;
-- LEG[name]: a field's offset among them (the straight-line ingest reads them in place).
local LEG = {}
for i = 1, #LEG_FIELDS do LEG[LEG_FIELDS[i]] = i - 1 end
local function leg_args(args, from)
  local legs = {}
  for i = 1, #LEG_FIELDS do legs[LEG_FIELDS[i]] = args[from + i - 1] end
  return legs
end

-- Bucket definitions the caller sent arrive as one JSON object (key -> admitted agents);
-- returns a bucket of the leg whose definition Redis does not have, if any.
local function read_defs(defs_json, legs)
  for k, v in pairs(cjson.decode(defs_json)) do redis.call('HSETNX', K.bdef, k, v) end
  for _, field in ipairs({'tg', 'tgo'}) do
    if legs[field] ~= nil and legs[field] ~= '' then
      for _, t in ipairs(cjson.decode(legs[field])) do
        for _, b in ipairs(t.b) do
          if redis.call('HEXISTS', K.bdef, b) == 0 then return b end
        end
      end
    end
  end
  return nil
end

local function expire_idempotency_keys()
  local due = redis.call('ZRANGEBYSCORE', K.keyexp, '-inf', NOWS)
  if #due == 0 then return end
  redis.call('ZREMRANGEBYSCORE', K.keyexp, '-inf', NOWS) -- (exactly `due`)
  for _, k in ipairs(due) do
    local id = redis.call('HGET', K.keys, k)
    if id then
      local st = redis.call('HGET', P .. 'i:' .. id, 'st')
      if not st or FINAL[st] then redis.call('HDEL', K.keys, k) end
    end
  end
end

-- Into `f`, the fields a queue leg starts with (ingest, transfer): the leg's own, a new
-- arrival number, and no escalation step, SLA flag or overflow yet (retarget() adds
-- 'pri'). Returns `f`.
local function leg_fields(f, legs)
  for k, v in pairs(legs) do f[k] = v end
  f.seq, f.enq = I(next_seq()), NOWS
  f.sapp, f.risk, f.brk, f.ovf = '0', '0', '0', '0'
  return f
end

local function start_leg(it, legs)
  for k, v in pairs(leg_fields({}, legs)) do set(it, k, v) end
  retarget(it)
end

-- The fields of an interaction ingest creates, before its leg's (not queued yet).
local function new_item_fields(args)
  return {ch = args[BASE + 3], ix = args[BASE + 5], dk = args[BASE + 1], st = 'queued',
    tok = '0', ag = '', aat = '', disp = '', pref = '', inq = '0'}
end

-- end and transfer: the item leaves its queue, or is still held, and moves to `st`;
-- returns the status it had and its holder (nil when none), not yet released.
local function take_out(it, st)
  local previous, holder = it.st, nil
  if it.ag ~= '' then holder = agent(it.ag) end
  if previous == 'queued' then leave_queue(it) end
  set_status(it, st)
  return previous, holder
end

-- An agent's hash holds ~30 fields and a pull reads 17 of them at once. Redis keeps a
-- small hash as a listpack, where each field read is a scan of the entries, and switches
-- to a hash table for good once a value is longer than hash-max-listpack-value (64 bytes
-- by default): this field's value is that long, so agent hashes are hash tables
-- (pull -20k and complete -10k instructions; a few hundred bytes more per agent). Written
-- by create_agent and by op_init at every worker start, so older agents get it too.
local ENCODING_NOTE = 'a hash table, not a listpack: transitions read many fields at once'
  .. ' (see omniroute.lua)'

-- An agent's hash, made offline and idle with nothing held when it does not exist yet.
-- (its 'npref' from the set itself: work may still wait for an agent removed and added
-- again)
local function create_agent(key, aid)
  if redis.call('EXISTS', key) == 1 then return end
  redis.call('HSET', key, 'encoding', ENCODING_NOTE, 'pres', 'offline', 'rsn', '', 'ao', '1',
    'since', '0', 'miss', '0', 'wrap', '0', 'bh', '0', 'nheld', '0', 'nidx', '0',
    'npref', I(redis.call('ZCARD', P .. 'pref:' .. aid)))
  for _, ch in ipairs(CHANNELS) do redis.call('HSET', key, 'act:' .. ch, '0') end
end

-- The agent out of every bucket: off the ready indexes and the per-channel bucket lists.
local function leave_buckets(a)
  for _, bkey in ipairs(redis.call('HKEYS', P .. 'ax:' .. a.id)) do unindex_agent(a, bkey) end
  for _, ch in ipairs(CHANNELS) do redis.call('DEL', P .. 'abk:' .. a.id .. ':' .. ch) end
end

-- Ingest's arguments after the bucket definitions, from here: the key's expiry, the SLA
-- at-risk time and the arrival score (whole µs), as text, computed by the caller (what
-- F(NOW + IDEM_TTL), schedule_leg and I(math.floor(NOW * 1e6)) would give); then the
-- first target's bucket when it has one only (else ''), its score and its priority, as
-- its targets ('tg') hold them, so that the common case decodes no JSON.
local INGEST_TIMES = BASE + 7 + #LEG_FIELDS + 1
local ONE_BUCKET = {} -- (reused: the first target's buckets when the caller sent its one)
-- (reused, emptied before each use: the field/value pairs a new item has only sometimes:
-- its reservation time when offered at once, leg fields not at their default)
local PAIRS = {}
-- the leg's fields that ITEM_DEFAULTS has (not kept while empty), by offset in LEG_FIELDS
local SPARSE_LEG = {}
for i = 1, #LEG_FIELDS do
  if ITEM_DEFAULTS[LEG_FIELDS[i]] then SPARSE_LEG[#SPARSE_LEG + 1] = LEG_FIELDS[i] end
end

-- Ingest of new work with no preferred agent into buckets already in use, the caller
-- sending no new bucket definitions: queued, or offered at once to the best ready
-- (push-mode) agent of its buckets when there is one. Nil when the general path must
-- take it, else the reply. Reads only until it knows
-- (its last check, that the idempotency key is new, is also its first write), apart from
-- expiring idempotency keys, which the general path would do alike.
local function fast_ingest(args)
  local dk, id, ch, L = args[BASE + 1], args[BASE + 2], args[BASE + 3], BASE + 7
  if args[BASE + 4] ~= '1' or args[L + #LEG_FIELDS] ~= '{}' then return nil end
  expire_idempotency_keys()
  if redis.call('EXISTS', P .. 'i:' .. id) == 1 then return nil end
  local q, thr, pa, pt, tg, tgo, sa =
    args[L + LEG.q], args[L + LEG.thr], args[L + LEG.pa], args[L + LEG.pt], args[L + LEG.tg],
    args[L + LEG.tgo], args[L + LEG.sa]
  if pa ~= '' and tonumber(pt) > 0 then return nil end
  local T = INGEST_TIMES
  local bk, buckets, score, pri = args[T + 3], nil, nil, nil
  -- (no escalation step and no overflow: the first target is the only one)
  local only = sa == '[]' and tgo == ''
  if bk ~= '' and only then
    ONE_BUCKET[1] = bk
    buckets, score, pri = ONE_BUCKET, args[T + 4], args[T + 5]
  else
    local first = cjson.decode(tg)[1]
    buckets, score, pri = first.b, first.s, I(first.p)
    bk = #buckets == 1 and buckets[1] or '' -- (as retarget() keeps it)
  end
  -- The best ready (push-mode) agent of its buckets, as match_item() picks it: a new item
  -- has no rejections, so each bucket's head.
  local best_s, best_m
  for i = 1, #buckets do -- in use: then defined too (ensure_bucket made it from it)
    local b = buckets[i]
    if redis.call('HEXISTS', K.bmade, b) == 0 then return nil end
    local head = redis.call('ZRANGE', P .. 'ba:' .. b, '0', '0', 'WITHSCORES')
    if #head > 0 then
      local s, m = tonumber(head[2]), head[1]
      if agent_before(s, m, best_s, best_m) then best_s, best_m = s, m end
    end
  end
  -- the buckets of its escalation steps and overflow must be defined, as the general
  -- path checks them (no definitions were sent: read_defs only reads)
  if not only and read_defs('{}', {tg = tg, tgo = tgo}) then return nil end
  -- A key already taken (a retry) is the general path's, which answers with its item;
  -- else it is taken here, the first write (one call: HSETNX, not HEXISTS then HSET).
  if redis.call('HSETNX', K.keys, dk, id) == 0 then return nil end
  local seq = I(next_seq())
  redis.call('ZADD', K.keyexp, args[T], dk)
  local qch = q .. '|' .. ch
  -- The first arrival of a queue x channel also lists it among those with arrivals
  -- ('arrk', kept since the first layout, before 'recv' existed); later ones need not.
  local first = BATCH.arrival(qch)
  local hist = appended('[]', 'queued', '', q, '')
  stream(event_text('queued', id, ch, q, 'queued', '', '', pri, NOWS, '', '', thr, '""'))
  local nbf, mw = args[L + LEG.nbf], args[L + LEG.mw]
  if sa == '[]' and mw == '' then -- (no preferred agent either: see above)
    timer(nil, TIMER_AT_RISK, id, seq, args[T + 1]) -- (all schedule_leg would set)
  else
    schedule_leg({id = id, seq = seq, enq = NOWS, thr = thr, nbf = nbf, sa = sa, mw = mw,
      pa = pa, pt = pt}, args[T + 1])
  end
  if first then redis.call('SADD', K.arrk, qch) end
  -- queued, or (below) reserved: its status, token, holder, whether it is in its queue,
  -- its history, and the field/value pairs only a reserved item has
  local st, tok, ag, inq = 'queued', '0', '', '1'
  local pairs_out = PAIRS
  for i = #pairs_out, 1, -1 do pairs_out[i] = nil end -- (also what a failed call left)
  for i = 1, #SPARSE_LEG do -- (mostly all empty: no max wait, preferred agent, overflow)
    local f = SPARSE_LEG[i]
    local v = args[L + LEG[f]]
    if v ~= '' then
      pairs_out[#pairs_out + 1] = f
      pairs_out[#pairs_out + 1] = v
    end
  end
  if best_m ~= nil then
    -- Offered at once (enter_queue, match_item and reserve, which would add it to its
    -- buckets and the arrival index and take it out again in the same call).
    local a = agent(member_agent(best_m), OFFER_FIELDS[ch])
    hold(a, {id = id, ch = ch})
    local at, detail = offer_expiry()
    timer(nil, TIMER_OFFER, id, '1', at)
    stream(event_text('reserved', id, ch, q, 'reserved', 'queued', a.id, pri, NOWS, '',
      '~offer', thr, detail))
    count_move('queued', 'reserved')
    st, tok, ag, inq, hist = 'reserved', '1', a.id, '0',
      appended(hist, 'reserved', a.id, q, '~offer')
    pairs_out[#pairs_out + 1] = 'rat'
    pairs_out[#pairs_out + 1] = NOWS
  else
    local m = member_of(seq, id)
    redis.call('ZADD', P .. 'arr:' .. qch, args[T + 2], m)
    for i = 1, #buckets do redis.call('ZADD', P .. 'b:' .. buckets[i], score, m) end
  end
  -- The fields of new_item_fields(), leg_fields(), retarget(), enter_queue() and reserve()
  -- (the general path's) not at their default (ITEM_DEFAULTS), spelled out: building
  -- them as a table and copying it into HSET arguments cost ingest ~70k instructions (a
  -- sixth), in table growth and its collection. test_differential compares every field
  -- both paths write.
  redis.call('HSET', P .. 'i:' .. id, 'ch', ch, 'ix', args[BASE + 5], 'dk', dk, 'st', st,
    'tok', tok, 'ag', ag, 'inq', inq, 'seq', seq, 'enq', NOWS, 'pri', pri, 'bk', bk,
    'hist', hist, 'q', q, 'thr', thr, 'nbf', nbf, 'due', args[L + LEG.due], 'pt', pt,
    'sa', sa, 'tg', tg, 'plan', args[L + LEG.plan], unpack(pairs_out))
  return {'ok', '', '1', id, st}
end

-- ------------------------------------------------------------------ operations
local function op_ingest(keys, args)
  setup(keys, args)
  local created = FAST and fast_ingest(args)
  if created then return done_reply(created) end
  local dk, id, ch, queue_ok = args[BASE + 1], args[BASE + 2], args[BASE + 3], args[BASE + 4]
  expire_idempotency_keys()
  local existing = redis.call('HGET', K.keys, dk)
  if existing then
    local st = redis.call('HGET', P .. 'i:' .. existing, 'st') or 'completed'
    return done({'0', existing, st})
  end
  if redis.call('EXISTS', P .. 'i:' .. id) == 1 then
    return fail('illegal', id, 'existing', 'queued')
  end
  if queue_ok ~= '1' then return fail('unknown_queue', args[BASE + 6]) end
  local legs = leg_args(args, BASE + 7)
  local missing = read_defs(args[BASE + 7 + #LEG_FIELDS], legs)
  if missing then return fail('nodef', missing) end
  local it = {_d = {}, id = id}
  for f, v in pairs(ITEM_DEFAULTS) do it[f] = v end -- (kept only once they differ)
  ITEMS[id] = it
  for k, v in pairs(new_item_fields(args)) do set(it, k, v) end
  start_leg(it, legs)
  redis.call('HSET', K.keys, dk, id)
  redis.call('ZADD', K.keyexp, args[INGEST_TIMES], dk)
  -- arrivals per first queue x channel: the interactions_received_total counter, and
  -- the moves into 'queued' from nothing (op_snapshot)
  BATCH.arrival(it.q .. '|' .. ch)
  record(it, 'queued', nil, nil)
  emit('queued', it, nil)
  schedule_leg(it, args[INGEST_TIMES + 1])
  enter_queue(it)
  return done({'1', id, it.st})
end

-- The agent's next reservation, or false when it is not available or nothing suits it.
local function next_for(a)
  if a.pres ~= 'available' then return false end
  local it = best_for(a, false)
  if it == nil then return false end
  return reserve(it, a, false)
end

-- ------------------------------------------------------------------ straight lines
-- The common cases of accept, complete and pull without the record cache: the fields
-- read in one HMGET into locals, each write issued once. Each returns nil, having written
-- nothing, when its case does not apply, and the operation then takes the general path
-- above; both leave Redis in the same state (tests/redis/test_differential.py runs a
-- store with these off beside one with them on and compares every key). About a third
-- fewer instructions: the general path's tables (a record, its changes and misses, the
-- call's caches) and the loops over them cost as much as the commands.
local HELD_READ = {'st', 'ag', 'tok', 'ch', 'q', 'enq', 'aat', 'thr', 'pri', 'hist', 'ix', 'plan',
  'due', 'disp', 'ovf'}

-- The item args[BASE + 2] in `st`, held by the agent args[BASE + 1], as locals (a table
-- of HELD_READ's values); nil when that is not so or the item is of an older layout.
local function held_fields(args, statuses)
  local r = redis.call('HMGET', P .. 'i:' .. args[BASE + 2], unpack(HELD_READ))
  if not statuses[r[1]] or r[2] ~= args[BASE + 1] or not r[9] or not r[10] then return nil end
  -- (fields not kept while at their default: see ITEM_DEFAULTS; spelled out, as a loop
  -- over the list's defaulted positions cost ~3k instructions a call)
  r[7], r[14], r[15] = r[7] or '', r[14] or '', r[15] or '0'
  return r
end
local RESERVED, COMPLETABLE = {reserved = true}, {assigned = true, wrap_up = true}

-- item_view() of a held item read by held_fields, with its new status and history; or,
-- `whole`, the call's reply with it (see done_reply).
local function held_view(r, st, hist, disp, whole)
  if whole then
    return {'ok', '', r[11], r[12], st, r[5], r[9], r[6], r[13], r[2], disp, r[15], hist}
  end
  return {r[11], r[12], st, r[5], r[9], r[6], r[13], r[2], disp, r[15], hist}
end

-- The agent `aid` taking (d = 1) or giving back (d = -1) one `ch` item, as hold() and
-- release() count it, from its current counts (strings) and 'blk': one HSET, which also
-- writes the further field/value pairs given. (Arguments, not a table: tables built and
-- collected per call were a large part of these functions' cost.)
local function write_capacity(aid, ch, d, act, nheld, bh, blk, ...)
  local key, new_act, new_held = P .. 'a:' .. aid, moved(act, d), moved(nheld, d)
  if blocks(blk, ch) then
    redis.call('HSET', key, ACT[ch], new_act, 'nheld', new_held, 'bh', moved(bh, d), ...)
  else
    redis.call('HSET', key, ACT[ch], new_act, 'nheld', new_held, ...)
  end
end

local function fast_accept(args)
  -- (its reply whole: only op_accept calls it)
  local r = held_fields(args, RESERVED)
  if r == nil then return nil end
  local aid, id, ch, q, pri, enq, thr = r[2], args[BASE + 2], r[4], r[5], r[9], r[6], r[8]
  local hist = appended(r[10], 'assigned', aid, q, '')
  stream(event_text('assigned', id, ch, q, 'assigned', 'reserved', aid, pri, enq, NOWS, '',
    thr, '""'))
  redis.call('HSET', P .. 'i:' .. id, 'st', 'assigned', 'aat', NOWS,
    'tok', moved(r[3], 1), 'hist', hist)
  redis.call('HSET', P .. 'a:' .. aid, 'miss', '0')
  count_move('reserved', 'assigned')
  return held_view(r, 'assigned', hist, r[14], true)
end

-- What completing work of a channel reads of a push-mode agent, in the first read: what
-- re-indexing it and offering it waiting work read, and the reason its presence shows.
local COMPLETE_FIELDS = {}
for i = 1, #CHANNELS do
  COMPLETE_FIELDS[CHANNELS[i]] = concat(OFFER_FIELDS[CHANNELS[i]], {'rsn'})
end

-- The agent's side of fast_complete() for a push-mode agent (or one still in ready
-- indexes), through the record cache as do_complete() moves it: capacity given back and
-- its ready indexes, its presence event, then waiting work offered to it (match_agent).
local function release_and_offer(aid, id, ch, from)
  local a = agent(aid, COMPLETE_FIELDS[ch])
  local previous_presence = shown(a)
  if from == 'wrap_up' then add(a, 'wrap', -1) end
  release(a, {id = id, ch = ch, _d = {}}, true) -- (the item is written by the caller)
  emit_presence(a, previous_presence)
  match_agent(a)
end

-- Completing work (assigned or in wrap-up): the item in its one read and one write. A
-- pull-mode agent's side is one HSET (nothing to re-index or offer) and its presence
-- event when finishing its last wrap-up changes what it shows.
local function fast_complete(args, whole)
  if RETAIN < 1 then return nil end -- (then finish() may delete the item being completed)
  local r = held_fields(args, COMPLETABLE)
  if r == nil then return nil end
  local from, aid, id, ch, q = r[1], r[2], args[BASE + 2], r[4], r[5]
  local disp = args[BASE + 3]
  local hist = appended(r[10], 'completed', aid, q, disp)
  local a = redis.call('HMGET', P .. 'a:' .. aid, 'ao', 'nidx', 'wrap', 'blk', 'nheld', 'bh',
    ACT[ch], 'pres', 'rsn')
  stream(event_text('completed', id, ch, q, 'completed', from, aid, r[9], r[6], r[7],
    disp, r[8], '""'))
  finish(id)
  if disp ~= r[14] then
    redis.call('HSET', P .. 'i:' .. id, 'st', 'completed', 'disp', disp, 'hist', hist)
  else -- (as set() writes: only what changed, and a disposition absent reads as '')
    redis.call('HSET', P .. 'i:' .. id, 'st', 'completed', 'hist', hist)
  end
  count_move(from, 'completed')
  if a[1] == '1' or a[2] ~= '0' then
    release_and_offer(aid, id, ch, from)
  else
    redis.call('HDEL', P .. 'ah:' .. aid, id)
    if from == 'wrap_up' then
      local wrap = tonumber(a[3])
      write_capacity(aid, ch, -1, a[7], a[5], a[6], a[4], IDLE[ch], NOWS, 'wrap', I(wrap - 1))
      -- shown(): wrap-up while any is wrapping up (and not offline)
      if wrap == 1 and a[8] ~= 'offline' then
        stream(presence_text(aid, a[8], 'wrap_up', a[9] or ''))
      end
    else
      write_capacity(aid, ch, -1, a[7], a[5], a[6], a[4], IDLE[ch], NOWS)
    end
  end
  return held_view(r, 'completed', hist, disp, whole)
end

local PULLED = {}
local PULL_ITEM = {'st', 'ch', 'q', 'tok', 'enq', 'aat', 'thr', 'pri', 'inq', 'pref', 'ovf', 'sapp',
  'bk', 'hist'}

-- A pull-mode agent's pull: nil when the general path must take it (an agent not
-- available, in push mode or indexed as ready; work waiting for it as preferred agent;
-- an overflowed item or one of an older layout), else the reply: false when nothing
-- suits the agent, or the reservation.
local function fast_pull(aid, whole)
  local r = redis.call('HMGET', P .. 'a:' .. aid, unpack(AGENT_PULL))
  if not r[1] then return nil end
  -- A plain table, the same one every call (can_take and best_member only read it, and
  -- nothing keeps it): a new one would grow and be collected on every pull.
  local a = PULLED
  a.id = aid
  for i = 1, #AGENT_PULL do a[AGENT_PULL[i]] = r[i] end
  if a.pres ~= 'available' or a.ao == '1' or a.nidx ~= '0' then return nil end
  local m, preferred = best_member(a, false)
  if m == nil then return false end
  if preferred then return nil end
  local id = member_id(m)
  local key = P .. 'i:' .. id
  local st, ch, q, tok, enq, aat, thr, pri, inq, pref, ovf, sapp, bk, hist =
    unpack(redis.call('HMGET', key, unpack(PULL_ITEM)))
  aat, pref, ovf, sapp = aat or '', pref or '', ovf or '0', sapp or '0' -- (ITEM_DEFAULTS)
  if st ~= 'queued' or inq ~= '1' or pref ~= '' or ovf ~= '0' or not bk or not hist then
    return nil
  end
  if bk ~= '' then
    redis.call('ZREM', P .. 'b:' .. bk, m)
  else -- (a target of several buckets)
    local in_buckets = cjson.decode(redis.call('HGET', key, 'tg'))[tonumber(sapp) + 1].b
    for i = 1, #in_buckets do redis.call('ZREM', P .. 'b:' .. in_buckets[i], m) end
  end
  redis.call('ZREM', P .. 'arr:' .. q .. '|' .. ch, m)
  redis.call('HSET', P .. 'ah:' .. aid, id, ch)
  local ntok = moved(tok, 1)
  local at, detail = offer_expiry()
  timer(nil, TIMER_OFFER, id, ntok, at)
  stream(event_text('reserved', id, ch, q, 'reserved', 'queued', aid, pri, enq, aat,
    '~pull', thr, detail))
  redis.call('HSET', key, 'inq', '0', 'st', 'reserved', 'ag', aid, 'rat', NOWS, 'tok', ntok,
    'hist', appended(hist, 'reserved', aid, q, '~pull'))
  write_capacity(aid, ch, 1, a[ACT[ch]], a.nheld, a.bh, a.blk)
  count_move('queued', 'reserved')
  if whole then return {'ok', '', id, aid, ch, q, NOWS, at} end
  return {id, aid, ch, q, NOWS, at}
end

local function op_pull(keys, args)
  setup(keys, args)
  OFFER_AT = args[BASE + 2]
  if FAST then
    local got = fast_pull(args[BASE + 1], true) -- (false: nothing for the agent, a reply too)
    if got then return done_reply(got) end
    if got == false then return done(false) end
  end
  local a = agent(args[BASE + 1], AGENT_PULL)
  if a == nil then return fail('unknown_agent', args[BASE + 1]) end
  if a.pres == 'offline' then return fail('unavailable', a.id, a.pres) end
  return done(next_for(a))
end

local function op_accept(keys, args)
  setup(keys, args)
  local view = FAST and fast_accept(args)
  if view then return done_reply(view) end
  local a, it, err = held_item(args, 'assigned')
  if err then return err end
  set_status(it, 'assigned')
  set(it, 'aat', NOWS)
  add(it, 'tok', 1)
  set(a, 'miss', '0')
  record(it, 'assigned', a.id, nil)
  emit('assigned', it, 'reserved', a.id)
  return done(item_view(it))
end

local function op_reject(keys, args)
  setup(keys, args)
  local a, it, err = held_item(args, 'queued')
  if err then return err end
  return_reservation(it, a, dec(args[BASE + 3]) or 'rejected', 'rejected')
  match_agent(a)
  return done(item_view(it))
end

local function op_wrap_up(keys, args)
  setup(keys, args)
  local a, it, err = held_item(args, 'wrap_up')
  if err then return err end
  local previous = shown(a)
  set_status(it, 'wrap_up')
  add(a, 'wrap', 1)
  add(it, 'tok', 1)
  timer(now() + WRAP_TIMEOUT, TIMER_WRAP_UP, it.id, num(it, 'tok'))
  record(it, 'wrap_up', a.id, nil)
  emit('wrap_up', it, 'assigned', a.id)
  emit_presence(a, previous)
  return done(item_view(it))
end

local function op_complete(keys, args)
  setup(keys, args)
  local view = FAST and fast_complete(args, true)
  if view then return done_reply(view) end
  local a, it, err = held_item(args, 'completed')
  if err then return err end
  do_complete(a, it, dec(args[BASE + 3]))
  return done(item_view(it))
end

-- complete, then pull for the same agent (a desktop that finishes and asks for its next
-- interaction): one call instead of two, the agent read once. An agent that is not
-- available gets no reservation, an offline one included (the completion stands).
local function op_complete_pull(keys, args)
  setup(keys, args)
  OFFER_AT = args[BASE + 4]
  local view = FAST and fast_complete(args)
  if view then
    local got = fast_pull(args[BASE + 1])
    if got == nil then got = next_for(agent(args[BASE + 1], AGENT_PULL)) end
    return done({view, got})
  end
  local a, it, err = held_item(args, 'completed')
  if err then return err end
  prefetch(a, AGENT_PULL) -- what completing and then pulling read of the agent, at once
  do_complete(a, it, dec(args[BASE + 3]))
  local view = item_view(it)
  return done({view, next_for(a)})
end

local function op_end(keys, args)
  setup(keys, args)
  local id, final, reason = args[BASE + 1], args[BASE + 2], dec(args[BASE + 3])
  local it, err = live(id, final)
  if err then return err end
  local previous, holder = take_out(it, final)
  add(it, 'tok', 1)
  if holder ~= nil then
    release(holder, it, previous ~= 'reserved')
    if previous ~= 'reserved' then set(it, 'ag', holder.id) end
  end
  local holder_id = holder and holder.id or nil
  record(it, final, holder_id, reason)
  emit(final, it, previous, holder_id, reason)
  finish(it.id)
  if holder ~= nil then match_agent(holder) end
  return done(item_view(it))
end

local function op_transfer(keys, args)
  setup(keys, args)
  local id, queue_ok, reason = args[BASE + 1], args[BASE + 2], dec(args[BASE + 3])
  local it, err = live(id, 'transferred')
  if err then return err end
  if queue_ok ~= '1' then return fail('unknown_queue', args[BASE + 4]) end
  local legs = leg_args(args, BASE + 5)
  local missing = read_defs(args[BASE + 5 + #LEG_FIELDS], legs)
  if missing then return fail('nodef', missing) end
  local previous, holder = take_out(it, 'transferred')
  if holder ~= nil then release(holder, it, true) end
  local holder_id = holder and holder.id or nil
  record(it, 'transferred', holder_id, reason or ('to ' .. legs.q))
  emit('transferred', it, previous, holder_id, reason, cjson.encode({to_queue = legs.q}))
  start_leg(it, legs)
  redis.call('DEL', P .. 'rj:' .. id)
  if holder ~= nil then redis.call('SADD', P .. 'rj:' .. id, holder.id) end
  add(it, 'tok', 1)
  set_status(it, 'queued')
  record(it, 'queued', nil, nil)
  emit('queued', it, 'transferred')
  schedule_leg(it)
  enter_queue(it)
  if holder ~= nil then match_agent(holder) end
  return done(item_view(it))
end

local function op_presence(keys, args)
  setup(keys, args)
  local a = agent(args[BASE + 1])
  if a == nil then return fail('unknown_agent', args[BASE + 1]) end
  local ao = args[BASE + 4]
  if ao == '' then ao = nil end
  do_presence(a, args[BASE + 2], dec(args[BASE + 3]), ao)
  return done(agent_view(a))
end

-- Due timers are read a page at a time and removed in one ZREM per page; most belong to
-- finished interactions (a completed chat leaves its SLA and offer timers behind), and
-- one 'st' read tells those apart before the item is loaded. Timers fire in the order
-- of (due, sequence), as one at a time from the head would: when firing one sets new
-- timers, which may sort before the rest of the page, the page is read again.
local function op_tick(keys, args)
  setup(keys, args)
  local fired = 0
  local key = K.timers
  local again = true
  while again do
    BATCH.add_timers() -- (those set earlier in its batch, or by the timers it fired)
    local page = redis.call('ZRANGE', key, '-inf', NOWS, 'BYSCORE', 'LIMIT', '0', '64')
    if #page == 0 then break end
    again = #page == 64
    local taken = {}
    for i = 1, #page do
      local m = page[i]
      taken[#taken + 1] = m
      fired = fired + 1
      local _, kind, token, id = string.match(m, '^(%d+):(%d+):(%d+):(.*)$')
      local it = ITEMS[id]
      if it == nil then
        local st = redis.call('HGET', P .. 'i:' .. id, 'st')
        if st and not FINAL[st] then it = item(id) end
      end
      if it ~= nil and not it._gone and not FINAL[it.st] then
        local set_before = TSET
        fire(tonumber(kind), it, tonumber(token))
        if TSET ~= set_before then
          again = true
          break
        end
      end
    end
    redis.call('ZREM', key, unpack(taken))
  end
  return done(I(fired))
end

local function op_init(keys, args)
  setup(keys, args)
  -- Timer numbers came from their own counter ('tseq') before 'seq' took over: numbers
  -- given from here must be past those too (see timer()).
  local older = tonumber(redis.call('GET', K.tseq) or '0')
  if older > tonumber(redis.call('GET', K.seq) or '0') then redis.call('SET', K.seq, older) end
  local i = BASE + 1
  while i <= #args do
    local aid, blk = args[i], args[i + 1]
    local key = P .. 'a:' .. aid
    create_agent(key, aid)
    -- (every start counts each agent's preferred work afresh: agents of older layouts
    -- have no count, and this call runs alone)
    redis.call('HSET', key, 'blk', blk, 'encoding', ENCODING_NOTE,
      'npref', I(redis.call('ZCARD', P .. 'pref:' .. aid)))
    for j, ch in ipairs(CHANNELS) do redis.call('HSET', key, 'cap:' .. ch, args[i + 1 + j]) end
    redis.call('SADD', K.agents, aid)
    i = i + 2 + #CHANNELS
  end
  return done(false)
end

-- Live configuration: rewrite one agent's entry in every bucket definition (`admitted`:
-- bucket key -> proficiency score, or nil when the agent may not serve it), so buckets
-- created later (escalations, overflow) admit by the new profile too.
local function rewrite_definitions(aid, admitted)
  local defs = redis.call('HGETALL', K.bdef)
  for i = 1, #defs, 2 do
    local out = {}
    for _, pair in ipairs(cjson.decode(defs[i + 1])) do
      if pair[1] ~= aid then out[#out + 1] = pair end
    end
    local prof = admitted[defs[i]]
    if prof ~= nil then out[#out + 1] = {aid, tonumber(prof)} end
    local encoded = '[]'
    if #out > 0 then encoded = cjson.encode(out) end
    redis.call('HSET', K.bdef, defs[i], encoded)
  end
end

-- An agent added or changed. The caller sends every defined bucket the new profile
-- admits: (key, channel, proficiency score) triples.
local function op_upsert_agent(keys, args)
  setup(keys, args)
  local aid, blk = args[BASE + 1], args[BASE + 2]
  create_agent(P .. 'a:' .. aid, aid)
  redis.call('SADD', K.agents, aid)
  local a = agent(aid)
  set(a, 'blk', blk)
  for j, ch in ipairs(CHANNELS) do set(a, 'cap:' .. ch, args[BASE + 2 + j]) end
  leave_buckets(a)
  local i = BASE + 3 + #CHANNELS
  local n = tonumber(args[i])
  local admitted = {}
  for j = 0, n - 1 do
    local bkey, ch, prof = args[i + 1 + 3 * j], args[i + 2 + 3 * j], args[i + 3 + 3 * j]
    admitted[bkey] = prof
    if redis.call('HEXISTS', K.bmade, bkey) == 1 then
      redis.call('SADD', P .. 'abk:' .. aid .. ':' .. ch, bkey)
      redis.call('HSET', P .. 'bp:' .. bkey, aid, prof)
    end
  end
  rewrite_definitions(aid, admitted)
  local blocking = 0
  local held = redis.call('HGETALL', P .. 'ah:' .. aid)
  for k = 2, #held, 2 do
    if is_blocking(a, held[k]) then blocking = blocking + 1 end
  end
  set(a, 'bh', I(blocking))
  reindex(a, nil)
  if a.pres == 'available' then match_agent(a) end
  return done(agent_view(a))
end

local function op_remove_agent(keys, args)
  setup(keys, args)
  local a = agent(args[BASE + 1])
  if a == nil then return fail('unknown_agent', args[BASE + 1]) end
  if a.pres ~= 'offline' or num(a, 'nheld') > 0 then
    return fail('busy', a.id, shown(a), a.nheld)
  end
  leave_buckets(a)
  rewrite_definitions(a.id, {})
  redis.call('SREM', K.agents, a.id)
  redis.call('DEL', P .. 'a:' .. a.id, P .. 'ah:' .. a.id, P .. 'ax:' .. a.id)
  a._gone = true
  return done(false)
end

-- ------------------------------------------------------------------ reads
local function op_get(keys, args)
  setup(keys, args)
  local it = item(args[BASE + 1])
  if it == nil then return fail('unknown_interaction', args[BASE + 1]) end
  return reply('', item_view(it))
end

local function op_agent(keys, args)
  setup(keys, args)
  local a = agent(args[BASE + 1])
  if a == nil then return fail('unknown_agent', args[BASE + 1]) end
  return reply('', agent_view(a))
end

local function op_next_timer(keys, args)
  local h = redis.call('ZRANGE', keys[1] .. 'timers', '0', '0', 'WITHSCORES')
  if #h == 0 then return reply('', false) end
  return reply('', h[2])
end

local function op_snapshot(keys, args)
  setup(keys, args)
  local queues = {}
  for _, qc in ipairs(redis.call('SMEMBERS', K.arrk)) do
    local key = P .. 'arr:' .. qc
    local head = redis.call('ZRANGE', key, '0', '0')
    local oldest = ''
    if head[1] then oldest = redis.call('HGET', P .. 'i:' .. member_id(head[1]), 'enq') end
    queues[#queues + 1] = {qc, I(redis.call('ZCARD', key)), oldest}
  end
  local agents = {}
  for _, aid in ipairs(redis.call('SMEMBERS', K.agents)) do
    local a = agent(aid)
    agents[#agents + 1] = {aid, shown(a), a.pres, a.nheld}
  end
  local counts, order = {}, {}
  local function bump(st, n)
    if counts[st] == nil then counts[st] = 0; order[#order + 1] = st end
    counts[st] = counts[st] + n
  end
  local legacy = redis.call('HGETALL', K.counts)
  for i = 1, #legacy, 2 do bump(legacy[i], tonumber(legacy[i + 1])) end
  local received = redis.call('HGETALL', K.recv)
  for i = 2, #received, 2 do bump('queued', tonumber(received[i])) end
  local moves = redis.call('HGETALL', K.cnt)
  for i = 1, #moves, 2 do
    local from, to = string.match(moves[i], '^(.*)>(.*)$')
    -- ('>queued': arrivals as workers before 'recv' counted them, in 'recv' too)
    if from ~= '' then
      local n = tonumber(moves[i + 1])
      bump(from, -n)
      bump(to, n)
    end
  end
  local flat = {}
  for _, st in ipairs(order) do flat[#flat + 1] = st; flat[#flat + 1] = I(counts[st]) end
  return reply('', {queues, agents, flat, received})
end

-- Several transitions in one FCALL: what a worker's coroutines issued in one event-loop
-- turn (router/redis_mux.py). Each FCALL costs the server ~5k instructions before its
-- function runs, and every argument ~1.5k more; a batch pays the first once and sends
-- the settings once. Arguments: the settings, then per transition its function's name,
-- how many arguments of its own follow its time, its time, and those arguments. The reply:
-- each transition's reply, in order. Each runs as if called alone (its own setup(), its
-- own pcall): an error, a failed redis.call included, is that transition's reply (an
-- error element) and the next runs, as the next of a pipeline would. Only the write
-- transitions the prelude's BATCHED_NAMES lists (router/redis_store.py's BATCHED); reads
-- keep their read-only functions. What the transitions of a batch of two or more would
-- each write to keys they all share waits for its end (BATCH.on): their stream entries
-- (XADD, ~10k instructions each) become one, their status moves one HINCRBY per kind,
-- their sequence numbers one GET and one SET; nothing in a batch reads those keys. A
-- batch of one writes as its transition alone does.
function BATCH.run(keys, args)
  local ops, counts = BATCH.ops, BATCH.count
  local settings, out, i, n = args[1], {}, 2, #args
  while i <= n do
    local fn, count = ops[args[i]], counts[args[i + 1]]
    if count == nil then
      count = tonumber(args[i + 1])
      counts[args[i + 1]] = count
    end
    local last = i + 2 + (count or n)
    if fn == nil or last > n then
      -- (a malformed batch: nothing more can be told apart in it)
      out[#out + 1] = {err = 'ERR omniroute batch: bad transition ' .. tostring(args[i])}
      break
    end
    -- A batch of one runs as a call of its own function would (nothing to share).
    if i == 2 then BATCH.on = last < n end
    local ok, r = pcall(fn, keys, {args[i + 2], settings, unpack(args, i + 3, last)})
    if not ok and type(r) ~= 'table' then r = {err = 'ERR ' .. tostring(r)} end
    out[#out + 1] = r
    i = last + 1
  end
  -- What the transitions left for the batch's end: their events as one stream entry (the
  -- array of them, '[[…', or the one event), capped at about MAXLEN events; their status
  -- moves, one HINCRBY each; the sequence counter where they left it.
  local ev = BATCH.ev
  if #ev > 0 then
    local entry, cap = ev[1], MAXLEN
    if #ev > 1 then
      entry = '[' .. table.concat(ev, ',') .. ']'
      cap = I(math.max(1, math.floor(tonumber(MAXLEN) / #ev)))
    end
    redis.call('XADD', K.events, 'MAXLEN', '~', cap, '*', 'e', entry)
  end
  for k, d in pairs(BATCH.moves) do redis.call('HINCRBY', K.cnt, k, I(d)) end
  if BATCH.seq ~= nil then redis.call('SET', K.seq, I(BATCH.seq)) end
  BATCH.add_timers()
  -- arrivals; a queue x channel's first ones also list it among those with arrivals
  for qch, d in pairs(BATCH.recv) do
    if redis.call('HINCRBY', K.recv, qch, I(d)) == d then redis.call('SADD', K.arrk, qch) end
  end
  return out
end

local function reg(name, fn, readonly)
  if BATCHED_NAMES[name] then BATCH.ops[name] = fn end
  local flags = {}
  if readonly then flags = {'no-writes'} end
  redis.register_function({function_name = LIB .. '_' .. name, callback = fn, flags = flags})
end

reg('init', op_init)
reg('ingest', op_ingest)
reg('pull', op_pull)
reg('accept', op_accept)
reg('reject', op_reject)
reg('wrap_up', op_wrap_up)
reg('complete', op_complete)
reg('complete_pull', op_complete_pull)
reg('end', op_end)
reg('transfer', op_transfer)
reg('presence', op_presence)
reg('tick', op_tick)
reg('batch', function(keys, args)
  local ok, out = pcall(BATCH.run, keys, args)
  BATCH.on = false
  BATCH.seq = nil
  for i = #BATCH.ev, 1, -1 do BATCH.ev[i] = nil end
  for i = #BATCH.timers, 1, -1 do BATCH.timers[i] = nil end
  for k in pairs(BATCH.recv) do BATCH.recv[k] = nil end
  for k in pairs(BATCH.moves) do BATCH.moves[k] = nil end
  if not ok then error(out) end
  return out
end)
reg('upsert_agent', op_upsert_agent)
reg('remove_agent', op_remove_agent)
reg('get', op_get, true)
reg('agent', op_agent, true)
reg('next_timer', op_next_timer, true)
reg('snapshot', op_snapshot, true)
