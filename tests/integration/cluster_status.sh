#!/usr/bin/env bash
# Scenario: on a running cluster `hpsweep cluster up` again is harmless (exit 0, says
# so), `status` says up with exit 0 in text and JSON, and `env` prints the export lines.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

before="$(cat "$HPSWEEP_CLUSTER_DIR/run/slurmctld.pid")"
again="$(hpsweep cluster up 2>&1)" || fail "second 'cluster up' exited $?: $again"
echo "$again"
grep -q 'already up' <<<"$again" || fail "second 'cluster up' did not say 'already up'"
[[ "$(cat "$HPSWEEP_CLUSTER_DIR/run/slurmctld.pid")" == "$before" ]] ||
    fail "second 'cluster up' restarted slurmctld"

text="$(hpsweep cluster status)" || fail "'cluster status' exited $? on a running cluster: $text"
echo "$text"
grep -q '^cluster: up' <<<"$text" || fail "status text does not say up"

json="$(hpsweep cluster status --json)" || fail "'cluster status --json' exited $?"
/usr/bin/python3 - "$json" <<'PY' || fail "status --json is wrong: $json"
import json, sys
status = json.loads(sys.argv[1])
assert status["state"] == "up", status["state"]
assert len(status["nodes"]) >= 1
assert all(node["slurmd_running"] for node in status["nodes"])
names = [node["name"] for node in status["nodes"]]
assert len(set(names)) == len(names), names
assert all(d["running"] for d in status["daemons"]), status["daemons"]
print("json ok:", ", ".join(f'{n["name"]}={n["slurm_state"]}' for n in status["nodes"]))
PY
json_global="$(hpsweep --json cluster status)" || fail "'hpsweep --json cluster status' exited $?"
[[ "${json_global:0:1}" == "{" ]] || fail "global --json did not give JSON: $json_global"

env_out="$(hpsweep cluster env)"
for name in SLURM_CONF HPSWEEP_CLUSTER_DIR HPSWEEP_NODE_LOCAL_DIR HPSWEEP_CACHE_DIR PATH; do
    grep -q "export $name=" <<<"$env_out" || fail "'cluster env' does not export $name"
done
grep -q "$(dirname "$(command -v hpsweep)")" <<<"$env_out" || fail "env PATH line lacks the hpsweep dir"
echo "PASS: up is idempotent, status and env work"
