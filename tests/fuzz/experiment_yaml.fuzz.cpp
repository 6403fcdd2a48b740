// Experiment files: what `hpsweep submit experiment.yaml` reads (searcher/src/config.cpp,
// yaml-cpp underneath). Bad input must be an Error that says file:line:col.
//
// Beyond "no crash": the resolved config that submit writes into the experiment directory
// (to_yaml) is read back by every trial's launcher (launcher/app/trial_hooks.cpp), so
// it must load again and mean the same thing.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "hpsweep/searcher/config.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {

constexpr std::uint64_t max_grid_checked = 4096;

std::string value_text(const Value& v) {
    return v.typed.dump() + "|" + v.text;
}

// Everything a config means for the sweep, as text, so that two configs can be compared
// and a difference printed.
std::string meaning(const ExperimentConfig& c) {
    std::string out = "name=" + c.name + "\ndescription=" + c.description + "\nentrypoint=";
    for (const auto& w : c.entrypoint) out += "<" + w + ">";
    out += "\n";
    for (const auto& hp : c.hyperparameters) {
        const auto& d = hp.domain;
        out += "hp " + hp.name + " kind=" + std::to_string(static_cast<int>(d.kind)) +
               " describe=" + d.describe() + " values=";
        for (const auto& v : d.values) out += value_text(v) + ";";
        out += "\n";
    }
    const auto& s = c.searcher;
    out += "searcher " + std::string(strategy_name(s.strategy)) + " metric=" + s.metric +
           " smaller=" + std::to_string(s.smaller_is_better) +
           " max_trials=" + (s.max_trials ? std::to_string(*s.max_trials) : "-") + " max_length=" +
           (s.max_length ? s.max_length->unit + ":" + std::to_string(s.max_length->value) : "-") +
           " seed=" + (s.seed ? std::to_string(*s.seed) : "-") + " max_concurrent_trials=" +
           (s.max_concurrent_trials ? std::to_string(*s.max_concurrent_trials) : "-");
    if (stops_early(s.strategy)) {
        out += " divisor=" + std::to_string(s.divisor) +
               " max_rungs=" + std::to_string(s.max_rungs) + " mode=" + s.mode;
    }
    const auto& r = c.resources;
    out += "\nresources slots=" + std::to_string(r.slots_per_trial) +
           " nodes=" + std::to_string(r.nodes) + " cpus_per_gpu=" + std::to_string(r.cpus_per_gpu) +
           " mem=" + r.mem + " time=" + r.time + " partition=" + r.partition +
           " account=" + r.account + " max_concurrent=" + std::to_string(r.max_concurrent) +
           "\ndatastores=";
    for (const auto& ds : c.datastores) out += "<" + ds + ">";
    return out + "\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(fuzz::as_text(data, size));
    ExperimentConfig config;
    if (!fuzz::only_bad_input([&] { config = parse_experiment_config(text, "fuzz.yaml"); })) {
        return 0;
    }
    // What the planner does next with each hyper-parameter.
    for (const auto& hp : config.hyperparameters) {
        const Domain& d = hp.domain;
        for (const auto& v : d.values) {
            if (!fuzz::is_usable_value(v.typed))
                fuzz::finding("hyperparameter '%s' has the value %s", hp.name.c_str(),
                              v.text.c_str());
        }
        // Random search draws from every domain, grid search enumerates the finite ones.
        Random rng(derive_seed(1, hp.name));
        for (int i = 0; i < 4; ++i) {
            const Value v = d.sample(rng);
            if (!fuzz::is_usable_value(v.typed))
                fuzz::finding("hyperparameter '%s' (%s) sampled the value %s", hp.name.c_str(),
                              d.describe().c_str(), v.text.c_str());
        }
        const auto grid = d.grid_size();
        if (grid && *grid <= max_grid_checked) {
            fuzz::only_bad_input([&] {
                for (const auto& v : d.grid_values(1)) {
                    if (!fuzz::is_usable_value(v.typed))
                        fuzz::finding("hyperparameter '%s' (%s) has the grid value %s",
                                      hp.name.c_str(), d.describe().c_str(), v.text.c_str());
                }
            });
        }
    }
    // submit writes the config into JSON files (experiment.json, the trial table): an
    // accepted config must be representable there.
    try {
        nlohmann::ordered_json j = {{"name", config.name},
                                    {"description", config.description},
                                    {"entrypoint", config.entrypoint},
                                    {"metric", config.searcher.metric},
                                    {"mem", config.resources.mem},
                                    {"time", config.resources.time},
                                    {"partition", config.resources.partition},
                                    {"account", config.resources.account},
                                    {"datastores", config.datastores}};
        for (const auto& hp : config.hyperparameters) {
            for (const auto& v : hp.domain.values) j["hyperparameters"][hp.name].push_back(v.typed);
        }
        (void)j.dump();
    } catch (const nlohmann::json::exception& e) {
        fuzz::finding("an accepted config cannot be written as JSON: %s", e.what());
    }
    const std::string resolved = to_yaml(config);
    ExperimentConfig again;
    try {
        again = parse_experiment_config(resolved, "experiment.yaml");
    } catch (const Error& e) {
        fuzz::finding("the resolved config (to_yaml) does not load back: %s\n--- resolved:\n%s",
                      e.what(), resolved.c_str());
    }
    const std::string before = meaning(config);
    const std::string after = meaning(again);
    if (before != after) {
        fuzz::finding(
            "the resolved config (to_yaml) means something else when loaded back\n"
            "--- loaded:\n%s--- resolved:\n%s--- loaded back:\n%s",
            before.c_str(), resolved.c_str(), after.c_str());
    }
    return 0;
}
