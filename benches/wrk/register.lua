-- POST /v2/auth/register with a new username every time: thread number plus a counter.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
function request()
  counter = counter + 1
  local name = "r" .. id .. "x" .. counter
  local body = "username=" .. name .. "&email_address=" .. name ..
    "%40example.com&password=correct+horse+battery+staple"
  return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
