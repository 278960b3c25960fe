--[[
Runs one function of a burst_buffer.lua the way Slurm 22.05's burst_buffer/lua plugin does:
a fresh interpreter, a global `slurm` table, every argument a string.

  lua5.1 lua-harness.lua <burst_buffer.lua> <function> [arguments...]
  lua5.1 lua-harness.lua <burst_buffer.lua> --missing   (required functions not defined)

Prints, on stdout:
  count=<number of returned values>
  rc=<first value>           rctype=<its type>
  msgtype=<type of the second value>
  log=<level>:<message>      one per slurm.log_* call, newlines as \n
  message:                   then the second value, raw, up to the end
A Lua error prints "lua_error=<message>" and exits 1.
--]]

local script, name = arg[1], arg[2]
local logs = {}

-- Like Slurm's slurm.log_*: string.format over every argument.
local function logger(level)
  return function(...)
    local text = string.format(...)
    logs[#logs + 1] = level .. ":" .. (string.gsub(text, "\n", "\\n"))
  end
end

slurm = {
  SUCCESS = 0,
  ERROR = -1,
  FAILURE = -1,
  log_info = logger("info"),
  log_verbose = logger("verbose"),
  log_debug = logger("debug"),
  log_error = logger("error"),
}

local REQUIRED = {
  "slurm_bb_job_process", "slurm_bb_pools", "slurm_bb_job_teardown", "slurm_bb_setup",
  "slurm_bb_data_in", "slurm_bb_real_size", "slurm_bb_paths", "slurm_bb_pre_run",
  "slurm_bb_post_run", "slurm_bb_data_out", "slurm_bb_get_status",
}

local loaded, load_error = pcall(dofile, script)
if not loaded then
  io.write("lua_error=", tostring(load_error), "\n")
  os.exit(1)
end

if name == "--missing" then
  for _, required in ipairs(REQUIRED) do
    if type(_G[required]) ~= "function" then
      io.write(required, "\n")
    end
  end
  os.exit(0)
end

local fn = _G[name]
if type(fn) ~= "function" then
  io.write("lua_error=no function ", tostring(name), "\n")
  os.exit(1)
end

local args = {}
for i = 3, #arg do
  args[#args + 1] = arg[i]
end

local function pack(...)
  return { n = select("#", ...), ... }
end

local results = pack(pcall(fn, unpack(args, 1, #args)))
if not results[1] then
  io.write("lua_error=", tostring(results[2]), "\n")
  os.exit(1)
end

io.write("count=", results.n - 1, "\n")
io.write("rc=", tostring(results[2]), "\n")
io.write("rctype=", type(results[2]), "\n")
io.write("msgtype=", type(results[3]), "\n")
for _, line in ipairs(logs) do
  io.write("log=", line, "\n")
end
io.write("message:\n")
if type(results[3]) == "string" then
  io.write(results[3])
end
