# Shared by the two-user security scenarios (tests/hardening/security_*.sh; sourced after
# lib.sh, not a test itself: tests/CMakeLists.txt registers only *.sh).
#
#   security_setup NAME   cluster env, two Unix users (created if missing, removed at the
#                         end), a work dir both can traverse ($work, 0755) with copies of
#                         the binaries they run, and an EXIT trap that cancels their jobs,
#                         restores the plugin drop-in and removes everything created
#   as_a CMD... / as_b CMD...   CMD as user A / B (umask 022 unless UMASK=... is given)
#   expect_refused WHAT CMD...  CMD (as whoever the caller makes it) must exit non-zero;
#                         its output is in $refused_output
#   enable_plugin WORD... the built hpsweep.so on the cluster with these plugstack words
#   node_cache NODE       the host path of the plugin's cache dir on NODE
#   wait_job JOB          (integration_lib.sh) until it left the queue; prints its state
#   scenario NAME         the row the next hardening_fail/hardening_pass belongs to
#   hardening_pass DETAIL records a passing row for the current scenario
#
# For the datastore attacks (security_<attack>.sh, one finding each):
#   security_store_setup [WORD...]  a store at $store (datasets/ 1777) and the plugin enabled
#                         with its cache in this test's node-local dir ($plugin_cache inside
#                         the nodes, `node_cache NODE` on the host) and WORDs; removed at the end
#   create_dataset USER NAME TEXT [create options]  USER's dataset NAME holding one file,
#                         which.txt, with TEXT; prints nothing, fails the row if refused
#   rewrite_dataset_json USER DIR KEY=JSON...  USER rewrites DIR/dataset.json with these values
#   run_job USER TAG "SBATCH OPTIONS" COMMAND  a batch job of USER on n1, waited for:
#                         $job_id, $job_state ("COMPLETED " ...), $job_out, $job_err (files)

: "${HPSWEEP_SOURCE_DIR:?run through ctest (HPSWEEP_SOURCE_DIR is not set)}"
: "${HPSWEEP_BUILD_DIR:?run through ctest (HPSWEEP_BUILD_DIR is not set)}"
HARDENING_KIND=security
user_a=hpsw-sec-a
user_b=hpsw-sec-b
security_created_users=()
security_cleanup_extra=""

scenario() { HARDENING_SCENARIO="$1"; }
hardening_pass() { hardening_record "$HARDENING_SCENARIO" security pass "$*"; }

security_ensure_user() {
    local name=$1
    if ! getent passwd "$name" >/dev/null; then
        useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$name" ||
            hardening_fail "useradd $name failed"
        security_created_users+=("$name")
    fi
}

security_cleanup() {
    local rc=$?
    set +e
    trap - EXIT
    [[ -n "$security_cleanup_extra" ]] && eval "$security_cleanup_extra"
    local user
    for user in "$user_a" "$user_b"; do
        scancel -u "$user" 2>/dev/null
    done
    # Jobs must be gone before their users are (slurmstepd still runs as them).
    for _ in $(seq 1 100); do
        [[ -z "$(squeue -h -u "$user_a,$user_b" 2>/dev/null)" ]] && break
        sleep 0.2
    done
    for user in "$user_a" "$user_b"; do
        pkill -KILL -u "$user" 2>/dev/null  # only processes of the test's own users
        userdel "$user" 2>/dev/null
        getent group "$user" >/dev/null && groupdel "$user" 2>/dev/null
    done
    plugin_restore
    exit "$rc"
}

security_setup() {
    scenario "setup of the $1 scenarios"
    eval "$(hpsweep cluster env)"
    # shellcheck source=../integration/plugin_lib.bash
    source "$HPSWEEP_SOURCE_DIR/tests/integration/plugin_lib.bash"
    work="$plugin_work_dir"  # /var/tmp/..., 0755, removed by plugin_restore
    trap security_cleanup EXIT
    security_ensure_user "$user_a"
    security_ensure_user "$user_b"
    uid_a="$(id -u "$user_a")"
    uid_b="$(id -u "$user_b")"
    # The users must run the binaries under test, wherever the build tree is (CI clones
    # into a directory they may not traverse): copies in the shared work dir.
    mkdir -p "$work/bin" "$work/python" "$work/home-a" "$work/home-b" "$work/cli-cache"
    chmod 1777 "$work/cli-cache"  # like /var/cache/hpsweep on a login node
    install -m 0755 "$HPSWEEP_BUILD_DIR/bin/hpsweep" "$HPSWEEP_BUILD_DIR/bin/hpsweep-launch" \
        "$work/bin/"
    cp -r "$HPSWEEP_SOURCE_DIR/python/." "$work/python/"
    chmod -R a+rX "$work/bin" "$work/python"
    chown "$user_a:" "$work/home-a" && chmod 0755 "$work/home-a"
    chown "$user_b:" "$work/home-b" && chmod 0755 "$work/home-b"
    export HPSWEEP_LAUNCH="$work/bin/hpsweep-launch"
    cd "$work"
}

# Runs "$@" as USER with the test's PATH, the cluster's env and a umask (UMASK, default 022).
as_user() {
    local user=$1 home=$2
    shift 2
    # The cluster's Slurm commands first: a cluster on a release built from source
    # (--slurm PREFIX) refuses the distribution's sbatch.
    local slurm_bin
    slurm_bin="$(dirname "$(command -v sbatch)")"
    runuser -u "$user" -- env -i PATH="$work/bin:$slurm_bin:/usr/bin:/bin:/usr/sbin:/sbin" \
        HOME="$home" USER="$user" SLURM_CONF="$SLURM_CONF" PYTHONPATH="$work/python" \
        PYTHONDONTWRITEBYTECODE=1 HPSWEEP_LAUNCH="$HPSWEEP_LAUNCH" \
        HPSWEEP_DATASTORE_ROOT="${STORE:-$work/store}" HPSWEEP_CACHE_DIR="${CACHE:-$work/cli-cache}" \
        HPSWEEP_HOME="${RUNS:-$home/runs}" ${EXTRA_ENV:-} \
        bash -c 'umask "$1"; cd "$HOME" || exit 1; shift; exec "$@"' umask-wrapper "${UMASK:-022}" "$@"
}
as_a() { as_user "$user_a" "$work/home-a" "$@"; }
as_b() { as_user "$user_b" "$work/home-b" "$@"; }

expect_refused() {
    local what=$1
    shift
    if refused_output="$("$@" 2>&1)"; then
        hardening_fail "$what succeeded but must be refused: $refused_output"
    fi
}

enable_plugin() { plugin_enable "$@"; }

node_cache() { echo "$HPSWEEP_CLUSTER_DIR/nodes/$1/$security_cache_name"; }

security_store_setup() {
    store="$work/store"
    security_cache_name="sec-cache-$$"
    plugin_cache="$HPSWEEP_NODE_LOCAL_DIR/$security_cache_name"
    security_cleanup_extra='rm -rf "$HPSWEEP_CLUSTER_DIR"/nodes/*/"$security_cache_name"'
    mkdir -p "$store/datasets" && chmod 0755 "$store" && chmod 1777 "$store/datasets"
    enable_plugin "datastore_root=$store" "cache_dir=$plugin_cache" "$@"
}

security_home() { echo "$work/home-${1##*-}"; }  # hpsw-sec-a -> $work/home-a

create_dataset() {
    local user=$1 name=$2 text=$3 home
    shift 3
    home="$(security_home "$user")"
    as_user "$user" "$home" bash -c 'rm -rf "$1" && mkdir -p "$1" && printf "%s\n" "$2" >"$1/which.txt"' \
        make-source "$home/src-$name" "$text" || hardening_fail "$user could not write the source of $name"
    as_user "$user" "$home" hpsweep datastore create "$name" "$home/src-$name" "$@" >/dev/null ||
        hardening_fail "$user could not create dataset $name"
}

rewrite_dataset_json() {
    local user=$1 dir=$2
    shift 2
    as_user "$user" "$(security_home "$user")" /usr/bin/python3 -c '
import json, os, sys
path = os.path.join(sys.argv[1], "dataset.json")
with open(path) as f:
    meta = json.load(f)
for item in sys.argv[2:]:
    key, value = item.split("=", 1)
    meta[key] = json.loads(value)
with open(path + ".forged", "w") as f:
    json.dump(meta, f)
os.rename(path + ".forged", path)' "$dir" "$@" || hardening_fail "$user could not rewrite $dir/dataset.json"
}

run_job() {
    local user=$1 tag=$2 options=$3 command=$4 home
    home="$(security_home "$user")"
    job_out="$home/$tag.out"
    job_err="$home/$tag.err"
    # shellcheck disable=SC2086  # OPTIONS are words
    job_id="$(as_user "$user" "$home" sbatch --parsable -w n1 -t 2 -o "$job_out" -e "$job_err" \
        $options --wrap "$command")" || hardening_fail "sbatch of $user's job $tag was refused"
    job_state="$(wait_job "$job_id")"
}
