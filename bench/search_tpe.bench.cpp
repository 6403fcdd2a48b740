// TPE against random search at equal trials, on surrogate objectives (ratios, no pass/fail).
//
// Three families of final validation error over a search space, shaped like the landscapes
// of published tabular benchmarks; every observation adds Gaussian noise, and quality is
// judged on the noise-free value:
//   bowl         LCBench-like: log learning rate, log2 width, dropout, weight decay; a smooth
//                valley with a narrow optimum in learning rate;
//   cell         NAS-Bench-201-like: five categorical edge operations (none, skip, conv1x1,
//                conv3x3, pool) with an interaction between two edges, plus learning rate;
//   two-valleys  a Branin-shaped surface over (log lr, momentum) with three equal minima.
// The target is the top 1 % of each space (the 1st percentile of 20,000 random draws).
// Per seed: trials random search needs to draw a target configuration and trials TPE needs
// (hpsweep::searcher::suggest_tpe, with the seeds and startup the launcher uses); printed as
// mean +- sd over the seeds, and as the ratio of the means with the per-seed ratios' spread. TPE
// runs once sequentially and once as a pool of `workers` (trial i sees only the results of trials <
// i - workers + 1), as an array's tasks do, with the running trials as constant liars (the
// default, searcher.constant_liar) and once without them. Runs that never reach the target stop
// at `cap` trials and count as cap.
//
//   build-test/bench/bench_search_tpe [seeds=20] [workers=8] [cap=400]

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "hpsweep/contracts/trial_record.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/domain.hpp"
#include "hpsweep/searcher/tpe.hpp"

#include "search_spread.hpp"

using namespace hpsweep::searcher;

namespace {

using hpsweep::bench::Spread;
using hpsweep::bench::spread_of;

constexpr double noise_sd = 0.005;
constexpr double pi = 3.14159265358979323846;

struct Family {
    const char* name;
    const char* space_yaml;
    std::function<double(const nlohmann::ordered_json&)> error;  // noise-free
};

double num(const nlohmann::ordered_json& hp, const char* key) {
    return hp.at(key).get<double>();
}

std::vector<Family> families() {
    return {
        {"bowl (LCBench-like)",
         R"(
entrypoint: train
hyperparameters:
  lr: {type: log, minval: -5, maxval: 0}
  width: {type: int, minval: 16, maxval: 1024}
  dropout: {type: double, minval: 0, maxval: 0.9}
  weight_decay: {type: log, minval: -6, maxval: -1}
searcher: {name: tpe, metric: err, max_trials: 1}
)",
         [](const nlohmann::ordered_json& hp) {
             const double lr = std::log10(num(hp, "lr")) + 2.7;
             const double width = std::log2(num(hp, "width")) - 8;
             const double dropout = num(hp, "dropout") - 0.25;
             const double wd = std::log10(num(hp, "weight_decay")) + 4;
             return 0.08 + 0.06 * lr * lr + 0.004 * width * width + 0.08 * dropout * dropout +
                    0.004 * wd * wd;
         }},
        {"cell (NAS-Bench-201-like)",
         R"(
entrypoint: train
hyperparameters:
  e0: [none, skip, conv1x1, conv3x3, pool]
  e1: [none, skip, conv1x1, conv3x3, pool]
  e2: [none, skip, conv1x1, conv3x3, pool]
  e3: [none, skip, conv1x1, conv3x3, pool]
  e4: [none, skip, conv1x1, conv3x3, pool]
  lr: {type: log, minval: -4, maxval: -0.5}
searcher: {name: tpe, metric: err, max_trials: 1}
)",
         [](const nlohmann::ordered_json& hp) {
             auto op = [](const std::string& o) {
                 if (o == "conv3x3")
                     return 0.0;
                 if (o == "conv1x1")
                     return 0.02;
                 if (o == "skip")
                     return 0.035;
                 if (o == "pool")
                     return 0.05;
                 return 0.08;  // none
             };
             double err = 0.06;
             for (const char* e : {"e0", "e1", "e2", "e3", "e4"}) err += op(hp.at(e));
             // Two parallel convolutions on the first edges help less than their sum says.
             if (hp.at("e0") == "conv3x3" && hp.at("e1") == "conv3x3")
                 err += 0.015;
             const double lr = std::log10(num(hp, "lr")) + 1.5;
             return err + 0.03 * lr * lr;
         }},
        {"two-valleys (Branin-shaped)",
         R"(
entrypoint: train
hyperparameters:
  lr: {type: log, minval: -5, maxval: 0}
  momentum: {type: double, minval: 0, maxval: 0.99}
searcher: {name: tpe, metric: err, max_trials: 1}
)",
         [](const nlohmann::ordered_json& hp) {
             const double x = -5 + 15 * (std::log10(num(hp, "lr")) + 5) / 5;
             const double y = 15 * num(hp, "momentum") / 0.99;
             const double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
             const double branin = (y - b * x * x + c * x - 6) * (y - b * x * x + c * x - 6) +
                                   10 * (1 - t) * std::cos(x) + 10;
             return 0.05 + branin / 300;
         }},
    };
}

nlohmann::ordered_json assignment(const ExperimentConfig& c, const std::vector<Value>& values) {
    nlohmann::ordered_json hp;
    for (size_t i = 0; i < values.size(); ++i) hp[c.hyperparameters[i].name] = values[i].typed;
    return hp;
}

double target_of(const ExperimentConfig& c, const Family& f) {
    Random rng(12345);
    std::vector<double> errors;
    for (int i = 0; i < 20000; ++i) {
        std::vector<Value> v;
        for (const auto& hp : c.hyperparameters) v.push_back(hp.domain.sample(rng));
        errors.push_back(f.error(assignment(c, v)));
    }
    std::sort(errors.begin(), errors.end());
    return errors[errors.size() / 100];
}

double observe(double error, Random& noise) {
    const double u1 = 1.0 - noise.uniform01(), u2 = noise.uniform01();
    return error + noise_sd * std::sqrt(-2 * std::log(u1)) * std::cos(2 * pi * u2);
}

long random_trials(const ExperimentConfig& c, const Family& f, double target, std::uint64_t seed,
                   long cap) {
    Random rng(derive_seed(seed, "random"));
    for (long t = 1; t <= cap; ++t) {
        std::vector<Value> v;
        for (const auto& hp : c.hyperparameters) v.push_back(hp.domain.sample(rng));
        if (f.error(assignment(c, v)) <= target)
            return t;
    }
    return cap;
}

long tpe_trials(const ExperimentConfig& c, const Family& f, double target, std::uint64_t seed,
                long cap, long workers, bool constant_liar) {
    TpeSettings settings;  // the defaults a tpe experiment gets
    settings.startup_trials = c.searcher.startup_trials;
    settings.constant_liar = constant_liar;
    Random noise(derive_seed(seed, "noise"));
    std::vector<TpeObservation> history;
    // Every earlier trial's configuration, running ones included, as the launcher skips them
    // (these spaces have continuous dimensions, so a repeat is practically never drawn).
    hpsweep::searcher::TakenConfigurations taken;
    for (long t = 0; t < cap; ++t) {
        // Trials t-workers+1 .. t-1 are still running when trial t starts.
        const long visible = std::max(0L, t - workers + 1);
        const std::vector<TpeObservation> completed(history.begin(), history.begin() + visible);
        // The running trials' configurations, as the launcher reads them from trial.json.
        std::vector<nlohmann::ordered_json> running;
        for (long r = visible; r < t; ++r)
            running.push_back(history[static_cast<size_t>(r)].hyperparameters);
        const auto s =
            suggest_tpe(c.hyperparameters, completed, settings,
                        derive_seed(seed, "tpe#trial" + std::to_string(t)), taken, running);
        const auto hp = assignment(c, s.values);
        taken.insert(hpsweep::hyperparameter_hash(hp));
        const double error = f.error(hp);
        if (error <= target)
            return t + 1;
        history.push_back({t, hp, observe(error, noise)});
    }
    return cap;
}

void print_trials(const char* label, const std::vector<double>& counts) {
    const Spread s = spread_of(counts);
    std::printf("  %-32s %6.1f +- %5.1f trials (median %4.0f, min %3.0f, max %3.0f)\n", label,
                s.mean, s.sd, s.median, s.low, s.high);
}

// Ratio of the mean trial counts (the expected cost), with the per-seed ratios' median and
// range: a per-seed ratio alone is dominated by random search's geometric luck.
void print_ratio(const char* label, const std::vector<double>& baseline,
                 const std::vector<double>& counts) {
    std::vector<double> per_seed;
    for (size_t i = 0; i < counts.size(); ++i) per_seed.push_back(baseline[i] / counts[i]);
    const Spread ratio = spread_of(per_seed);
    std::printf("  %-32s %6.2fx fewer trials (per seed: median %5.2fx, min %5.2fx, max %6.2fx)\n",
                label, spread_of(baseline).mean / spread_of(counts).mean, ratio.median, ratio.low,
                ratio.high);
}

}  // namespace

int main(int argc, char** argv) {
    const int seeds = argc > 1 ? std::atoi(argv[1]) : 20;
    const long workers = argc > 2 ? std::atol(argv[2]) : 8;
    const long cap = argc > 3 ? std::atol(argv[3]) : 400;
    if (seeds < 1 || workers < 1 || cap < 1) {
        std::fprintf(stderr, "usage: %s [seeds>=1] [workers>=1] [cap>=1]\n", argv[0]);
        return 2;
    }
    std::printf(
        "bench/search_tpe: trials to reach the top 1%% of the space, %d seeds, noise sd "
        "%g, cap %ld trials; ratio = random trials / TPE trials\n",
        seeds, noise_sd, cap);
    std::vector<double> all_random, all_sequential, all_pool, all_no_liar;
    for (const auto& family : families()) {
        const auto config = parse_experiment_config(family.space_yaml, family.name);
        const double target = target_of(config, family);
        std::vector<double> random, sequential, pool, pool_no_liar;
        int capped = 0;
        for (int s = 1; s <= seeds; ++s) {
            const auto seed = static_cast<std::uint64_t>(s);
            const long r = random_trials(config, family, target, seed, cap);
            const long t1 = tpe_trials(config, family, target, seed, cap, 1, true);
            const long tw = tpe_trials(config, family, target, seed, cap, workers, true);
            const long tn = tpe_trials(config, family, target, seed, cap, workers, false);
            capped += (r == cap) + (t1 == cap) + (tw == cap) + (tn == cap);
            random.push_back(static_cast<double>(r));
            sequential.push_back(static_cast<double>(t1));
            pool.push_back(static_cast<double>(tw));
            pool_no_liar.push_back(static_cast<double>(tn));
        }
        std::printf("\n%s: target error <= %.4f, %d runs capped\n", family.name, target, capped);
        const std::string pool_label = "tpe, " + std::to_string(workers) + " workers";
        const std::string no_liar_label = pool_label + ", no liar";
        print_trials("random", random);
        print_trials("tpe, sequential", sequential);
        print_trials(pool_label.c_str(), pool);
        print_trials(no_liar_label.c_str(), pool_no_liar);
        print_ratio("random / tpe", random, sequential);
        print_ratio(("random / " + pool_label).c_str(), random, pool);
        print_ratio(("random / " + no_liar_label).c_str(), random, pool_no_liar);
        all_random.insert(all_random.end(), random.begin(), random.end());
        all_sequential.insert(all_sequential.end(), sequential.begin(), sequential.end());
        all_pool.insert(all_pool.end(), pool.begin(), pool.end());
        all_no_liar.insert(all_no_liar.end(), pool_no_liar.begin(), pool_no_liar.end());
    }
    std::printf("\nall families:\n");
    print_ratio("random / tpe", all_random, all_sequential);
    print_ratio("random / tpe, workers", all_random, all_pool);
    print_ratio("random / tpe, no liar", all_random, all_no_liar);
    return 0;
}
