-- Numbers wrk's threads 1, 2, … (as `id` in each thread) so that each makes distinct names.
-- Loaded by the request scripts with dofile; wrk runs from the repository root.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
