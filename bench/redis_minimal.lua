#!lua name=omniroute_minimal
-- The least a Redis routing lifecycle can do and still keep what issue #7 lists: a
-- reference for bench/redis_minimal.py, not part of the product. One queue x channel,
-- one bucket, pull-mode agents of capacity 1; each transition one atomic function:
-- - ingest: idempotency key (taken, with its expiry), an interaction hash, a place in
--   the ordered set, the ready-agent check of enqueue-and-match, an SLA timer, an event,
--   the arrivals counter;
-- - pull: the agent's state and capacity, the head of the ordered set, the reservation
--   (status, holder, token), its expiry timer, capacity in use, an event, a status count;
-- - accept and complete: the holder checked, status moved, capacity given back, an event,
--   a status count, and completed work kept up to a retention bound, the oldest deleted.
-- Left out, and what the product's functions do besides: per-item history, several
-- buckets per agent (the universal queue across queues, channels and skills), preferred
-- agents, the per-queue arrival index, the held-work index, push-mode matching, expiring
-- old idempotency keys, escalation and overflow, and replies with the interaction's view.
-- keys[1]: the prefix; args[1]: the time (text).

local RETAIN, MAXLEN = 20000, '100000'

local function event(kind, id, st, agent, now)
  return '["' .. kind .. '",' .. cjson.encode(id) .. ',"' .. st .. '",' .. cjson.encode(agent)
    .. ',"' .. now .. '"]'
end

-- args: now, idempotency key, id, channel, queue, interaction JSON, score, SLA at-risk
-- time, key expiry time
local function ingest(keys, args)
  local P, now, dk, id = keys[1], args[1], args[2], args[3]
  if redis.call('HSETNX', P .. 'keys', dk, id) == 0 then
    return {'0', redis.call('HGET', P .. 'keys', dk)}
  end
  redis.call('ZADD', P .. 'keyexp', args[9], dk)
  local qch = args[5] .. '|' .. args[4]
  if #redis.call('ZRANGE', P .. 'ba:' .. qch, 0, 0) > 0 then
    return redis.error_reply('a ready agent: push-mode matching is not in this reference')
  end
  local seq = redis.call('INCR', P .. 'seq')
  local m = string.format('%016d:%s', seq, id)
  redis.call('HSET', P .. 'i:' .. id, 'st', 'queued', 'ch', args[4], 'q', args[5],
    'enq', now, 'ix', args[6], 'tok', '0', 'seq', seq, 'ag', '')
  redis.call('ZADD', P .. 'b:' .. qch, args[7], m)
  redis.call('ZADD', P .. 'timers', args[8], 'r:' .. m)
  redis.call('XADD', P .. 'events', 'MAXLEN', '~', MAXLEN, '*', 'e',
    event('queued', id, 'queued', '', now))
  redis.call('HINCRBY', P .. 'recv', qch, 1)
  return {'1', id}
end

-- args: now, agent, queue|channel, offer expiry time
local function pull(keys, args)
  local P, now, aid, qch = keys[1], args[1], args[2], args[3]
  local akey = P .. 'a:' .. aid
  local a = redis.call('HMGET', akey, 'pres', 'act', 'cap')
  if a[1] ~= 'available' or tonumber(a[2]) >= tonumber(a[3]) then return false end
  local head = redis.call('ZPOPMIN', P .. 'b:' .. qch)
  if #head == 0 then return false end
  local id = string.sub(head[1], 18)
  local ikey = P .. 'i:' .. id
  local tok = redis.call('HINCRBY', ikey, 'tok', 1)
  redis.call('HSET', ikey, 'st', 'reserved', 'ag', aid, 'rat', now)
  redis.call('HSET', akey, 'act', tonumber(a[2]) + 1)
  redis.call('ZADD', P .. 'timers', args[4], 'o:' .. tok .. ':' .. id)
  redis.call('XADD', P .. 'events', 'MAXLEN', '~', MAXLEN, '*', 'e',
    event('reserved', id, 'reserved', aid, now))
  redis.call('HINCRBY', P .. 'cnt', 'queued>reserved', 1)
  return {id, aid, args[4]}
end

-- args: now, agent, interaction
local function accept(keys, args)
  local P, now, aid, id = keys[1], args[1], args[2], args[3]
  local ikey = P .. 'i:' .. id
  local r = redis.call('HMGET', ikey, 'st', 'ag', 'tok')
  if r[1] ~= 'reserved' or r[2] ~= aid then return redis.error_reply('not held') end
  redis.call('HSET', ikey, 'st', 'assigned', 'aat', now, 'tok', tonumber(r[3]) + 1)
  redis.call('XADD', P .. 'events', 'MAXLEN', '~', MAXLEN, '*', 'e',
    event('assigned', id, 'assigned', aid, now))
  redis.call('HINCRBY', P .. 'cnt', 'reserved>assigned', 1)
  return 'ok'
end

-- args: now, agent, interaction, disposition
local function complete(keys, args)
  local P, now, aid, id = keys[1], args[1], args[2], args[3]
  local ikey = P .. 'i:' .. id
  local r = redis.call('HMGET', ikey, 'st', 'ag')
  if r[1] ~= 'assigned' or r[2] ~= aid then return redis.error_reply('not held') end
  redis.call('HSET', ikey, 'st', 'completed', 'disp', args[4])
  redis.call('HINCRBY', P .. 'a:' .. aid, 'act', -1)
  redis.call('XADD', P .. 'events', 'MAXLEN', '~', MAXLEN, '*', 'e',
    event('completed', id, 'completed', aid, now))
  redis.call('HINCRBY', P .. 'cnt', 'assigned>completed', 1)
  if redis.call('RPUSH', P .. 'fin', id) > RETAIN then
    redis.call('DEL', P .. 'i:' .. redis.call('LPOP', P .. 'fin'))
  end
  return 'ok'
end

redis.register_function('minimal_ingest', ingest)
redis.register_function('minimal_pull', pull)
redis.register_function('minimal_accept', accept)
redis.register_function('minimal_complete', complete)
