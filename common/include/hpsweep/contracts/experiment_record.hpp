#pragma once
// EXP/experiment.json: what `hpsweep run`/`submit` recorded about an experiment, and what
// cancel and resubmit add to it. Written by the CLI only; read by the CLI (status, logs,
// cancel, resubmit, list), the summary (metric direction) and people (docs/user-guide.md
// lists the fields). Reading checks every field's kind and range and names the field that is
// wrong; keys this version does not know are kept and written back unchanged, so an older
// hpsweep cancelling a newer experiment loses nothing.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hpsweep/contracts/strategy.hpp"

namespace hpsweep {

struct MaxLength {
    std::string unit;  // epochs | batches | records | steps
    long long value = 0;

    bool operator==(const MaxLength&) const = default;
};

// pbt (searcher/pbt.hpp; the runtime lives in the launcher). Determined's keys map onto it:
// length_per_round -> perturb_every, num_rounds x length_per_round -> max_length,
// replace_function.truncate_fraction -> quantile, explore_function.perturb_factor f ->
// factors {1 - f, 1 + f}.
struct PbtConfig {
    std::optional<MaxLength> perturb_every;    // a ready point every N units of max_length
    std::optional<long long> population_size;  // the number of trials (= max_trials)
    std::optional<long long> num_rounds;       // Determined's: max_length = rounds x length
    double quantile = 0.25;                    // bottom quantile exploits the top quantile
    double resample_probability = 0.25;
    std::vector<double> factors = {0.8, 1.2};
};

// The lengths an experiment file wrote before searcher.step_unit converted them into the unit
// the trial reports steps in (docs/adaptive-search.md), and the sizes the conversion used.
struct LengthsAsWritten {
    std::optional<MaxLength> max_length;
    std::optional<MaxLength> perturb_every;
    std::optional<long long> records_per_epoch;
    std::optional<long long> global_batch_size;
};

// The `searcher` block: what the experiment file's `searcher:` says, defaults filled in.
// Lengths (max_length, pbt.perturb_every) are in the unit the trial reports steps in.
struct SearcherConfig {
    Strategy strategy = Strategy::grid;
    std::string metric;
    bool smaller_is_better = true;
    std::optional<long long> max_trials;
    std::optional<MaxLength> max_length;
    // The unit the trial's reported steps count (epochs | batches | records | steps); empty:
    // max_length's own unit, nothing converted.
    std::string step_unit;
    // Set only when step_unit converted a length from the unit it was written in.
    std::optional<LengthsAsWritten> as_written;
    std::optional<std::uint64_t> seed;
    // adaptive_asha (the runtime lives in the launcher; the experiment file loader validates)
    long long divisor = 4;
    long long max_rungs = 5;
    std::string mode = "standard";  // aggressive | standard | conservative
    // false: ASHA's promotion form, where a trial outside its rung's best pauses and resumes
    // when promoted (adaptive_asha only; searcher/asha.hpp)
    bool stop_once = true;
    std::optional<long long> max_concurrent_trials;
    // tpe: random configurations until this many trials have completed (searcher/tpe.hpp)
    long long startup_trials = 10;
    // tpe, bohb: running trials count as the worst results in the model (Optuna's
    // constant_liar, searcher/tpe.hpp)
    bool constant_liar = true;
    PbtConfig pbt;
};

// The `resources` block: what every trial asks Slurm for.
struct Resources {
    int slots_per_trial = 0;  // GPUs per trial, over all its nodes
    int nodes = 1;
    int cpus_per_gpu = 0;  // 0: Slurm's default
    std::string mem;       // per node, Slurm syntax ("16G")
    std::string time;      // Slurm syntax ("1:00:00", "2-00:00:00")
    std::string partition;
    std::string account;
    int max_concurrent = 0;  // array throttle %K; 0: no throttle
    // Packing (docs/packing.md): trials one array task runs (1: unpacked), or pick it from
    // the time limit and the site's min_job_seconds; K trials per GPU; GPUs of a packed task.
    long trials_per_task = 1;
    bool trials_per_task_auto = false;
    int trials_per_gpu = 1;
    int gpus_per_task = 1;

    int gpus_per_node() const { return nodes > 0 ? slots_per_trial / nodes : 0; }
};

// The `metrics` block: regex metrics as the user wrote them, and the Lightning CSV to tail.
struct MetricsRecord {
    std::vector<std::pair<std::string, std::string>> regex;  // name -> pattern, in given order
    std::string lightning_csv;
};

// One submitted job array: trials offset + task for each task of `array`.
struct ArrayRecord {
    std::string job_id;
    long offset = 0;
    std::string array;  // the --array value, "0-1000%4"
    long trials = 0;
    std::string kind = "submit";  // submit | resubmit | extend (trials added by `hpsweep extend`)
    std::string submitted;        // ISO-8601 UTC
    long pack = 1;  // trials per array task (docs/packing.md); `trials` then counts tasks
};

// One `hpsweep cancel`: all trials, or the listed ones.
struct CancellationRecord {
    std::string time;  // ISO-8601 UTC
    bool all = false;
    std::vector<long> trials;
};

struct ExperimentRecord {
    int format = 1;
    std::string name;
    std::string id;                         // the directory's name
    std::string created;                    // ISO-8601 UTC
    std::string origin;                     // run | submit
    std::string config_file;                // submit: the experiment file, absolute
    std::vector<std::string> command_line;  // run: SCRIPT and its words
    std::string cwd;
    long num_trials = 0;
    std::uint64_t seed = 0;
    SearcherConfig searcher;
    Resources resources;
    std::vector<std::string> datastores;
    MetricsRecord metrics;
    long max_array_size = 0;
    int max_concurrent = 0;
    std::string launcher;
    std::vector<ArrayRecord> arrays;
    std::vector<CancellationRecord> cancellations;
    // The code snapshot taken at submit (cli/snapshot_support.hpp writes it, hpsweep-launch
    // stages it): {"enabled": false, "reason": ...} or the stored version and how paths map.
    nlohmann::ordered_json snapshot;  // null: an experiment from before snapshots
    // Keys a newer hpsweep wrote that this one does not know, in their order.
    nlohmann::ordered_json unknown = nlohmann::ordered_json::object();
};

nlohmann::ordered_json to_json(const SearcherConfig& searcher);
nlohmann::ordered_json to_json(const Resources& resources);
nlohmann::ordered_json to_json(const MetricsRecord& metrics);
nlohmann::ordered_json to_json(const ArrayRecord& array);
nlohmann::ordered_json to_json(const CancellationRecord& cancellation);
nlohmann::ordered_json to_json(const ExperimentRecord& record);

// `source` names the file in messages. Throws Error(data) naming the field.
ExperimentRecord experiment_record_from_json(const nlohmann::ordered_json& j,
                                             const std::string& source);

// Whole-file read (Error(io) when unreadable, Error(data) when invalid) and atomic write.
ExperimentRecord read_experiment_record(const std::filesystem::path& path);
void write_experiment_record(const std::filesystem::path& path, const ExperimentRecord& record);

}  // namespace hpsweep
