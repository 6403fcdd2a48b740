#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "hpsweep/contracts/trial_record.hpp"
#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
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
        fs::temp_directory_path() / ("hpsweep-tpe-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// A fresh experiment directory holding the trial table that the config's seed plans.
fs::path planned_experiment(const std::string& name, const ExperimentConfig& c) {
    const auto dir = fresh_experiment(name);
    hpsweep::ExperimentDir(dir).write_trials(generate_trials(c, *c.searcher.seed));
    return dir;
}

// The experiment file `yaml`, with its searcher's max_trials and seed set.
ExperimentConfig sweep_config(const std::string& yaml, const std::string& name,
                              long long max_trials, std::uint64_t seed) {
    auto c = parse_experiment_config(yaml, name);
    c.searcher.max_trials = max_trials;
    c.searcher.seed = seed;
    return c;
}

ExperimentConfig tpe_config(long long max_trials = 40, std::uint64_t seed = 7) {
    return sweep_config(R"(
entrypoint: train
hyperparameters:
  lr: {type: log, minval: -5, maxval: -1}
  dropout: {type: double, minval: 0, maxval: 0.8}
  layers: {type: int, minval: 1, maxval: 8}
  act: {type: categorical, vals: [relu, tanh, gelu]}
searcher: {name: tpe, metric: loss, max_trials: 40, startup_trials: 10}
)",
                        "tpe.yaml", max_trials, seed);
}

// A smooth objective with one best region: lr = 1e-3, dropout = 0.3, layers = 4, gelu.
double objective(const nlohmann::ordered_json& hp) {
    const double lr = std::log10(hp["lr"].get<double>());
    const double dropout = hp["dropout"].get<double>();
    const double layers = hp["layers"].get<double>();
    const std::string act = hp["act"].get<std::string>();
    return (lr + 3) * (lr + 3) + 4 * (dropout - 0.3) * (dropout - 0.3) +
           0.05 * (layers - 4) * (layers - 4) + (act == "gelu" ? 0 : 0.5);
}

nlohmann::ordered_json as_json(const ExperimentConfig& c, const std::vector<Value>& values) {
    nlohmann::ordered_json hp;
    for (size_t i = 0; i < values.size(); ++i) hp[c.hyperparameters[i].name] = values[i].typed;
    return hp;
}

// Reference for an array of `batch` tasks at a time: a batch starts (each task sees the
// results of earlier batches, the configurations every earlier task chose, and those of its
// own batch that started before it as running), then its trials complete.
struct Started {
    nlohmann::ordered_json hyperparameters;
    bool repeat = false;
};
std::vector<Started> batched_tpe(const ExperimentConfig& c, long trials, long batch,
                                 double (*score)(const nlohmann::ordered_json&)) {
    std::vector<TpeObservation> history;
    std::vector<Started> chosen;
    TakenConfigurations taken;
    for (long first = 0; first < trials; first += batch) {
        const long end = std::min(trials, first + batch);
        for (long id = first; id < end; ++id) {
            const auto seed = derive_seed(*c.searcher.seed, "tpe#trial" + std::to_string(id));
            std::vector<nlohmann::ordered_json> running;
            for (long r = first; r < id; ++r)
                running.push_back(chosen[static_cast<size_t>(r)].hyperparameters);
            const auto s =
                suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, taken, running);
            chosen.push_back({as_json(c, s.values), s.repeat});
            taken.insert(hpsweep::hyperparameter_hash(chosen.back().hyperparameters));
        }
        for (long id = first; id < end; ++id) {
            const auto& hp = chosen[static_cast<size_t>(id)].hyperparameters;
            history.push_back({id, hp, score(hp)});
        }
    }
    return chosen;
}

// Reference: the sweep run sequentially in memory, each trial completing before the next
// starts, with the seed each trial of the file-based sweep uses.
std::vector<nlohmann::ordered_json> sequential_tpe(const ExperimentConfig& c, long trials) {
    std::vector<nlohmann::ordered_json> chosen;
    for (auto& started : batched_tpe(c, trials, 1, objective))
        chosen.push_back(std::move(started.hyperparameters));
    return chosen;
}

// A finite space of 12 configurations: 4 integers x 3 choices.
ExperimentConfig finite_tpe_config(long long max_trials) {
    return sweep_config(R"(
entrypoint: train
hyperparameters:
  layers: {type: int, minval: 1, maxval: 4}
  act: {type: categorical, vals: [relu, tanh, gelu]}
searcher: {name: tpe, metric: loss, max_trials: 12, startup_trials: 4}
)",
                        "finite.yaml", max_trials, 3);
}

double finite_objective(const nlohmann::ordered_json& hp) {
    const double layers = hp["layers"].get<double>();
    return 0.3 * (layers - 3) * (layers - 3) + (hp["act"] == "gelu" ? 0 : 0.5);
}

// The 12 configurations of finite_tpe_config, as trial.json records them.
std::vector<nlohmann::ordered_json> every_finite_configuration() {
    std::vector<nlohmann::ordered_json> out;
    for (long layers = 1; layers <= 4; ++layers)
        for (const char* act : {"relu", "tanh", "gelu"})
            out.push_back(nlohmann::ordered_json{{"layers", layers}, {"act", act}});
    return out;
}

// Results of every_finite_configuration()[0], [stride], [2 stride], ... as trials 0, 1, ...
std::vector<TpeObservation> finite_history(long count, long stride) {
    const auto every = every_finite_configuration();
    std::vector<TpeObservation> history;
    for (long id = 0; id < count; ++id) {
        const auto& hp = every[static_cast<size_t>(id * stride)];
        history.push_back({id, hp, finite_objective(hp)});
    }
    return history;
}

// The sweep through the files, `batch` tasks at a time: every task of a batch chooses
// (choose_trial_config, while the others of its batch run) before any of them publishes.
std::vector<hpsweep::TrialRecord> file_based_tpe(const ExperimentConfig& c, const fs::path& dir,
                                                 long trials, long batch,
                                                 double (*score)(const nlohmann::ordered_json&)) {
    std::vector<hpsweep::TrialRecord> chosen;
    for (long first = 0; first < trials; first += batch) {
        const long end = std::min(trials, first + batch);
        for (long id = first; id < end; ++id) chosen.push_back(choose_trial_config(c, dir, id));
        for (long id = first; id < end; ++id) {
            const auto& t = chosen[static_cast<size_t>(id)];
            TpeStore(dir).publish(t.id, t.hyperparameters, score(t.hyperparameters));
        }
    }
    return chosen;
}

}  // namespace

TEST_CASE("on a finite space TPE proposes no configuration twice while one is untaken",
          "[searcher][tpe]") {
    const auto c = finite_tpe_config(14);
    const auto chosen = batched_tpe(c, 14, 1, finite_objective);
    std::set<std::string> seen;
    for (long id = 0; id < 12; ++id) {
        INFO("trial " << id);
        CHECK_FALSE(chosen[static_cast<size_t>(id)].repeat);
        CHECK(seen.insert(
                      hpsweep::hyperparameter_hash(chosen[static_cast<size_t>(id)].hyperparameters))
                  .second);
    }
    // Every configuration taken: the first choice again, said to be a repeat.
    std::vector<TpeObservation> history;
    TakenConfigurations all;
    for (long id = 0; id < 12; ++id) {
        const auto& hp = chosen[static_cast<size_t>(id)].hyperparameters;
        history.push_back({id, hp, finite_objective(hp)});
        all.insert(hpsweep::hyperparameter_hash(hp));
    }
    for (long id = 12; id < 14; ++id) {
        const auto seed = derive_seed(*c.searcher.seed, "tpe#trial" + std::to_string(id));
        const auto again = suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, all);
        CHECK(again.repeat);
        CHECK(again.based_on == 12);
        CHECK(again.values ==
              suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed).values);
        CHECK(chosen[static_cast<size_t>(id)].repeat);
    }
}

TEST_CASE("with one configuration left, random and modelled choices both find it",
          "[searcher][tpe]") {
    const auto c = finite_tpe_config(12);
    const auto every = every_finite_configuration();
    const auto history = finite_history(11, 1);
    for (size_t left = 0; left < every.size(); ++left) {
        TakenConfigurations taken;
        for (size_t i = 0; i < every.size(); ++i)
            if (i != left)
                taken.insert(hpsweep::hyperparameter_hash(every[i]));
        INFO("left: " << every[left].dump());
        for (const std::uint64_t seed : {1u, 2u, 3u}) {
            const auto random = suggest_tpe(c.hyperparameters, {}, tpe_settings(c), seed, taken);
            CHECK_FALSE(random.repeat);
            CHECK(as_json(c, random.values) == every[left]);
            const auto modelled =
                suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, taken);
            CHECK(modelled.based_on == 11);
            CHECK_FALSE(modelled.repeat);
            CHECK(as_json(c, modelled.values) == every[left]);
        }
    }
}

TEST_CASE("skipping taken configurations is deterministic and changes nothing untaken",
          "[searcher][tpe]") {
    const auto c = finite_tpe_config(12);
    const auto every = every_finite_configuration();
    const auto history = finite_history(6, 2);
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        const auto free = suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed);
        TakenConfigurations first{hpsweep::hyperparameter_hash(as_json(c, free.values))};
        const auto a = suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, first);
        const auto b = suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, first);
        CHECK(a.values == b.values);
        CHECK(as_json(c, a.values) != as_json(c, free.values));
        CHECK_FALSE(a.repeat);
        // A taken set that does not hold the first choice changes nothing.
        TakenConfigurations unrelated{hpsweep::hyperparameter_hash({{"layers", 99}, {"act", "x"}})};
        CHECK(suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, unrelated).values ==
              free.values);
    }
}

TEST_CASE("the below set is ceil(n/10), between 1 and 25 trials", "[searcher][tpe]") {
    CHECK(tpe_below_count(0) == 1);
    CHECK(tpe_below_count(1) == 1);
    CHECK(tpe_below_count(10) == 1);
    CHECK(tpe_below_count(11) == 2);
    CHECK(tpe_below_count(100) == 10);
    CHECK(tpe_below_count(1000) == 25);
}

TEST_CASE("before startup_trials have completed TPE draws at random, inside the space",
          "[searcher][tpe]") {
    const auto c = tpe_config();
    std::vector<TpeObservation> few;
    for (long id = 0; id < 9; ++id) {
        const auto s = suggest_tpe(c.hyperparameters, few, tpe_settings(c), 100 + id);
        CHECK(s.based_on == 0);
        few.push_back({id, as_json(c, s.values), objective(as_json(c, s.values))});
    }
    const auto tenth = suggest_tpe(c.hyperparameters, few, tpe_settings(c), 5);
    CHECK(tenth.based_on == 0);
    few.push_back({9, as_json(c, tenth.values), 1.0});
    const auto modelled = suggest_tpe(c.hyperparameters, few, tpe_settings(c), 5);
    CHECK(modelled.based_on == 10);
    const auto hp = as_json(c, modelled.values);
    CHECK(hp["lr"].get<double>() >= 1e-5);
    CHECK(hp["lr"].get<double>() <= 1e-1);
    CHECK(hp["layers"].is_number_integer());
    CHECK(hp["layers"].get<long>() >= 1);
    CHECK(hp["layers"].get<long>() <= 8);
    CHECK(hp["dropout"].get<double>() >= 0);
    CHECK(hp["dropout"].get<double>() <= 0.8);
}

TEST_CASE("the same history and seed give the same suggestion; non-finite results are ignored",
          "[searcher][tpe]") {
    const auto c = tpe_config();
    const auto reference = sequential_tpe(c, 20);
    std::vector<TpeObservation> history;
    for (long id = 0; id < 20; ++id)
        history.push_back({id, reference[id], objective(reference[id])});
    const auto a = suggest_tpe(c.hyperparameters, history, tpe_settings(c), 99);
    auto with_nan = history;
    with_nan.push_back({20, reference[0], std::nan("")});
    const auto b = suggest_tpe(c.hyperparameters, with_nan, tpe_settings(c), 99);
    CHECK(as_json(c, a.values) == as_json(c, b.values));
    CHECK(a.based_on == 20);
    CHECK(b.based_on == 20);
}

TEST_CASE("TPE's later trials concentrate where the earlier results were good", "[searcher][tpe]") {
    // Over 10 sweeps of 60 trials, the modelled trials 30..59 are on average far better than
    // random search's trials 30..59 (the objective's mean over the space is about 2.2).
    double tpe_later = 0, random_later = 0;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        auto c = tpe_config(60, seed);
        const auto tpe = sequential_tpe(c, 60);
        c.searcher.strategy = Strategy::random;
        const auto random = generate_trials(c, seed);
        for (size_t i = 30; i < 60; ++i) {
            tpe_later += objective(tpe[i]);
            random_later += objective(random[i].hyperparameters);
        }
    }
    CHECK(tpe_later < 0.5 * random_later);
}

TEST_CASE("the file-based sweep chooses exactly what the sequential reference chooses",
          "[searcher][tpe]") {
    const auto c = tpe_config(30);
    const auto dir = planned_experiment("sequential", c);
    const hpsweep::ExperimentDir exp(dir);
    const auto reference = sequential_tpe(c, 30);
    TpeStore store(dir);
    for (long id = 0; id < 30; ++id) {
        const auto chosen = choose_trial_config(c, dir, id);
        REQUIRE(chosen.hyperparameters == reference[id]);
        const auto recorded = nlohmann::json::parse(hpsweep::read_file(exp.trial_config(id)));
        CHECK(recorded["sampler"]["based_on"].get<long>() == (id < 10 ? 0 : id));
        store.publish(id, chosen.hyperparameters, objective(chosen.hyperparameters));
    }
    CHECK(store.completed().size() == 30);
    fs::remove_all(dir);
}

TEST_CASE("the file-based sweep on a finite space takes each configuration once, as the reference",
          "[searcher][tpe]") {
    const auto c = finite_tpe_config(14);
    const auto dir = planned_experiment("finite", c);
    const hpsweep::ExperimentDir exp(dir);
    // 4 tasks at a time: each chooses while the others of its batch run, so it must skip
    // what they chose (their trial.json) before any of them published a result.
    const auto reference = batched_tpe(c, 14, 4, finite_objective);
    const auto files = file_based_tpe(c, dir, 14, 4, finite_objective);
    std::set<std::string> seen;
    for (long id = 0; id < 14; ++id) {
        INFO("trial " << id);
        const auto& hp = files[static_cast<size_t>(id)].hyperparameters;
        REQUIRE(hp == reference[static_cast<size_t>(id)].hyperparameters);
        const auto sampler =
            nlohmann::json::parse(hpsweep::read_file(exp.trial_config(id)))["sampler"];
        CHECK(sampler.value("repeat", false) == (id >= 12));
        if (id < 12)
            CHECK(seen.insert(hpsweep::hyperparameter_hash(hp)).second);
    }
    CHECK(seen.size() == 12);
    // A damaged trial.json of another trial is left out of the taken set, not an error:
    // trial 5's configuration is gone unless a repeat (trial 12 or 13) also holds it.
    const auto hash_of = [&](long id) {
        return hpsweep::hyperparameter_hash(reference[static_cast<size_t>(id)].hyperparameters);
    };
    const bool repeated = hash_of(5) == hash_of(12) || hash_of(5) == hash_of(13);
    hpsweep::write_file_atomic(exp.trial_config(5), "{\"id\": 5, \"hyper");
    CHECK(taken_configurations(chosen_configurations(exp)).size() == (repeated ? 12u : 11u));
    CHECK(chosen_configurations(exp).size() == 13);
    CHECK_FALSE(chosen_configurations(exp).count(5));
    fs::remove_all(dir);
}

TEST_CASE("a trial's configuration is recorded once: a requeue or another rank runs the same",
          "[searcher][tpe]") {
    const auto c = tpe_config(12);
    const auto dir = planned_experiment("once", c);
    const hpsweep::ExperimentDir exp(dir);
    // Before it starts, the table shows a placeholder: no hyper-parameters, the entrypoint.
    auto before = exp.read_trial(3);
    CHECK(before.chosen_at_start);
    CHECK(before.hyperparameters.empty());
    CHECK(before.argv == std::vector<std::string>{"train"});

    const auto first = choose_trial_config(c, dir, 3);
    // Results published in between would change a fresh suggestion, not the recorded one.
    TpeStore store(dir);
    for (long id = 20; id < 40; ++id) store.publish(id, first.hyperparameters, 0.5);
    const auto again = choose_trial_config(c, dir, 3);
    CHECK(again.hyperparameters == first.hyperparameters);
    CHECK(again.argv == first.argv);
    CHECK(first.argv.size() == 1 + 2 * c.hyperparameters.size());
    const auto table = exp.read_trials();
    CHECK(table[3].hyperparameters == first.hyperparameters);
    CHECK(table[4].hyperparameters.empty());
    // No temporary files are left next to it.
    for (const auto& e : fs::directory_iterator(exp.trial_dir(3)))
        CHECK(e.path().filename() == "trial.json");
    fs::remove_all(dir);
}

TEST_CASE("a damaged trial.json is an error naming the file", "[searcher][tpe]") {
    const auto c = tpe_config(4);
    const auto dir = planned_experiment("damaged", c);
    const hpsweep::ExperimentDir exp(dir);
    fs::create_directories(exp.trial_dir(1));
    hpsweep::write_file_atomic(exp.trial_config(1), "{\"id\": 1, \"hyper");
    CHECK_THROWS_WITH(exp.read_trials(), Catch::Contains(exp.trial_config(1).string()));
    hpsweep::write_file_atomic(exp.trial_config(1),
                               R"({"id": 2, "hyperparameters": {}, "argv": ["x"]})");
    CHECK_THROWS_WITH(exp.read_trials(), Catch::Contains("record of trial 2"));
    fs::remove_all(dir);
}

TEST_CASE("tpe configs need a metric and max_trials; startup_trials is kept", "[searcher][tpe]") {
    CHECK_THROWS_WITH(parse_experiment_config(R"(
entrypoint: train
hyperparameters: {lr: {type: double, minval: 0, maxval: 1}}
searcher: {name: tpe, max_trials: 5}
)",
                                              "t.yaml"),
                      Catch::Contains("tpe needs 'metric'"));
    CHECK_THROWS_WITH(parse_experiment_config(R"(
entrypoint: train
hyperparameters: {lr: {type: double, minval: 0, maxval: 1}}
searcher: {name: tpe, metric: loss}
)",
                                              "t.yaml"),
                      Catch::Contains("max_trials"));
    const auto c = tpe_config();
    CHECK(c.searcher.startup_trials == 10);
    CHECK(to_yaml(c).find("startup_trials: 10") != std::string::npos);
    const auto trials = generate_trials(c, 1);
    REQUIRE(trials.size() == 40);
    CHECK(trials[39].chosen_at_start);
}

namespace {

// A configuration of tpe_config as a point of the unit cube (log lr, dropout, layers, act).
std::vector<double> unit_point(const nlohmann::ordered_json& hp) {
    const double act = hp["act"] == "relu" ? 0 : hp["act"] == "tanh" ? 0.5 : 1;
    return {(std::log10(hp["lr"].get<double>()) + 5) / 4, hp["dropout"].get<double>() / 0.8,
            (hp["layers"].get<double>() - 1) / 7, act};
}

double distance(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b) {
    const auto x = unit_point(a), y = unit_point(b);
    double d = 0;
    for (size_t i = 0; i < x.size(); ++i) d += (x[i] - y[i]) * (x[i] - y[i]);
    return std::sqrt(d);
}

// The 20 completed trials of the sequential reference, as the history of a modelled choice.
std::vector<TpeObservation> reference_history(const ExperimentConfig& c) {
    std::vector<TpeObservation> history;
    const auto reference = sequential_tpe(c, 20);
    for (long id = 0; id < 20; ++id)
        history.push_back({id, reference[static_cast<size_t>(id)],
                           objective(reference[static_cast<size_t>(id)])});
    return history;
}

}  // namespace

TEST_CASE("running trials push the next choice away from them (constant liar)", "[searcher][tpe]") {
    const auto c = tpe_config();
    const auto history = reference_history(c);
    auto no_liar = tpe_settings(c);
    no_liar.constant_liar = false;
    REQUIRE(tpe_settings(c).constant_liar);  // the default
    // A batch of 8 tasks starting together from the same results: each sees the earlier ones
    // of its batch as running. Without the liar they all fit the same model; with it each
    // later one is pushed away from those already running.
    double nearest_with = 0, nearest_without = 0;
    long moved = 0;
    for (std::uint64_t batch = 0; batch < 10; ++batch) {
        std::vector<nlohmann::ordered_json> with, without;
        for (long task = 0; task < 8; ++task) {
            const auto seed = derive_seed(batch, "tpe#trial" + std::to_string(task));
            const auto a = suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, {}, with);
            const auto b = suggest_tpe(c.hyperparameters, history, no_liar, seed, {}, without);
            CHECK(a.based_on == 20);  // running trials are not results
            const auto hp_a = as_json(c, a.values), hp_b = as_json(c, b.values);
            if (task > 0) {
                double near_a = 1e9, near_b = 1e9;
                for (const auto& r : with) near_a = std::min(near_a, distance(hp_a, r));
                for (const auto& r : without) near_b = std::min(near_b, distance(hp_b, r));
                nearest_with += near_a;
                nearest_without += near_b;
            }
            with.push_back(hp_a);
            without.push_back(hp_b);
        }
        moved += with != without;
    }
    CHECK(moved == 10);
    CHECK(nearest_with > 1.5 * nearest_without);

    // The same configuration running 4 times: the choice of the model that believed it the
    // best is no longer that configuration.
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        const auto free = as_json(c, suggest_tpe(c.hyperparameters, history, no_liar, seed).values);
        const std::vector<nlohmann::ordered_json> running(4, free);
        const auto lied =
            suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, {}, running);
        CHECK(as_json(c, lied.values) != free);
        // Off: the running trials change nothing.
        CHECK(as_json(c,
                      suggest_tpe(c.hyperparameters, history, no_liar, seed, {}, running).values) ==
              free);
    }
}

TEST_CASE("without running trials the constant liar chooses exactly what TPE chose before",
          "[searcher][tpe]") {
    const auto c = tpe_config();
    const auto history = reference_history(c);
    auto no_liar = tpe_settings(c);
    no_liar.constant_liar = false;
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        for (const long n : {0L, 5L, 10L, 15L, 20L}) {
            const std::vector<TpeObservation> some(history.begin(), history.begin() + n);
            INFO("seed " << seed << ", " << n << " results");
            const auto on = suggest_tpe(c.hyperparameters, some, tpe_settings(c), seed);
            const auto off = suggest_tpe(c.hyperparameters, some, no_liar, seed);
            CHECK(on.values == off.values);
            CHECK(on.based_on == off.based_on);
        }
        // During the random startup running trials change nothing either.
        const std::vector<TpeObservation> few(history.begin(), history.begin() + 9);
        const std::vector<nlohmann::ordered_json> running{history[0].hyperparameters,
                                                          history[1].hyperparameters};
        CHECK(suggest_tpe(c.hyperparameters, few, tpe_settings(c), seed, {}, running).values ==
              suggest_tpe(c.hyperparameters, few, tpe_settings(c), seed).values);
    }
}

TEST_CASE("the file-based sweep of 8 tasks at a time lies as the in-memory reference does",
          "[searcher][tpe]") {
    const auto c = tpe_config(40);
    const auto reference = batched_tpe(c, 40, 8, objective);
    // The same sweep without the liar: the reference above differs from it, so the files
    // must have found the running trials (trial.json without a result) to match it.
    auto off = c;
    off.searcher.constant_liar = false;
    const auto without = batched_tpe(off, 40, 8, objective);
    const auto dir = planned_experiment("liar", c);
    const auto files = file_based_tpe(c, dir, 40, 8, objective);
    long differ = 0;
    for (long id = 0; id < 40; ++id) {
        INFO("trial " << id);
        const auto& hp = files[static_cast<size_t>(id)].hyperparameters;
        REQUIRE(hp == reference[static_cast<size_t>(id)].hyperparameters);
        differ += hp != without[static_cast<size_t>(id)].hyperparameters;
    }
    CHECK(differ > 0);
    fs::remove_all(dir);
}

TEST_CASE("searcher.constant_liar is a boolean of tpe and bohb, kept in the config",
          "[searcher][tpe]") {
    const auto load = [](const std::string& searcher) {
        return config_with_searcher(searcher, "l.yaml");
    };
    CHECK(load("{name: tpe, metric: loss, max_trials: 5}").searcher.constant_liar);
    const auto off = load("{name: tpe, metric: loss, max_trials: 5, constant_liar: false}");
    CHECK_FALSE(off.searcher.constant_liar);
    CHECK_FALSE(tpe_settings(off).constant_liar);
    CHECK(to_yaml(off).find("constant_liar: false") != std::string::npos);
    CHECK_FALSE(parse_experiment_config(to_yaml(off), "again.yaml").searcher.constant_liar);
    CHECK_THROWS_WITH(load("{name: tpe, metric: loss, max_trials: 5, constant_liar: maybe}"),
                      Catch::Contains("l.yaml:3:") && Catch::Contains("searcher.constant_liar"));
    CHECK_THROWS_WITH(load("{name: random, max_trials: 5, constant_liar: false}"),
                      Catch::Contains("l.yaml:3:") &&
                          Catch::Contains("constant_liar applies to the tpe and bohb"));
}

TEST_CASE("only trials that have not ended are liars: result.json missing or running",
          "[searcher][tpe]") {
    const auto c = tpe_config(20);
    const auto dir = planned_experiment("ended", c);
    const hpsweep::ExperimentDir exp(dir);
    std::vector<TpeObservation> history;
    TakenConfigurations taken;
    for (long id = 0; id < 10; ++id) {
        const auto t = choose_trial_config(c, dir, id);
        TpeStore(dir).publish(id, t.hyperparameters, objective(t.hyperparameters));
        history.push_back({id, t.hyperparameters, objective(t.hyperparameters)});
        taken.insert(hpsweep::hyperparameter_hash(t.hyperparameters));
    }
    // Trial 10 has chosen (no result.json yet), 11 runs, 12 failed without a value.
    std::vector<nlohmann::ordered_json> started;
    for (long id = 10; id < 13; ++id) {
        started.push_back(choose_trial_config(c, dir, id).hyperparameters);
        taken.insert(hpsweep::hyperparameter_hash(started.back()));
    }
    hpsweep::TrialResultRecord result;
    result.trial = 11;
    hpsweep::write_trial_result(exp.trial_result(11), result);  // "running"
    result.trial = 12;
    result.status = "failed";
    hpsweep::write_trial_result(exp.trial_result(12), result);
    const auto seed = derive_seed(*c.searcher.seed, "tpe#trial13");
    const auto expected = suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, taken,
                                      {started[0], started[1]});
    const auto with_failed = suggest_tpe(c.hyperparameters, history, tpe_settings(c), seed, taken,
                                         {started[0], started[1], started[2]});
    // The failed trial would change the choice, so the match below says it was left out.
    REQUIRE(as_json(c, expected.values) != as_json(c, with_failed.values));
    CHECK(choose_trial_config(c, dir, 13).hyperparameters == as_json(c, expected.values));
    fs::remove_all(dir);
}
