//! The Lua scripts, one per read-modify-write, each one round trip. Times are read with
//! `TIME` in microseconds (exact in Lua's doubles until the year 2255).

use std::sync::LazyLock;

use redis::Script;

/// `local now = ...` in microseconds, for the scripts below.
macro_rules! lua {
    ($body:expr) => {
        LazyLock::new(|| {
            Script::new(concat!(
                "redis.replicate_commands()\nlocal t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n",
                $body
            ))
        })
    };
}

/// GCRA check-and-spend. KEYS: counter. ARGV: interval µs, burst. Returns the wait in µs
/// (0: admitted).
pub(super) static GCRA_CHECK: LazyLock<Script> = lua!(
    "local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
return 0"
);

/// GCRA peek. KEYS: counter. ARGV: interval µs, burst. Returns the wait in µs (0: allowed).
pub(super) static GCRA_PEEK: LazyLock<Script> = lua!(
    "local tolerance = tonumber(ARGV[1]) * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local wait = tat - tolerance - now
if wait > 0 then return wait end
return 0"
);

/// Compare-and-swap of an account's credential state. KEYS: state hash. ARGV: expected
/// version, new state. Returns 1 if stored.
pub(super) static SAVE_CREDENTIALS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local version = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', version + 1, 's', ARGV[2])
return 1",
    )
});

/// Queue a letter due now. KEYS: due, letters, seq. ARGV: letter JSON, capacity. Returns the
/// id, or 0 when full.
pub(super) static PUSH_LETTER: LazyLock<Script> = lua!(
    "if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
local id = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('ZADD', KEYS[1], math.floor(now / 1000), id)
return id"
);

/// Take the next due letter and lease it. KEYS: due, letters, attempts. ARGV: lease ms.
/// Returns {id, letter, attempts} or nil.
pub(super) static CLAIM_LETTER: LazyLock<Script> = lua!(
    "local ms = math.floor(now / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms, 'LIMIT', 0, 1)
if #ids == 0 then return false end
local id = ids[1]
local letter = redis.call('HGET', KEYS[2], id)
if not letter then
  redis.call('ZREM', KEYS[1], id)
  return false
end
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[1]), id)
return {id, letter, redis.call('HGET', KEYS[3], id) or '0'}"
);

/// Forget a letter. KEYS: due, letters, attempts. ARGV: id.
pub(super) static COMPLETE_LETTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 0",
    )
});

/// Count a failure and make the letter due later. KEYS: due, attempts. ARGV: id, after ms.
pub(super) static RETRY_LETTER: LazyLock<Script> = lua!(
    "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  redis.call('ZADD', KEYS[1], math.floor(now / 1000) + tonumber(ARGV[2]), ARGV[1])
end
return 0"
);

/// Writes an account and keeps its indexes in step: the mailbox sets, the ordered codes, and
/// the codes of its client. KEYS: accounts, mailbox of each code, all codes, the client's codes.
/// ARGV: code, JSON, mailbox key ('' without an address), prefix of the clients' code keys.
/// Returns {1, previous JSON or false}.
const WRITE_ACCOUNT: &str = "local previous = redis.call('HGET', KEYS[1], ARGV[1])
local old_mailbox = redis.call('HGET', KEYS[2], ARGV[1])
if old_mailbox then redis.call('SREM', old_mailbox, ARGV[1]) end
if previous then
  local old_client = cjson.decode(previous).client
  redis.call('ZREM', ARGV[4] .. old_client, ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('SADD', ARGV[3], ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
return {1, previous}";

/// [`WRITE_ACCOUNT`], or nothing if the code is taken. Same keys and arguments.
pub(super) static CREATE_ACCOUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {{0, false}} end\n{WRITE_ACCOUNT}"
    ))
});

/// [`WRITE_ACCOUNT`]: creates or replaces.
pub(super) static PUT_ACCOUNT: LazyLock<Script> = LazyLock::new(|| Script::new(WRITE_ACCOUNT));

/// Decides a request if it is still waiting. KEYS: requests, their status. ARGV: id, JSON,
/// new status. Returns 1 if decided.
pub(super) static DECIDE_REQUEST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('HGET', KEYS[2], ARGV[1]) ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1",
    )
});

/// Stores a new request if its id is free. KEYS: requests, their status. ARGV: id, JSON.
/// Returns 1 if stored.
pub(super) static ADD_REQUEST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], 'pending')
return 1",
    )
});
