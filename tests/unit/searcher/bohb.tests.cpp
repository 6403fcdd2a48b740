#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hpsweep/contracts/trial_record.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/asha.hpp"
#include "hpsweep/searcher/bohb.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/strategy.hpp"
#include "hpsweep/searcher/tpe.hpp"
#include "hpsweep/searcher/tpe_store.hpp"
#include "sweep_config.hpp"

namespace fs = std::filesystem;
using namespace hpsweep::searcher;

namespace {

fs::path fresh_experiment(const std::string& name) {
    auto dir =
        fs::temp_directory_path() / ("hpsweep-bohb-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// A fresh experiment directory holding the sweep's placeholder table, as submit writes it.
fs::path placeholder_sweep(const std::string& name, const ExperimentConfig& c) {
    const auto dir = fresh_experiment(name);
    hpsweep::ExperimentDir(dir).write_trials(generate_trials(c, *c.searcher.seed));
    return dir;
}

// Rungs at epochs 1, 3, 9, 27 (divisor 3, 4 rungs), every trial judged from rung 0.
ExperimentConfig bohb_config(long long max_trials, std::uint64_t seed = 11) {
    auto c = parse_experiment_config(R"(
entrypoint: train
hyperparameters:
  lr: {type: log, minval: -5, maxval: -1}
  dropout: {type: double, minval: 0, maxval: 0.8}
  act: {type: categorical, vals: [relu, tanh, gelu]}
searcher:
  name: bohb
  metric: loss
  max_trials: 40
  max_length: {epochs: 27}
  divisor: 3
  max_rungs: 4
  mode: aggressive
  startup_trials: 6
)",
                                     "bohb.yaml");
    c.searcher.max_trials = max_trials;
    c.searcher.seed = seed;
    return c;
}

// bohb_config's space made finite: 3 x 3 x 3 = 27 configurations.
ExperimentConfig finite_bohb_config(long long max_trials) {
    auto c = bohb_config(max_trials);
    auto finite = parse_experiment_config(R"(
entrypoint: train
hyperparameters:
  lr: [0.0001, 0.001, 0.01]
  dropout: [0.1, 0.3, 0.5]
  act: {type: categorical, vals: [relu, tanh, gelu]}
searcher: {name: random, max_trials: 1}
)",
                                          "finite.yaml");
    c.hyperparameters = finite.hyperparameters;
    return c;
}

// A learning curve whose final value is best at lr = 1e-3, dropout = 0.3, gelu; early epochs
// add a term that shrinks as 1/epoch, larger for small learning rates (they learn slower).
double loss_at(const nlohmann::ordered_json& hp, long epoch) {
    const double lr = std::log10(hp["lr"].get<double>());
    const double dropout = hp["dropout"].get<double>();
    const double final_loss = (lr + 3) * (lr + 3) + 4 * (dropout - 0.3) * (dropout - 0.3) +
                              (hp["act"].get<std::string>() == "gelu" ? 0 : 0.5);
    return final_loss + (0.5 - 0.1 * lr) / static_cast<double>(epoch);
}

nlohmann::ordered_json as_json(const ExperimentConfig& c, const std::vector<Value>& values) {
    nlohmann::ordered_json hp;
    for (size_t i = 0; i < values.size(); ++i) hp[c.hyperparameters[i].name] = values[i].typed;
    return hp;
}

TpeObservation observation(long trial, double value) {
    return {trial, nlohmann::ordered_json{{"lr", 0.001}}, value};
}

struct Chosen {
    nlohmann::ordered_json hyperparameters;
    std::optional<int> rung;
    long based_on = 0;
    bool repeat = false;
};

// The pool: `batch` trials start (choose their configuration), then each runs through the
// rungs in trial order until ASHA stops it or it completes. `start` chooses a trial's
// configuration, `report` records a rung value and says whether the trial goes on,
// `complete` publishes a final value.
template <typename Start, typename Report, typename Complete>
std::vector<Chosen> run_sweep(const ExperimentConfig& c, long trials, long batch, Start start,
                              Report report, Complete complete) {
    const AshaSchedule schedule(asha_settings(c));
    const auto& rungs = schedule.rung_lengths();
    std::vector<Chosen> chosen;
    for (long first = 0; first < trials; first += batch) {
        for (long id = first; id < std::min(trials, first + batch); ++id)
            chosen.push_back(start(id));
        for (long id = first; id < std::min(trials, first + batch); ++id) {
            const auto& hp = chosen[static_cast<size_t>(id)].hyperparameters;
            bool stopped = false;
            for (size_t k = 0; k < rungs.size() && !stopped; ++k)
                stopped =
                    !report(id, static_cast<int>(k), loss_at(hp, rungs[k])) && k + 1 < rungs.size();
            if (!stopped)
                complete(id, hp, loss_at(hp, rungs.back()));
        }
    }
    return chosen;
}

// Reference: the same sweep in memory, with BOHB's rule applied to vectors.
std::vector<Chosen> sequential_bohb(const ExperimentConfig& c, long trials, long batch) {
    const AshaSchedule schedule(asha_settings(c));
    const auto rung_count = schedule.rung_lengths().size();
    std::vector<std::vector<RungResult>> rung_results(rung_count);
    std::map<long, nlohmann::ordered_json> hps;
    std::map<long, double> completed;
    const auto observations = [&] {
        BohbObservations by_rung(rung_count);
        for (size_t k = 0; k < rung_count; ++k) {
            std::map<long, double> values;
            for (const auto& r : rung_results[k]) values.emplace(r.trial_id, r.value);
            if (k + 1 == rung_count) {
                for (const auto& [id, value] : completed) values[id] = value;
            }
            for (const auto& [id, value] : values) by_rung[k].push_back({id, hps.at(id), value});
        }
        return by_rung;
    };
    return run_sweep(
        c, trials, batch,
        [&](long id) {
            const auto seed = derive_seed(*c.searcher.seed, "tpe#trial" + std::to_string(id));
            TakenConfigurations taken;  // every trial started before, stopped ones included
            for (const auto& [earlier, hp] : hps) taken.insert(hpsweep::hyperparameter_hash(hp));
            // Running: started, with no rung record and no final value yet.
            std::vector<nlohmann::ordered_json> running;
            for (const auto& [earlier, hp] : hps) {
                bool observed = completed.count(earlier) > 0;
                for (const auto& rung : rung_results)
                    for (const auto& r : rung) observed = observed || r.trial_id == earlier;
                if (!observed)
                    running.push_back(hp);
            }
            const auto s = suggest_bohb(c.hyperparameters, observations(), tpe_settings(c), seed,
                                        taken, running);
            hps[id] = as_json(c, s.tpe.values);
            return Chosen{hps[id], s.rung, s.tpe.based_on, s.tpe.repeat};
        },
        [&](long id, int rung, double value) {
            auto& results = rung_results[static_cast<size_t>(rung)];
            results.push_back({id, value, static_cast<long>(results.size())});
            return asha_continues(schedule, results, id);
        },
        [&](long id, const nlohmann::ordered_json&, double value) { completed[id] = value; });
}

}  // namespace

TEST_CASE("BOHB's model uses the largest rung with at least startup_trials observations",
          "[searcher][bohb]") {
    BohbObservations by_rung(3);
    CHECK_FALSE(bohb_model_rung(by_rung, 3));
    for (long i = 0; i < 5; ++i) by_rung[0].push_back(observation(i, 0.1 * i));
    CHECK(bohb_model_rung(by_rung, 3) == 0);
    CHECK_FALSE(bohb_model_rung(by_rung, 6));
    for (long i = 0; i < 3; ++i) by_rung[1].push_back(observation(i, 0.1 * i));
    CHECK(bohb_model_rung(by_rung, 3) == 1);
    CHECK(bohb_model_rung(by_rung, 4) == 0);  // rung 1 has too few: the lower budget
    // Non-finite values (a diverged trial) do not count towards a rung's observations.
    by_rung[2] = {observation(0, 0.2), observation(1, std::nan("")), observation(2, 0.3)};
    CHECK(bohb_model_rung(by_rung, 3) == 1);
    by_rung[2].push_back(observation(3, 0.4));
    CHECK(bohb_model_rung(by_rung, 3) == 2);
    CHECK(bohb_model_rung(by_rung, 0) == 2);  // at least one observation
}

TEST_CASE("BOHB draws at random until a rung has enough, then fits TPE to that rung",
          "[searcher][bohb]") {
    const auto c = bohb_config(10);
    // A seed outside BOHB's random fraction, so that the model is used once a rung has enough.
    std::uint64_t seed = 5;
    while (bohb_draws_at_random(seed)) ++seed;
    BohbObservations by_rung(4);
    for (long i = 0; i < 5; ++i) by_rung[0].push_back(observation(i, 0.1 * i));
    const auto random = suggest_bohb(c.hyperparameters, by_rung, tpe_settings(c), seed);
    CHECK_FALSE(random.rung);
    CHECK(random.tpe.based_on == 0);
    // The random phase draws exactly what TPE's startup draws for the same seed.
    CHECK(as_json(c, random.tpe.values) ==
          as_json(c, suggest_tpe(c.hyperparameters, {}, tpe_settings(c), seed).values));
    for (long i = 5; i < 8; ++i) by_rung[0].push_back(observation(i, 0.1 * i));
    const auto modelled = suggest_bohb(c.hyperparameters, by_rung, tpe_settings(c), seed);
    REQUIRE(modelled.rung == 0);
    CHECK(modelled.tpe.based_on == 8);
    CHECK(as_json(c, modelled.tpe.values) ==
          as_json(c, suggest_tpe(c.hyperparameters, by_rung[0], tpe_settings(c), seed).values));
}

TEST_CASE("BOHB draws a third of its configurations at random even when a rung has enough",
          "[searcher][bohb]") {
    const auto c = bohb_config(10);
    BohbObservations by_rung(4);
    for (long i = 0; i < 8; ++i) by_rung[0].push_back(observation(i, 0.1 * i));
    long random_draws = 0;
    constexpr long seeds = 600;
    for (std::uint64_t seed = 0; seed < seeds; ++seed) {
        const auto s = suggest_bohb(c.hyperparameters, by_rung, tpe_settings(c), seed);
        CHECK(bohb_draws_at_random(seed) == !s.rung);
        if (!s.rung) {
            ++random_draws;
            CHECK(s.tpe.based_on == 0);
            CHECK(as_json(c, s.tpe.values) ==
                  as_json(c, suggest_tpe(c.hyperparameters, {}, tpe_settings(c), seed).values));
        }
    }
    // 600 fair draws at 1/3: 200 expected, sd about 11.5; 150..250 is more than 4 sd.
    CHECK(random_draws > 150);
    CHECK(random_draws < 250);
}

namespace {

// The sweep through the files, as the launchers run it: choose_trial_config,
// AshaStore::report, TpeStore::publish. `stopped` counts the trials ASHA stopped.
std::vector<Chosen> file_based_bohb(const ExperimentConfig& c, const fs::path& dir, long trials,
                                    long batch, long& stopped) {
    const hpsweep::ExperimentDir exp(dir);
    AshaStore store(dir, AshaSchedule(asha_settings(c)));
    return run_sweep(
        c, trials, batch,
        [&](long id) {
            const auto trial = choose_trial_config(c, dir, id);
            const auto recorded = nlohmann::json::parse(hpsweep::read_file(exp.trial_config(id)));
            const auto& sampler = recorded["sampler"];
            CHECK(sampler["name"] == "bohb");
            std::optional<int> rung;
            if (!sampler["rung"].is_null())
                rung = sampler["rung"].get<int>();
            return Chosen{trial.hyperparameters, rung, sampler["based_on"].get<long>(),
                          sampler.value("repeat", false)};
        },
        [&](long id, int rung, double value) {
            const bool goes_on = store.report(id, rung, value) == AshaDecision::continue_training;
            stopped += goes_on ? 0 : 1;
            return goes_on;
        },
        [&](long id, const nlohmann::ordered_json& hp, double value) {
            TpeStore(dir).publish(id, hp, value);
        });
}

}  // namespace

TEST_CASE("the file-based BOHB sweep chooses exactly what the in-memory reference chooses",
          "[searcher][bohb]") {
    const auto c = bohb_config(48);
    const auto dir = placeholder_sweep("sequential", c);
    const auto reference = sequential_bohb(c, 48, 4);
    long stopped = 0;
    const auto files = file_based_bohb(c, dir, 48, 4, stopped);
    REQUIRE(files.size() == reference.size());
    std::set<int> rungs_used;
    for (size_t i = 0; i < files.size(); ++i) {
        INFO("trial " << i);
        REQUIRE(files[i].hyperparameters == reference[i].hyperparameters);
        CHECK(files[i].rung == reference[i].rung);
        CHECK(files[i].based_on == reference[i].based_on);
        if (files[i].rung)
            rungs_used.insert(*files[i].rung);
    }
    // The first batches are random (no rung has 6 results yet); later ones are modelled.
    CHECK_FALSE(files[0].rung);
    CHECK(files.back().based_on >= 6);
    CHECK_FALSE(rungs_used.empty());
    CHECK(stopped > 0);
    fs::remove_all(dir);
}

TEST_CASE("on a finite space BOHB takes each configuration once, file-based as the reference",
          "[searcher][bohb]") {
    const auto c = finite_bohb_config(30);
    const auto dir = placeholder_sweep("finite", c);
    const auto reference = sequential_bohb(c, 30, 4);
    long stopped = 0;
    const auto files = file_based_bohb(c, dir, 30, 4, stopped);
    REQUIRE(files.size() == reference.size());
    std::set<std::string> seen;
    bool modelled = false;
    for (size_t i = 0; i < files.size(); ++i) {
        INFO("trial " << i);
        REQUIRE(files[i].hyperparameters == reference[i].hyperparameters);
        CHECK(files[i].rung == reference[i].rung);
        CHECK(files[i].repeat == reference[i].repeat);
        // Stopped trials count as taken too: 27 distinct, then the 3 left over repeat.
        CHECK(files[i].repeat == (i >= 27));
        if (i < 27)
            CHECK(seen.insert(hpsweep::hyperparameter_hash(files[i].hyperparameters)).second);
        modelled = modelled || files[i].rung.has_value();
    }
    CHECK(modelled);
    CHECK(stopped > 0);
    fs::remove_all(dir);
}

TEST_CASE("BOHB's observations join rung records with trial.json; completed results count last",
          "[searcher][bohb]") {
    const auto c = bohb_config(6);
    const auto dir = placeholder_sweep("join", c);
    const hpsweep::ExperimentDir exp(dir);
    const AshaSchedule schedule(asha_settings(c));
    AshaStore store(dir, schedule);
    for (long id = 0; id < 3; ++id) (void)choose_trial_config(c, dir, id);
    (void)store.report(0, 0, 0.5);
    (void)store.report(1, 0, 0.4);
    (void)store.report(0, 3, 0.30);
    // Trial 5 never started through the searcher (no trial.json): its record is left out.
    (void)store.report(5, 0, 0.1);
    // Trial 4's trial.json is damaged: left out too, the sweep goes on.
    fs::create_directories(exp.trial_dir(4));
    hpsweep::write_file_atomic(exp.trial_config(4), "{\"id\": 4, \"hyper");
    (void)store.report(4, 0, 0.2);
    const auto hp0 = exp.read_trial(0).hyperparameters;
    TpeStore(dir).publish(0, hp0, 0.25);  // the final value replaces the rung-3 record
    TpeStore(dir).publish(2, exp.read_trial(2).hyperparameters, 0.35);

    const auto by_rung = bohb_observations(schedule, dir);
    REQUIRE(by_rung.size() == 4);
    REQUIRE(by_rung[0].size() == 2);
    CHECK(by_rung[0][0].trial_id == 0);
    CHECK(by_rung[0][0].value == 0.5);
    CHECK(by_rung[0][0].hyperparameters == hp0);
    CHECK(by_rung[0][1].trial_id == 1);
    CHECK(by_rung[1].empty());
    CHECK(by_rung[2].empty());
    REQUIRE(by_rung[3].size() == 2);
    CHECK(by_rung[3][0].trial_id == 0);
    CHECK(by_rung[3][0].value == 0.25);
    CHECK(by_rung[3][1].trial_id == 2);
    CHECK(by_rung[3][1].value == 0.35);
    fs::remove_all(dir);
}

TEST_CASE("bohb configs need ASHA's and TPE's keys, with the file and line of the searcher",
          "[searcher][bohb]") {
    const auto load = [](const std::string& searcher) {
        return config_with_searcher(searcher, "b.yaml");
    };
    CHECK_THROWS_WITH(load("{name: bohb, max_trials: 5, max_length: {epochs: 9}}"),
                      Catch::Contains("b.yaml:3:") && Catch::Contains("bohb needs 'metric'"));
    CHECK_THROWS_WITH(load("{name: bohb, metric: loss, max_trials: 5}"),
                      Catch::Contains("b.yaml:3:") && Catch::Contains("bohb needs 'max_length'"));
    CHECK_THROWS_WITH(load("{name: bohb, metric: loss, max_length: {epochs: 9}}"),
                      Catch::Contains("b.yaml:3:") && Catch::Contains("max_trials"));
    CHECK_THROWS_WITH(
        load("{name: bohb, metric: loss, max_trials: 5, max_length: {epochs: 9}, mode: fast}"),
        Catch::Contains("b.yaml:3:") && Catch::Contains("searcher.mode"));
    CHECK_THROWS_WITH(load("{name: bohb, metric: loss, max_trials: 5, max_length: {epochs: 9}, "
                           "divisor: 1}"),
                      Catch::Contains("b.yaml:3:") && Catch::Contains("divisor"));
    CHECK_THROWS_WITH(load("{name: bohb, metric: loss, max_trials: 5, max_length: {epochs: 9}, "
                           "startup_trials: 0}"),
                      Catch::Contains("b.yaml:3:") && Catch::Contains("startup_trials"));

    const auto c = bohb_config(12);
    CHECK(c.searcher.strategy == hpsweep::Strategy::bohb);
    const auto yaml = to_yaml(c);
    for (const char* key :
         {"name: bohb", "divisor: 3", "max_rungs: 4", "mode: aggressive", "startup_trials: 6"})
        CHECK(yaml.find(key) != std::string::npos);
    const auto back = parse_experiment_config(yaml, "back.yaml");
    CHECK(back.searcher.strategy == hpsweep::Strategy::bohb);
    CHECK(back.searcher.startup_trials == 6);
    CHECK(back.searcher.divisor == 3);
    // Placeholders, as for tpe: each trial chooses when it starts.
    const auto trials = generate_trials(c, 1);
    REQUIRE(trials.size() == 12);
    CHECK(trials[11].chosen_at_start);
    CHECK(trials[11].hyperparameters.empty());
}

TEST_CASE("bohb's max_length is converted to searcher.step_unit like ASHA's", "[searcher][bohb]") {
    const auto c = parse_experiment_config(R"(
entrypoint: train
records_per_epoch: 1000
hyperparameters: {lr: {type: double, minval: 0, maxval: 1}}
searcher:
  name: bohb
  metric: loss
  max_trials: 4
  max_length: {records: 27000}
  step_unit: epochs
  divisor: 3
  max_rungs: 4
)",
                                           "units.yaml");
    REQUIRE(c.searcher.max_length);
    CHECK(c.searcher.max_length->value == 27);
    CHECK(AshaSchedule(asha_settings(c)).rung_lengths() == std::vector<long>{1, 3, 9, 27});
}
