-- Logins spread over the accounts login0 … login255 that benches/sign_up.py created: one
-- account seldom has two logins in flight, as in real traffic (a single account under dozens
-- of parallel logins would lock itself, by design). Latchkey's POST /v2/auth/login, or with
-- BENCH_SERVER=fastapi-users its POST /auth/jwt/login (an OAuth2 password form).
dofile("benches/wrk/threads.lua")
local fastapi_users = os.getenv("BENCH_SERVER") == "fastapi-users"

local counter = 0
function request()
  counter = counter + 1
  local n = (counter * 2 + id) % 256
  if fastapi_users then
    local body = "username=login" .. n .. "%40example.com&password=correct+horse+battery+staple"
    return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
  end
  local body = '{"username":"login' .. n .. '","password":"correct horse battery staple"}'
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
