#include "run_config.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <filesystem>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/expression.hpp"
#include "hpsweep/strings.hpp"
#include "packing.hpp"

namespace fs = std::filesystem;

namespace hpsweep::cli {
namespace {

using namespace hpsweep::searcher;

std::string default_name(const std::string& script) {
    std::string stem = fs::path(script).stem().string();
    std::string out;
    for (char c : stem) {
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')
                   ? c
                   : '_';
    }
    if (out.empty() || !std::isalnum(static_cast<unsigned char>(out.front())))
        out = "run-" + out;
    return out.substr(0, 80);
}

Hyperparameter hyperparameter_from_flag(const std::string& name, const std::string& value) {
    Hyperparameter hp;
    hp.name = name;
    hp.origin = "--" + name;
    try {
        hp.domain = parse_sweep_expression(value);
    } catch (const ExpressionError& e) {
        throw Error(ErrorKind::config,
                    fmt::format("--{} \"{}\": column {}: {}", name, value, e.column(), e.reason()));
    }
    return hp;
}

// SCRIPT ARGS... -> entrypoint + hyper-parameters.
void read_program_words(ExperimentConfig& c, const std::vector<std::string>& words,
                        const std::string& python) {
    const std::string& script = words.front();
    if (script.size() > 3 && script.compare(script.size() - 3, 3, ".py") == 0) {
        c.entrypoint = {python, script};
    } else {
        c.entrypoint = {script};
    }
    auto split = split_program_words(words, 1);
    c.entrypoint.insert(c.entrypoint.end(), split.fixed.begin(), split.fixed.end());
    c.hyperparameters = std::move(split.hyperparameters);
}

// --max_length N or UNIT:N.
MaxLength max_length_option(const std::string& option) {
    std::string unit = "steps";
    std::string count = option;
    if (const auto colon = count.find(':'); colon != std::string::npos) {
        unit = count.substr(0, colon);
        count = count.substr(colon + 1);
    }
    long long length = 0;
    const auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), length);
    if (ec != std::errc() || p != count.data() + count.size() || length < 1 ||
        (unit != "epochs" && unit != "batches" && unit != "records" && unit != "steps")) {
        throw Error(ErrorKind::usage, fmt::format("--max_length '{}': expected N or UNIT:N (UNIT "
                                                  "one of epochs, batches, records, steps)",
                                                  option));
    }
    return MaxLength{unit, length};
}

void set_asha_searcher(SearcherConfig& searcher, const RunOptions& o) {
    if (!o.num_trials || o.metric.empty() || o.max_length.empty()) {
        throw Error(ErrorKind::usage,
                    "--strategy asha needs --num_trials N, --metric NAME and --max_length "
                    "N (or UNIT:N, UNIT one of epochs, batches, records, steps)");
    }
    searcher.metric = o.metric;
    searcher.smaller_is_better = !o.larger_is_better;
    searcher.divisor = o.divisor;
    searcher.max_rungs = o.max_rungs;
    searcher.mode = o.mode;
    searcher.max_length = max_length_option(o.max_length);
    if (o.divisor < 2)
        throw Error(ErrorKind::usage, "--divisor must be at least 2");
    if (o.max_rungs < 1)
        throw Error(ErrorKind::usage, "--max_rungs must be at least 1");
    if (o.mode != "aggressive" && o.mode != "standard" && o.mode != "conservative") {
        throw Error(ErrorKind::usage, "--mode must be aggressive, standard or conservative");
    }
}

// --strategy and the options each strategy takes.
void set_searcher(SearcherConfig& searcher, const RunOptions& o) {
    if (o.strategy == "grid_search") {
        searcher.strategy = Strategy::grid;
    } else if (o.strategy == "random_search") {
        searcher.strategy = Strategy::random;
        if (!o.num_trials) {
            throw Error(ErrorKind::usage, "--strategy random_search needs --num_trials N");
        }
    } else if (o.strategy == "asha" || o.strategy == "adaptive_asha") {
        searcher.strategy = Strategy::adaptive_asha;
        set_asha_searcher(searcher, o);
    } else {
        throw Error(ErrorKind::usage, fmt::format("--strategy must be grid_search, "
                                                  "random_search or asha, got '{}'",
                                                  o.strategy));
    }
    if (!o.metric.empty() && searcher.metric.empty()) {  // grid/random: what results rank by
        searcher.metric = o.metric;
        searcher.smaller_is_better = !o.larger_is_better;
    }
    searcher.max_trials = o.num_trials;
    searcher.seed = o.seed;
}

void set_resources(ExperimentConfig& c, const RunOptions& o) {
    c.resources.slots_per_trial = o.gpus;
    c.resources.nodes = o.nodes;
    c.resources.cpus_per_gpu = o.cpus_per_gpu;
    c.resources.mem = o.mem;
    c.resources.time = o.time;
    c.resources.partition = o.partition;
    c.resources.account = o.account;
    c.resources.max_concurrent = o.max_concurrent;
    set_pack_options(c, o.pack, o.trials_per_gpu, o.pack_gpus);
}

// --metric-regex NAME=REGEX, each.
std::vector<RegexMetricConfig> regex_metrics(const std::vector<std::string>& specs) {
    std::vector<RegexMetricConfig> metrics;
    for (const auto& spec : specs) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw Error(ErrorKind::usage,
                        fmt::format("--metric-regex '{}': expected NAME=REGEX", spec));
        }
        metrics.push_back(
            make_regex_metric(spec.substr(0, eq), spec.substr(eq + 1), "--metric-regex"));
    }
    return metrics;
}

// The option each setting came from, which validation errors name.
void name_option_locations(ExperimentConfig& c) {
    static const std::pair<const char*, const char*> option_of_setting[] = {
        {"name", "--name"},
        {"searcher.name", "--strategy"},
        {"datastores", "--datastore"},
        {"container", "--container"},
        {"resources.slots_per_trial", "--gpus"},
        {"resources.nodes", "--nodes"},
        {"resources.mem", "--mem"},
        {"resources.time", "--time"},
        {"resources.partition", "--partition"},
        {"resources.account", "--account"},
        {"resources.max_concurrent", "--max-concurrent"},
        {"resources.cpus_per_gpu", "--cpus-per-gpu"},
    };
    for (const auto& [setting, option] : option_of_setting) c.locations[setting] = option;
}

}  // namespace

ProgramWords split_program_words(const std::vector<std::string>& words, size_t first) {
    ProgramWords out;
    for (size_t i = first; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (!starts_with(w, "--") || w.size() == 2) {
            out.fixed.push_back(w);
            continue;
        }
        std::string name = w.substr(2);
        std::string value;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        } else if (i + 1 < words.size() && !starts_with(words[i + 1], "--")) {
            value = words[++i];
        } else {
            out.fixed.push_back(w);  // a lone switch such as --verbose
            continue;
        }
        out.hyperparameters.push_back(hyperparameter_from_flag(name, value));
    }
    return out;
}

ExperimentConfig config_from_run(const RunOptions& o, const std::vector<std::string>& words) {
    if (words.empty())
        throw Error(ErrorKind::usage, "hpsweep run needs a SCRIPT to run");
    ExperimentConfig c;
    c.source = "command line";
    read_program_words(c, words, o.python);
    c.name = o.name.empty() ? default_name(words.front()) : o.name;
    name_option_locations(c);
    set_searcher(c.searcher, o);
    set_resources(c, o);
    c.datastores = o.datastores;
    c.metrics.regex = regex_metrics(o.metric_regexes);
    c.metrics.lightning_csv = o.lightning_csv;
    c.container.image_cpu = c.container.image_cuda = o.container;
    validate_experiment_config(c);
    return c;
}

}  // namespace hpsweep::cli
