-- POST /orders by many buyers in turn (BENCH_ORDERS_FILE: "user_id token item_id" a line). Counts answers by status.
-- BENCH_ORDER_KEYS=1: each request carries an Idempotency-Key of its own, as a careful client's do.
local buyers = {}
for line in io.lines(os.getenv("BENCH_ORDERS_FILE")) do
  local user, token, item = line:match("^(%S+) (%S+) (%S+)$")
  buyers[#buyers + 1] = { user = user, token = token, item = item }
end
local address = '{"name":"Bench Buyer","line1":"1 Bench Street","city":"Benchville","postal_code":"10001","country":"US"}'
local keyed = os.getenv("BENCH_ORDER_KEYS") == "1"
local run = tostring(os.time()) .. "-" .. tostring(math.random(1000000000))
local i, n = 0, 0
request = function()
  i = i % #buyers + 1
  n = n + 1
  local b = buyers[i]
  local body = '{"user_id":"' .. b.user .. '","items":[{"item_id":"' .. b.item .. '","quantity":1}],"shipping_address":' .. address .. '}'
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. b.token }
  if keyed then headers["Idempotency-Key"] = "bench-" .. run .. "-" .. n end
  return wrk.format("POST", "/orders", headers, body)
end
