-- Appended to each script: answers counted by status, printed as "status <code> <count>" lines at the end.
local threads = {}
function setup(thread) threads[#threads + 1] = thread end
statuses = {}
response = function(status) statuses[status] = (statuses[status] or 0) + 1 end
function done()
  local total = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  for code, n in pairs(total) do io.write(string.format("status %d %d\n", code, n)) end
end
