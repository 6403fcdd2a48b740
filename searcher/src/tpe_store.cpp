#include "hpsweep/searcher/tpe_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <string>

#include "hpsweep/contracts/json_fields.hpp"
#include "hpsweep/contracts/trial_record.hpp"
#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/bohb.hpp"
#include "hpsweep/searcher/strategy.hpp"

namespace hpsweep::searcher {

namespace {

// Links `text` to `target` unless it exists: a complete temp file, then link(), which fails
// with EEXIST when another writer got there first, on local disks, NFS and Lustre alike.
// Returns false when the target already existed.
bool link_once(const std::filesystem::path& target, const std::string& text) {
    const auto temp = target.parent_path() / (".trial.json.tmp." + std::to_string(::getpid()));
    write_file_atomic(temp, text);  // complete and synced before it gets its real name
    const bool linked = ::link(temp.c_str(), target.c_str()) == 0;
    const int saved = errno;
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    if (linked)
        return true;
    if (saved == EEXIST)
        return false;
    throw Error(ErrorKind::io, "cannot record " + target.string() + ": " + std::strerror(saved));
}

// Whether a trial that chose its configuration and has no observation still runs: its
// result.json is missing (the launcher chooses before it starts the trial), unreadable, or
// says "running". A trial that ended without a value (failed, cancelled, preempted until its
// requeue starts, or completed without a finite metric) is no longer a liar, as Optuna
// leaves failed trials out.
bool still_running(const ExperimentDir& dir, long trial) {
    const auto path = dir.trial_result(trial);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return true;
    try {
        return read_trial_result(path).status == "running";
    } catch (const std::exception&) {
        return true;  // half-written or damaged: the trial has not visibly ended
    }
}

}  // namespace

TpeSettings tpe_settings(const ExperimentConfig& config) {
    TpeSettings settings;
    settings.smaller_is_better = config.searcher.smaller_is_better;
    settings.startup_trials = config.searcher.startup_trials;
    settings.constant_liar = config.searcher.constant_liar;
    return settings;
}

TpeStore::TpeStore(std::filesystem::path experiment_dir) : root_(std::move(experiment_dir)) {}

std::filesystem::path TpeStore::results_dir() const {
    return root_ / "tpe" / "results";
}

void TpeStore::publish(long trial_id, const nlohmann::ordered_json& hyperparameters,
                       double value) const {
    if (!std::isfinite(value))
        return;  // a diverged trial teaches nothing a model can use
    std::filesystem::create_directories(results_dir());
    const nlohmann::ordered_json record{
        {"trial", trial_id}, {"hyperparameters", hyperparameters}, {"value", value}};
    write_file_atomic(results_dir() / (std::to_string(trial_id) + ".json"), record.dump() + "\n");
}

std::vector<TpeObservation> TpeStore::completed() const {
    std::vector<TpeObservation> out;
    std::error_code ec;
    std::filesystem::directory_iterator it(results_dir(), ec);
    if (ec)
        return out;  // nothing published yet
    for (const auto& entry : it) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name[0] == '.' || entry.path().extension() != ".json" ||
            !entry.is_regular_file(ec))
            continue;
        try {
            const auto j = nlohmann::ordered_json::parse(read_file(entry.path()));
            TpeObservation o;
            o.trial_id = j.at("trial").get<long>();
            o.hyperparameters = j.at("hyperparameters");
            o.value = j.at("value").get<double>();
            out.push_back(std::move(o));
        } catch (const std::exception&) {
            continue;
        }
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.trial_id < b.trial_id; });
    return out;
}

std::optional<nlohmann::ordered_json> chosen_hyperparameters(const ExperimentDir& dir, long trial) {
    try {
        const auto path = dir.trial_config(trial);
        const TrialRecord record = trial_from_json(
            contracts::parse_json_document(read_file(path), path.string()), path.string());
        if (record.id == trial && record.hyperparameters.is_object())
            return record.hyperparameters;
    } catch (const std::exception&) {
        // not started by a searcher that chooses at start, or damaged: left out
    }
    return std::nullopt;
}

std::map<long, nlohmann::ordered_json> chosen_configurations(const ExperimentDir& dir) {
    std::map<long, nlohmann::ordered_json> chosen;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir.trial_dir(0).parent_path(), ec);
    if (ec)
        return chosen;  // no trial has started
    for (const auto& entry : it) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos ||
            name.size() > 18)
            continue;
        const long trial = std::stol(name);
        if (auto hps = chosen_hyperparameters(dir, trial))
            chosen.emplace(trial, std::move(*hps));
    }
    return chosen;
}

TakenConfigurations taken_configurations(const std::map<long, nlohmann::ordered_json>& chosen) {
    TakenConfigurations taken;
    for (const auto& [trial, hps] : chosen) taken.insert(hyperparameter_hash(hps));
    return taken;
}

TrialRecord choose_trial_config(const ExperimentConfig& config,
                                const std::filesystem::path& experiment_dir, long trial_id) {
    const ExperimentDir dir(experiment_dir);
    const auto target = dir.trial_config(trial_id);
    std::filesystem::create_directories(target.parent_path());
    if (!std::filesystem::exists(target)) {
        // bohb derives the same seed as tpe, so their random startup draws are the same.
        const std::uint64_t seed =
            derive_seed(config.searcher.seed.value_or(0), "tpe#trial" + std::to_string(trial_id));
        TpeSuggestion suggestion;
        nlohmann::ordered_json sampler;
        // Every chosen configuration is taken; those with no observation yet are running.
        const auto chosen = chosen_configurations(dir);
        TakenConfigurations taken = taken_configurations(chosen);
        std::set<long> observed;
        // Results whose trial.json is gone still name a configuration that was run.
        const auto take = [&](const std::vector<TpeObservation>& observations) {
            for (const auto& o : observations) {
                taken.insert(hyperparameter_hash(o.hyperparameters));
                observed.insert(o.trial_id);
            }
        };
        const auto running = [&] {
            std::vector<nlohmann::ordered_json> out;
            for (const auto& [trial, hps] : chosen) {
                if (!observed.count(trial) && still_running(dir, trial))
                    out.push_back(hps);
            }
            return out;
        };
        if (stops_early(config.searcher.strategy)) {  // bohb: the model learns from the rungs
            const AshaSchedule schedule(asha_settings(config));
            const auto observations = bohb_observations(schedule, experiment_dir, chosen);
            for (const auto& rung : observations) take(rung);
            auto bohb = suggest_bohb(config.hyperparameters, observations, tpe_settings(config),
                                     seed, taken, running());
            suggestion = std::move(bohb.tpe);
            sampler = {{"name", "bohb"}, {"based_on", suggestion.based_on}};
            if (bohb.rung) {
                sampler["rung"] = *bohb.rung;
                sampler["budget"] = schedule.rung_lengths()[static_cast<size_t>(*bohb.rung)];
            } else {
                sampler["rung"] = nullptr;
                sampler["budget"] = nullptr;
            }
        } else {
            const auto completed = TpeStore(experiment_dir).completed();
            take(completed);
            suggestion = suggest_tpe(config.hyperparameters, completed, tpe_settings(config), seed,
                                     taken, running());
            sampler = {{"name", "tpe"}, {"based_on", suggestion.based_on}};
        }
        sampler["seed"] = seed;
        if (suggestion.repeat)
            sampler["repeat"] = true;
        TrialRecord record;
        record.id = trial_id;
        for (size_t i = 0; i < suggestion.values.size(); ++i) {
            record.hyperparameters[config.hyperparameters[i].name] = suggestion.values[i].typed;
        }
        record.argv = trial_argv(config, suggestion.values);
        auto j = to_json(record);
        j["sampler"] = std::move(sampler);
        link_once(target, j.dump() + "\n");
    }
    TrialRecord chosen = dir.read_trial(trial_id);
    return chosen;
}

}  // namespace hpsweep::searcher
