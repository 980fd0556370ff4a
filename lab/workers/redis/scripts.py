"""Los scripts Lua de ``RedisTaskQueue``: cada transición de estado es un script atómico en el servidor.

Claves (``P`` = ``lab:<nombre>:``): ``seq`` (contador INCR de ids), ``task:<id>`` (hash con los
campos de ``Task``), las listas ``pending`` (se añade por la izquierda y se entrega por la
derecha), ``processing`` y ``finished`` (cola fiable: un id pasa de una lista a otra dentro
del mismo script, nunca se pierde), ``leases`` (zset id → vencimiento), ``counts`` y
``sums`` (hashes para ``build_stats``; los contadores de ``pending`` y ``processing`` son
las longitudes de sus listas, y ``sums.finished`` = completadas + fallidas − canceladas), ``events`` (lista de eventos JSON), ``workers``
(hash worker → JSON con último latido y tarea actual), ``claims`` (hash worker → ficha e id de
su última entrega), ``adds`` (hash cliente → ficha y respuesta de su último alta, para no duplicar
al reintentar), ``notify`` (fichas para despertar a
quien espera en ``get_task``) y ``shutdown``.

Todos reciben ``ARGV[1] = P`` y ``ARGV[2] = ahora`` (vacío = reloj del servidor, ``TIME``).
Los números se guardan pasándolos tal cual a ``redis.call`` (precisión completa) y en los
textos JSON con ``%.17g``, nunca con ``tostring`` (que redondea a 14 cifras). Los textos de
los errores son los mismos que los de ``TaskQueue`` en ``queue.py``: si cambia uno, cambia
el otro (la batería de conformidad lo vigila).
"""

from __future__ import annotations

from lab.workers.queue_api import Retention


def _lua(value: float | None) -> str:
    """Un número (o ``None``) como literal de Lua."""
    return "nil" if value is None else repr(value)


#: La retención de una cola sin configuración guardada: la de ``Retention()``, como en ``TaskQueue``.
DEFAULT_RETENTION = Retention()

PRELUDE = r"""
if redis.replicate_commands then pcall(redis.replicate_commands) end
-- ARGV[1] = P .. '\n' .. generación que conoce el cliente ('' = aún ninguna). Si la cola ya no tiene
-- esa generación, su estado desapareció (Redis reiniciado sin persistencia, claves borradas):
-- error LABLOST en vez de seguir con una cola vacía como si nada.
local P, GEN = string.match(ARGV[1], '^([^\n]*)\n?(.*)$')
if GEN ~= '' and redis.call('GET', P .. 'gen') ~= GEN then
  return redis.error_reply('LABLOST la cola ' .. P .. ' perdió su estado')
end
-- La configuración guardada con la cola (``config``) manda sobre la que trae el cliente.
local function config(lease, max_attempts)
  local c = redis.call('HMGET', P .. 'config', 'lease_timeout', 'max_attempts')
  if c[2] then return tonumber(c[1]), tonumber(c[2]) end
  return lease, max_attempts
end
local function now_from(arg)
  if arg == nil or arg == '' then
    local t = redis.call('TIME')
    return tonumber(t[1]) + tonumber(t[2]) / 1000000
  end
  return tonumber(arg)
end
local function num(x) return string.format('%.17g', x) end
local function jstr(s)
  if s == nil or s == false or s == '' then return 'null' end
  return cjson.encode(s)
end
local function tkey(id) return P .. 'task:' .. id end
-- ``ownership_problem`` de leases.py (misma regla en las dos colas): nil si se puede terminar o
-- renovar; si no, la respuesta de error. ``f`` = HMGET estado, worker, started_at, intentos; ``token``
-- = intento de la entrega (*fencing token*, nil = no se comprueba); ``worker`` '' = cualquiera.
local function owned_problem(f, worker, token)
  local attempts = tonumber(f[4]) or 0
  if token and (token ~= attempts or f[1] == 'pending') then return {'stale', f[1], f[2] or '', attempts} end
  if f[1] ~= 'processing' then return {'state', f[1]} end
  if worker ~= '' and f[2] ~= worker then return {'lease', f[2] or ''} end
  return nil
end
local function event(t, id, state, worker, attempt, reason)
  redis.call('RPUSH', P .. 'events', '[' .. num(t) .. ',' .. jstr(id) .. ',"' .. state .. '",' ..
             jstr(worker) .. ',' .. string.format('%d', attempt) .. ',' .. jstr(reason) .. ']')
end
local function seen(worker, t, task)
  if worker and worker ~= '' then
    redis.call('HSET', P .. 'workers', worker,
               '{"last_seen":' .. num(t) .. ',"current_task":' .. jstr(task) .. '}')
  end
end
-- Retención (``Retention``, guardada en ``config``; sin configuración guardada, ``Retention()``): descarta
-- las terminadas más antiguas (por número o por edad; como mucho 100 por llamada, para que ningún script
-- se alargue) y recorta ``events``. Las pendientes y en proceso no se tocan nunca; ``counts`` anota
-- cuántas se descartaron.
local function retain(t)
  local c = redis.call('HMGET', P .. 'config', 'keep_finished', 'keep_seconds', 'keep_events', 'max_attempts')
  local keep, age, events = tonumber(c[1]), tonumber(c[2]), tonumber(c[3])
  if not c[4] then keep, age, events = DEFAULT_KEEP_FINISHED, DEFAULT_KEEP_SECONDS, DEFAULT_KEEP_EVENTS end
  if keep or age then
    local n, budget = redis.call('LLEN', P .. 'finished'), 100
    while n > 0 and budget > 0 do
      local id = redis.call('LINDEX', P .. 'finished', 0)
      local f = redis.call('HMGET', tkey(id), 'state', 'finished_at')
      local over = keep and n > keep
      local old = age and f[2] and tonumber(f[2]) <= t - age
      if not (over or old) then break end
      redis.call('LPOP', P .. 'finished')
      redis.call('DEL', tkey(id))
      redis.call('HINCRBY', P .. 'counts', 'trimmed_' .. (f[1] or 'unknown'), 1)
      n, budget = n - 1, budget - 1
    end
  end
  if events then
    local m = redis.call('LLEN', P .. 'events')
    if m > events then
      redis.call('LTRIM', P .. 'events', m - events, -1)
      redis.call('HINCRBY', P .. 'counts', 'events_trimmed', m - events)
    end
  end
end
local function requeue_expired(t, max_attempts)
  local expired = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', t)
  if #expired == 0 then return expired end
  table.sort(expired)
  for _, id in ipairs(expired) do
    local k = tkey(id)
    local f = redis.call('HMGET', k, 'attempts', 'worker_id', 'started_at')
    local attempts, lost_by = tonumber(f[1]), f[2] or ''
    redis.call('ZREM', P .. 'leases', id)
    redis.call('LREM', P .. 'processing', 1, id)
    redis.call('HDEL', k, 'lease_expires_at')
    if attempts >= max_attempts then
      local err = 'Tarea ' .. id .. ' abandonada: el worker ' .. lost_by ..
                  ' dejó de renovar su concesión y ya se intentó ' .. attempts ..
                  ' veces (máximo ' .. max_attempts .. ').'
      redis.call('RPUSH', P .. 'finished', id)
      redis.call('HSET', k, 'state', 'failed', 'finished_at', t, 'error', err)
      redis.call('HINCRBY', P .. 'counts', 'failed', 1)
      redis.call('HINCRBYFLOAT', P .. 'sums', 'processing', t - tonumber(f[3]))
      event(t, id, 'failed', lost_by, attempts, err)
      retain(t)
    else
      redis.call('RPUSH', P .. 'pending', id)
      redis.call('HSET', k, 'state', 'pending')
      redis.call('HDEL', k, 'worker_id')
      redis.call('HINCRBY', P .. 'sums', 'requeued', 1)
      event(t, id, 'pending', lost_by, attempts, 'concesión caducada: ' .. lost_by .. ' dejó de latir')
      redis.call('LPUSH', P .. 'notify', '1')
    end
  end
  return expired
end
"""
for _name, _value in (("DEFAULT_KEEP_FINISHED", DEFAULT_RETENTION.max_finished),
                      ("DEFAULT_KEEP_SECONDS", DEFAULT_RETENTION.max_age),
                      ("DEFAULT_KEEP_EVENTS", DEFAULT_RETENTION.max_events)):
    PRELUDE = PRELUDE.replace(_name, _lua(_value))

# ARGV: P, ahora, payload JSON 1, payload JSON 2...  →  {'closed'} o {'ok', id1, id2...}
ADD = PRELUDE + r"""
-- ARGV[3] = ficha de esta llamada ('cliente token'): si es un reintento de una llamada que Redis ya
-- aplicó (la respuesta se perdió con la conexión), se devuelven los mismos ids sin volver a encolar.
-- ``adds`` guarda la última ficha de cada cliente y caduca 10 minutos después del último alta.
local client, token = string.match(ARGV[3], '^(%S*) (%S*)$')
if client ~= '' then
  local last = redis.call('HGET', P .. 'adds', client)
  if last and string.sub(last, 1, #token + 1) == token .. ' ' then return cjson.decode(string.sub(last, #token + 2)) end
end
if redis.call('EXISTS', P .. 'shutdown') == 1 then return {'closed'} end
local t = now_from(ARGV[2])
local out = {'ok'}
for i = 4, #ARGV do
  local id = string.format('task-%04d', redis.call('INCR', P .. 'seq'))
  redis.call('HSET', tkey(id), 'id', id, 'payload', ARGV[i], 'state', 'pending', 'attempts', 0, 'created_at', t)
  redis.call('LPUSH', P .. 'pending', id)
  event(t, id, 'pending', nil, 0, nil)
  out[#out + 1] = id
end
if redis.call('LPUSH', P .. 'notify', unpack(out, 2)) > 1000 then redis.call('LTRIM', P .. 'notify', 0, 999) end
if client ~= '' then
  redis.call('HSET', P .. 'adds', client, token .. ' ' .. cjson.encode(out))
  redis.call('EXPIRE', P .. 'adds', 600)
end
return out
"""

# Entregar la siguiente tarea a ``worker``  →  {1, tarea en JSON (un objeto con los campos del hash, todos
# textos)}  o  {0, cerrada (0/1), próximo vencimiento ('' si no hay), ahora}. Si la respuesta de una entrega
# se pierde (Redis se reinicia justo después), el reintento lleva la misma ficha y recibe la misma tarea en
# vez de dejarla huérfana hasta que caduque su concesión. Una sola cadena JSON en la respuesta (en vez del
# hash campo a campo) ahorra trabajo al cliente.
CLAIM_FN = r"""
local function claim(t, worker, lease, max_attempts, token, retry)
  if retry then
    local last = redis.call('HGET', P .. 'claims', worker)
    if last and string.sub(last, 1, #token + 1) == token .. ' ' then
      local prev = string.sub(last, #token + 2)
      local f = redis.call('HMGET', tkey(prev), 'state', 'worker_id')
      if f[1] == 'processing' and f[2] == worker then
        local h, task = redis.call('HGETALL', tkey(prev)), {}
        for i = 1, #h, 2 do task[h[i]] = h[i + 1] end
        return {1, cjson.encode(task)}
      end
    end
  end
  requeue_expired(t, max_attempts)
  local id = redis.call('LMOVE', P .. 'pending', P .. 'processing', 'RIGHT', 'LEFT')
  if not id then
    local closed = redis.call('EXISTS', P .. 'shutdown')
    if closed == 0 then redis.call('DEL', P .. 'notify') end
    seen(worker, t, nil)
    local nxt = redis.call('ZRANGE', P .. 'leases', 0, 0, 'WITHSCORES')
    return {0, closed, nxt[2] or '', num(t)}
  end
  local k = tkey(id)
  local h, task = redis.call('HGETALL', k), {}
  for i = 1, #h, 2 do task[h[i]] = h[i + 1] end
  local attempts = tonumber(task.attempts or '0') + 1
  task.state, task.worker_id, task.started_at = 'processing', worker, num(t)
  task.attempts, task.lease_expires_at = string.format('%d', attempts), nil
  if lease then
    redis.call('HSET', k, 'state', 'processing', 'worker_id', worker, 'started_at', t, 'attempts', attempts,
               'lease_expires_at', t + lease)
    redis.call('ZADD', P .. 'leases', t + lease, id)
    task.lease_expires_at = num(t + lease)
  else
    redis.call('HSET', k, 'state', 'processing', 'worker_id', worker, 'started_at', t, 'attempts', attempts)
  end
  redis.call('HINCRBYFLOAT', P .. 'sums', 'wait', t - tonumber(task.created_at))
  redis.call('HINCRBY', P .. 'sums', 'started', 1)
  event(t, id, 'processing', worker, attempts, nil)
  seen(worker, t, id)
  redis.call('HSET', P .. 'claims', worker, token .. ' ' .. id)
  return {1, cjson.encode(task)}
end
"""

# ARGV: P, ahora, worker, lease ('' = sin concesiones), max_attempts, ficha de la petición, reintento (0/1)
CLAIM = PRELUDE + CLAIM_FN + r"""
local lease, max_attempts = config(tonumber(ARGV[4]), tonumber(ARGV[5]))
return claim(now_from(ARGV[2]), ARGV[3], lease, max_attempts, ARGV[6], ARGV[7] == '1')
"""

# Comprobación común de heartbeat y finish: {'unknown'}, {'stale', estado, dueño, intento vigente},
# {'state', estado} o {'lease', dueño}.
_OWNED = r"""
local k = tkey(id)
local f = redis.call('HMGET', k, 'state', 'worker_id', 'started_at', 'attempts', 'lease_expires_at')
if not f[1] then return {'unknown'} end
"""

# ARGV: P, ahora, id, worker, lease ('' = sin concesiones), intento ('' = no se comprueba)
#   →  {'ok', vencimiento o ''} o error
HEARTBEAT = PRELUDE + r"""
local t = now_from(ARGV[2])
local id, worker = ARGV[3], ARGV[4]
local lease = config(tonumber(ARGV[5]), 0)
""" + _OWNED + r"""
local problem = owned_problem(f, worker, tonumber(ARGV[6] or ''))
if problem then return problem end
seen(worker, t, id)
if not lease then return {'ok', ''} end
redis.call('HSET', k, 'lease_expires_at', t + lease)
redis.call('ZADD', P .. 'leases', t + lease, id)
return {'ok', num(t + lease)}
"""

# Terminar ``id`` (estado final ``target``, ``worker`` '' = cualquiera, ``data`` = resultado JSON o error,
# ``token`` = intento de la entrega o nil)  →  {'ok'} o el error de ``_OWNED``.
FINISH_FN = r"""
local function finish(t, id, target, worker, data, retry, token)
""" + _OWNED + r"""
  -- Reintento tras perder la conexión: si el primer envío ya se aplicó, no es un error.
  if f[1] ~= 'processing' and retry and f[1] == target and (worker == '' or f[2] == worker)
     and (not token or token == tonumber(f[4])) then return {'ok'} end
  local problem = owned_problem(f, worker, token)
  if problem then return problem end
  redis.call('LREM', P .. 'processing', 1, id)
  redis.call('RPUSH', P .. 'finished', id)
  if f[5] then
    redis.call('ZREM', P .. 'leases', id)
    redis.call('HDEL', k, 'lease_expires_at')
  end
  -- una tarea en proceso nunca tiene 'result' ni 'error': solo se escriben al terminar
  local reason = nil
  if target == 'completed' then
    if data ~= '' then
      redis.call('HSET', k, 'state', target, 'finished_at', t, 'result', data)
    else
      redis.call('HSET', k, 'state', target, 'finished_at', t)
    end
  else
    redis.call('HSET', k, 'state', target, 'finished_at', t, 'error', data)
    reason = data
  end
  redis.call('HINCRBY', P .. 'counts', target, 1)
  redis.call('HINCRBYFLOAT', P .. 'sums', 'processing', t - tonumber(f[3]))
  event(t, id, target, f[2], tonumber(f[4]), reason)
  seen(f[2], t, nil)
  retain(t)
  return {'ok'}
end
"""

# ARGV: P, ahora, id, estado final, worker ('' = cualquiera), dato (resultado JSON o error), reintento (0/1),
# intento ('' = no se comprueba)
FINISH = PRELUDE + FINISH_FN + r"""
return finish(now_from(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7] == '1', tonumber(ARGV[8] or ''))
"""

# Completar y entregar la siguiente en una sola ida y vuelta (``complete_and_get_next``).
# ARGV: P, ahora, id, worker, resultado JSON, reintento (0/1), lease, max_attempts, ficha,
# intento de la tarea que se completa ('' = no se comprueba)
#   →  {respuesta de finish}  si no se pudo completar (no se entrega nada)
#   o  {{'ok'}, respuesta de claim}
FINISH_NEXT = PRELUDE + FINISH_FN + CLAIM_FN + r"""
local t, retry = now_from(ARGV[2]), ARGV[6] == '1'
local done = finish(t, ARGV[3], 'completed', ARGV[4], ARGV[5], retry, tonumber(ARGV[10] or ''))
if done[1] ~= 'ok' then return {done} end
local lease, max_attempts = config(tonumber(ARGV[7]), tonumber(ARGV[8]))
return {done, claim(t, ARGV[4], lease, max_attempts, ARGV[9], retry)}
"""

# ARGV: P, ahora, max_attempts  →  {ids recuperados (ordenados), pendientes + en proceso}
REQUEUE = PRELUDE + r"""
local t = now_from(ARGV[2])
local _, max_attempts = config(nil, tonumber(ARGV[3]))
local expired = requeue_expired(t, max_attempts)
return {expired, redis.call('LLEN', P .. 'pending') + redis.call('LLEN', P .. 'processing')}
"""

# ARGV: P, ahora, inmediato (0/1)  →  número de tareas canceladas
SHUTDOWN = PRELUDE + r"""
local t = now_from(ARGV[2])
redis.call('SET', P .. 'shutdown', '1')
local cancelled = 0
if ARGV[3] == '1' then
  while true do
    local id = redis.call('LMOVE', P .. 'pending', P .. 'finished', 'RIGHT', 'RIGHT')
    if not id then break end
    local k = tkey(id)
    local err = 'Tarea ' .. id .. ' cancelada: la cola se cerró antes de procesarla.'
    redis.call('HSET', k, 'state', 'failed', 'finished_at', t, 'error', err)
    redis.call('HINCRBY', P .. 'counts', 'failed', 1)
    redis.call('HINCRBY', P .. 'counts', 'cancelled', 1)
    event(t, id, 'failed', redis.call('HGET', k, 'worker_id'), tonumber(redis.call('HGET', k, 'attempts')), err)
    cancelled = cancelled + 1
  end
  retain(t)
end
for i = 1, 64 do redis.call('LPUSH', P .. 'notify', '1') end
redis.call('LTRIM', P .. 'notify', 0, 999)
return cancelled
"""

# Abrir la cola (sin PRELUDE: es lo que da la generación).  ARGV: P, generación nueva ('' = no crear),
# configurar (0/1), campo, valor, campo, valor... (lease_timeout, max_attempts y la retención)
#   →  {generación o '', config como lista plana campo, valor...} (vacía si la cola no tiene configuración).
# Solo escribe lo que falta: nunca cambia una generación ni una configuración que ya existen.
OPEN = r"""
local P = ARGV[1]
local gen = redis.call('GET', P .. 'gen')
if not gen and ARGV[2] ~= '' then
  gen = ARGV[2]
  redis.call('SET', P .. 'gen', gen)
end
if ARGV[3] == '1' and #ARGV > 3 and redis.call('HEXISTS', P .. 'config', 'max_attempts') == 0 then
  redis.call('HSET', P .. 'config', unpack(ARGV, 4))
end
return {gen or '', redis.call('HGETALL', P .. 'config')}
"""

SCRIPTS: dict[str, str] = {"open": OPEN, "add": ADD, "claim": CLAIM, "heartbeat": HEARTBEAT, "finish": FINISH,
                           "finish_next": FINISH_NEXT, "requeue": REQUEUE, "shutdown": SHUTDOWN}
