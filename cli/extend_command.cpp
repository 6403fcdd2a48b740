// `hpsweep extend EXP [--num-trials N] [--config FILE | --NAME EXPR ...]`: more trials for
// an experiment that finished or is running, from a widened search space or more draws
// (searcher/extension.hpp decides which). The new trials get the ids after the table's, and
// run as new job arrays recorded with the experiment's, so status, results, wait, cancel,
// resubmit and the report see them like the first ones.
//
// Order of work, so that a failure leaves the experiment as it was: the arrays are submitted
// held; then trials.jsonl (rows appended), experiment.yaml (the widened space) and
// experiment.json (arrays, num_trials) are replaced, each atomically; then the arrays are
// released. Up to the release a failure cancels the arrays and puts the files back.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iostream>
#include <optional>

#include "command_registry.hpp"
#include "experiment_arrays.hpp"
#include "experiment_lookup.hpp"
#include "experiment_wait.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/array_plan.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/extension.hpp"
#include "hpsweep/searcher/pack_plan.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"
#include "hpsweep/searcher/strategy.hpp"
#include "hpsweep/site_config.hpp"
#include "hpsweep/strings.hpp"
#include "option_values.hpp"
#include "run_config.hpp"
#include "slurm_calls.hpp"
#include "slurm_client.hpp"
#include "trial_list_text.hpp"
#include "trial_states.hpp"
#include "unknown_option.hpp"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace hpsweep::cli {
namespace {

using namespace hpsweep::searcher;

struct ExtendOptions {
    std::string experiment;
    std::optional<long long> num_trials;
    std::string config_file;
    bool dry_run = false;
    bool wait = false;
    bool json = false;
    bool force = false;
};

// The widened hyper-parameters of `--NAME EXPR` words: each replaces the experiment's
// hyper-parameter of that name (--batch-size also names batch_size).
ExperimentConfig widen_from_flags(const ExperimentConfig& experiment,
                                  const std::vector<std::string>& words) {
    auto split = split_program_words(words, 0);
    if (!split.fixed.empty()) {
        throw Error(ErrorKind::usage,
                    fmt::format("unexpected '{}': extend takes the experiment, its own options and "
                                "widened hyper-parameters (--lr \"[0.1, 0.01]\"); the command the "
                                "trials run cannot change",
                                split.fixed.front()));
    }
    ExperimentConfig widened = experiment;
    widened.source = "command line";
    for (auto& hp : split.hyperparameters) {
        auto it = std::find_if(widened.hyperparameters.begin(), widened.hyperparameters.end(),
                               [&](const Hyperparameter& h) { return h.name == hp.name; });
        if (it == widened.hyperparameters.end()) {
            std::string underscored = hp.name;
            std::replace(underscored.begin(), underscored.end(), '-', '_');
            it = std::find_if(widened.hyperparameters.begin(), widened.hyperparameters.end(),
                              [&](const Hyperparameter& h) { return h.name == underscored; });
        }
        if (it == widened.hyperparameters.end()) {
            std::vector<std::string> names;
            for (const auto& h : experiment.hyperparameters) names.push_back(h.name);
            throw Error(
                ErrorKind::config,
                fmt::format("{}: the experiment has no hyper-parameter '{}' (it has {}); "
                            "adding one is not a widening",
                            hp.origin, hp.name, names.empty() ? "none" : join(names, ", ")));
        }
        hp.name = it->name;
        *it = std::move(hp);
    }
    return widened;
}

// The config the experiment's new trials come from, checked to be a widening of EXPERIMENT.
ExperimentConfig widened_config(const ExperimentConfig& experiment, std::uint64_t seed,
                                const ExtendOptions& options,
                                const std::vector<std::string>& words) {
    if (!options.config_file.empty() && !words.empty()) {
        throw Error(ErrorKind::usage,
                    "give widened hyper-parameters either in --config FILE or as --NAME EXPR, "
                    "not both");
    }
    if (options.config_file.empty() && words.empty() && !options.num_trials) {
        throw Error(ErrorKind::usage,
                    "nothing to extend by: give --num-trials N, widened hyper-parameters "
                    "(--lr \"[0.1, 0.01, 0.001]\") or --config FILE");
    }
    ExperimentConfig widened;
    if (!options.config_file.empty()) {
        widened = load_experiment_config(options.config_file);
        // Packing `auto` was resolved when the experiment was submitted; compare like with like.
        resolve_trials_per_task(widened.resources, load_site_config().min_job_seconds);
    } else {
        widened = widen_from_flags(experiment, words);
    }
    check_widening(experiment, widened, seed);
    return widened;
}

// Serializes extensions of one experiment: two at once would both append after the same row.
// A lock file rather than the directory: flock on NFS needs a descriptor open for writing.
UniqueFd lock_experiment(const ExperimentDir& dir) {
    const fs::path path = dir.root() / ".extend.lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd)
        throw_errno("cannot open " + path.string());
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            throw Error(ErrorKind::state, fmt::format("another hpsweep extend of {} is running; "
                                                      "wait for it and try again",
                                                      dir.root().string()));
        }
        throw_errno("cannot lock " + path.string());
    }
    return fd;
}

// The config the new arrays are submitted with: the experiment's resources as recorded.
ExperimentConfig submission_config(const ExperimentRecord& record) {
    ExperimentConfig config;
    config.name = record.name;
    config.resources = record.resources;
    config.resources.max_concurrent = record.max_concurrent;
    return config;
}

// Arrays for trials FIRST..FIRST+COUNT-1, packed as the experiment's were.
std::vector<ArrayChunk> extension_chunks(const ExperimentRecord& record, long first, long count,
                                         long max_array_size) {
    if (!is_packed(record.resources)) {
        std::vector<long> ids;
        for (long id = first; id < first + count; ++id) ids.push_back(id);
        return plan_arrays_for_trials(std::move(ids), max_array_size);
    }
    auto chunks = plan_packed_arrays(count, record.resources.trials_per_task, max_array_size);
    for (auto& chunk : chunks) {
        chunk.offset += first;
        chunk.trial_end = first + count;
    }
    return chunks;
}

std::string id_range(const std::vector<TrialRecord>& trials) {
    if (trials.size() == 1)
        return std::to_string(trials.front().id);
    return fmt::format("{}-{}", trials.front().id, trials.back().id);
}

void print_dry_run(const ExperimentRecord& record, const fs::path& root,
                   const ExperimentConfig& widened, long existing,
                   const std::vector<TrialRecord>& trials, const ExperimentConfig& submission,
                   const std::vector<ArrayChunk>& chunks, const ExperimentDir& dir) {
    if (global_options().json) {
        ordered_json arrays = ordered_json::array();
        for (const auto& c : chunks) {
            arrays.push_back({{"offset", c.offset},
                              {"array", c.array_spec(array_throttle(submission))},
                              {"first_trial", c.first_trial()},
                              {"last_trial", c.last_trial()},
                              {"sbatch", sbatch_arguments(submission, root, c,
                                                          dir.batch_script_path(), false)}});
        }
        std::cout << ordered_json{{"experiment", record.id},
                                  {"path", root.string()},
                                  {"dry_run", true},
                                  {"existing_trials", existing},
                                  {"trials", trials_json(trials)},
                                  {"arrays", arrays}}
                         .dump(2)
                  << std::endl;
        return;
    }
    std::printf(
        "Extend %s (searcher %s, seed %llu): %zu new trial(s), ids %s, after the %ld in "
        "the table\n",
        record.id.c_str(), std::string(strategy_name(widened.searcher.strategy)).c_str(),
        static_cast<unsigned long long>(record.seed), trials.size(), id_range(trials).c_str(),
        existing);
    for (const auto& hp : widened.hyperparameters)
        std::printf("  --%s %s\n", hp.name.c_str(), hp.domain.describe().c_str());
    std::printf("New trials:\n");
    print_trial_commands(trials);
    std::printf("Job arrays:\n");
    for (const auto& c : chunks) {
        std::vector<std::string> words;
        for (const auto& w : sbatch_arguments(submission, root, c, dir.batch_script_path(), false))
            words.push_back(shell_quote(w));
        std::printf("  trials %ld-%ld: %s\n", c.first_trial(), c.last_trial(),
                    join(words, " ").c_str());
    }
    std::printf("Dry run: nothing was written or submitted.\n");
}

// Puts trials.jsonl, experiment.yaml and experiment.json back as they were, and cancels the
// arrays, unless dismissed once the arrays are released.
class ExtensionGuard {
public:
    explicit ExtensionGuard(const ExperimentDir& dir) {
        for (const auto& path : {dir.trial_table_path(), dir.config_path(), dir.metadata_path()})
            saved_.emplace_back(path, read_file(path));
    }
    ExtensionGuard(const ExtensionGuard&) = delete;
    ExtensionGuard& operator=(const ExtensionGuard&) = delete;
    ~ExtensionGuard() {
        if (dismissed_)
            return;
        if (!job_ids_.empty() && !sweep::scancel(job_ids_)) {
            std::fprintf(stderr, "hpsweep: warning: could not cancel job(s) %s; run scancel\n",
                         join(job_ids_, " ").c_str());
        }
        if (!files_written_)
            return;
        for (const auto& [path, text] : saved_) {
            try {
                write_file_atomic(path, text);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "hpsweep: warning: could not restore %s: %s\n", path.c_str(),
                             e.what());
            }
        }
    }
    void track_job(const std::string& id) { job_ids_.push_back(id); }
    void files_written() { files_written_ = true; }
    void dismiss() { dismissed_ = true; }

private:
    std::vector<std::pair<fs::path, std::string>> saved_;
    std::vector<std::string> job_ids_;
    bool files_written_ = false;
    bool dismissed_ = false;
};

// Submits the chunks held; each job id goes into GUARD and RECORD. Throws on the first failure.
std::vector<std::string> submit_held(const ExperimentConfig& submission, const ExperimentDir& dir,
                                     const std::vector<ArrayChunk>& chunks, ExtensionGuard& guard,
                                     ExperimentRecord& record) {
    std::vector<std::string> job_ids;
    for (const auto& chunk : chunks) {
        const auto result = sweep::run_slurm(
            sbatch_arguments(submission, dir.root(), chunk, dir.batch_script_path(), true));
        const std::string job_id = slurm::parse_sbatch_job_id(result.out);
        guard.track_job(job_id);
        job_ids.push_back(job_id);
        record.arrays.push_back(
            sweep::submitted_array(job_id, chunk, array_throttle(submission), "extend"));
    }
    return job_ids;
}

void print_extended(const ExperimentRecord& record, const fs::path& root,
                    const std::vector<TrialRecord>& trials,
                    const std::vector<std::string>& job_ids) {
    if (global_options().json) {
        ordered_json ids = ordered_json::array();
        for (const auto& t : trials) ids.push_back(t.id);
        std::cout << ordered_json{{"experiment", record.id},
                                  {"path", root.string()},
                                  {"num_trials", record.num_trials},
                                  {"added", ids},
                                  {"job_ids", job_ids}}
                         .dump(2)
                  << std::endl;
        return;
    }
    std::printf(
        "Extended %s: %zu new trial(s), ids %s, in %zu job array(s) [%s]; %ld trial(s) "
        "in all\n",
        record.id.c_str(), trials.size(), id_range(trials).c_str(), job_ids.size(),
        join(job_ids, ", ").c_str(), record.num_trials);
    std::printf("  watch it:  hpsweep status %s\n", record.id.c_str());
}

void nothing_new(const ExperimentRecord& record, const ExperimentConfig& widened, long existing) {
    const std::string why =
        widened.searcher.strategy == Strategy::grid
            ? fmt::format(
                  "every configuration of the widened grid is among the {} trial(s) "
                  "already in the table",
                  existing)
            : std::string("the search space has no configuration left that has not run");
    if (global_options().json) {
        std::cout << ordered_json{{"experiment", record.id},
                                  {"added", ordered_json::array()},
                                  {"reason", why}}
                         .dump(2)
                  << std::endl;
    } else {
        std::printf("Nothing to add to %s: %s.\n", record.id.c_str(), why.c_str());
    }
}

void extend_command(const ExtendOptions& options, const std::vector<std::string>& words) {
    const fs::path root = find_experiment(options.experiment);
    const ExperimentDir dir(root);
    // Everything is read under the lock: another extension may have just added rows.
    UniqueFd lock;
    if (!options.dry_run) {
        check_experiment_writable(root, "extend it");
        lock = lock_experiment(dir);
    }
    auto record = dir.read_record();
    const ExperimentConfig experiment = load_experiment_config(dir.config_path());
    const std::uint64_t seed = record.seed;
    const ExperimentConfig widened = widened_config(experiment, seed, options, words);
    const long more = trials_to_add(experiment, widened, options.num_trials);
    if (widened.searcher.strategy == Strategy::grid && !options.force &&
        count_trials(widened) > max_trials_without_force) {
        throw Error(ErrorKind::usage,
                    fmt::format("the widened grid has {} configurations, more than {}; check the "
                                "lists, or pass --force",
                                count_trials(widened), max_trials_without_force));
    }

    const auto existing = dir.read_trials();
    const auto added = extension_trials(widened, seed, existing, more);
    const long first = static_cast<long>(existing.size());
    if (added.empty()) {
        nothing_new(record, widened, first);
        return;
    }
    const ExperimentConfig submission = submission_config(record);
    // A dry run works without a cluster: it plans with the limit the experiment recorded.
    const long max_array_size = !options.dry_run            ? sweep::cluster_limits().max_array_size
                                : record.max_array_size > 0 ? record.max_array_size
                                                            : sweep::ClusterLimits{}.max_array_size;
    const auto chunks =
        extension_chunks(record, first, static_cast<long>(added.size()), max_array_size);
    if (options.dry_run) {
        print_dry_run(record, root, widened, first, added, submission, chunks, dir);
        return;
    }

    // experiment.yaml keeps the experiment's settings and takes the widened space, and the
    // trial count for the strategies that have one.
    ExperimentConfig updated = experiment;
    updated.hyperparameters = widened.hyperparameters;
    if (updated.searcher.strategy != Strategy::grid)
        updated.searcher.max_trials = first + static_cast<long>(added.size());

    ExtensionGuard guard(dir);
    const auto job_ids = submit_held(submission, dir, chunks, guard, record);
    guard.files_written();
    dir.append_trials(added);
    write_file_atomic(dir.config_path(), to_yaml(updated));
    record.num_trials = first + static_cast<long>(added.size());
    dir.write_record(record);
    for (const auto& id : job_ids) sweep::run_slurm({"scontrol", "release", id});
    guard.dismiss();

    print_extended(record, root, added, job_ids);
    if (options.wait) {
        const auto states = sweep::wait_for_experiment(dir, global_options().json);
        if (!global_options().json)
            std::printf("%s: %s\n", record.id.c_str(), sweep::format_counts(states.counts).c_str());
        if (states.unsuccessful() > 0)
            global_options().exit_code = 1;
    }
}

void add_extend_command(CLI::App& app) {
    auto options = std::make_shared<ExtendOptions>();
    auto* extend = app.add_subcommand(
        "extend",
        "Add trials to an experiment: hpsweep extend EXP [--num-trials N] [--NAME \"[widened "
        "list]\" ... | --config FILE]");
    // `--lr "[...]"` words are widened hyper-parameters, not options of extend: they stay in
    // remaining() (and must not fall through to the top-level parser, which refuses them).
    extend->allow_extras();
    extend->fallthrough(false);
    extend->add_option("experiment", options->experiment, "Experiment directory or name")
        ->required();
    add_integer_option(extend, "--num_trials,--num-trials", options->num_trials,
                       "random_search, asha, tpe: this many more trials", 1);
    extend->add_option("--config", options->config_file,
                       "The experiment file with the widened hyper-parameters (or a larger "
                       "searcher.max_trials)");
    extend->add_flag("--dry-run", options->dry_run,
                     "Print the new trials and arrays; write and submit nothing");
    extend->add_flag("--wait", options->wait,
                     "Block until every trial ended; exit 1 if any failed");
    extend->add_flag("--json", options->json, "Machine-readable output");
    extend->add_flag("--force", options->force,
                     "Allow a widened grid of more than 100,000 configurations");
    extend->callback([extend, options] {
        if (options->json)
            global_options().json = true;
        // A word that is one of extend's own options mistyped (--cnfig) is refused as such,
        // before it could be taken for a widened hyper-parameter of that name; a hyper-parameter
        // that near an option of extend can still be widened through --config.
        for (const auto& word : extend->remaining()) {
            if (word.size() > 2 && word.starts_with("--") &&
                !nearest_option_hint(*extend, word).empty())
                throw Error(ErrorKind::usage, unknown_option_message(*extend, word));
        }
        extend_command(*options, extend->remaining());
    });
}

const CommandRegistrar registrar{"sweep-extend", &add_extend_command};

}  // namespace
}  // namespace hpsweep::cli
