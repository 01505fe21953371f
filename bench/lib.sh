# Shared helpers of the bench/run_*.sh scripts (sourced, not run).
# Processes started by a script are appended to `pids` and stopped (by PID) on exit.

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# wait_for_line FILE REGEX: prints the first matching line, fails after 20 s.
wait_for_line() {
  for _ in $(seq 1 200); do
    if grep -qE "$2" "$1" 2>/dev/null; then grep -m1 -E "$2" "$1"; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2
  return 1
}

# Per-thread CPU use of a process over an interval: thread_cpu PID SECONDS
thread_cpu() {
  python3 - "$1" "$2" <<'EOF'
import os, sys, time
pid, secs = sys.argv[1], float(sys.argv[2])
hz = os.sysconf("SC_CLK_TCK")
def snap():
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            s = open(f"/proc/{pid}/task/{tid}/stat").read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        out[tid] = (comm, int(f[11]) + int(f[12]))
    return out
a = snap(); time.sleep(secs); b = snap()
rows = sorted(((b[t][1] - a.get(t, (0, 0))[1]) / hz / secs * 100, t, b[t][0]) for t in b)
total = sum(r[0] for r in rows)
print(f"CPU of pid {pid} over {secs:.0f} s: {total:.0f}% of one core (2 cores = 200%)")
for pct, tid, comm in reversed(rows):
    if pct >= 1:
        print(f"  tid {tid:>8} {comm:<16} {pct:5.1f}%")
EOF
}
