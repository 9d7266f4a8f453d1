-- The Lua peer of util/bench/run: what a careful OpenResty user would
-- write with Debian's packages.  Each worker appends the event of every
-- request to a Lua table in the log phase (after the answer is sent) and a
-- 5 ms ngx.timer.every sends the table as one multi-value RPUSH over a
-- keepalive connection (nginx.redis from lua-nginx-redis).  Events are
-- JSON from cjson when it is installed, else string concatenation.

local redis = require "nginx.redis"

local has_cjson, cjson = pcall(require, "cjson")
local encode = has_cjson and cjson.encode or nil

local ngx = ngx
local unpack = unpack
local min = math.min
local concat = table.concat

local ok_new, new_tab = pcall(require, "table.new")
if not ok_new then
    new_tab = function () return {} end
end

local M = { json = has_cjson and "cjson" or "concat" }

local host, port, key
local buf, n = new_tab(1024, 0), 0
local busy = false
local CHUNK = 2000        -- values per RPUSH (LuaJIT's unpack limit is ~8000)
local HOLD = 1000000      -- events held at most while Redis is away

local function esc(s)
    s = s or ""
    return (s:gsub('[%c"\\]', function (c)
        if c == '"' then return '\\"' end
        if c == '\\' then return '\\\\' end
        return string.format("\\u%04x", c:byte())
    end))
end

function M.log()
    local args = ngx.req.get_uri_args(20)
    local var = ngx.var
    local ev
    if encode then
        ev = encode({
            id = var.request_id, ts = ngx.now(),
            type = args.t, label = args.l, url = args.u,
            ip = var.remote_addr, ua = var.http_user_agent, host = var.host,
        })
    else
        ev = concat({
            '{"id":"', var.request_id, '","ts":', ngx.now(),
            ',"type":"', esc(args.t), '","label":"', esc(args.l),
            '","url":"', esc(args.u), '","ip":"', var.remote_addr,
            '","ua":"', esc(var.http_user_agent), '","host":"', esc(var.host),
            '"}' })
    end
    if n < HOLD then
        n = n + 1
        buf[n] = ev
    end
end

local function flush(premature)
    if n == 0 or busy then
        return
    end
    busy = true

    local batch, cnt = buf, n
    buf, n = new_tab(1024, 0), 0

    local red = redis:new()
    red:set_timeout(1000)
    local ok, err = red:connect(host, port)
    local i = 1
    if ok then
        while i <= cnt do
            local j = min(i + CHUNK - 1, cnt)
            ok, err = red:rpush(key, unpack(batch, i, j))
            if not ok then
                break
            end
            i = j + 1
        end
    end

    if ok then
        red:set_keepalive(60000, 4)
    else
        ngx.log(ngx.ERR, "lua peer: redis: ", err)
        red:close()
        -- keep what was not sent, in front of what arrived meanwhile
        local keep = new_tab(cnt - i + 1 + n, 0)
        local m = 0
        for k = i, cnt do m = m + 1; keep[m] = batch[k] end
        for k = 1, n do
            if m >= HOLD then break end
            m = m + 1; keep[m] = buf[k]
        end
        buf, n = keep, m
    end

    busy = false
end

function M.init(h, p, k)
    host, port, key = h, p, k
    local ok, err = ngx.timer.every(0.005, flush)
    if not ok then
        ngx.log(ngx.ERR, "lua peer: timer: ", err)
    end
end

return M
