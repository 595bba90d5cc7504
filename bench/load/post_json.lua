-- A request with a body for wrk. bench/load/run.ts passes the scenario's
-- method and body in the environment, so bench/load/scenarios.ts stays the
-- single source of truth. Usage: WRK_BODY='{"a":1}' wrk -s post_json.lua URL
wrk.method = os.getenv("WRK_METHOD") or "POST"
wrk.body = os.getenv("WRK_BODY") or '{"hello":"world","n":[1,2,3],"ok":true}'
wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE") or "application/json"
