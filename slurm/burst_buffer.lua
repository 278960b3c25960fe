--[[
burst_buffer.lua: Slurm 22.05's burst_buffer/lua plugin, driving the dac-burst-buffer CLI.

Install it as burst_buffer.lua in the slurm.conf directory, with
BurstBufferType=burst_buffer/lua in slurm.conf (see slurm/README.md). Every slurm_bb_ function
runs one CLI function (`dacctl --function <name> ...`, the same arguments the datawarp plugin
passes) and returns slurm.SUCCESS, or slurm.ERROR with the CLI's one-line message.

Written for Lua 5.1 (Debian's slurm embeds it) with the standard library only:
- io.popen():close() loses the exit status in Lua 5.1, so each command line ends with a
  printf of "$?" on a line of its own, and the last line of the output is parsed;
- every argument is single-quoted, stdin is /dev/null and stderr goes into the captured output;
- every call runs under coreutils `timeout -k 1 <seconds>`: job_process, pools and paths run
  inside slurmctld, which cannot kill them;
- Slurm's arguments are strings and stay strings (Lua numbers are doubles).

Settings (environment of slurmctld, read on every call; Slurm reloads the script each time):
  DAC_BB_CLI                the CLI              (default /usr/local/sbin/dacctl)
  DAC_BB_DWSTAT             dwstat               (default /usr/local/sbin/dwstat)
  DAC_BB_DEFAULT_POOL       pool of jobs that name none (default "default")
  DAC_BB_SCONTROL           scontrol, for pre_run's node list (default: scontrol on PATH)
  DAC_BB_TIMEOUT_CMD        coreutils timeout    (default: timeout on PATH)
  DAC_BB_INLINE_TIMEOUT     job_process, pools, paths: seconds, at most 4 (default 4)
  DAC_BB_OTHER_TIMEOUT      setup, real_size, post_run, teardown (default 300)
  DAC_BB_PRE_RUN_TIMEOUT    pre_run (default 300)
  DAC_BB_STAGE_IN_TIMEOUT   data_in (default 86400)
  DAC_BB_STAGE_OUT_TIMEOUT  data_out (default 86400)
  DAC_BB_STATUS_TIMEOUT     dwstat for `scontrol show bbstat` (default 10)
  DAC_BB_SCONTROL_TIMEOUT   each scontrol call of pre_run (default 30)
The CLI enforces its own, shorter deadlines (DAC_OTHER_TIMEOUT etc.); these limits are the
backstop for a CLI that hangs.
--]]

local SCRIPT = "burst_buffer.lua"

---------------------------------------------------------------------------
-- Logging (slurm.log_* run string.format on their arguments: always pass "%s")
---------------------------------------------------------------------------

local function log_info(message)
  if slurm.log_info then
    slurm.log_info("%s", SCRIPT .. ": " .. message)
  end
end

local function log_error(message)
  if slurm.log_error then
    slurm.log_error("%s", SCRIPT .. ": " .. message)
  end
end

---------------------------------------------------------------------------
-- Configuration
---------------------------------------------------------------------------

local function setting(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    return default
  end
  return value
end

-- A time limit in seconds, kept as the string given to `timeout` ("4", "0.5").
local function seconds(name, default, maximum)
  local text = os.getenv(name)
  if text == nil or text == "" then
    return default
  end
  local number = nil
  if string.match(text, "^%d+$") or string.match(text, "^%d*%.%d+$") then
    number = tonumber(text)
  end
  if number == nil or number <= 0 then
    log_error(name .. "=" .. text .. " is not a positive number of seconds; using " .. default)
    return default
  end
  if maximum ~= nil and number > tonumber(maximum) then
    log_error(name .. "=" .. text .. " is above " .. maximum .. " s; using " .. maximum)
    return maximum
  end
  return text
end

local CONFIG = {
  cli = setting("DAC_BB_CLI", "/usr/local/sbin/dacctl"),
  dwstat = setting("DAC_BB_DWSTAT", "/usr/local/sbin/dwstat"),
  default_pool = setting("DAC_BB_DEFAULT_POOL", "default"),
  scontrol = setting("DAC_BB_SCONTROL", "scontrol"),
  timeout_cmd = setting("DAC_BB_TIMEOUT_CMD", "timeout"),
  inline_timeout = seconds("DAC_BB_INLINE_TIMEOUT", "4", "4"),
  other_timeout = seconds("DAC_BB_OTHER_TIMEOUT", "300"),
  pre_run_timeout = seconds("DAC_BB_PRE_RUN_TIMEOUT", "300"),
  stage_in_timeout = seconds("DAC_BB_STAGE_IN_TIMEOUT", "86400"),
  stage_out_timeout = seconds("DAC_BB_STAGE_OUT_TIMEOUT", "86400"),
  status_timeout = seconds("DAC_BB_STATUS_TIMEOUT", "10"),
  scontrol_timeout = seconds("DAC_BB_SCONTROL_TIMEOUT", "30"),
}

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

local function trim(text)
  return (string.gsub(text, "^%s*(.-)%s*$", "%1"))
end

-- One line for a job's Reason: trimmed, lines joined with "; ", at most 1000 characters.
local function one_line(text)
  local line = trim(text)
  line = string.gsub(line, "%s*[\r\n]+%s*", "; ")
  line = string.gsub(line, "%c", " ")
  if #line > 1000 then
    line = string.sub(line, 1, 997) .. "..."
  end
  return line
end

-- Single-quote a word for /bin/sh: ' becomes '\''.
local function quote(word)
  return "'" .. (string.gsub(word, "'", "'\\''")) .. "'"
end

local function basename(path)
  return string.match(path, "([^/]+)/*$") or path
end

local function is_digits(value)
  return type(value) == "string" and string.match(value, "^%d+$") ~= nil
end

local function is_text(value)
  return type(value) == "string" and value ~= ""
end

-- A value for a message: quoted, on one line.
local function shown(value)
  return one_line(string.format("%q", tostring(value)))
end

local function fail(message)
  log_error(message)
  return slurm.ERROR, message
end

local STATUS_MARK = "DAC_BB_EXIT_STATUS="

--[[
Run argv (program first) under `timeout -k 1 <limit>`, stdin /dev/null, stdout and stderr
together. Returns the exit status (a number) and the output, or nil and a reason.
--]]
local function run(argv, limit)
  local words = { quote(CONFIG.timeout_cmd), "-k", "1", quote(limit) }
  for i = 1, #argv do
    local word = argv[i]
    if type(word) ~= "string" then
      return nil, "argument " .. i .. " of " .. basename(tostring(argv[1])) .. " is not a string"
    end
    if string.find(word, "\0", 1, true) then
      return nil, "argument " .. i .. " of " .. basename(argv[1]) .. " contains a NUL byte"
    end
    words[#words + 1] = quote(word)
  end
  local command = table.concat(words, " ")
    .. " </dev/null 2>&1; printf '\\n" .. STATUS_MARK .. "%d\\n' \"$?\""
  local pipe, err = io.popen(command, "r")
  if not pipe then
    return nil, "cannot run " .. argv[1] .. ": " .. tostring(err)
  end
  local output = pipe:read("*a") or ""
  pipe:close()
  local body, status = string.match(output, "^(.*)\n" .. STATUS_MARK .. "(%d+)\n$")
  if body == nil then
    return nil, basename(argv[1]) .. " ended without an exit status"
  end
  return tonumber(status), body
end

--[[
Run a program and judge its exit status. Returns true and the output, or false, the output
and a one-line message (the program's output, or what went wrong).
--]]
local function run_checked(what, argv, limit)
  local status, output = run(argv, limit)
  if status == nil then
    log_error(what .. ": " .. output)
    return false, "", what .. ": " .. output
  end
  if status == 0 then
    return true, output
  end
  local message
  if status == 124 or status == 137 then
    message = what .. " timed out after " .. limit .. " s"
  else
    message = one_line(output)
    if message == "" then
      message = what .. " failed with exit status " .. status
    end
  end
  log_error(what .. " failed (exit status " .. status .. "): " .. message)
  return false, output, message
end

-- `<cli> --function <func> args...`
local function cli(func, args, limit)
  local argv = { CONFIG.cli, "--function", func }
  for i = 1, #args do
    argv[#argv + 1] = args[i]
  end
  return run_checked(basename(CONFIG.cli) .. " " .. func, argv, limit)
end

-- Append `--job <script>` when Slurm gave a script path.
local function with_job(args, job_script)
  if is_text(job_script) then
    args[#args + 1] = "--job"
    args[#args + 1] = job_script
  end
  return args
end

--[[
Wrap a slurm_bb_ function: a Lua error becomes slurm.ERROR with a message (instead of an
error with no text), and a success without a message returns one value (Slurm treats a
non-string second value as a failure).
--]]
local function entry(name, body)
  return function(...)
    local results = { pcall(body, ...) }
    if not results[1] then
      return fail(name .. ": internal error: " .. one_line(tostring(results[2])))
    end
    local rc, message = results[2], results[3]
    if rc == nil then
      return slurm.SUCCESS
    end
    if message == nil then
      return rc
    end
    return rc, message
  end
end

local function bad_job_id(name, job_id)
  return fail(name .. ": invalid job id " .. shown(job_id))
end

-- A stage that only needs the job id and the script: `<func> --token <id> [--job <script>]`.
local function job_step(name, func, limit_key)
  return entry(name, function(job_id, job_script)
    if not is_digits(job_id) then
      return bad_job_id(name, job_id)
    end
    local ok, _, message = cli(func, with_job({ "--token", job_id }, job_script), CONFIG[limit_key])
    if not ok then
      return slurm.ERROR, message
    end
    return slurm.SUCCESS
  end)
end

---------------------------------------------------------------------------
-- pre_run's node list: scontrol show job <id> -> NodeList -> scontrol show hostnames
---------------------------------------------------------------------------

local function job_node_names(job_id)
  local what = "scontrol show job " .. job_id
  local ok, output, message =
    run_checked(what, { CONFIG.scontrol, "show", "job", job_id }, CONFIG.scontrol_timeout)
  if not ok then
    return nil, "cannot find the nodes of job " .. job_id .. ": " .. message
  end
  local list = string.match(" " .. output, "%sNodeList=(%S+)")
  if list == nil or list == "" or list == "(null)" then
    return nil, "job " .. job_id .. " has no nodes allocated"
  end
  ok, output, message = run_checked(
    "scontrol show hostnames",
    { CONFIG.scontrol, "show", "hostnames", list },
    CONFIG.scontrol_timeout
  )
  if not ok then
    return nil, "cannot expand the node list " .. list .. " of job " .. job_id .. ": " .. message
  end
  local names = {}
  for line in string.gmatch(output, "[^\r\n]+") do
    local name = trim(line)
    if name ~= "" then
      names[#names + 1] = name
    end
  end
  if #names == 0 then
    return nil, "scontrol show hostnames " .. list .. " printed no node names"
  end
  return names
end

local function write_node_file(names)
  local path = os.tmpname()
  local file, err = io.open(path, "w")
  if not file then
    os.remove(path)
    return nil, "cannot write the node file " .. path .. ": " .. tostring(err)
  end
  local written, write_err = file:write(table.concat(names, "\n") .. "\n")
  file:close()
  if not written then
    os.remove(path)
    return nil, "cannot write the node file " .. path .. ": " .. tostring(write_err)
  end
  return path
end

---------------------------------------------------------------------------
-- The functions Slurm 22.05 calls (every argument is a string)
---------------------------------------------------------------------------

-- Inline in slurmctld, at submit. rc ~= 0 rejects the job with the message.
slurm_bb_job_process = entry("job_process", function(job_script)
  if not is_text(job_script) then
    return fail("job_process: no job script path")
  end
  local ok, _, message = cli("job_process", { "--job", job_script }, CONFIG.inline_timeout)
  if not ok then
    return slurm.ERROR, message
  end
  return slurm.SUCCESS
end)

-- Inline in slurmctld, every 30 s: the pools JSON exactly as the CLI prints it.
slurm_bb_pools = entry("pools", function()
  local ok, output, message = cli("pools", {}, CONFIG.inline_timeout)
  if not ok then
    return slurm.ERROR, message
  end
  if trim(output) == "" then
    return fail(basename(CONFIG.cli) .. " pools printed nothing")
  end
  return slurm.SUCCESS, output
end)

-- hurry is "true" or "false". An unknown token is a success.
slurm_bb_job_teardown = entry("teardown", function(job_id, job_script, hurry)
  if not is_digits(job_id) then
    return bad_job_id("teardown", job_id)
  end
  local args = with_job({ "--token", job_id }, job_script)
  if hurry == "true" then
    args[#args + 1] = "--hurry"
  end
  local ok, output, message = cli("teardown", args, CONFIG.other_timeout)
  if ok then
    return slurm.SUCCESS
  end
  if string.find(output, "token not found", 1, true)
    or string.find(output, "No matching session", 1, true) then
    log_info("teardown: job " .. job_id .. " has no buffer: " .. message)
    return slurm.SUCCESS
  end
  return slurm.ERROR, message
end)

-- pool is "(null)" and bb_size "0" when the job gave no capacity; bb_size is rounded bytes.
slurm_bb_setup = entry("setup", function(job_id, uid, gid, pool, bb_size, job_script)
  if not is_digits(job_id) then
    return bad_job_id("setup", job_id)
  end
  if not is_digits(uid) then
    return fail("setup: invalid user id " .. shown(uid))
  end
  if not is_digits(gid) then
    return fail("setup: invalid group id " .. shown(gid))
  end
  if not is_digits(bb_size) then
    return fail("setup: invalid size " .. shown(bb_size))
  end
  if not is_text(pool) or pool == "(null)" then
    pool = CONFIG.default_pool
  end
  local args = {
    "--token", job_id,
    "--caller", "SLURM",
    "--user", uid,
    "--groupid", gid,
    "--capacity", pool .. ":" .. bb_size,
  }
  local ok, _, message = cli("setup", with_job(args, job_script), CONFIG.other_timeout)
  if not ok then
    return slurm.ERROR, message
  end
  return slurm.SUCCESS
end)

slurm_bb_data_in = job_step("data_in", "data_in", "stage_in_timeout")

-- The bytes really allocated, as a string of digits (never through a Lua number).
slurm_bb_real_size = entry("real_size", function(job_id)
  if not is_digits(job_id) then
    return bad_job_id("real_size", job_id)
  end
  local ok, output, message = cli("real_size", { "--token", job_id }, CONFIG.other_timeout)
  if not ok then
    return slurm.ERROR, message
  end
  local bytes = string.match(output, '"capacity"%s*:%s*(%d+)')
  if bytes == nil then
    return fail("real_size: no capacity in the answer: " .. one_line(output))
  end
  return slurm.SUCCESS, bytes
end)

-- Inline in slurmctld, at job start: the CLI writes NAME=value lines into path_file.
slurm_bb_paths = entry("paths", function(job_id, job_script, path_file)
  if not is_digits(job_id) then
    return bad_job_id("paths", job_id)
  end
  if not is_text(job_script) then
    return fail("paths: no job script path")
  end
  if not is_text(path_file) then
    return fail("paths: no path file")
  end
  local args = { "--job", job_script, "--token", job_id, "--pathfile", path_file }
  local ok, _, message = cli("paths", args, CONFIG.inline_timeout)
  if not ok then
    return slurm.ERROR, message
  end
  return slurm.SUCCESS
end)

-- 22.05 passes no node list: ask scontrol, and hand the names over in a temporary file.
slurm_bb_pre_run = entry("pre_run", function(job_id, job_script)
  if not is_digits(job_id) then
    return bad_job_id("pre_run", job_id)
  end
  local names, reason = job_node_names(job_id)
  if names == nil then
    return fail("pre_run: " .. reason)
  end
  local node_file, err = write_node_file(names)
  if node_file == nil then
    return fail("pre_run: " .. err)
  end
  local args = with_job({ "--token", job_id }, job_script)
  args[#args + 1] = "--nodehostnamefile"
  args[#args + 1] = node_file
  local ran, ok, _, message = pcall(cli, "pre_run", args, CONFIG.pre_run_timeout)
  os.remove(node_file)
  if not ran then
    error(ok, 0)
  end
  if not ok then
    return slurm.ERROR, message
  end
  return slurm.SUCCESS
end)

slurm_bb_post_run = job_step("post_run", "post_run", "other_timeout")

slurm_bb_data_out = job_step("data_out", "data_out", "stage_out_timeout")

-- `scontrol show bbstat <args>`: dwstat's text, printed as is.
slurm_bb_get_status = entry("get_status", function(...)
  local argv = { CONFIG.dwstat }
  for i = 1, select("#", ...) do
    local word = select(i, ...)
    if type(word) ~= "string" then
      return fail("get_status: argument " .. i .. " is not a string")
    end
    argv[#argv + 1] = word
  end
  local ok, output, message = run_checked(basename(CONFIG.dwstat), argv, CONFIG.status_timeout)
  if not ok then
    return slurm.ERROR, message
  end
  return slurm.SUCCESS, output
end)
