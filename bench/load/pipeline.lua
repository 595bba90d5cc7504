-- Pipelined requests for wrk: each write carries `depth` copies of the
-- request (first script argument, default 16). wrk counts every response.
-- Usage: wrk -s pipeline.lua http://127.0.0.1:PORT/ -- 16
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end
