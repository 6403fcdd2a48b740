// PBT against random search at an equal budget, on surrogate training runs (no pass/fail).
//
// A member trains for T = 100 steps; its validation error falls each step by a fraction of
// its distance to a floor, and that fraction depends on how far log10(lr) is from the step's
// best learning rate (a Gaussian bump); a learning rate well above the best one makes the
// error rise instead (divergence). Two families:
//   decaying-optimum  the best log10(lr) falls from -1 to -3 over training (what a learning
//                     rate schedule exploits): no fixed lr is right for the whole run;
//   fixed-optimum     the best log10(lr) stays at -2: PBT can only win by copying good
//                     members, not by adapting.
// Observations (what PBT ranks on) carry noise; the final metric is the noise-free error.
// Both searchers get the same budget: a population of 16 members x T steps. Random search
// trains 16 random configurations; PBT (hpsweep::searcher::pbt_decide, the rule PbtStore
// applies, with the default quantile 0.25, resample probability 0.25 and factors 0.8/1.2)
// starts from 16 random configurations and meets at a ready point every 10 steps, members
// arriving in a random order. Reported per family, over the seeds: the best member's final
// error of each searcher (mean +- sd), the ratio random / PBT of those errors, and how many
// seeds PBT won.
//
//   build-test/bench/bench_search_pbt [seeds=20]

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/pbt.hpp"

using namespace hpsweep::searcher;

namespace {

constexpr int population = 16;
constexpr int total_steps = 100;
constexpr int perturb_every = 10;
constexpr double floor_error = 0.05;
constexpr double noise_sd = 0.01;
constexpr double pi = 3.14159265358979323846;

struct Family {
    const char* name;
    bool decaying;
    double best_log_lr(int step) const { return decaying ? -1.0 - 2.0 * step / total_steps : -2.0; }
};

double gaussian(Random& rng) {
    const double u1 = 1.0 - rng.uniform01(), u2 = rng.uniform01();
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * pi * u2);
}

// One training step of a member at `step` with learning rate lr.
double train_step(const Family& f, double error, double lr, int step) {
    const double distance = std::log10(lr) - f.best_log_lr(step);
    if (distance > 1.0)
        return std::min(1.0, error + 0.02 * (distance - 1.0));  // too large: diverges
    const double rate = 0.08 * std::exp(-distance * distance / (2 * 0.5 * 0.5));
    return error - rate * (error - floor_error);
}

double lr_of(const nlohmann::ordered_json& hp) {
    return hp.at("lr").get<double>();
}

double random_search(const ExperimentConfig& c, const Family& f, std::uint64_t seed) {
    Random rng(derive_seed(seed, "random"));
    double best = 1.0;
    for (int m = 0; m < population; ++m) {
        const double lr = c.hyperparameters[0].domain.sample(rng).typed.get<double>();
        double error = 1.0;
        for (int s = 0; s < total_steps; ++s) error = train_step(f, error, lr, s);
        best = std::min(best, error);
    }
    return best;
}

struct PbtResult {
    double best = 1.0;
    long exploits = 0;
};

PbtResult pbt(const ExperimentConfig& c, const Family& f, std::uint64_t seed) {
    PbtSettings settings;
    settings.population_size = population;
    settings.perturb_every = perturb_every;
    Random init(derive_seed(seed, "random"));  // the same 16 starting points as random search
    Random order(derive_seed(seed, "arrivals"));
    Random noise(derive_seed(seed, "noise"));
    std::vector<nlohmann::ordered_json> hp(population);
    std::vector<double> error(population, 1.0);
    for (int m = 0; m < population; ++m)
        hp[m] = {{"lr", c.hyperparameters[0].domain.sample(init).typed}};
    PbtResult result;
    for (int s = 0; s < total_steps; ++s) {
        for (int m = 0; m < population; ++m) error[m] = train_step(f, error[m], lr_of(hp[m]), s);
        if ((s + 1) % perturb_every != 0 || s + 1 == total_steps)
            continue;
        const long ready = (s + 1) / perturb_every;
        std::vector<int> arrival(population);
        std::iota(arrival.begin(), arrival.end(), 0);
        for (int i = population - 1; i > 0; --i)
            std::swap(arrival[i], arrival[order.below(static_cast<std::uint64_t>(i) + 1)]);
        // Each member decides on the records that arrived before its own; a copied checkpoint
        // is the donor's state as published (its error at this ready point).
        std::vector<PbtMember> arrived;
        const auto published = error;
        const auto published_hp = hp;
        for (const int m : arrival) {
            arrived.push_back({m, published[m] + noise_sd * gaussian(noise), published_hp[m],
                               "state-" + std::to_string(m)});
            const auto exploit = pbt_decide(c.hyperparameters, settings, arrived, m,
                                            pbt_decision_seed(seed, m, ready));
            if (exploit) {
                error[m] = published[exploit->source_trial];
                hp[m] = exploit->hyperparameters;
                ++result.exploits;
            }
        }
    }
    result.best = *std::min_element(error.begin(), error.end());
    return result;
}

struct Spread {
    double mean = 0, sd = 0;
};

Spread spread_of(const std::vector<double>& v) {
    Spread s;
    const double n = static_cast<double>(v.size());
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
    double squares = 0;
    for (double x : v) squares += (x - s.mean) * (x - s.mean);
    s.sd = v.size() > 1 ? std::sqrt(squares / (n - 1)) : 0;
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const int seeds = argc > 1 ? std::atoi(argv[1]) : 20;
    if (seeds < 1) {
        std::fprintf(stderr, "usage: %s [seeds>=1]\n", argv[0]);
        return 2;
    }
    const auto config = parse_experiment_config(R"(
entrypoint: train
hyperparameters:
  lr: {type: log, minval: -4, maxval: 0}
searcher: {name: random, max_trials: 16}
)",
                                                "bench_search_pbt");
    std::printf(
        "bench/search_pbt: %d members x %d steps each (equal budget), ready every %d "
        "steps, %d seeds; final metric = best member's noise-free error (floor %.2f)\n",
        population, total_steps, perturb_every, seeds, floor_error);
    for (const Family family : {Family{"decaying-optimum", true}, Family{"fixed-optimum", false}}) {
        std::vector<double> random, population_based, ratio;
        long exploits = 0;
        int wins = 0;
        for (int s = 1; s <= seeds; ++s) {
            const auto seed = static_cast<std::uint64_t>(s);
            const double r = random_search(config, family, seed);
            const PbtResult p = pbt(config, family, seed);
            random.push_back(r);
            population_based.push_back(p.best);
            ratio.push_back((r - floor_error) / std::max(p.best - floor_error, 1e-9));
            exploits += p.exploits;
            wins += p.best < r;
        }
        const Spread rs = spread_of(random), ps = spread_of(population_based),
                     qs = spread_of(ratio);
        std::printf(
            "\n%s:\n  random  best final error %.4f +- %.4f\n  pbt     best final error "
            "%.4f +- %.4f (%.1f exploits per run)\n  (random - floor) / (pbt - floor) "
            "%.2fx +- %.2f; PBT better in %d of %d seeds\n",
            family.name, rs.mean, rs.sd, ps.mean, ps.sd, static_cast<double>(exploits) / seeds,
            qs.mean, qs.sd, wins, seeds);
    }
    return 0;
}
