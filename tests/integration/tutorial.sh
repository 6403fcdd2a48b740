#!/usr/bin/env bash
# docs/tutorial.md, executed as written. Convention (stated at the top of the tutorial):
# every ```bash block holds commands a user types, run here in order in ONE bash process
# (so `cd` and exports carry over, as in a terminal); ```text blocks are output or
# interactive commands and are not run. A line ending in `\` continues on the next one.
# Each command must exit 0; at the end, the last `hpsweep results` output must list every
# trial of the sweep, all completed.
#
# It runs in a scratch directory holding a symlink to the repository's examples/ (the
# tutorial says: a directory with the repository's examples/ folder), with HOME,
# HPSWEEP_HOME and the datastore root inside it (what the site config would set), and
# `hpsweep` of this build on PATH.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

tutorial="${HPSWEEP_SOURCE_DIR:?}/docs/tutorial.md"
make_work_dir tutorial
on_exit 'scancel -n hpsweep-session 2>/dev/null || true'
mkdir -p "$work/home" "$work/logs"
ln -s "$HPSWEEP_SOURCE_DIR/examples" "$work/examples"
export HOME="$work/home" HPSWEEP_HOME="$work/runs" HPSWEEP_DATASTORE_ROOT="$work/datastores"

# The commands, one per entry (continuation lines joined), as a bash array literal.
commands_file="$work/commands.bash"
/usr/bin/python3 - "$tutorial" >"$commands_file" <<'PY'
import shlex, sys
commands, in_bash, pending = [], False, ""
for number, line in enumerate(open(sys.argv[1]), start=1):
    stripped = line.rstrip("\n")
    if not in_bash:
        in_bash = stripped.strip() == "```bash"
        continue
    if stripped.strip() == "```":
        in_bash = False
        if pending:
            sys.exit(f"{sys.argv[1]}:{number}: block ends inside a continued command")
        continue
    if stripped.endswith("\\"):
        pending += stripped[:-1] + " "
        continue
    command = (pending + stripped).strip()
    pending = ""
    if command and not command.startswith("#"):
        commands.append(command)
if in_bash:
    sys.exit(f"{sys.argv[1]}: a ```bash block is not closed")
print("commands=(" + " ".join(shlex.quote(c) for c in commands) + ")")
PY
source "$commands_file"
((${#commands[@]} >= 10)) || fail "only ${#commands[@]} commands found in $tutorial"

# One bash process runs them all, like a terminal; after each, its exit code is checked.
script="$work/run-tutorial.bash"
{
    echo "cd $(printf %q "$work")"
    for i in "${!commands[@]}"; do
        printf 'echo %q\n' "\$ ${commands[$i]}"
        # In the current shell (not a pipeline), so that cd and exports would carry over.
        printf '%s\n' "${commands[$i]}" >"$work/logs/$i.cmd"
        printf '{\n%s\n} >%q 2>&1\n' "${commands[$i]}" "$work/logs/$i.out"
        printf 'rc=$?; cat %q\n' "$work/logs/$i.out"
        printf 'if [ "$rc" -ne 0 ]; then echo "FAIL: tutorial command %d exited $rc: $(cat %q)" >&2; exit 1; fi\n' \
            "$((i + 1))" "$work/logs/$i.cmd"
    done
} >"$script"
started=$SECONDS
bash "$script" || fail "the tutorial did not run as written (see above)"
echo "tutorial: ${#commands[@]} commands in $((SECONDS - started)) s"

# The last results table: every trial of the sweep, each completed.
last_results=""
for i in "${!commands[@]}"; do
    [[ "${commands[$i]}" == "hpsweep results "* ]] && last_results="$work/logs/$i.out"
done
[[ -n "$last_results" ]] || fail "the tutorial has no hpsweep results command"
num_trials="$(hpsweep status digits-tutorial --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["num_trials"])')"
[[ "$num_trials" -eq 6 ]] || fail "the tutorial's sweep has $num_trials trials, expected 6"
/usr/bin/python3 - "$last_results" "$num_trials" <<'PY' || fail "final results table: $(cat "$last_results")"
import re, sys
table, trials = open(sys.argv[1]).read(), int(sys.argv[2])
rows = {}
for line in table.splitlines():
    m = re.match(r"^\s*\*?\s*(\d+)\s+(\w+)\s", line)
    if m:
        rows[int(m.group(1))] = m.group(2)
assert sorted(rows) == list(range(trials)), f"trials listed: {sorted(rows)}"
assert set(rows.values()) == {"completed"}, rows
print(f"final results table lists trials 0-{trials - 1}, all completed")
PY
echo "PASS: docs/tutorial.md ran as written"
