-- Sign-ups with a new name every time (thread number plus a counter): Latchkey's
-- POST /v2/auth/register, or with BENCH_SERVER=fastapi-users its POST /auth/register.
dofile("benches/wrk/threads.lua")
local fastapi_users = os.getenv("BENCH_SERVER") == "fastapi-users"

local counter = 0
function request()
  counter = counter + 1
  local name = "r" .. id .. "x" .. counter
  if fastapi_users then
    local body = '{"email":"' .. name .. '@example.com","password":"correct horse battery staple"}'
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
  end
  local body = "username=" .. name .. "&email_address=" .. name ..
    "%40example.com&password=correct+horse+battery+staple"
  return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
