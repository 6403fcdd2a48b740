// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> (std::function in _State), as in metrics/src/line_parser.cpp; clang has no such
// warning and would warn about the unknown name.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "hpsweep/searcher/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <regex>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/expression.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {

std::string ExperimentConfig::location_of(const std::string& key) const {
    const auto it = locations.find(key);
    return it != locations.end() ? it->second : source;
}

namespace {

// Keys that Determined accepts and hpsweep has no use for: accepted with a warning so that a
// Determined user's file works unchanged, but typos of hpsweep's own keys stay errors.
const std::set<std::string> ignored_top_level_keys = {"labels",
                                                      "records_per_epoch",
                                                      "min_validation_period",
                                                      "min_checkpoint_period",
                                                      "max_restarts",
                                                      "environment",
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
                                                     "bracket_rungs", "stop_once"};
const std::set<std::string> ignored_resources_keys = {
    "resource_pool", "max_slots",       "priority", "weight",
    "shm_size",      "native_parallel", "devices",  "is_single_node"};

std::string suggestion(const std::string& key, const std::vector<std::string>& known) {
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

// The rule of metrics/line_parser.cpp (the searcher does not link the metrics library).
bool is_valid_metric_name(const std::string& name) {
    if (name.empty() || name.size() > 128 || name == "step" || name == "." || name == "..")
        return false;
    if (name.front() == '/' || name.back() == '/')
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' ||
               c == '/' || c == '-';
    });
}

class Loader {
public:
    explicit Loader(std::string source) : source_(std::move(source)) {}

    ExperimentConfig load(const std::string& text) {
        // YAML is UTF-8 and so is every JSON file made from the config (experiment.json,
        // the trial table); yaml-cpp passes other bytes through (caught by the
        // experiment_yaml fuzzer: a Latin-1 value ended `hpsweep submit` with an internal
        // JSON error instead of a message naming the place).
        if (const auto bad = invalid_utf8_offset(text); bad != std::string::npos) {
            const std::string_view before(text.data(), bad);
            const size_t newline = before.rfind('\n');
            const auto line = 1 + std::count(before.begin(), before.end(), '\n');
            const size_t column = bad - (newline == std::string_view::npos ? 0 : newline + 1) + 1;
            throw Error(ErrorKind::config,
                        fmt::format("{}:{}:{}: the file is not valid UTF-8 (byte 0x{:02x})",
                                    source_, line, column, static_cast<unsigned char>(text[bad])));
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
        for_each_key(root, "",
                     {"name", "description", "entrypoint", "hyperparameters", "searcher",
                      "resources", "datastores", "reproducibility", "metrics"},
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
        validate_experiment_config(config_);
        return config_;
    }

private:
    std::string source_;
    ExperimentConfig config_;
    std::optional<std::uint64_t> searcher_seed_;

    std::string where(const YAML::Node& node) const {
        const YAML::Mark mark = node.Mark();
        if (mark.line < 0)
            return source_;
        return fmt::format("{}:{}:{}", source_, mark.line + 1, mark.column + 1);
    }
    [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
        throw Error(ErrorKind::config, where(node) + ": " + message);
    }
    void remember(const std::string& key, const YAML::Node& node) {
        config_.locations[key] = where(node);
    }

    // Visits the keys of a mapping in document order; unknown and duplicate keys are errors
    // at the key's position, ignored Determined keys become warnings.
    template <typename Visit>
    void for_each_key(const YAML::Node& map, const std::string& section,
                      const std::vector<std::string>& known, const std::set<std::string>& ignored,
                      Visit&& visit) {
        std::set<std::string> seen;
        const std::string prefix = section.empty() ? "" : section + ".";
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node key_node = it->first;
            if (!key_node.IsScalar())
                fail(key_node, "keys must be plain names");
            const std::string key = key_node.Scalar();
            if (!seen.insert(key).second) {
                fail(key_node, fmt::format("duplicate key '{}{}'", prefix, key));
            }
            if (std::find(known.begin(), known.end(), key) != known.end()) {
                remember(prefix + key, it->second);
                visit(key, it->second);
            } else if (ignored.count(key)) {
                config_.warnings.push_back(
                    fmt::format("{}: warning: '{}{}' is a Determined setting that hpsweep ignores",
                                where(key_node), prefix, key));
            } else {
                fail(key_node,
                     fmt::format("unknown key '{}'{}{}", prefix + key,
                                 section.empty() ? "" : " in " + section, suggestion(key, known)));
            }
        }
    }

    std::string scalar_string(const YAML::Node& node, const std::string& key) const {
        if (!node.IsScalar())
            fail(node, fmt::format("'{}' must be a string", key));
        return node.Scalar();
    }

    long long integer(const YAML::Node& node, const std::string& key, long long min_value) const {
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

    double number(const YAML::Node& node, const std::string& key) const {
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

    bool boolean(const YAML::Node& node, const std::string& key) const {
        if (node.IsScalar() && node.Tag() != "!") {
            const std::string& s = node.Scalar();
            if (s == "true" || s == "True" || s == "TRUE")
                return true;
            if (s == "false" || s == "False" || s == "FALSE")
                return false;
        }
        fail(node, fmt::format("'{}' must be true or false, got {}", key, describe(node)));
    }

    static std::string describe(const YAML::Node& node) {
        if (node.IsScalar())
            return "'" + node.Scalar() + "'";
        if (node.IsSequence())
            return "a list";
        if (node.IsMap())
            return "a mapping";
        return "nothing";
    }

    void entrypoint(const YAML::Node& node) {
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

    // A scalar hyper-parameter value: a sweep expression, or a constant typed like YAML would.
    Domain scalar_domain(const YAML::Node& node, const std::string& name) const {
        const std::string& text = node.Scalar();
        const bool quoted = node.Tag() == "!";
        if (looks_like_sweep_expression(text)) {
            try {
                return parse_sweep_expression(text);
            } catch (const ExpressionError& e) {
                // Point into the file: the scalar starts at its mark (after the quote if any).
                const YAML::Mark mark = node.Mark();
                throw Error(ErrorKind::config,
                            fmt::format("{}:{}:{}: hyperparameter '{}': {}", source_, mark.line + 1,
                                        mark.column + 1 + (quoted ? 1 : 0) +
                                            static_cast<int>(e.column()) - 1,
                                        name, e.reason()));
            }
        }
        Domain d;
        d.kind = Domain::Kind::constant;
        d.values.push_back(quoted ? make_string_value(text) : infer_value(text));
        return d;
    }

    Value list_element(const YAML::Node& node, const std::string& name) const {
        if (!node.IsScalar()) {
            fail(node, fmt::format("hyperparameter '{}': list values must be scalars", name));
        }
        return node.Tag() == "!" ? make_string_value(node.Scalar()) : infer_value(node.Scalar());
    }

    void hyperparameters(const YAML::Node& map, const std::string& prefix) {
        std::set<std::string> seen;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node key_node = it->first;
            const YAML::Node value = it->second;
            if (!key_node.IsScalar())
                fail(key_node, "hyperparameter names must be plain names");
            const std::string short_name = key_node.Scalar();
            if (!seen.insert(short_name).second) {
                fail(key_node, fmt::format("duplicate hyperparameter '{}'", prefix + short_name));
            }
            if (short_name.empty() ||
                short_name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789_-.") != std::string::npos) {
                fail(key_node, fmt::format("hyperparameter name '{}' may only use letters, "
                                           "digits, '_', '-' and '.' (it becomes --{})",
                                           short_name, short_name));
            }
            const std::string name = prefix + short_name;
            Hyperparameter hp;
            hp.name = name;
            hp.origin = where(value.IsNull() ? key_node : value);
            if (value.IsMap() && !value["type"]) {
                hyperparameters(value, name + ".");  // a nested group, as Determined allows
                continue;
            }
            if (value.IsNull()) {
                fail(key_node, fmt::format("hyperparameter '{}' has no value", name));
            } else if (value.IsScalar()) {
                hp.domain = scalar_domain(value, name);
            } else if (value.IsSequence()) {
                hp.domain.kind = Domain::Kind::categorical;
                for (const auto& element : value)
                    hp.domain.values.push_back(list_element(element, name));
                if (hp.domain.values.empty())
                    fail(value, fmt::format("hyperparameter '{}': empty list", name));
            } else {
                hp.domain = typed_domain(value, name);
            }
            config_.hyperparameters.push_back(std::move(hp));
        }
    }

    // Determined's typed form: {type: const|int|double|log|categorical, ...}.
    Domain typed_domain(const YAML::Node& map, const std::string& name) {
        const YAML::Node type_node = map["type"];
        if (!type_node.IsScalar())
            fail(type_node, fmt::format("hyperparameter '{}': 'type' must be a string", name));
        const std::string type = type_node.Scalar();
        static const std::map<std::string, std::vector<std::string>> keys_of_type = {
            {"const", {"type", "val"}},
            {"int", {"type", "minval", "maxval", "count"}},
            {"double", {"type", "minval", "maxval", "count"}},
            {"log", {"type", "base", "minval", "maxval", "count"}},
            {"categorical", {"type", "vals"}},
        };
        const auto known = keys_of_type.find(type);
        if (known == keys_of_type.end()) {
            std::vector<std::string> types;
            for (const auto& [t, unused] : keys_of_type) types.push_back(t);
            fail(type_node, fmt::format("hyperparameter '{}': unknown type '{}' (expected const, "
                                        "int, double, log or categorical){}",
                                        name, type, suggestion(type, types)));
        }
        const std::string section = "hyperparameters." + name;
        // Default-constructed YAML nodes count as defined (null), so absence is tracked apart.
        std::optional<YAML::Node> val, minval, maxval, count, base, vals;
        for_each_key(map, section, known->second, {},
                     [&](const std::string& key, const YAML::Node& value) {
                         if (key == "val")
                             val = value;
                         else if (key == "minval")
                             minval = value;
                         else if (key == "maxval")
                             maxval = value;
                         else if (key == "count")
                             count = value;
                         else if (key == "base")
                             base = value;
                         else if (key == "vals")
                             vals = value;
                     });
        auto require = [&](const std::optional<YAML::Node>& node, const char* key) {
            if (!node) {
                fail(map,
                     fmt::format("hyperparameter '{}' of type {} needs '{}'", name, type, key));
            }
        };
        Domain d;
        if (type == "const") {
            require(val, "val");
            if (!val->IsScalar())
                fail(*val, fmt::format("hyperparameter '{}': 'val' must be a scalar", name));
            d.kind = Domain::Kind::constant;
            d.values.push_back(list_element(*val, name));
            return d;
        }
        if (type == "categorical") {
            require(vals, "vals");
            if (!vals->IsSequence() || vals->size() == 0) {
                fail(*vals,
                     fmt::format("hyperparameter '{}': 'vals' must be a non-empty list", name));
            }
            d.kind = Domain::Kind::categorical;
            for (const auto& element : *vals) d.values.push_back(list_element(element, name));
            return d;
        }
        require(minval, "minval");
        require(maxval, "maxval");
        if (count)
            d.count = integer(*count, section + ".count", 1);
        if (type == "int") {
            d.kind = Domain::Kind::int_range;
            d.minval = static_cast<double>(integer(*minval, section + ".minval", -(1LL << 52)));
            d.maxval = static_cast<double>(integer(*maxval, section + ".maxval", -(1LL << 52)));
        } else {
            d.kind = type == "log" ? Domain::Kind::log_range : Domain::Kind::double_range;
            d.minval = number(*minval, section + ".minval");
            d.maxval = number(*maxval, section + ".maxval");
            if (type == "log" && base) {
                d.base = number(*base, section + ".base");
                if (d.base <= 0 || d.base == 1) {
                    fail(*base,
                         fmt::format("hyperparameter '{}': 'base' must be positive and not 1",
                                     name));
                }
            }
        }
        if (d.minval > d.maxval) {
            fail(*maxval, fmt::format("hyperparameter '{}': maxval ({}) is below minval ({})", name,
                                      maxval->Scalar(), minval->Scalar()));
        }
        // Caught by the experiment_yaml fuzzer's checks (review seeds, docs/fuzzing.md): an int
        // maxval near 2^63 was converted from double with undefined behaviour, and a log
        // range whose base^maxval overflows gave trials "inf" (base^minval underflowing: 0).
        if (type == "int" && d.maxval > static_cast<double>(1LL << 52)) {
            fail(*maxval, fmt::format("hyperparameter '{}': maxval must be at most 2^52", name));
        }
        if (type == "log") {
            const double low = std::pow(d.base, d.minval);
            const double high = std::pow(d.base, d.maxval);
            if (!std::isfinite(low) || !std::isfinite(high) || low <= 0 || high <= 0) {
                fail(std::isfinite(high) && high > 0 ? *minval : *maxval,
                     fmt::format("hyperparameter '{}': {}^{} .. {}^{} is outside the numbers a "
                                 "trial can be given",
                                 name, format_double(d.base), format_double(d.minval),
                                 format_double(d.base), format_double(d.maxval)));
            }
        }
        return d;
    }

    void searcher(const YAML::Node& node) {
        if (!node.IsMap())
            fail(node, "'searcher' must be a mapping (name:, metric:, ...)");
        auto& s = config_.searcher;
        for_each_key(node, "searcher",
                     {"name", "metric", "smaller_is_better", "max_trials", "max_length", "seed",
                      "divisor", "max_rungs", "mode", "max_concurrent_trials"},
                     ignored_searcher_keys, [&](const std::string& key, const YAML::Node& v) {
                         const std::string path = "searcher." + key;
                         if (key == "name") {
                             const std::string name = scalar_string(v, path);
                             const auto strategy = parse_strategy(name);
                             if (!strategy) {
                                 static const std::vector<std::string> names = {
                                     "single", "grid", "random", "adaptive_asha"};
                                 fail(v, fmt::format("unknown searcher '{}' (expected {}){}", name,
                                                     strategy_names(), suggestion(name, names)));
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
                         } else if (key == "seed") {
                             s.seed = static_cast<std::uint64_t>(integer(v, path, 0));
                         } else if (key == "divisor") {
                             s.divisor = integer(v, path, 2);
                         } else if (key == "max_rungs") {
                             s.max_rungs = integer(v, path, 1);
                         } else if (key == "mode") {
                             s.mode = scalar_string(v, path);
                             if (s.mode != "aggressive" && s.mode != "standard" &&
                                 s.mode != "conservative") {
                                 fail(v, fmt::format("'searcher.mode' must be aggressive, standard "
                                                     "or conservative, got '{}'",
                                                     s.mode));
                             }
                         } else if (key == "max_concurrent_trials") {
                             s.max_concurrent_trials = integer(v, path, 0);
                         }
                     });
    }

    MaxLength max_length(const YAML::Node& node) {
        if (node.IsScalar())
            return MaxLength{"steps", integer(node, "searcher.max_length", 1)};
        if (!node.IsMap() || node.size() != 1) {
            fail(node,
                 "'searcher.max_length' must be one of {epochs: N}, {batches: N}, "
                 "{records: N}, {steps: N}");
        }
        MaxLength result;
        for_each_key(node, "searcher.max_length", {"epochs", "batches", "records", "steps"}, {},
                     [&](const std::string& key, const YAML::Node& v) {
                         result = MaxLength{key, integer(v, "searcher.max_length." + key, 1)};
                     });
        return result;
    }

    void resources(const YAML::Node& node) {
        if (!node.IsMap())
            fail(node, "'resources' must be a mapping (slots_per_trial:, ...)");
        auto& r = config_.resources;
        for_each_key(node, "resources",
                     {"slots_per_trial", "nodes", "cpus_per_gpu", "mem", "time", "partition",
                      "account", "max_concurrent"},
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

    void datastores(const YAML::Node& node) {
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

    // metrics: {regex: {NAME: PATTERN, ...}, lightning_csv: PATH}
    void metrics(const YAML::Node& node) {
        if (node.IsNull())
            return;
        if (!node.IsMap())
            fail(node, "'metrics' must be a mapping (regex:, lightning_csv:)");
        for_each_key(node, "metrics", {"regex", "lightning_csv"}, {},
                     [&](const std::string& key, const YAML::Node& v) {
                         if (key == "regex") {
                             metric_regexes(v);
                         } else if (key == "lightning_csv") {
                             config_.metrics.lightning_csv =
                                 scalar_string(v, "metrics.lightning_csv");
                             if (config_.metrics.lightning_csv.empty())
                                 fail(v,
                                      "'metrics.lightning_csv' is empty (a path to "
                                      "Lightning's metrics.csv)");
                         }
                     });
    }

    void metric_regexes(const YAML::Node& node) {
        if (node.IsNull())
            return;
        if (!node.IsMap())
            fail(node, "'metrics.regex' must be a mapping of metric name: regex");
        std::set<std::string> seen;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const YAML::Node key_node = it->first;
            if (!key_node.IsScalar())
                fail(key_node, "metric names must be plain names");
            const std::string name = key_node.Scalar();
            if (!seen.insert(name).second)
                fail(key_node, fmt::format("duplicate key 'metrics.regex.{}'", name));
            if (!is_valid_metric_name(name)) {
                fail(key_node, fmt::format("invalid metric name '{}' (allowed: letters, digits, "
                                           "_ . : / -; at most 128; not 'step')",
                                           name));
            }
            const std::string path = "metrics.regex." + name;
            const std::string pattern = scalar_string(it->second, path);
            remember(path, it->second);
            config_.metrics.regex.push_back(make_regex_metric(name, pattern, where(it->second)));
        }
    }

    void reproducibility(const YAML::Node& node) {
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
};

[[noreturn]] void invalid(const ExperimentConfig& c, const std::string& key,
                          const std::string& message) {
    throw Error(ErrorKind::config, c.location_of(key) + ": " + message);
}

}  // namespace

bool is_valid_experiment_name(const std::string& name) {
    if (name.empty() || name.size() > 100)
        return false;
    if (!std::isalnum(static_cast<unsigned char>(name.front())))
        return false;
    return name.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789_-.") == std::string::npos;
}

bool is_valid_slurm_time(const std::string& text) {
    if (text == "UNLIMITED" || text == "unlimited" || text == "infinite")
        return true;
    std::string rest = text;
    const auto dash = rest.find('-');
    if (dash != std::string::npos) {
        const std::string days = rest.substr(0, dash);
        if (days.empty() || days.find_first_not_of("0123456789") != std::string::npos)
            return false;
        rest = rest.substr(dash + 1);
    }
    const auto parts = split(rest, ':');
    if (parts.empty() || parts.size() > 3)
        return false;
    for (const auto& p : parts) {
        if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos)
            return false;
    }
    return true;
}

RegexMetricConfig make_regex_metric(const std::string& name, const std::string& pattern,
                                    const std::string& origin) {
    const auto fail = [&](const std::string& message) {
        throw Error(ErrorKind::config, fmt::format("{}: metric '{}': {}", origin, name, message));
    };
    if (!is_valid_metric_name(name)) {
        fail(
            "invalid metric name (allowed: letters, digits, _ . : / -; at most 128; not "
            "'step')");
    }
    if (pattern.empty())
        fail("the regex is empty");
    RegexMetricConfig metric;
    metric.name = name;
    metric.pattern = pattern;
    metric.origin = origin;
    metric.value_group = 0;
    // One pass over the pattern: count capturing groups the way ECMAScript does (an unescaped
    // '(' outside a [class] that is not "(?"), and strip the names of "(?P<n>" / "(?<n>".
    std::vector<int> unnamed_groups;
    int groups = 0;
    bool in_class = false;
    std::string& out = metric.ecmascript;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\') {
            out += c;
            if (i + 1 < pattern.size())
                out += pattern[++i];
            continue;
        }
        if (in_class) {
            in_class = c != ']';
            out += c;
            continue;
        }
        if (c == '[') {
            in_class = true;
            out += c;
            continue;
        }
        if (c != '(') {
            out += c;
            continue;
        }
        if (i + 1 >= pattern.size() || pattern[i + 1] != '?') {
            unnamed_groups.push_back(++groups);
            out += c;
            continue;
        }
        std::size_t name_start = 0;
        if (pattern.compare(i + 2, 2, "P<") == 0) {
            name_start = i + 4;
        } else if (i + 3 < pattern.size() && pattern[i + 2] == '<' && pattern[i + 3] != '=' &&
                   pattern[i + 3] != '!') {
            name_start = i + 3;
        }
        if (name_start == 0) {  // (?: (?= (?! and friends: not capturing
            out += c;
            continue;
        }
        const std::size_t close = pattern.find('>', name_start);
        if (close == std::string::npos) {
            fail(fmt::format("column {} of the regex: group name not closed with '>'", i + 1));
        }
        const std::string group = pattern.substr(name_start, close - name_start);
        if (group != "value" && group != "step") {
            fail(
                fmt::format("column {} of the regex: group name '{}' (only 'value' and 'step' "
                            "mean something)",
                            name_start + 1, group));
        }
        int& slot = group == "value" ? metric.value_group : metric.step_group;
        if (slot != 0) {
            fail(fmt::format("column {} of the regex: group '{}' given twice", name_start + 1,
                             group));
        }
        slot = ++groups;
        out += '(';
        i = close;
    }
    if (in_class)
        fail("the regex has a '[' that is not closed");
    if (metric.value_group == 0) {
        if (unnamed_groups.size() != 1) {
            fail(
                fmt::format("regex '{}' has {} unnamed capturing groups: it needs exactly one "
                            "(the value), or a group named 'value': (?P<value>...)",
                            pattern, unnamed_groups.size()));
        }
        metric.value_group = unnamed_groups.front();
    }
    try {
        const std::regex compiled(metric.ecmascript, std::regex::ECMAScript);
        if (static_cast<int>(compiled.mark_count()) != groups) {
            fail(fmt::format("regex '{}': hpsweep counted {} groups, std::regex {}", pattern,
                             groups, compiled.mark_count()));
        }
    } catch (const std::regex_error& e) {
        fail(fmt::format("invalid regex '{}' (ECMAScript syntax): {}", pattern, e.what()));
    }
    return metric;
}

MetricsRecord to_record(const MetricsConfig& metrics) {
    MetricsRecord record;
    for (const auto& m : metrics.regex) record.regex.emplace_back(m.name, m.pattern);
    record.lightning_csv = metrics.lightning_csv;
    return record;
}

void validate_experiment_config(const ExperimentConfig& c) {
    if (!is_valid_experiment_name(c.name)) {
        invalid(c, "name",
                fmt::format("experiment name '{}' may only use letters, digits, '_', "
                            "'-' and '.', start with a letter or digit, and have at "
                            "most 100 characters",
                            c.name));
    }
    if (c.entrypoint.empty())
        invalid(c, "entrypoint", "the entrypoint (command) is empty");
    // Everything here ends up in JSON files, which only hold UTF-8 (command-line configs
    // do not pass through the file check of the loader).
    auto utf8 = [&](const std::string& key, const std::string& text) {
        if (invalid_utf8_offset(text) != std::string::npos)
            invalid(c, key, fmt::format("'{}' is not valid UTF-8", key));
    };
    utf8("description", c.description);
    for (const auto& word : c.entrypoint) utf8("entrypoint", word);
    for (const auto& hp : c.hyperparameters) {
        bool valid = invalid_utf8_offset(hp.name) == std::string::npos;
        for (const auto& v : hp.domain.values)
            valid = valid && invalid_utf8_offset(v.text) == std::string::npos;
        if (!valid) {
            throw Error(ErrorKind::config, fmt::format("{}: hyperparameter '{}' is not valid UTF-8",
                                                       hp.origin, hp.name));
        }
    }
    utf8("searcher.metric", c.searcher.metric);
    for (const auto& [key, value] : {std::pair{"resources.mem", &c.resources.mem},
                                     std::pair{"resources.time", &c.resources.time},
                                     std::pair{"resources.partition", &c.resources.partition},
                                     std::pair{"resources.account", &c.resources.account}}) {
        utf8(key, *value);
    }
    for (const auto& ds : c.datastores) utf8("datastores", ds);
    std::set<std::string> regex_metric_names;
    for (const auto& m : c.metrics.regex) {
        if (!regex_metric_names.insert(m.name).second) {
            throw Error(ErrorKind::config,
                        fmt::format("{}: regex metric '{}' is given twice", m.origin, m.name));
        }
    }
    std::set<std::string> names;
    for (const auto& hp : c.hyperparameters) {
        if (!names.insert(hp.name).second) {
            throw Error(ErrorKind::config,
                        fmt::format("{}: hyperparameter '{}' is given twice", hp.origin, hp.name));
        }
    }
    const auto& s = c.searcher;
    if (s.strategy == Strategy::grid) {
        for (const auto& hp : c.hyperparameters) {
            if (!hp.domain.grid_size()) {
                throw Error(ErrorKind::config,
                            fmt::format("{}: hyperparameter '{}' is a continuous range: grid "
                                        "search needs 'count' (how many values to take)",
                                        hp.origin, hp.name));
            }
        }
    } else if (s.strategy == Strategy::random || s.strategy == Strategy::adaptive_asha) {
        if (!s.max_trials) {
            invalid(c, "searcher.name",
                    fmt::format("the {} searcher needs max_trials (how many trials to run)",
                                strategy_name(s.strategy)));
        }
    }
    if (s.strategy == Strategy::adaptive_asha) {
        if (s.metric.empty()) {
            invalid(c, "searcher.name", "adaptive_asha needs 'metric' (the metric to compare)");
        }
        if (!s.max_length) {
            invalid(c, "searcher.name",
                    "adaptive_asha needs 'max_length' ({epochs|batches|steps: N})");
        }
    }
    const auto& r = c.resources;
    if (r.slots_per_trial < 0)
        invalid(c, "resources.slots_per_trial", "slots_per_trial must be >= 0");
    if (r.nodes < 1)
        invalid(c, "resources.nodes", "nodes must be >= 1");
    if (r.slots_per_trial > 0 && r.slots_per_trial % r.nodes != 0) {
        invalid(c, "resources.slots_per_trial",
                fmt::format("slots_per_trial ({}) must be a multiple of nodes ({}): every node of "
                            "a trial gets the same number of GPUs",
                            r.slots_per_trial, r.nodes));
    }
    if (r.cpus_per_gpu < 0)
        invalid(c, "resources.cpus_per_gpu", "cpus_per_gpu must be >= 0");
    if (r.max_concurrent < 0)
        invalid(c, "resources.max_concurrent", "max_concurrent must be >= 0");
    if (!r.mem.empty()) {
        try {
            (void)parse_size(r.mem);
        } catch (const Error&) {
            invalid(c, "resources.mem",
                    fmt::format("mem '{}' is not a size (examples: 16G, 512M, 64000)", r.mem));
        }
    }
    if (!r.time.empty() && !is_valid_slurm_time(r.time)) {
        invalid(c, "resources.time",
                fmt::format("time '{}' is not a Slurm time (examples: 30, 1:00:00, 2-00:00:00)",
                            r.time));
    }
    for (const auto& [key, value] : {std::pair{"resources.partition", &r.partition},
                                     std::pair{"resources.account", &r.account}}) {
        if (value->find_first_of(" \t\n=") != std::string::npos) {
            invalid(c, key, fmt::format("'{}' must not contain spaces or '='", *value));
        }
    }
}

ExperimentConfig parse_experiment_config(const std::string& yaml_text,
                                         const std::string& source_name) {
    return Loader(source_name).load(yaml_text);
}

ExperimentConfig load_experiment_config(const std::filesystem::path& path) {
    return parse_experiment_config(read_file(path), path.string());
}

std::vector<std::string> split_command_words(const std::string& command) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    for (size_t i = 0; i < command.size(); ++i) {
        const char c = command[i];
        if (c == '\'' || c == '"') {
            // Single quotes take everything literally; in double quotes a backslash escapes.
            size_t j = i + 1;
            for (; j < command.size() && command[j] != c; ++j) {
                if (c == '"' && command[j] == '\\' && j + 1 < command.size())
                    ++j;
                word += command[j];
            }
            if (j >= command.size()) {
                throw Error(ErrorKind::config,
                            fmt::format("column {}: unterminated {} quote", i + 1, c));
            }
            i = j;
            in_word = true;
        } else if (c == '\\' && i + 1 < command.size()) {
            word += command[++i];
            in_word = true;
        } else if (std::isspace(static_cast<unsigned char>(c))) {
            if (in_word)
                words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word)
        words.push_back(std::move(word));
    return words;
}

namespace {

void emit_value(YAML::Emitter& out, const Value& v) {
    if (v.typed.is_string()) {
        // Quote strings that would read back as another type (numbers, booleans).
        const Value reread = infer_value(v.text);
        if (!reread.typed.is_string() || looks_like_sweep_expression(v.text)) {
            out << YAML::DoubleQuoted << v.text;
        } else {
            out << v.text;
        }
    } else {
        out << v.text;
    }
}

void emit_domain(YAML::Emitter& out, const Domain& d) {
    using Kind = Domain::Kind;
    switch (d.kind) {
        case Kind::constant:
            if (d.values.front().typed.is_string() &&
                looks_like_sweep_expression(d.values.front().text)) {
                // A constant string that reads like a sweep ({type: const, val: "[1, 2]"}):
                // written plainly it would be a sweep when read back (caught by the
                // experiment_yaml fuzzer's round-trip check).
                out << YAML::Flow << YAML::BeginMap << YAML::Key << "type" << YAML::Value << "const"
                    << YAML::Key << "val" << YAML::Value;
                emit_value(out, d.values.front());
                out << YAML::EndMap;
            } else {
                emit_value(out, d.values.front());
            }
            break;
        case Kind::categorical:
            out << YAML::Flow << YAML::BeginSeq;
            for (const auto& v : d.values) emit_value(out, v);
            out << YAML::EndSeq;
            break;
        case Kind::sampled:
            out << YAML::DoubleQuoted << d.describe();
            break;
        case Kind::int_range:
        case Kind::double_range:
        case Kind::log_range:
            out << YAML::Flow << YAML::BeginMap;
            out << YAML::Key << "type" << YAML::Value
                << (d.kind == Kind::int_range   ? "int"
                    : d.kind == Kind::log_range ? "log"
                                                : "double");
            if (d.kind == Kind::log_range)
                out << YAML::Key << "base" << YAML::Value << format_double(d.base);
            if (d.kind == Kind::int_range) {
                out << YAML::Key << "minval" << YAML::Value << static_cast<long long>(d.minval);
                out << YAML::Key << "maxval" << YAML::Value << static_cast<long long>(d.maxval);
            } else {
                out << YAML::Key << "minval" << YAML::Value << format_double(d.minval);
                out << YAML::Key << "maxval" << YAML::Value << format_double(d.maxval);
            }
            if (d.count)
                out << YAML::Key << "count" << YAML::Value << *d.count;
            out << YAML::EndMap;
            break;
    }
}

}  // namespace

std::string to_yaml(const ExperimentConfig& c) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << c.name;
    if (!c.description.empty())
        out << YAML::Key << "description" << YAML::Value << c.description;
    out << YAML::Key << "entrypoint" << YAML::Value << YAML::Flow << c.entrypoint;
    out << YAML::Key << "hyperparameters" << YAML::Value << YAML::BeginMap;
    // Nested Determined groups were flattened; the dotted names are written as they are used.
    for (const auto& hp : c.hyperparameters) {
        out << YAML::Key << hp.name << YAML::Value;
        emit_domain(out, hp.domain);
    }
    out << YAML::EndMap;
    const auto& s = c.searcher;
    out << YAML::Key << "searcher" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << std::string(strategy_name(s.strategy));
    if (!s.metric.empty())
        out << YAML::Key << "metric" << YAML::Value << s.metric;
    out << YAML::Key << "smaller_is_better" << YAML::Value << s.smaller_is_better;
    if (s.max_trials)
        out << YAML::Key << "max_trials" << YAML::Value << *s.max_trials;
    if (s.max_length) {
        out << YAML::Key << "max_length" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
            << s.max_length->unit << YAML::Value << s.max_length->value << YAML::EndMap;
    }
    if (s.seed)
        out << YAML::Key << "seed" << YAML::Value << *s.seed;
    if (s.strategy == Strategy::adaptive_asha) {
        out << YAML::Key << "divisor" << YAML::Value << s.divisor;
        out << YAML::Key << "max_rungs" << YAML::Value << s.max_rungs;
        out << YAML::Key << "mode" << YAML::Value << s.mode;
    }
    if (s.max_concurrent_trials) {
        out << YAML::Key << "max_concurrent_trials" << YAML::Value << *s.max_concurrent_trials;
    }
    out << YAML::EndMap;
    const auto& r = c.resources;
    out << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "slots_per_trial" << YAML::Value << r.slots_per_trial;
    out << YAML::Key << "nodes" << YAML::Value << r.nodes;
    if (r.cpus_per_gpu)
        out << YAML::Key << "cpus_per_gpu" << YAML::Value << r.cpus_per_gpu;
    if (!r.mem.empty())
        out << YAML::Key << "mem" << YAML::Value << r.mem;
    if (!r.time.empty())
        out << YAML::Key << "time" << YAML::Value << YAML::DoubleQuoted << r.time;
    if (!r.partition.empty())
        out << YAML::Key << "partition" << YAML::Value << r.partition;
    if (!r.account.empty())
        out << YAML::Key << "account" << YAML::Value << r.account;
    out << YAML::Key << "max_concurrent" << YAML::Value << r.max_concurrent;
    out << YAML::EndMap;
    if (!c.datastores.empty())
        out << YAML::Key << "datastores" << YAML::Value << YAML::Flow << c.datastores;
    if (!c.metrics.regex.empty() || !c.metrics.lightning_csv.empty()) {
        out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
        if (!c.metrics.regex.empty()) {
            out << YAML::Key << "regex" << YAML::Value << YAML::BeginMap;
            for (const auto& m : c.metrics.regex)
                out << YAML::Key << m.name << YAML::Value << YAML::SingleQuoted << m.pattern;
            out << YAML::EndMap;
        }
        if (!c.metrics.lightning_csv.empty())
            out << YAML::Key << "lightning_csv" << YAML::Value << c.metrics.lightning_csv;
        out << YAML::EndMap;
    }
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

}  // namespace hpsweep::searcher
