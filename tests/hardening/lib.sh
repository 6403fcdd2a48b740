# Sourced by every hardening scenario, after which it has tests/test_lib.bash too. A
# scenario records one row per thing it proves:
#   hardening_record "kill -9 of the launcher" fault pass "12 records kept, file opens"
# kind: fault | preemption | security | fuzz; result: pass | fail.
# Fuzz rows add executions and crashes:  hardening_record NAME fuzz pass DETAIL EXECS CRASHES
# Rows land in $HPSWEEP_HARDENING_DIR/<slug>.json; scripts/hardening-table prints them.
# A failure (hardening_fail, or test_lib.bash's fail) is recorded as a failing row of the
# scenario named in $HARDENING_SCENARIO before the scenario exits.

# shellcheck source=../test_lib.bash
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"

hardening_record() {
    local scenario="$1" kind="$2" result="$3" detail="${4:-}" executions="${5:-}" crashes="${6:-}"
    local dir="${HPSWEEP_HARDENING_DIR:-${HPSWEEP_BUILD_DIR:-.}/hardening}"
    mkdir -p "$dir"
    /usr/bin/python3 - "$dir" "$scenario" "$kind" "$result" "$detail" "$executions" "$crashes" <<'PY'
import json, os, re, sys, tempfile
d, scenario, kind, result, detail, execs, crashes = sys.argv[1:]
row = {"scenario": scenario, "kind": kind, "result": result, "detail": detail}
if execs: row["executions"] = int(execs)
if crashes: row["crashes"] = int(crashes)
slug = re.sub(r"[^a-z0-9]+", "-", f"{kind}-{scenario}".lower()).strip("-")
fd, tmp = tempfile.mkstemp(dir=d, prefix=".rec.")
with os.fdopen(fd, "w") as f:
    json.dump(row, f)
os.rename(tmp, os.path.join(d, slug + ".json"))
PY
}

# Called by test_lib.bash's fail before it exits.
record_failure() {
    hardening_record "${HARDENING_SCENARIO:?}" "${HARDENING_KIND:-fault}" fail "$*"
}

# Records a failing row and exits: the scenario's name must be in $HARDENING_SCENARIO.
hardening_fail() {
    record_failure "$*"
    echo "FAIL: $*" >&2
    exit 1
}
