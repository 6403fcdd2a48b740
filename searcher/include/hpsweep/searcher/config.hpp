#pragma once
// The experiment config: what `hpsweep submit experiment.yaml` reads (Determined-style) and
// what `hpsweep run SCRIPT --flag "expr"` builds. Loading validates everything a user can get
// wrong and reports it as `file:line:col: message` naming the key (Error kind config).

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpsweep/contracts/experiment_record.hpp"
#include "hpsweep/searcher/container_config.hpp"
#include "hpsweep/searcher/domain.hpp"

namespace hpsweep::searcher {

struct Hyperparameter {
    std::string name;  // nested Determined groups are flattened with '.': "optimizer.lr"
    Domain domain;
    std::string origin;  // where it was defined, for messages: "exp.yaml:7:3" or "--lr"
};

// The searcher and resources blocks are part of experiment.json's contract.
using hpsweep::MaxLength;
using hpsweep::Resources;
using hpsweep::SearcherConfig;
using hpsweep::Strategy;

// `metrics.regex.NAME: PATTERN` of the experiment file (or `hpsweep run --metric-regex
// NAME=PATTERN`): the trial's output lines are searched for PATTERN. The value is the group
// named `value`, else the only capturing group; an optional group named `step` is the step.
// Named groups may be written Python-style `(?P<value>...)` or `(?<value>...)`; std::regex
// (ECMAScript) has no named groups, so `ecmascript` is the pattern with the names removed and
// the groups are given by number.
struct RegexMetricConfig {
    std::string name;        // the metric's name in the trial file
    std::string pattern;     // as the user wrote it (what experiment.yaml keeps)
    std::string ecmascript;  // named groups turned into plain groups
    int value_group = 1;
    int step_group = 0;  // 0: no step group
    std::string origin;  // "exp.yaml:12:15" or "--metric-regex"
};

struct MetricsConfig {
    std::vector<RegexMetricConfig> regex;
    // PyTorch Lightning CSVLogger file to tail; relative paths are relative to the trial's
    // directory (EXP/trials/ID, $HPSWEEP_TRIAL_DIR). Empty: none.
    std::string lightning_csv;
};

// Checks a regex metric and fills in `ecmascript` and the group numbers. Throws
// Error(config) "ORIGIN: metric 'NAME': ..." naming the column of the pattern for syntax
// errors hpsweep finds itself, and std::regex's message otherwise.
RegexMetricConfig make_regex_metric(const std::string& name, const std::string& pattern,
                                    const std::string& origin);

// The metrics block of experiment.json and the dry-run plan: patterns as written.
MetricsRecord to_record(const MetricsConfig& metrics);

struct ExperimentConfig {
    std::string name;
    std::string description;
    std::vector<std::string> entrypoint;  // command words; hyper-parameter flags follow them
    std::vector<Hyperparameter> hyperparameters;
    SearcherConfig searcher;
    Resources resources;
    std::vector<std::string> datastores;
    std::string context;  // code snapshot context (`context:`), relative to the file
    MetricsConfig metrics;
    // How a trial gets its hyper-parameters: "flags" (--name value after the entrypoint),
    // "env" or "none" (only $HPSWEEP_HPARAMS and $HPSWEEP_HP_<NAME>, which every trial has).
    std::string hyperparameters_as = "flags";
    // "underscore": --batch_size as named; "dash": --batch-size.
    std::string flag_style = "underscore";
    // When set, the searcher's max_length is passed as --<budget_flag> N (epochs: 9 -> --epochs 9),
    // in the trial's unit (searcher.step_unit).
    std::string budget_flag;
    // Determined's records_per_epoch: the size of an epoch when searcher.step_unit converts
    // lengths (searcher/length_units.hpp).
    std::optional<long long> records_per_epoch;
    ContainerConfig container;          // environment.image / container: (empty: bare trials)
    std::string source;                 // file path, or "command line"
    std::vector<std::string> warnings;  // ignored Determined keys, capped sweeps...
    // Where each setting came from, for messages: "searcher.name" -> "exp.yaml:12:9",
    // or "--strategy" for the command line. Missing keys fall back to `source`.
    std::map<std::string, std::string> locations;

    std::string location_of(const std::string& key) const;
};

// Reads and validates an experiment file. Throws Error(config) "file:line:col: message"
// (Error(io) when the file cannot be read).
ExperimentConfig load_experiment_config(const std::filesystem::path& path);
// Same, from text; `source_name` is used in messages.
ExperimentConfig parse_experiment_config(const std::string& yaml_text,
                                         const std::string& source_name);

// Checks that hold for configs from any source (file or command line): searcher needs,
// resources, names. Messages start with the setting's location (see `locations`).
void validate_experiment_config(const ExperimentConfig& config);

// Slurm-compatible names: letters, digits, '_', '-', '.', starting with a letter or digit.
bool is_valid_experiment_name(const std::string& name);
// Slurm's --time syntax: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or "UNLIMITED".
bool is_valid_slurm_time(const std::string& text);

// The resolved config as YAML (what EXP/experiment.yaml holds): defaults filled in, the seed
// that was used, hyper-parameters in the form they were given.
std::string to_yaml(const ExperimentConfig& config);

// Splits an entrypoint string into words like a POSIX shell would (quotes and backslashes),
// without any expansion. Throws Error(config) on an unterminated quote.
std::vector<std::string> split_command_words(const std::string& command);

}  // namespace hpsweep::searcher
