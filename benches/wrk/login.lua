-- POST /v2/auth/login, spreading the requests over the accounts login0 … login255 that
-- benches/sign_up.py created: one account seldom has two logins in flight, as in real traffic
-- (a single account under dozens of parallel logins would lock itself, by design).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
function request()
  counter = counter + 1
  local n = (counter * 2 + id) % 256
  local body = '{"username":"login' .. n .. '","password":"correct horse battery staple"}'
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
