// `hpsweep run SCRIPT --flag "expr" ...` (Grid style) and `hpsweep submit experiment.yaml`
// (Determined style): both build an ExperimentConfig, expand it into the trial table, write
// the experiment directory and submit one held job array per MaxArraySize chunk. The
// directory is written under a temporary name and renamed into place only when every sbatch
// succeeded; then the arrays are released. On any failure the arrays already submitted are
// cancelled and nothing is left behind.

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>
#include <random>
#include <string_view>

#include "command_registry.hpp"
#include "container_checks.hpp"
#include "experiment_arrays.hpp"
#include "experiment_lookup.hpp"
#include "experiment_wait.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/array_plan.hpp"
#include "hpsweep/searcher/asha.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/expression.hpp"
#include "hpsweep/searcher/length_units.hpp"
#include "hpsweep/searcher/pack_plan.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"
#include "hpsweep/searcher/strategy.hpp"
#include "hpsweep/site_config.hpp"
#include "hpsweep/strings.hpp"
#include "option_values.hpp"
#include "packing.hpp"
#include "run_config.hpp"
#include "slurm_calls.hpp"
#include "slurm_client.hpp"
#include "snapshot_support.hpp"
#include "submit_checks.hpp"
#include "trial_list_text.hpp"
#include "trial_states.hpp"
#include "unknown_option.hpp"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace hpsweep::cli {
namespace {

using namespace hpsweep::searcher;

struct SubmitOptions {
    bool wait = false;
    bool dry_run = false;
    bool force = false;
    std::string origin;  // "run" or "submit"
    std::vector<std::string> command_line;
    std::string config_file;
    SnapshotCliOptions snapshot;
};

fs::path launcher_path() {
    if (const char* env = std::getenv("HPSWEEP_LAUNCH"); env && *env)
        return fs::absolute(env);
    return fs::path(executable_dir()) / "hpsweep-launch";
}

std::string timestamp_for_name() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
    return buf;
}

// Whether NAME ends in "-" and a timestamp_for_name() ("-20261204-192607"), as a name made
// with `--name demo-$(date +%Y%m%d-%H%M%S)` does.
bool ends_in_timestamp(std::string_view name) {
    constexpr std::string_view shape = "-dddddddd-dddddd";
    if (name.size() <= shape.size())
        return false;
    const std::string_view tail = name.substr(name.size() - shape.size());
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool digit = std::isdigit(static_cast<unsigned char>(tail[i])) != 0;
        if (shape[i] == 'd' ? !digit : tail[i] != shape[i])
            return false;
    }
    return true;
}

// Removes a half-written experiment directory and cancels arrays submitted for it, unless
// dismissed once everything is in place.
class SubmissionGuard {
public:
    ~SubmissionGuard() {
        if (dismissed_)
            return;
        if (!job_ids_.empty() && !sweep::scancel(job_ids_)) {
            std::fprintf(stderr, "hpsweep: warning: could not cancel job(s) %s; run scancel\n",
                         join(job_ids_, " ").c_str());
        }
        std::error_code ec;
        if (!dir_.empty())
            fs::remove_all(dir_, ec);
    }
    void track_dir(fs::path dir) { dir_ = std::move(dir); }
    void track_job(const std::string& id) { job_ids_.push_back(id); }
    void dismiss() { dismissed_ = true; }

private:
    fs::path dir_;
    std::vector<std::string> job_ids_;
    bool dismissed_ = false;
};

// rename(2) that refuses to replace an existing directory.
bool rename_no_replace(const fs::path& from, const fs::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
        return true;
    }
    if (errno == EEXIST || errno == ENOTEMPTY)
        return false;
    throw_errno("cannot rename " + from.string() + " to " + to.string());
}

ordered_json plan_json(const ExperimentConfig& config, const std::vector<TrialRecord>& trials,
                       const std::vector<ArrayChunk>& chunks, long max_array_size,
                       bool max_array_size_assumed, std::uint64_t seed, const fs::path& exp_dir,
                       const std::string& script) {
    ordered_json j;
    j["name"] = config.name;
    j["experiment_dir"] = exp_dir.string();
    j["searcher"] = to_json(config.searcher);
    j["seed"] = seed;
    j["resources"] = to_json(config.resources);
    j["datastores"] = config.datastores;
    j["metrics"] = to_json(to_record(config.metrics));
    j["num_trials"] = trials.size();
    j["max_array_size"] = max_array_size;
    if (max_array_size_assumed)
        j["max_array_size_assumed"] = true;
    ordered_json arrays = ordered_json::array();
    const int throttle = array_throttle(config);
    for (const auto& c : chunks) {
        arrays.push_back(
            {{"offset", c.offset},
             {"array", c.array_spec(throttle)},
             {"trials", c.trial_count()},
             {"first_trial", c.first_trial()},
             {"last_trial", c.last_trial()},
             {"sbatch", sbatch_arguments(config, exp_dir, c, exp_dir / "submit.sh", false)}});
    }
    j["arrays"] = arrays;
    j["trials"] = trials_json(trials);
    j["batch_script"] = script;
    return j;
}

// "Rungs (adaptive_asha): trials are judged on loss at step 4, 16, 64 (max_length 64 steps;
// ...)", or, when searcher.step_unit converted max_length, the rungs in the trial's unit and
// again in the unit max_length was written in:
// "... at epochs 1, 4, 16 (max_length 960000 records = 16 epochs at records_per_epoch 60000)"
// "Rungs in records (max_length's unit as written): 60000, 240000, 960000".
std::string asha_rungs_text(const ExperimentConfig& config) {
    if (!stops_early(config.searcher.strategy) || !config.searcher.max_length)
        return {};
    const AshaSchedule schedule(asha_settings(config));
    std::vector<std::string> steps;
    for (const long length : schedule.rung_lengths()) steps.push_back(std::to_string(length));
    const std::string conversion = describe_conversion(config.searcher);
    if (conversion.empty()) {
        return fmt::format(
            "Rungs ({}): trials are judged on {} at step {} (max_length "
            "{} {}; the step is what the trial reports with its metric)",
            strategy_name(config.searcher.strategy), config.searcher.metric, join(steps, ", "),
            config.searcher.max_length->value, config.searcher.max_length->unit);
    }
    const auto& written = *config.searcher.as_written;
    const UnitSizes sizes{written.records_per_epoch, written.global_batch_size};
    std::vector<std::string> as_written;
    for (const long length : schedule.rung_lengths()) {
        const auto back = convert_length(MaxLength{config.searcher.max_length->unit, length},
                                         written.max_length->unit, sizes);
        as_written.push_back(std::to_string(back.length.value));
    }
    return fmt::format(
        "Rungs ({}): trials are judged on {} at {} {} (max_length {})\n"
        "Rungs in {} (max_length's unit as written): {}",
        strategy_name(config.searcher.strategy), config.searcher.metric,
        config.searcher.max_length->unit, join(steps, ", "), conversion, written.max_length->unit,
        join(as_written, ", "));
}

void print_plan_text(const ExperimentConfig& config, const std::vector<TrialRecord>& trials,
                     const ordered_json& plan) {
    std::printf("Experiment %s: %zu trial(s), searcher %s, seed %s\n", config.name.c_str(),
                trials.size(), std::string(strategy_name(config.searcher.strategy)).c_str(),
                plan["seed"].dump().c_str());
    for (const auto& hp : config.hyperparameters) {
        std::printf("  --%s %s\n", hp.name.c_str(), hp.domain.describe().c_str());
    }
    if (const auto rungs = asha_rungs_text(config); !rungs.empty())
        std::printf("%s\n", rungs.c_str());
    std::printf("Trials:\n");
    print_trial_commands(trials);
    std::printf("Job arrays (MaxArraySize %ld%s):\n", plan["max_array_size"].get<long>(),
                plan.contains("max_array_size_assumed") ? ", assumed: Slurm not reachable" : "");
    for (const auto& a : plan["arrays"]) {
        std::vector<std::string> words;
        for (const auto& w : a["sbatch"]) words.push_back(shell_quote(w.get<std::string>()));
        std::printf("  trials %ld-%ld: %s\n", a["first_trial"].get<long>(),
                    a["last_trial"].get<long>(), join(words, " ").c_str());
    }
    std::printf("Batch script (submit.sh):\n%s", plan["batch_script"].get<std::string>().c_str());
}

void print_states_json(const std::string& id, const fs::path& dir,
                       const sweep::ExperimentStates& states) {
    ordered_json j{{"experiment", id}, {"path", dir.string()}, {"counts", states.counts}};
    std::cout << j.dump(2) << std::endl;
}

// Slurm client calls in flight at once during one submission: enough to hide RPC latency,
// few enough not to flood slurmctld (which serializes job creation anyway).
constexpr std::size_t max_parallel_slurm_calls = 4;

// Refuses a sweep without trials, and one so large that it is almost always a typo unless
// --force.
void check_trial_count(const ExperimentConfig& config, bool force) {
    const std::uint64_t n = count_trials(config);
    if (n == 0)
        throw Error(ErrorKind::config, config.source + ": the sweep has no trials");
    if (n > max_trials_without_force && !force) {
        throw Error(ErrorKind::usage,
                    fmt::format("{}: the sweep has {} trials, more than {}; check the ranges, "
                                "or pass --force to submit it anyway",
                                config.source,
                                n == UINT64_MAX ? std::string("more than 2^64") : std::to_string(n),
                                max_trials_without_force));
    }
}

// The controller's limits, after checking that the cluster can take the sweep: its
// datastores exist and its request fits a node. Every array task is a job record for
// MaxJobCount, and slurmctld refuses (after sbatch has retried for minutes) an array that does
// not fit: say so at once.
sweep::ClusterLimits check_cluster_takes(const ExperimentConfig& config, long num_trials) {
    check_datastores(config.datastores, config.location_of("datastores"));
    check_request_fits_cluster(trial_resource_request(config.resources),
                               config.resources.cpus_per_gpu);
    const sweep::ClusterLimits limits = sweep::cluster_limits();
    if (limits.max_job_count) {
        const long held = sweep::controller_job_records();
        const long room = *limits.max_job_count - held - 1;
        const long job_records = array_task_count(config.resources, num_trials);
        if (job_records > room) {
            throw Error(ErrorKind::slurm,
                        fmt::format("the sweep needs {} job records (one per array task) but the "
                                    "controller has room for {} (MaxJobCount={}, {} records held; "
                                    "finished jobs count until MinJobAge passes). Submit fewer "
                                    "trials, wait, or ask the Slurm admin to raise MaxJobCount",
                                    job_records, std::max(0L, room), *limits.max_job_count, held));
        }
    }
    return limits;
}

// What a submission does, decided before anything is written or submitted.
struct SweepPlan {
    std::uint64_t seed = 0;
    std::vector<TrialRecord> trials;
    SnapshotPlan snapshot;
    sweep::ClusterLimits limits;
    bool limits_assumed = false;  // a dry run without a reachable cluster
    std::vector<ArrayChunk> chunks;
    fs::path launcher;
    fs::path home;
    std::string base_name;  // of the experiment directory, before a "-2" that keeps it free
};

// Fixes the seed in CONFIG (so that the sweep can be reproduced) and, for a packed sweep, the
// trials per task.
SweepPlan plan_sweep(ExperimentConfig& config, const SubmitOptions& options) {
    SweepPlan plan;
    if (!config.searcher.seed) {
        // Record the seed actually used so that the sweep can be reproduced.
        config.searcher.seed = std::random_device{}() & 0x7fffffff;
    }
    plan.seed = *config.searcher.seed;
    plan.trials = generate_trials(config, plan.seed);
    plan.snapshot =
        plan_snapshot(config.entrypoint, options.snapshot, config.context,
                      options.config_file.empty() ? fs::current_path()
                                                  : fs::path(options.config_file).parent_path());

    resolve_trials_per_task(config.resources, load_site_config().min_job_seconds);
    const long num_trials = static_cast<long>(plan.trials.size());
    if (!options.dry_run) {
        plan.limits = check_cluster_takes(config, num_trials);
    } else {
        try {
            plan.limits = sweep::cluster_limits();
        } catch (const Error&) {
            plan.limits_assumed = true;  // a dry run works without a cluster; say that it guessed
        }
    }
    const long max_array_size = plan.limits.max_array_size;
    plan.chunks =
        is_packed(config.resources)
            ? plan_packed_arrays(num_trials, config.resources.trials_per_task, max_array_size)
            : plan_arrays(num_trials, max_array_size);
    plan.launcher = launcher_path();
    plan.home = default_experiments_home();
    plan.base_name =
        ends_in_timestamp(config.name) ? config.name : config.name + "-" + timestamp_for_name();
    // What pyxis cannot run is refused here, before anything is written.
    (void)pyxis_step(config, load_site_config(), plan.home / plan.base_name, fs::current_path());
    return plan;
}

// The batch script naming EXP_DIR; at pyxis sites (pyxis.hpp) with srun's --container-*
// options, mounting the submit directory (the trials' working directory).
std::string batch_script(const ExperimentConfig& config, const SweepPlan& plan,
                         const fs::path& exp_dir) {
    return render_batch_script(config, exp_dir, plan.launcher,
                               pyxis_step(config, load_site_config(), exp_dir, fs::current_path()));
}

void print_dry_run(const ExperimentConfig& config, const SweepPlan& plan) {
    const fs::path exp_dir = plan.home / plan.base_name;
    const auto shown =
        plan_json(config, plan.trials, plan.chunks, plan.limits.max_array_size, plan.limits_assumed,
                  plan.seed, exp_dir, batch_script(config, plan, exp_dir));
    if (global_options().json) {
        auto j = shown;
        j["dry_run"] = true;
        j["snapshot"] = snapshot_plan_json(plan.snapshot);
        std::cout << j.dump(2) << std::endl;
    } else {
        print_plan_text(config, plan.trials, shown);
        print_snapshot_plan(plan.snapshot);
        std::printf(
            "Dry run with seed %llu: nothing was written or submitted; `--seed %llu` "
            "submits exactly these trials.\n",
            static_cast<unsigned long long>(plan.seed), static_cast<unsigned long long>(plan.seed));
    }
}

// A new hidden directory in HOME that holds the experiment until its arrays are submitted.
fs::path make_temporary_dir(const fs::path& home, const std::string& base_name) {
    std::error_code ec;
    fs::create_directories(home, ec);
    if (ec)
        throw Error(ErrorKind::io, "cannot create " + home.string() + ": " + ec.message());
    std::string tmp_template = (home / ("." + base_name + ".tmp-XXXXXX")).string();
    if (::mkdtemp(tmp_template.data()) == nullptr)
        throw_errno("cannot create a directory in " + home.string());
    // mkdtemp made it 0700; the experiment is as private as the user's umask says (others
    // may read a colleague's results with a umask of 022, not with 077).
    ::chmod(tmp_template.c_str(), 0777 & ~current_umask());
    return tmp_template;
}

// HOME/BASE_NAME, or BASE_NAME-2, -3, ... when that is taken.
fs::path free_experiment_dir(const fs::path& home, const std::string& base_name) {
    fs::path dir = home / base_name;
    for (int k = 2; fs::exists(dir); ++k) dir = home / fmt::format("{}-{}", base_name, k);
    return dir;
}

// Everything but experiment.json, in the temporary directory TMP; the batch script already
// names FINAL_DIR, where the array tasks will find it.
void write_experiment_files(const ExperimentDir& tmp, const ExperimentConfig& config,
                            const SweepPlan& plan, const fs::path& final_dir) {
    write_file_atomic(tmp.config_path(), to_yaml(config));
    tmp.write_trials(plan.trials);
    write_file_atomic(tmp.batch_script_path(), batch_script(config, plan, final_dir), 0755);
    fs::create_directories(tmp.slurm_log_dir());
    fs::create_directories(tmp.root() / "trials");
}

// experiment.json before its arrays and snapshot are added.
ExperimentRecord experiment_record(const ExperimentConfig& config, const SubmitOptions& options,
                                   const SweepPlan& plan, const fs::path& final_dir) {
    ExperimentRecord record;
    record.name = config.name;
    record.id = final_dir.filename().string();
    record.created = sweep::now_iso8601();
    record.origin = options.origin;
    record.config_file = options.config_file;
    record.command_line = options.command_line;
    record.cwd = fs::current_path().string();
    record.num_trials = static_cast<long>(plan.trials.size());
    record.seed = plan.seed;
    record.searcher = config.searcher;
    record.resources = config.resources;
    record.datastores = config.datastores;
    record.metrics = to_record(config.metrics);
    record.max_array_size = plan.limits.max_array_size;
    record.max_concurrent = array_throttle(config);
    record.launcher = plan.launcher.string();
    return record;
}

// One held array per chunk, held until the directory is in place (sbatch copies the script
// at submit time). The arrays are independent, so their sbatch calls overlap (each is mostly
// RPC latency). Each array submitted goes into RECORD and GUARD; when one fails, this throws
// and the guard cancels those that were submitted. Returns the job ids.
std::vector<std::string> submit_held_arrays(const ExperimentConfig& config, const SweepPlan& plan,
                                            const ExperimentDir& tmp, const fs::path& final_dir,
                                            SubmissionGuard& guard, ExperimentRecord& record) {
    std::vector<std::vector<std::string>> sbatch_calls;
    for (const auto& chunk : plan.chunks)
        sbatch_calls.push_back(
            sbatch_arguments(config, final_dir, chunk, tmp.batch_script_path(), true));
    auto submitted = sweep::run_slurm_parallel(sbatch_calls, max_parallel_slurm_calls);
    std::vector<std::string> job_ids;
    std::optional<Error> submit_error = std::move(submitted.first_error);
    for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
        if (!submitted.errors[i].empty())
            continue;
        try {
            const std::string job_id = slurm::parse_sbatch_job_id(submitted.results[i].out);
            guard.track_job(job_id);
            job_ids.push_back(job_id);
            record.arrays.push_back(
                sweep::submitted_array(job_id, plan.chunks[i], record.max_concurrent, "submit"));
        } catch (const Error& e) {
            if (!submit_error)
                submit_error = e;
        }
    }
    if (submit_error)
        throw *submit_error;
    return job_ids;
}

// One release per array, overlapped like the submissions.
void release_arrays(const std::vector<std::string>& job_ids) {
    std::vector<std::vector<std::string>> releases;
    for (const auto& id : job_ids) releases.push_back({"scontrol", "release", id});
    auto released = sweep::run_slurm_parallel(releases, max_parallel_slurm_calls);
    if (released.first_error)
        throw *released.first_error;
}

void print_submitted(const ExperimentConfig& config, const ExperimentRecord& record,
                     const fs::path& final_dir, const std::vector<std::string>& job_ids,
                     bool wait) {
    if (global_options().json && !wait) {
        ordered_json out{{"experiment", record.id},
                         {"path", final_dir.string()},
                         {"num_trials", record.num_trials},
                         {"seed", record.seed},
                         {"arrays", to_json(record)["arrays"]}};
        std::cout << out.dump(2) << std::endl;
    } else if (!global_options().json) {
        std::printf("Submitted %s: %ld trial(s) in %zu job array(s) [%s]\n", record.id.c_str(),
                    record.num_trials, job_ids.size(), join(job_ids, ", ").c_str());
        std::printf("  directory: %s\n", final_dir.c_str());
        std::printf("  watch it:  hpsweep status %s\n", record.id.c_str());
        if (const auto note = name_reuse_note(config.name, record.id); !note.empty())
            std::printf("  %s\n", note.c_str());
    }
}

// --wait: the states the trials ended in; exit 1 when one did not succeed.
void wait_for_trials(const ExperimentRecord& record, const fs::path& final_dir) {
    auto& globals = global_options();
    const auto states = sweep::wait_for_experiment(ExperimentDir(final_dir), globals.json);
    if (globals.json) {
        print_states_json(record.id, final_dir, states);
    } else {
        std::printf("%s: %s\n", record.id.c_str(), sweep::format_counts(states.counts).c_str());
    }
    if (states.unsuccessful() > 0)
        globals.exit_code = 1;
}

void submit(ExperimentConfig config, const SubmitOptions& options) {
    for (const auto& w : config.warnings) std::fprintf(stderr, "hpsweep: %s\n", w.c_str());
    cli::check_container_at_submit(config);
    check_trial_count(config, options.force);
    const SweepPlan plan = plan_sweep(config, options);
    if (options.dry_run) {
        print_dry_run(config, plan);
        return;
    }
    if (::access(plan.launcher.c_str(), X_OK) != 0) {
        throw Error(ErrorKind::io, fmt::format("hpsweep-launch not found at {} (build the "
                                               "hpsweep-launch target, or set HPSWEEP_LAUNCH)",
                                               plan.launcher.string()));
    }

    // Everything is written into a hidden temporary directory first.
    SubmissionGuard guard;
    const fs::path tmp_dir = make_temporary_dir(plan.home, plan.base_name);
    guard.track_dir(tmp_dir);
    // Pick the final name now: array tasks write into it, so sbatch must know it.
    const fs::path final_dir = free_experiment_dir(plan.home, plan.base_name);
    const ExperimentDir tmp(tmp_dir);
    write_experiment_files(tmp, config, plan, final_dir);
    ExperimentRecord record = experiment_record(config, options, plan, final_dir);
    record.snapshot =
        store_snapshot_for_experiment(plan.snapshot, config.entrypoint, tmp_dir / "snapshot.diff");
    const auto job_ids = submit_held_arrays(config, plan, tmp, final_dir, guard, record);
    tmp.write_record(record);

    if (!rename_no_replace(tmp_dir, final_dir)) {
        // Someone took the name between our check and the rename: the jobs point at it, so
        // the only safe answer is to start over.
        throw Error(ErrorKind::state, final_dir.string() + " appeared while submitting; retry");
    }
    guard.track_dir(final_dir);
    fsync_directory(plan.home);
    release_arrays(job_ids);
    guard.dismiss();

    print_submitted(config, record, final_dir, job_ids, options.wait);
    if (options.wait)
        wait_for_trials(record, final_dir);
}

// ----- hpsweep run -----

// What `run` takes besides the config options (run_config.hpp).
struct RunCliOptions : RunOptions {
    SubmitOptions submission;
    bool json = false;
};

// The options `run` and `submit` share: how the submission is made, not what it runs.
void add_submission_options(CLI::App* command, SubmitOptions& options, bool& json) {
    command->add_flag("--wait", options.wait,
                      "Block until every trial ended; exit 1 if any failed");
    command->add_flag("--dry-run", options.dry_run,
                      "Print the plan and the script; submit nothing");
    command->add_flag("--json", json, "Machine-readable output");
    command->add_flag("--force", options.force, "Allow sweeps of more than 100,000 trials");
    add_snapshot_options(command, options.snapshot);
}

void add_sweep_commands(CLI::App& app) {
    auto run_options = std::make_shared<RunCliOptions>();
    auto* run = app.add_subcommand(
        "run", "Grid-style sweep: hpsweep run [options] SCRIPT [--flag \"[1, 2]\" ...]");
    // Everything from SCRIPT on belongs to the training program, so it must not fall through
    // to the top-level parser (main.cpp turns fallthrough on for every subcommand).
    run->prefix_command();
    run->fallthrough(false);
    add_integer_option(run, "--gpus", run_options->gpus, "GPUs per trial (over all its nodes)", 0);
    add_integer_option(run, "--nodes", run_options->nodes, "Nodes per trial", 1);
    add_integer_option(run, "--cpus-per-gpu", run_options->cpus_per_gpu,
                       "CPU cores per GPU (per task)", 0);
    run->add_option("--mem", run_options->mem, "Memory per node (Slurm syntax: 16G)");
    run->add_option("--time", run_options->time, "Time limit per trial (Slurm syntax: 1:00:00)");
    run->add_option("--partition", run_options->partition, "Slurm partition");
    run->add_option("--account", run_options->account, "Slurm account");
    add_integer_option(run, "--max-concurrent", run_options->max_concurrent,
                       "At most this many trials at once (array throttle %K)", 0);
    add_pack_options(run, run_options->pack, run_options->trials_per_gpu, run_options->pack_gpus);
    run->add_option("--datastore", run_options->datastores,
                    "Datastore NAME[:VER] staged on each node for every trial (repeatable)")
        ->allow_extra_args(false);  // one reference per occurrence: SCRIPT may follow
    run->add_option("--metric-regex", run_options->metric_regexes,
                    "Capture metric NAME from output lines matching REGEX (NAME=REGEX, "
                    "repeatable)")
        ->allow_extra_args(false);  // one NAME=REGEX per occurrence: SCRIPT may follow
    run->add_option("--container", run_options->container,
                    "Run every trial in this container image (docs/containers.md)");
    run->add_option("--lightning-csv", run_options->lightning_csv,
                    "Tail this Lightning CSVLogger metrics.csv (relative to the trial dir)");
    run->add_option("--name", run_options->name, "Experiment name (default: the script's name)");
    add_integer_option(run, "--seed", run_options->seed, "Seed of every random choice", 0);
    run->add_option("--strategy", run_options->strategy,
                    "grid_search (default), random_search or asha");
    add_integer_option(run, "--num_trials,--num-trials", run_options->num_trials,
                       "Trials for random_search", 1);
    run->add_option("--metric", run_options->metric,
                    "The metric trials are compared on (asha; results' ranking)");
    run->add_flag("--larger_is_better,--larger-is-better", run_options->larger_is_better,
                  "asha: a larger metric is better (default: smaller)");
    run->add_option("--max_length,--max-length", run_options->max_length,
                    "asha: training length N or UNIT:N (epochs, batches, records, steps)");
    add_integer_option(run, "--divisor", run_options->divisor, "asha: keep the top 1/divisor (4)",
                       2);
    add_integer_option(run, "--max_rungs,--max-rungs", run_options->max_rungs, "asha: rungs (5)",
                       1);
    run->add_option("--mode", run_options->mode, "asha: aggressive, standard or conservative");
    run->add_option("--python", run_options->python, "Interpreter for a .py SCRIPT");
    add_submission_options(run, run_options->submission, run_options->json);
    run->callback([run, run_options] {
        if (run_options->json)
            global_options().json = true;
        const auto words = run->remaining();
        // Everything from SCRIPT on is the program's, so a mistyped option would be run as
        // the program (and fail in every trial): an option-like first word is refused.
        if (!words.empty() && words.front().size() > 1 && words.front().front() == '-') {
            throw Error(ErrorKind::usage, unknown_option_message(*run, words.front()));
        }
        auto config = config_from_run(*run_options, words);
        SubmitOptions options = run_options->submission;
        options.origin = "run";
        options.command_line = words;
        submit(std::move(config), options);
    });

    struct SubmitCliOptions {
        std::string file;
        SubmitOptions submission;
        bool json = false;
    };
    auto submit_options = std::make_shared<SubmitCliOptions>();
    auto* sub = app.add_subcommand("submit", "Submit an experiment file (Determined-style YAML)");
    sub->add_option("config", submit_options->file, "experiment.yaml")->required();
    add_submission_options(sub, submit_options->submission, submit_options->json);
    sub->callback([submit_options] {
        if (submit_options->json)
            global_options().json = true;
        auto config = load_experiment_config(submit_options->file);
        SubmitOptions options = submit_options->submission;
        options.origin = "submit";
        options.config_file = fs::absolute(submit_options->file).string();
        submit(std::move(config), options);
    });
}

const CommandRegistrar registrar{"sweep", &add_sweep_commands};

}  // namespace
}  // namespace hpsweep::cli
