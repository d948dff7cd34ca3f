-- GET one of many paths, in turn (BENCH_PATHS_FILE: one path a line). Counts answers by status.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS_FILE")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
