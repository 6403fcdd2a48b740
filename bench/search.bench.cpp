// Adaptive search benchmark on surrogate learning curves (ratios, no pass/fail).
//
// A 16 x 16 grid of configurations (think learning rate x width), each with a learning curve
// of validation error over max_length = 81 epochs, drawn from a seed in one of three families:
//   power-law    LCBench-like: err(t) = a + b * t^-c, per-config asymptote a (a smooth bowl
//                over the grid plus per-config jitter), b and c independent of a;
//   exponential  NAS-Bench-201-like: err(t) = a + (0.9 - a) * exp(-t / tau), tau independent
//                of a, noisier observations;
//   crossing     like exponential, but the better a configuration ends, the slower it
//                learns (tau grows with quality): early rankings are partly reversed and the
//                curves cross. The family where early stopping is weakest.
// Every observation a searcher makes adds Gaussian noise; the target uses the noise-free
// value at max_length.
//
// Three searchers run on a simulated asynchronous pool of `workers` (each worker trains one
// trial one epoch per time unit and takes the next trial as soon as its trial ends):
//   grid    trains every configuration to max_length, in grid order;
//   random  trains configurations to max_length in a random order (without replacement);
//   asha    the same random order, each trial judged at the rungs 1, 3, 9, 27, 81 (divisor 3,
//           aggressive mode) by the searcher's own schedule and rule
//           (hpsweep::searcher::AshaSchedule, asha_continues: what AshaStore decides for the
//           same arrival order), stopped when it says so; once in aggressive mode (every
//           trial judged from rung 0) and once in conservative mode (one Hyperband bracket
//           per rung: trial i is first judged at rung i mod 5), row "asha-cons".
// Cost: total trial-steps (epochs summed over all workers, partial trials included) until a
// configuration whose final error is within 1 % of the best of the full grid has been
// trained to max_length. Per seed the ratios random/asha, grid/asha and random/asha-cons;
// printed averaged
// over the seeds with their spread.
//
//   build-test/bench/bench_search [seeds=20] [workers=8]

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "hpsweep/searcher/asha.hpp"

#include "search_spread.hpp"

using hpsweep::searcher::AshaMode;
using hpsweep::searcher::AshaSchedule;
using hpsweep::searcher::AshaSettings;
using hpsweep::searcher::RungResult;

namespace {

using hpsweep::bench::Spread;
using hpsweep::bench::spread_of;

constexpr int grid_side = 16;
constexpr int config_count = grid_side * grid_side;
constexpr long max_length = 81;
constexpr int asha_divisor = 3;
constexpr int asha_rungs = 5;
constexpr double target_tolerance = 0.01;  // within 1 % of the grid's best final error
constexpr long give_up_steps = 2L * config_count * max_length;

enum class Family { power_law, exponential, crossing };
constexpr Family families[] = {Family::power_law, Family::exponential, Family::crossing};

const char* name_of(Family family) {
    switch (family) {
        case Family::power_law:
            return "power-law (LCBench-like)";
        case Family::exponential:
            return "exponential (NAS-Bench-201-like)";
        case Family::crossing:
            return "crossing curves";
    }
    return "?";
}

struct Curve {
    double asymptote = 0, scale = 0, rate = 0;  // power law: b, c; exponential: start, tau
    bool power_law = false;
    double at(long epoch) const {
        const double t = static_cast<double>(epoch);
        return power_law ? asymptote + scale * std::pow(t, -rate)
                         : asymptote + (scale - asymptote) * std::exp(-t / rate);
    }
};

struct Surrogate {
    std::vector<Curve> curves;  // config_count, row-major over the grid
    double noise = 0;           // standard deviation of one observation
    double target = 0;          // final error a "good" configuration reaches
    int good_count = 0;
};

Surrogate make_surrogate(Family family, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::normal_distribution<double> jitter(0.0, 0.01);
    // Where the bowl of good configurations sits differs per seed.
    const double best_u = 0.2 + 0.6 * uniform(rng), best_v = 0.2 + 0.6 * uniform(rng);
    Surrogate s;
    s.noise = family == Family::power_law ? 0.004 : 0.008;
    s.curves.resize(config_count);
    std::vector<double> asymptotes(config_count);
    for (int i = 0; i < config_count; ++i) {
        const double u = (i / grid_side) / double(grid_side - 1);
        const double v = (i % grid_side) / double(grid_side - 1);
        const double du = u - best_u, dv = v - best_v;
        asymptotes[i] = std::max(0.03, 0.06 + 0.3 * (du * du + 0.5 * dv * dv) + jitter(rng));
    }
    const auto [lowest, highest] = std::minmax_element(asymptotes.begin(), asymptotes.end());
    for (int i = 0; i < config_count; ++i) {
        Curve& c = s.curves[i];
        c.asymptote = asymptotes[i];
        // 0 for the best asymptote of the grid, 1 for the worst.
        const double badness = (c.asymptote - *lowest) / (*highest - *lowest);
        switch (family) {
            case Family::power_law:  // early error partly tracks the final one
                c.power_law = true;
                c.scale = 0.2 + 0.4 * badness + 0.3 * uniform(rng);
                c.rate = 0.4 + 0.6 * uniform(rng);
                break;
            case Family::exponential:  // weak configurations also tend to learn slower
                c.scale = 0.9;
                c.rate = 2.0 + 8.0 * badness + 10.0 * uniform(rng);
                break;
            case Family::crossing:  // the best configurations learn slowest
                c.scale = 0.9;
                c.rate = 2.0 + 25.0 * (1 - badness) * (1 - badness) + 3.0 * uniform(rng);
                break;
        }
    }
    double best = s.curves[0].at(max_length);
    for (const auto& c : s.curves) best = std::min(best, c.at(max_length));
    s.target = best * (1.0 + target_tolerance);
    for (const auto& c : s.curves) s.good_count += c.at(max_length) <= s.target ? 1 : 0;
    return s;
}

// What a searcher does at the end of each epoch of a trial: go on, stop the trial, or
// report that the trial reached max_length.
enum class Step { go_on, stop, finished };

// The asynchronous worker pool: every worker trains one trial at a time, one epoch per time
// unit; a trial ends when `judge` says so. Returns the trial-steps spent until `judge`
// finished a good configuration (or nullopt once `give_up_after` steps are spent).
std::optional<long> run_pool(const Surrogate& surrogate, int workers, const std::vector<int>& order,
                             const std::function<Step(long trial, int config, long epoch)>& judge,
                             long give_up_after) {
    struct Worker {
        long trial = -1;
        int config = 0;
        long epoch = 0;
    };
    std::vector<Worker> pool(static_cast<std::size_t>(workers));
    long next_trial = 0;
    long spent = 0;
    const auto start_next = [&](Worker& w) {
        w.trial = next_trial++;
        w.config = order[static_cast<std::size_t>(w.trial) % order.size()];
        w.epoch = 0;
    };
    for (auto& w : pool) start_next(w);
    while (spent < give_up_after) {
        for (auto& w : pool) {  // one time unit; workers in a fixed order break ties
            ++w.epoch;
            ++spent;
            const Step step = judge(w.trial, w.config, w.epoch);
            if (step == Step::finished && surrogate.curves[static_cast<std::size_t>(w.config)].at(
                                              max_length) <= surrogate.target) {
                return spent;
            }
            if (step != Step::go_on)
                start_next(w);
        }
    }
    return std::nullopt;
}

struct Costs {
    std::optional<long> grid, random, asha, asha_conservative;
    int good_count = 0;  // configurations within the tolerance of the grid's best
};

Costs run_seed(Family family, unsigned seed, int workers) {
    std::mt19937_64 rng(seed * 1000003ULL + static_cast<unsigned>(family) * 7919ULL);
    const Surrogate surrogate = make_surrogate(family, rng);
    Costs costs;
    costs.good_count = surrogate.good_count;

    std::vector<int> grid_order(config_count);
    std::iota(grid_order.begin(), grid_order.end(), 0);
    const auto train_fully = [](long, int, long epoch) {
        return epoch >= max_length ? Step::finished : Step::go_on;
    };
    costs.grid = run_pool(surrogate, workers, grid_order, train_fully, give_up_steps);

    std::vector<int> random_order = grid_order;
    std::shuffle(random_order.begin(), random_order.end(), rng);
    costs.random = run_pool(surrogate, workers, random_order, train_fully, give_up_steps);

    std::normal_distribution<double> noise(0.0, surrogate.noise);
    const auto run_asha = [&](AshaMode mode) {
        AshaSettings settings;
        settings.metric = "val_error";
        settings.smaller_is_better = true;
        settings.max_length = max_length;
        settings.divisor = asha_divisor;
        settings.max_rungs = asha_rungs;
        settings.mode = mode;
        const AshaSchedule schedule(settings);
        // The rung results in arrival order, as AshaStore keeps them in its slot files (the
        // files add nothing to the decisions and make every report read the whole rung).
        std::vector<std::vector<RungResult>> rung_results(schedule.rung_lengths().size());
        const auto judge = [&](long trial, int config, long epoch) {
            const auto& rungs = schedule.rung_lengths();
            const auto rung = std::find(rungs.begin(), rungs.end(), epoch);
            // Like hpsweep-launch: a trial reports nothing below its bracket's first rung.
            if (rung == rungs.end() || rung - rungs.begin() < schedule.first_rung_of(trial))
                return Step::go_on;
            const double observed =
                surrogate.curves[static_cast<std::size_t>(config)].at(epoch) + noise(rng);
            auto& results = rung_results[static_cast<std::size_t>(rung - rungs.begin())];
            results.push_back({trial, observed, static_cast<long>(results.size())});
            if (epoch >= max_length)
                return Step::finished;
            return asha_continues(schedule, results, trial) ? Step::go_on : Step::stop;
        };
        return run_pool(surrogate, workers, random_order, judge, give_up_steps);
    };
    costs.asha = run_asha(AshaMode::aggressive);
    costs.asha_conservative = run_asha(AshaMode::conservative);
    return costs;
}

void print_ratio(const char* label, const std::vector<double>& ratios) {
    const Spread s = spread_of(ratios);
    std::printf("  %-18s %6.2fx +- %5.2f  (median %5.2fx, min %5.2fx, max %6.2fx, %zu seeds)\n",
                label, s.mean, s.sd, s.median, s.low, s.high, ratios.size());
}

}  // namespace

int main(int argc, char** argv) {
    const int seeds = argc > 1 ? std::atoi(argv[1]) : 20;
    const int workers = argc > 2 ? std::atoi(argv[2]) : 8;
    if (seeds < 1 || workers < 1) {
        std::fprintf(stderr, "usage: %s [seeds>=1] [workers>=1]\n", argv[0]);
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress, family by family

    std::printf("bench/search: %d configurations, max_length %ld epochs, ASHA rungs", config_count,
                max_length);
    const AshaSchedule shown(
        AshaSettings{"m", true, max_length, asha_divisor, asha_rungs, AshaMode::aggressive});
    for (long r : shown.rung_lengths()) std::printf(" %ld", r);
    std::printf(" (divisor %d), %d workers, %d seeds\n", asha_divisor, workers, seeds);
    std::printf(
        "cost = trial-steps until a configuration within %.0f%% of the grid's best is "
        "trained to max_length;\nratio = searcher's cost / ASHA's cost (higher: ASHA "
        "cheaper), mean +- sd over seeds\n",
        target_tolerance * 100);
    std::vector<double> all_random, all_grid;
    for (const Family family : families) {
        std::vector<double> random_ratio, grid_ratio, conservative_ratio, asha_cost, random_cost,
            good;
        int asha_misses = 0;
        for (int seed = 1; seed <= seeds; ++seed) {
            const Costs c = run_seed(family, static_cast<unsigned>(seed), workers);
            // Random and grid train every configuration fully, so they always finish within
            // the cap; ASHA may stop every good configuration early and then pays the cap
            // (a lower bound on what it would have spent, counted against it).
            const double asha = c.asha ? double(*c.asha) : double(give_up_steps);
            asha_misses += c.asha ? 0 : 1;
            random_ratio.push_back(double(c.random.value_or(give_up_steps)) / asha);
            grid_ratio.push_back(double(c.grid.value_or(give_up_steps)) / asha);
            conservative_ratio.push_back(double(c.random.value_or(give_up_steps)) /
                                         double(c.asha_conservative.value_or(give_up_steps)));
            asha_cost.push_back(asha);
            random_cost.push_back(double(c.random.value_or(give_up_steps)));
            good.push_back(c.good_count);
        }
        std::printf(
            "\n%s: mean cost asha %.0f, random %.0f trial-steps; %.1f good "
            "configurations of %d on average",
            name_of(family), spread_of(asha_cost).mean, spread_of(random_cost).mean,
            spread_of(good).mean, config_count);
        if (asha_misses)
            std::printf(
                "; ASHA finished no good configuration within the cap (2 full grids) "
                "in %d seed(s), counted at the cap",
                asha_misses);
        std::printf("\n");
        print_ratio("random / asha", random_ratio);
        print_ratio("grid / asha", grid_ratio);
        print_ratio("random / asha-cons", conservative_ratio);
        all_random.insert(all_random.end(), random_ratio.begin(), random_ratio.end());
        all_grid.insert(all_grid.end(), grid_ratio.begin(), grid_ratio.end());
    }
    std::printf("\nall families:\n");
    print_ratio("random / asha", all_random);
    print_ratio("grid / asha", all_grid);
    return 0;
}
