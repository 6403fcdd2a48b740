#include "experiment_yaml_reader.hpp"

#include <charconv>
#include <cmath>

#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/length_units.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {

namespace {

// Keys that Determined accepts and hpsweep has no use for: accepted with a warning so that a
// Determined user's file works unchanged, but typos of hpsweep's own keys stay errors.
const std::set<std::string> ignored_top_level_keys = {"labels",
                                                      "min_validation_period",
                                                      "min_checkpoint_period",
                                                      "max_restarts",
                                                      "bind_mounts",
                                                      "checkpoint_storage",
                                                      "data",
                                                      "workspace",
                                                      "project",
                                                      "profiling",
                                                      "scheduling_unit",
                                                      "checkpoint_policy",
                                                      "perform_initial_validation",
                                                      "optimizations",
                                                      "debug",
                                                      "log_policies",
                                                      "integrations"};
const std::set<std::string> ignored_searcher_keys = {"source_trial_id", "source_checkpoint_uuid",
                                                     "bracket_rungs"};
const std::set<std::string> ignored_resources_keys = {
    "resource_pool", "max_slots",       "priority", "weight",
    "shm_size",      "native_parallel", "devices",  "is_single_node"};

}  // namespace

std::string did_you_mean(const std::string& key, const std::vector<std::string>& known) {
    std::string best;
    size_t best_distance = 3;  // only near misses are worth suggesting
    for (const auto& k : known) {
        const size_t d = edit_distance(key, k);
        if (d < best_distance) {
            best_distance = d;
            best = k;
        }
    }
    return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

ExperimentConfig ExperimentYamlReader::load(const std::string& text) {
    // YAML is UTF-8 and so is every JSON file made from the config (experiment.json,
    // the trial table); yaml-cpp passes other bytes through, which would end `hpsweep
    // submit` with an internal JSON error instead of a message naming the place.
    if (const auto bad = invalid_utf8_offset(text); bad != std::string::npos) {
        const std::string_view before(text.data(), bad);
        const size_t newline = before.rfind('\n');
        const auto line = 1 + std::count(before.begin(), before.end(), '\n');
        const size_t column = bad - (newline == std::string_view::npos ? 0 : newline + 1) + 1;
        throw Error(ErrorKind::config,
                    fmt::format("{}:{}:{}: the file is not valid UTF-8 (byte 0x{:02x})", source_,
                                line, column, static_cast<unsigned char>(text[bad])));
    }
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw Error(ErrorKind::config, fmt::format("{}:{}:{}: invalid YAML: {}", source_,
                                                   e.mark.line + 1, e.mark.column + 1, e.msg));
    }
    config_.source = source_;
    if (!root.IsDefined() || root.IsNull()) {
        throw Error(ErrorKind::config, source_ + ":1:1: the experiment file is empty");
    }
    if (!root.IsMap())
        fail(root,
             "the experiment file must be a mapping of keys (name:, "
             "entrypoint:, hyperparameters: ...)");
    bool has_entrypoint = false;
    for_each_key(
        root, "",
        {"name", "description", "entrypoint", "hyperparameters", "searcher", "resources",
         "datastores", "reproducibility", "metrics", "hyperparameters_as", "flag_style",
         "budget_flag", "context", "environment", "container", "records_per_epoch"},
        ignored_top_level_keys, [&](const std::string& key, const YAML::Node& value) {
            if (key == "name") {
                config_.name = scalar_string(value, "name");
            } else if (key == "description") {
                config_.description = scalar_string(value, "description");
            } else if (key == "entrypoint") {
                entrypoint(value);
                has_entrypoint = true;
            } else if (key == "hyperparameters") {
                if (value.IsNull())
                    return;
                if (!value.IsMap())
                    fail(value, "'hyperparameters' must be a mapping of name: value");
                hyperparameters(value, "");
            } else if (key == "searcher") {
                searcher(value);
            } else if (key == "resources") {
                resources(value);
            } else if (key == "datastores") {
                datastores(value);
            } else if (key == "reproducibility") {
                reproducibility(value);
            } else if (key == "metrics") {
                metrics(value);
            } else if (key == "hyperparameters_as" || key == "flag_style" || key == "budget_flag") {
                passing_setting(key, value);
            } else if (key == "records_per_epoch") {
                config_.records_per_epoch = integer(value, "records_per_epoch", 1);
            } else if (key == "context") {
                config_.context = scalar_string(value, "context");
            } else if (key == "environment") {
                parse_environment_section(value, {source_, &config_.warnings}, config_.container);
            } else if (key == "container") {
                parse_container_section(value, {source_, &config_.warnings}, config_.container);
            }
        });
    if (!has_entrypoint) {
        fail(root, "missing required key 'entrypoint' (the command each trial runs)");
    }
    if (config_.name.empty()) {
        config_.name = std::filesystem::path(source_).stem().string();
        if (!is_valid_experiment_name(config_.name))
            config_.name = "experiment";
    }
    if (searcher_seed_)
        config_.searcher.seed = searcher_seed_;
    // Every section is read (the sizes come from the top level and the hyper-parameters):
    // lengths into the trial's unit, then the checks that compare them.
    apply_step_unit(config_);
    validate_experiment_config(config_);
    return config_;
}

std::string ExperimentYamlReader::scalar_string(const YAML::Node& node,
                                                const std::string& key) const {
    if (!node.IsScalar())
        fail(node, fmt::format("'{}' must be a string", key));
    return node.Scalar();
}

long long ExperimentYamlReader::integer(const YAML::Node& node, const std::string& key,
                                        long long min_value) const {
    if (node.IsScalar()) {
        const std::string& s = node.Scalar();
        long long v = 0;
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc() && p == s.data() + s.size() && node.Tag() != "!") {
            if (v < min_value) {
                fail(node, fmt::format("'{}' must be at least {}, got {}", key, min_value, v));
            }
            return v;
        }
    }
    fail(node, fmt::format("'{}' must be an integer, got {}", key, describe(node)));
}

double ExperimentYamlReader::number(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar() && node.Tag() != "!") {
        std::string s = node.Scalar();
        if (!s.empty() && s.front() == '+')
            s.erase(0, 1);
        double v = 0;
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc() && p == s.data() + s.size() && std::isfinite(v))
            return v;
    }
    fail(node, fmt::format("'{}' must be a number, got {}", key, describe(node)));
}

bool ExperimentYamlReader::boolean(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar() && node.Tag() != "!") {
        const std::string& s = node.Scalar();
        if (s == "true" || s == "True" || s == "TRUE")
            return true;
        if (s == "false" || s == "False" || s == "FALSE")
            return false;
    }
    fail(node, fmt::format("'{}' must be true or false, got {}", key, describe(node)));
}

std::string ExperimentYamlReader::describe(const YAML::Node& node) {
    if (node.IsScalar())
        return "'" + node.Scalar() + "'";
    if (node.IsSequence())
        return "a list";
    if (node.IsMap())
        return "a mapping";
    return "nothing";
}

void ExperimentYamlReader::entrypoint(const YAML::Node& node) {
    if (node.IsScalar()) {
        try {
            config_.entrypoint = split_command_words(node.Scalar());
        } catch (const Error& e) {
            fail(node, std::string("entrypoint: ") + e.what());
        }
    } else if (node.IsSequence()) {
        for (const auto& word : node) {
            if (!word.IsScalar())
                fail(word, "entrypoint words must be strings");
            config_.entrypoint.push_back(word.Scalar());
        }
    } else {
        fail(node, "'entrypoint' must be a command string or a list of words");
    }
    if (config_.entrypoint.empty())
        fail(node, "'entrypoint' is empty");
}

void ExperimentYamlReader::searcher(const YAML::Node& node) {
    if (!node.IsMap())
        fail(node, "'searcher' must be a mapping (name:, metric:, ...)");
    auto& s = config_.searcher;
    for_each_key(
        node, "searcher",
        {"name",
         "metric",
         "smaller_is_better",
         "max_trials",
         "max_length",
         "step_unit",
         "seed",
         "divisor",
         "max_rungs",
         "mode",
         "max_concurrent_trials",
         "startup_trials",
         "constant_liar",
         "stop_once",
         "population_size",
         "perturb_every",
         "quantile",
         "resample_probability",
         "perturbation_factors",
         "num_rounds",
         "length_per_round",
         "replace_function",
         "explore_function"},
        ignored_searcher_keys, [&](const std::string& key, const YAML::Node& v) {
            const std::string path = "searcher." + key;
            if (key == "name") {
                const std::string name = scalar_string(v, path);
                const auto strategy = parse_strategy(name);
                if (!strategy) {
                    static const std::vector<std::string> names = {
                        "single", "grid", "random", "adaptive_asha", "tpe", "pbt", "bohb"};
                    fail(v, fmt::format("unknown searcher '{}' (expected {}){}", name,
                                        strategy_names(), did_you_mean(name, names)));
                }
                s.strategy = *strategy;
            } else if (key == "metric") {
                s.metric = scalar_string(v, path);
            } else if (key == "smaller_is_better") {
                s.smaller_is_better = boolean(v, path);
            } else if (key == "max_trials") {
                s.max_trials = integer(v, path, 1);
            } else if (key == "max_length") {
                s.max_length = max_length(v);
            } else if (key == "step_unit") {
                s.step_unit = scalar_string(v, path);
                if (!is_length_unit(s.step_unit)) {
                    fail(v, fmt::format("'searcher.step_unit' must be epochs, batches, records or "
                                        "steps (the unit of the steps your trial reports), got "
                                        "'{}'",
                                        s.step_unit));
                }
            } else if (key == "seed") {
                s.seed = static_cast<std::uint64_t>(integer(v, path, 0));
            } else if (key == "divisor") {
                s.divisor = integer(v, path, 2);
            } else if (key == "max_rungs") {
                s.max_rungs = integer(v, path, 1);
            } else if (key == "mode") {
                s.mode = scalar_string(v, path);
                if (s.mode != "aggressive" && s.mode != "standard" && s.mode != "conservative") {
                    fail(v, fmt::format("'searcher.mode' must be aggressive, standard "
                                        "or conservative, got '{}'",
                                        s.mode));
                }
            } else if (key == "max_concurrent_trials") {
                s.max_concurrent_trials = integer(v, path, 0);
            } else if (key == "startup_trials") {
                s.startup_trials = integer(v, path, 1);
            } else if (key == "constant_liar") {
                s.constant_liar = boolean(v, path);
            } else if (key == "stop_once") {
                s.stop_once = boolean(v, path);
            } else {
                pbt_key(key, v);
            }
        });
    resolve_pbt_sizes(node);
}

MaxLength ExperimentYamlReader::max_length(const YAML::Node& node) {
    return length(node, "searcher.max_length");
}

MaxLength ExperimentYamlReader::length(const YAML::Node& node, const std::string& key) {
    if (node.IsScalar())
        return MaxLength{"steps", integer(node, key, 1)};
    if (!node.IsMap() || node.size() != 1) {
        fail(node, fmt::format("'{}' must be one of {{epochs: N}}, {{batches: N}}, "
                               "{{records: N}}, {{steps: N}}",
                               key));
    }
    MaxLength result;
    for_each_key(node, key, {"epochs", "batches", "records", "steps"}, {},
                 [&](const std::string& unit, const YAML::Node& v) {
                     result = MaxLength{unit, integer(v, key + "." + unit, 1)};
                 });
    return result;
}

void ExperimentYamlReader::resources(const YAML::Node& node) {
    if (!node.IsMap())
        fail(node, "'resources' must be a mapping (slots_per_trial:, ...)");
    auto& r = config_.resources;
    for_each_key(node, "resources",
                 {"slots_per_trial", "nodes", "cpus_per_gpu", "mem", "time", "partition", "account",
                  "max_concurrent", "trials_per_task", "trials_per_gpu", "gpus_per_task"},
                 ignored_resources_keys, [&](const std::string& key, const YAML::Node& v) {
                     const std::string path = "resources." + key;
                     if (key == "slots_per_trial") {
                         r.slots_per_trial = static_cast<int>(integer(v, path, 0));
                     } else if (key == "nodes") {
                         r.nodes = static_cast<int>(integer(v, path, 1));
                     } else if (key == "cpus_per_gpu") {
                         r.cpus_per_gpu = static_cast<int>(integer(v, path, 0));
                     } else if (key == "max_concurrent") {
                         r.max_concurrent = static_cast<int>(integer(v, path, 0));
                     } else if (key == "trials_per_task") {
                         r.trials_per_task_auto = v.IsScalar() && v.Scalar() == "auto";
                         if (!r.trials_per_task_auto)
                             r.trials_per_task = integer(v, path, 1);
                     } else if (key == "trials_per_gpu") {
                         r.trials_per_gpu = static_cast<int>(integer(v, path, 1));
                     } else if (key == "gpus_per_task") {
                         r.gpus_per_task = static_cast<int>(integer(v, path, 0));
                     } else if (key == "mem") {
                         r.mem = scalar_string(v, path);
                     } else if (key == "time") {
                         r.time = scalar_string(v, path);
                     } else if (key == "partition") {
                         r.partition = scalar_string(v, path);
                     } else if (key == "account") {
                         r.account = scalar_string(v, path);
                     }
                 });
}

void ExperimentYamlReader::datastores(const YAML::Node& node) {
    if (node.IsNull())
        return;
    if (!node.IsSequence())
        fail(node, "'datastores' must be a list of datastore names");
    for (const auto& item : node) {
        if (!item.IsScalar() || item.Scalar().empty()) {
            fail(item, "each datastore must be a name (\"cifar10\" or \"cifar10:3\")");
        }
        config_.datastores.push_back(item.Scalar());
    }
}

void ExperimentYamlReader::passing_setting(const std::string& key, const YAML::Node& node) {
    remember(key, node);
    const std::string text = scalar_string(node, key);
    if (key == "hyperparameters_as")
        config_.hyperparameters_as = text;
    else if (key == "flag_style")
        config_.flag_style = text;
    else
        config_.budget_flag = text;
}

void ExperimentYamlReader::reproducibility(const YAML::Node& node) {
    if (!node.IsMap())
        fail(node, "'reproducibility' must be a mapping (experiment_seed:)");
    for_each_key(node, "reproducibility", {"experiment_seed"}, {},
                 [&](const std::string&, const YAML::Node& v) {
                     // Determined's experiment seed; an explicit searcher.seed wins.
                     if (!config_.searcher.seed) {
                         searcher_seed_ = static_cast<std::uint64_t>(
                             integer(v, "reproducibility.experiment_seed", 0));
                     }
                 });
}

ExperimentConfig parse_experiment_config(const std::string& yaml_text,
                                         const std::string& source_name) {
    return ExperimentYamlReader(source_name).load(yaml_text);
}

ExperimentConfig load_experiment_config(const std::filesystem::path& path) {
    return parse_experiment_config(read_file(path), path.string());
}

}  // namespace hpsweep::searcher
