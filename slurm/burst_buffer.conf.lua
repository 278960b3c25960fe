# burst_buffer.conf for BurstBufferType=burst_buffer/lua (Slurm 22.05), used with
# burst_buffer.lua. Install as /etc/slurm/burst_buffer.conf, next to slurm.conf and
# burst_buffer.lua. See slurm/README.md.
#
# Slurm 22.05 exits with a fatal error on any key it does not know: add only keys from
# docs/slurm-contract.md section 6. The lua plugin resets GetSysState, GetSysStatus,
# DefaultPool, EnablePersistent and EmulateCray (with an error in the log), so they are not
# here: the CLI paths and the default pool are set in burst_buffer.lua (DAC_BB_* variables).

# Keep DataWarp-style "#DW jobdw capacity=... pool=..." lines (the default prefix is #BB_LUA).
Directive=DW

# TeardownFailure: after a failed stage-in or stage-out, release the buffer (teardown with
# hurry) instead of holding it.
Flags=TeardownFailure

# Seconds (ValidateTimeout is not used by the lua plugin). pre_run uses OtherTimeout.
# burst_buffer.lua and the CLI stop their own calls at or before these limits.
OtherTimeout=300
StageInTimeout=86400
StageOutTimeout=86400
