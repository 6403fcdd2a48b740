#!/usr/bin/env bash
# Which form of squeue/sacct output the CLI reads on the cluster's Slurm release, and its
# fallback: `hpsweep -v status` names the form (JSON from 23.02 on, text on 22.05), and the
# experiment's states are right either way. Then squeue and sacct are wrapped so that the
# release claims 25.05.8 but --json prints no document (a site without the JSON serializer):
# the CLI must say it falls back to text and still give the right states.
set -euo pipefail
source "$HPSWEEP_SOURCE_DIR/tests/test_lib.bash"
cluster_env

make_work_dir slurm_output_form
export HPSWEEP_HOME="$work/runs"
cat >"$work/probe.py" <<'PY'
print("probe", __import__("sys").argv[1:])
PY
cd "$work"
out="$(hpsweep run --wait --json --name form probe.py --x "[1, 2]")" || fail "hpsweep run exited $?: $out"
expect_counts() {
    local what=$1 status counts
    status="$(hpsweep status --json form)" || fail "$what: status exited $?"
    counts="$(/usr/bin/python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["counts"].items()))' <<<"$status")"
    [[ "$counts" == "[('completed', 2)]" ]] || fail "$what: status counts $counts: $status"
}

release="$(squeue --version)"
if [[ "$(/usr/bin/python3 -c 'import sys; v = sys.argv[1].split()[-1].split("."); print(int(v[0]) * 100 + int(v[1]) >= 2302)' "$release")" == True ]]; then
    form=JSON
else
    form=text
fi
said="$(hpsweep -v status form 2>&1 >/dev/null)" || fail "hpsweep -v status exited $?: $said"
expect_contains "$said" "squeue and sacct are read as $form (squeue --version: $release)" "verbose status"
expect_counts "$release, $form"

# A release that should print JSON but cannot.
mkdir -p "$work/wrapped"
for command in squeue sacct; do
    cat >"$work/wrapped/$command" <<SH
#!/bin/bash
case " \$* " in
    *" --version "*) echo "slurm 25.05.8"; exit 0 ;;
    *" --json "*) echo "$command: error: cannot load the serializer/json plugin" >&2; exit 1 ;;
esac
exec $(command -v "$command") "\$@"
SH
    chmod +x "$work/wrapped/$command"
done
said="$(PATH="$work/wrapped:$PATH" hpsweep -v status form 2>&1 >/dev/null)" ||
    fail "hpsweep -v status without JSON exited $?: $said"
expect_contains "$said" "squeue and sacct are read as JSON (squeue --version: slurm 25.05.8)" "wrapped status"
expect_contains "$said" "--json printed no document; reading text from now on" "wrapped status"
PATH="$work/wrapped:$PATH" expect_counts "JSON refused"
echo "PASS: $release read as $form; a release that cannot print JSON is read as text"
