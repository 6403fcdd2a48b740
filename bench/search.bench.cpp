// Adaptive search benchmark on surrogate learning curves (ratios, no pass/fail).
//
// A 16 x 16 grid of configurations (think learning rate x width), each with a learning curve
// of validation error over max_length = 81 epochs, drawn from a seed in one of three families:
//   power-law    LCBench-like: err(t) = a + b * t^-c, per-config asymptote a (a smooth bowl
//                over the grid plus per-config jitter), b and c independent of a;
//   exponential  NAS-Bench-201-like: err(t) = a + (0.9 - a) * exp(-t / tau), tau = 2 +
//                8 * badness + 10 * u epochs (badness: 0 for the grid's best asymptote, 1
//                for its worst; u uniform in [0, 1]), so weak configurations tend to learn
//                slower but tau is mostly per-configuration chance; noisier observations;
//   crossing     like exponential, but the better a configuration ends, the slower it
//                learns (tau grows with quality): early rankings are partly reversed and the
//                curves cross. The family where early stopping is weakest.
//   measured     not a formula: the validation errors of real training runs, one per grid
//                configuration (learning rate x width of an MLP trained with SGD on
//                scikit-learn's digits) and training seed, measured after every epoch by
//                bench/curves/measure_digits_mlp.py and shipped in bench/curves/digits_mlp.txt
//                (--curves reads another file); each seed draws one run per configuration.
// Every observation a searcher makes on the three formulas adds Gaussian noise; the target
// uses the noise-free value at max_length. A measured run carries its own noise.
//
// Five searchers run on a simulated asynchronous pool of `workers` (each worker trains one
// trial one epoch per time unit and takes the next trial as soon as its trial ends):
//   grid    trains every configuration to max_length, in grid order;
//   random  trains configurations to max_length in a random order (without replacement);
//   asha    the same random order (repeated once every configuration was tried), each trial
//           judged at the rungs 1, 3, 9, 27, 81 (divisor 3, aggressive mode: every trial
//           judged from rung 0; --divisor, --rungs and --mode choose another configuration)
//           by the searcher's own schedule and rule (hpsweep::searcher::AshaSchedule,
//           asha_continues: what AshaStore decides for the same arrival order), stopped when
//           it says so; and again with the same divisor and rungs in conservative mode (one
//           Hyperband bracket per rung: trial i is first judged at rung i mod the number
//           of rungs), row "asha-cons"; and in its promotion form, row "asha-promote"
//           (run_asha_promotion, AshaPromotionRung: a trial that is not promoted pauses and
//           a free worker resumes a promoted paused trial before it starts a new
//           configuration; Li et al.'s algorithm and Determined's default, which
//           hpsweep-launch runs with stop_once: false);
//   bohb    each trial's configuration chosen when a worker starts it, by the searcher's own
//           BOHB rule (hpsweep::searcher::suggest_bohb: TPE fitted to the largest rung with
//           at least startup_trials = 10 results, else a random draw; the seeds the launcher
//           uses), judged at the same rungs as aggressive ASHA;
//   tpe     configurations chosen the same way by TPE alone (suggest_tpe, fitted to the
//           trials that completed before the worker started), every trial trained fully.
// The space the two model-based searchers see is the grid itself: two integer
// hyper-parameters u, v in [0, 15], the configuration is u * 16 + v. Like the launcher
// (choose_trial_config), they skip the configurations earlier trials hold, running or
// stopped ones included, while one is untaken, and count the trials that run without an
// observation yet as constant liars (searcher.constant_liar, the default).
// Cost: total trial-steps (epochs summed over all workers, partial trials included) until a
// "good" configuration has been trained to max_length, for two targets from the noise-free
// final errors of the full grid:
//   [error]     final error within 1 % of the best error (about 1 configuration in 256:
//               0.0006 absolute at an error of 0.06, below the observation noise);
//   [accuracy]  final accuracy (1 - error) within 1 % of the best accuracy, what "within
//               1 % of the best" means for a classifier (docs/adaptive-search.md argues it).
// Per seed and target the ratios random/asha, grid/asha, random/asha-cons,
// random/asha-promote, random/bohb, asha/bohb and random/tpe; printed averaged over the seeds
// with their spread. Under each family, how predictive early results are (Predictiveness)
// and, where ASHA hit the cap, at which rungs it stopped the configurations within the error
// target (GoodTrialEnds).
//
//   build-test/bench/bench_search [seeds=20] [workers=8] [--divisor 3] [--rungs 5]
//       [--mode aggressive|standard|conservative] [--asha-only] [--curves FILE]
// --asha-only leaves out bohb and tpe (seconds instead of minutes, for sweeps);
// docs/adaptive-search.md records the numbers.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <functional>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "hpsweep/contracts/trial_record.hpp"
#include "hpsweep/searcher/asha.hpp"
#include "hpsweep/searcher/bohb.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/tpe.hpp"

#include "search_spread.hpp"

using hpsweep::searcher::AshaMode;
using hpsweep::searcher::AshaPromotionRung;
using hpsweep::searcher::AshaSchedule;
using hpsweep::searcher::AshaSettings;
using hpsweep::searcher::BohbObservations;
using hpsweep::searcher::ExperimentConfig;
using hpsweep::searcher::RungResult;
using hpsweep::searcher::TpeObservation;
using hpsweep::searcher::TpeSettings;

namespace {

using hpsweep::bench::Spread;
using hpsweep::bench::spread_of;

constexpr int grid_side = 16;
constexpr int config_count = grid_side * grid_side;
constexpr long max_length = 81;
constexpr double target_tolerance = 0.01;  // within 1 % of the grid's best
constexpr long give_up_steps = 2L * config_count * max_length;

enum class Family { power_law, exponential, crossing, measured };
constexpr Family families[] = {Family::power_law, Family::exponential, Family::crossing,
                               Family::measured};

const char* name_of(Family family) {
    switch (family) {
        case Family::power_law:
            return "power-law (LCBench-like)";
        case Family::exponential:
            return "exponential (NAS-Bench-201-like)";
        case Family::crossing:
            return "crossing curves";
        case Family::measured:
            return "measured (MLPs trained on digits)";
    }
    return "?";
}

struct Curve {
    double asymptote = 0, scale = 0, rate = 0;  // power law: b, c; exponential: start, tau
    bool power_law = false;
    std::vector<double> measured;  // the errors after epochs 1 to max_length, when measured
    double at(long epoch) const {
        if (!measured.empty())
            return measured[static_cast<std::size_t>(epoch - 1)];
        const double t = static_cast<double>(epoch);
        return power_law ? asymptote + scale * std::pow(t, -rate)
                         : asymptote + (scale - asymptote) * std::exp(-t / rate);
    }
};

// Learning curves of real training runs, one per training seed and grid configuration:
// bench/curves/digits_mlp.txt, written by bench/curves/measure_digits_mlp.py (MLPs trained
// with SGD on scikit-learn's digits, learning rate x width).
struct MeasuredCurves {
    // [training seed][configuration][epoch - 1]: the validation error after that epoch.
    std::vector<std::vector<std::vector<double>>> errors;
};

// A whole decimal integer in [minimum, maximum]; nullopt on anything else. The one parser of
// the command line's counts and of the curves file's fields.
std::optional<long> parse_integer(std::string_view text, long minimum, long maximum) {
    long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < minimum || value > maximum)
        return std::nullopt;
    return value;
}

// Reads the curves file: "#" comments, then "validation_size N" and "seeds N", then one line
// per run: seed, learning-rate index, width index, and the misclassified validation samples
// after each of the max_length epochs. Every run must be there once. Throws naming the file
// and line of the first problem.
MeasuredCurves read_measured_curves(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error(path + ": cannot be read: " + std::strerror(errno));
    long validation_size = 0, seeds = 0, line_number = 0, runs = 0;
    MeasuredCurves curves;
    const auto fail = [&](const std::string& problem) {
        return std::runtime_error(path + ":" + std::to_string(line_number) + ": " + problem);
    };
    for (std::string line; std::getline(in, line);) {
        ++line_number;
        if (line.empty() || line.front() == '#')
            continue;
        std::istringstream fields(line);
        std::vector<std::string> tokens;
        for (std::string token; fields >> token;) tokens.push_back(token);
        if (tokens.size() == 2 && (tokens[0] == "validation_size" || tokens[0] == "seeds")) {
            const auto value = parse_integer(tokens[1], 1, 1000000);
            if (!value || runs > 0)
                throw fail(tokens[0] + " must be an integer >= 1, before the first run");
            (tokens[0] == "seeds" ? seeds : validation_size) = *value;
            if (tokens[0] == "seeds")
                curves.errors.assign(static_cast<std::size_t>(seeds), {});
            continue;
        }
        if (seeds == 0 || validation_size == 0)
            throw fail("a run before 'validation_size N' and 'seeds N'");
        if (tokens.size() != 3 + max_length)
            throw fail("a run has " + std::to_string(3 + max_length) + " fields (seed, " +
                       "learning-rate index, width index, an error count per epoch), not " +
                       std::to_string(tokens.size()));
        const auto seed = parse_integer(tokens[0], 0, seeds - 1);
        const auto u = parse_integer(tokens[1], 0, grid_side - 1);
        const auto v = parse_integer(tokens[2], 0, grid_side - 1);
        if (!seed || !u || !v)
            throw fail("seed must be in [0, " + std::to_string(seeds - 1) +
                       "] and both indexes in [0, " + std::to_string(grid_side - 1) + "]");
        auto& by_config = curves.errors[static_cast<std::size_t>(*seed)];
        by_config.resize(config_count);
        auto& curve = by_config[static_cast<std::size_t>(*u * grid_side + *v)];
        if (!curve.empty())
            throw fail("run (seed " + tokens[0] + ", " + tokens[1] + ", " + tokens[2] +
                       ") appears twice");
        for (std::size_t k = 3; k < tokens.size(); ++k) {
            const auto count = parse_integer(tokens[k], 0, validation_size);
            if (!count)
                throw fail("error count '" + tokens[k] + "' after epoch " + std::to_string(k - 2) +
                           " is not an integer in [0, validation_size " +
                           std::to_string(validation_size) + "]");
            curve.push_back(double(*count) / double(validation_size));
        }
        ++runs;
    }
    if (runs != seeds * config_count || seeds == 0)
        throw std::runtime_error(path + ": " + std::to_string(runs) + " runs, expected " +
                                 std::to_string(seeds * config_count) + " (every seed x " +
                                 std::to_string(config_count) + " configurations)");
    return curves;
}

struct Surrogate {
    std::vector<Curve> curves;  // config_count, row-major over the grid
    double noise = 0;           // standard deviation of one observation
    // The final error a "good" configuration reaches: within 1 % of the grid's best error
    // (the first definition), and within 1 % of the grid's best accuracy (1 - error).
    double target = 0;
    double accuracy_target = 0;
    int good_count = 0;
    int accuracy_good_count = 0;

    // What a searcher sees of `config` after `epoch`: the curve plus noise. The noise is a
    // unit normal draw times `noise`, which is 0 for measured curves (a normal distribution
    // does not accept an sd of 0); `unit_noise` carries its cached draw from call to call.
    double observe(int config, long epoch, std::normal_distribution<double>& unit_noise,
                   std::mt19937_64& rng) const {
        return curves[static_cast<std::size_t>(config)].at(epoch) + noise * unit_noise(rng);
    }
};

// The two targets from the final errors of the whole grid.
void set_targets(Surrogate& s) {
    double best = s.curves[0].at(max_length);
    for (const auto& c : s.curves) best = std::min(best, c.at(max_length));
    s.target = best * (1.0 + target_tolerance);
    // accuracy >= (1 - 1 %) x best accuracy, i.e. error <= best + 1 % of (1 - best).
    s.accuracy_target = 1.0 - (1.0 - best) * (1.0 - target_tolerance);
    for (const auto& c : s.curves) {
        s.good_count += c.at(max_length) <= s.target ? 1 : 0;
        s.accuracy_good_count += c.at(max_length) <= s.accuracy_target ? 1 : 0;
    }
}

// A seed's grid of measured curves: for each configuration, one of its training runs drawn
// from the seed. The runs carry their own noise (the epoch-to-epoch wobble of a validation
// error over a few hundred samples), so observations add none, and a configuration's final
// error is that of its run, the value the searchers see at max_length.
Surrogate measured_surrogate(const MeasuredCurves& measured, std::mt19937_64& rng) {
    std::uniform_int_distribution<std::size_t> run(0, measured.errors.size() - 1);
    Surrogate s;
    s.curves.resize(config_count);
    for (std::size_t i = 0; i < s.curves.size(); ++i)
        s.curves[i].measured = measured.errors[run(rng)][i];
    set_targets(s);
    return s;
}

Surrogate make_surrogate(Family family, std::mt19937_64& rng, const MeasuredCurves& measured) {
    if (family == Family::measured)
        return measured_surrogate(measured, rng);
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
            case Family::measured:
                break;
        }
    }
    set_targets(s);
    return s;
}

// What a searcher does at the end of each epoch of a trial: go on, stop the trial, or
// report that the trial reached max_length.
enum class Step { go_on, stop, finished };

// A searcher's cost for each target: trial-steps until it finished a configuration within
// 1 % of the best error, and within 1 % of the best accuracy; nullopt: not within the cap.
struct Cost {
    std::optional<long> error, accuracy;
};

// The asynchronous worker pool: every worker trains one trial at a time, one epoch per time
// unit; a trial ends when `judge` says so. Returns the trial-steps spent until `judge`
// finished a good configuration for each target (nullopt once `give_up_after` steps are
// spent). The accuracy target is the looser one, so the run goes on until the error target
// is met; what the searcher does never depends on the targets.
// `config_of` gives the configuration of the next trial when a worker starts it;
// `resume_first`, when given, a paused trial a free worker resumes instead (promotion-based
// ASHA), or nullopt to start the next trial.
struct TrialProgress {
    long trial = 0;
    int config = 0;
    long epoch = 0;  // the epochs it has been trained for
};
Cost run_pool(const Surrogate& surrogate, int workers,
              const std::function<int(long trial)>& config_of,
              const std::function<Step(long trial, int config, long epoch)>& judge,
              long give_up_after,
              const std::function<std::optional<TrialProgress>()>& resume_first = {}) {
    std::vector<TrialProgress> pool(static_cast<std::size_t>(workers));
    long next_trial = 0;
    long spent = 0;
    const auto start_next = [&](TrialProgress& w) {
        if (resume_first) {
            if (const auto paused = resume_first()) {
                w = *paused;
                return;
            }
        }
        w.trial = next_trial++;
        w.config = config_of(w.trial);
        w.epoch = 0;
    };
    for (auto& w : pool) start_next(w);
    Cost cost;
    while (spent < give_up_after) {
        for (auto& w : pool) {  // one time unit; workers in a fixed order break ties
            ++w.epoch;
            ++spent;
            const Step step = judge(w.trial, w.config, w.epoch);
            if (step == Step::finished) {
                const double final_error =
                    surrogate.curves[static_cast<std::size_t>(w.config)].at(max_length);
                if (!cost.accuracy && final_error <= surrogate.accuracy_target)
                    cost.accuracy = spent;
                if (final_error <= surrogate.target) {
                    cost.error = spent;
                    return cost;
                }
            }
            if (step != Step::go_on)
                start_next(w);
        }
    }
    return cost;
}

// The ASHA configuration the "asha" row runs (the command line's --divisor, --rungs,
// --mode; row "asha-cons" runs the same divisor and rungs in conservative mode), and whether
// the model-based searchers run too (--asha-only skips them, for quick sweeps).
struct Options {
    int seeds = 20;
    int workers = 8;
    int divisor = 3;
    int rungs = 5;
    AshaMode mode = AshaMode::aggressive;
    bool model_based = true;
    std::string curves = HPSWEEP_BENCH_CURVES;  // the measured family's runs (--curves)

    AshaSettings asha(AshaMode with_mode) const {
        return AshaSettings{"val_error", true, max_length, divisor, rungs, with_mode};
    }
};

// How well early results predict the final one, on one seed's surrogate: Spearman's rank
// correlation between the errors at each rung length below max_length and the final errors
// (all 256 configurations, noise-free), the same for one noisy observation at the first
// rung, and whether the configuration with the best final error ranks among the
// ceil(256 / divisor) best at each rung length (what aggressive ASHA asks of it when the rung
// holds the whole grid).
struct Predictiveness {
    std::vector<double> rank_correlation;  // by rung below the last
    double observed_first_rung = 0;
    std::vector<bool> best_in_top;  // by rung below the last
};

// Where the "asha" row ended the trials of configurations within the error target: by the
// rung they were stopped at, the last entry counting those trained to max_length.
struct GoodTrialEnds {
    std::vector<int> at_rung;
};

struct Costs {
    Cost grid, random, asha, asha_conservative, asha_promotion, bohb, tpe;
    int good_count = 0;           // configurations within 1 % of the grid's best error
    int accuracy_good_count = 0;  // ... of the grid's best accuracy
    Predictiveness predictiveness;
    GoodTrialEnds good_trial_ends;
};

// Ranks from 1, tied values sharing the mean of their positions.
std::vector<double> ranks_of(const std::vector<double>& values) {
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
    std::vector<double> ranks(values.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
        for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = 0.5 * double(i + j) + 1.0;
        i = j + 1;
    }
    return ranks;
}

// Spearman's rho: Pearson's correlation of the ranks.
double rank_correlation(const std::vector<double>& x, const std::vector<double>& y) {
    const std::vector<double> rx = ranks_of(x), ry = ranks_of(y);
    const double n = double(rx.size());
    const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n;
    const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < rx.size(); ++i) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

// `noise_rng` is a stream of its own, so that measuring this leaves the searchers' noise
// (and so every ratio) as it is without it.
Predictiveness predictiveness_of(const Surrogate& surrogate, const AshaSchedule& schedule,
                                 std::mt19937_64 noise_rng) {
    const auto errors_at = [&](long epoch) {
        std::vector<double> out;
        for (const auto& c : surrogate.curves) out.push_back(c.at(epoch));
        return out;
    };
    const std::vector<double> final_errors = errors_at(max_length);
    const auto best = static_cast<std::size_t>(
        std::min_element(final_errors.begin(), final_errors.end()) - final_errors.begin());
    const long top = schedule.survivors(config_count);
    Predictiveness p;
    const auto& rungs = schedule.rung_lengths();
    for (std::size_t k = 0; k + 1 < rungs.size(); ++k) {
        const std::vector<double> early = errors_at(rungs[k]);
        p.rank_correlation.push_back(rank_correlation(early, final_errors));
        const auto better =
            std::count_if(early.begin(), early.end(), [&](double e) { return e < early[best]; });
        p.best_in_top.push_back(better < top);
    }
    std::vector<double> observed;
    std::normal_distribution<double> unit_noise;
    for (int config = 0; config < config_count; ++config)
        observed.push_back(surrogate.observe(config, rungs.front(), unit_noise, noise_rng));
    p.observed_first_rung = rank_correlation(observed, final_errors);
    return p;
}

// The grid as the model-based searchers' space: u, v in [0, 15], searched as integers.
const ExperimentConfig& grid_space() {
    static const ExperimentConfig config = hpsweep::searcher::parse_experiment_config(R"(
entrypoint: train
hyperparameters:
  u: {type: int, minval: 0, maxval: 15}
  v: {type: int, minval: 0, maxval: 15}
searcher: {name: bohb, metric: val_error, max_trials: 100000, max_length: {epochs: 81},
           divisor: 3, max_rungs: 5, mode: aggressive, startup_trials: 10}
)",
                                                                                      "bench");
    return config;
}

int config_index(const nlohmann::ordered_json& hp) {
    return hp["u"].get<int>() * grid_side + hp["v"].get<int>();
}

// Row "asha-promote": ASHA in its promotion form (hpsweep::searcher::AshaPromotionRung: Li
// et al. 2020, Algorithm 2; Determined's adaptive_asha unless stop_once is true), with the
// divisor and rungs of row "asha", every trial from rung 0. A trial that is not promoted at a
// rung pauses, keeping what it learned, instead of stopping for good; a free worker resumes
// the paused trial promoted longest ago at the highest rung before it starts a new
// configuration. hpsweep-launch runs it with stop_once: false, where the worker the promoting
// trial frees resumes the promoted trial at once (docs/adaptive-search.md); this row measures
// what the stop-once form, hpsweep's default, costs against it.
Cost run_asha_promotion(const Surrogate& surrogate, const Options& options,
                        const std::function<int(long trial)>& config_of,
                        const std::mt19937_64& noise_start) {
    const AshaSchedule schedule(options.asha(AshaMode::aggressive));
    const auto& rungs = schedule.rung_lengths();
    std::vector<AshaPromotionRung> by_rung(rungs.size(), AshaPromotionRung(schedule));
    std::vector<std::deque<TrialProgress>> promoted_waiting(rungs.size());
    // A stream of its own, so that the rows after it observe the noise they did without it.
    std::mt19937_64 noise_rng = noise_start;
    std::normal_distribution<double> unit_noise;
    const auto judge = [&](long trial, int config, long epoch) {
        const auto rung = std::find(rungs.begin(), rungs.end(), epoch);
        if (rung == rungs.end())
            return Step::go_on;
        if (epoch >= max_length)
            return Step::finished;
        const auto k = static_cast<std::size_t>(rung - rungs.begin());
        const auto promotion =
            by_rung[k].report(trial, surrogate.observe(config, epoch, unit_noise, noise_rng));
        if (promotion.reporting_trial)
            return Step::go_on;
        if (promotion.paused_trial) {
            const long paused = *promotion.paused_trial;
            promoted_waiting[k].push_back({paused, config_of(paused), epoch});
        }
        return Step::stop;  // paused
    };
    const auto resume_first = [&]() -> std::optional<TrialProgress> {
        for (auto waiting = promoted_waiting.rbegin(); waiting != promoted_waiting.rend();
             ++waiting) {
            if (!waiting->empty()) {
                const TrialProgress next = waiting->front();
                waiting->pop_front();
                return next;
            }
        }
        return std::nullopt;
    };
    return run_pool(surrogate, options.workers, config_of, judge, give_up_steps, resume_first);
}

Costs run_seed(Family family, unsigned seed, const Options& options,
               const MeasuredCurves& measured) {
    const int workers = options.workers;
    std::mt19937_64 rng(seed * 1000003ULL + static_cast<unsigned>(family) * 7919ULL);
    const Surrogate surrogate = make_surrogate(family, rng, measured);
    Costs costs;
    costs.good_count = surrogate.good_count;
    costs.accuracy_good_count = surrogate.accuracy_good_count;
    costs.predictiveness = predictiveness_of(surrogate, AshaSchedule(options.asha(options.mode)),
                                             std::mt19937_64(seed * 7919ULL + 17ULL));

    std::vector<int> grid_order(config_count);
    std::iota(grid_order.begin(), grid_order.end(), 0);
    const auto train_fully = [](long, int, long epoch) {
        return epoch >= max_length ? Step::finished : Step::go_on;
    };
    const auto in_order = [](const std::vector<int>& order) {
        return
            [&order](long trial) { return order[static_cast<std::size_t>(trial) % order.size()]; };
    };
    costs.grid = run_pool(surrogate, workers, in_order(grid_order), train_fully, give_up_steps);

    std::vector<int> random_order = grid_order;
    std::shuffle(random_order.begin(), random_order.end(), rng);
    costs.random = run_pool(surrogate, workers, in_order(random_order), train_fully, give_up_steps);

    std::normal_distribution<double> unit_noise;  // for Surrogate::observe
    // `ends`, when given, counts where the trials of configurations within the error target
    // ended.
    const auto run_asha = [&](AshaMode mode, GoodTrialEnds* ends) {
        const AshaSchedule schedule(options.asha(mode));
        if (ends)
            ends->at_rung.assign(schedule.rung_lengths().size(), 0);
        // The rung results in arrival order, as AshaStore keeps them in its slot files (the
        // files add nothing to the decisions and make every report read the whole rung).
        std::vector<std::vector<RungResult>> rung_results(schedule.rung_lengths().size());
        const auto judge = [&](long trial, int config, long epoch) {
            const auto& rungs = schedule.rung_lengths();
            const auto rung = std::find(rungs.begin(), rungs.end(), epoch);
            // Like hpsweep-launch: a trial reports nothing below its bracket's first rung.
            if (rung == rungs.end() || rung - rungs.begin() < schedule.first_rung_of(trial))
                return Step::go_on;
            const double observed = surrogate.observe(config, epoch, unit_noise, rng);
            auto& results = rung_results[static_cast<std::size_t>(rung - rungs.begin())];
            results.push_back({trial, observed, static_cast<long>(results.size())});
            const Step step = epoch >= max_length                        ? Step::finished
                              : asha_continues(schedule, results, trial) ? Step::go_on
                                                                         : Step::stop;
            if (ends && step != Step::go_on &&
                surrogate.curves[static_cast<std::size_t>(config)].at(max_length) <=
                    surrogate.target)
                ++ends->at_rung[static_cast<std::size_t>(rung - rungs.begin())];
            return step;
        };
        return run_pool(surrogate, workers, in_order(random_order), judge, give_up_steps);
    };
    costs.asha = run_asha(options.mode, &costs.good_trial_ends);
    costs.asha_conservative = run_asha(AshaMode::conservative, nullptr);
    costs.asha_promotion = run_asha_promotion(surrogate, options, in_order(random_order), rng);
    if (!options.model_based)
        return costs;

    // The model-based searchers: each trial's configuration from the results so far, with
    // the seed hpsweep-launch derives for that trial.
    const ExperimentConfig& space = grid_space();
    TpeSettings tpe_settings;
    tpe_settings.startup_trials = space.searcher.startup_trials;
    const auto trial_seed = [&](long trial) {
        return hpsweep::searcher::derive_seed(seed, "tpe#trial" + std::to_string(trial));
    };
    // Both model-based searchers observe noise from the same starting point of the stream, so
    // that a change to one of them does not change the noise the other sees.
    const std::mt19937_64 model_noise_start = rng;
    std::vector<nlohmann::ordered_json> chosen;  // by trial id
    // The configurations started trials hold (trial.json in a sweep), which a new choice
    // skips, as choose_trial_config does.
    hpsweep::searcher::TakenConfigurations taken;
    // Trials with an observation (a rung record or a final value): the others among `chosen`
    // are running, the model's constant liars, as choose_trial_config finds them.
    std::vector<bool> has_observation;
    const auto running = [&] {
        std::vector<nlohmann::ordered_json> out;
        for (std::size_t t = 0; t < chosen.size(); ++t) {
            if (t >= has_observation.size() || !has_observation[t])
                out.push_back(chosen[t]);
        }
        return out;
    };
    const auto observe = [&](long trial) {
        has_observation.resize(
            std::max(has_observation.size(), static_cast<std::size_t>(trial) + 1));
        has_observation[static_cast<std::size_t>(trial)] = true;
    };
    const auto record = [&](long trial, const std::vector<hpsweep::searcher::Value>& values) {
        nlohmann::ordered_json hp;
        for (std::size_t i = 0; i < values.size(); ++i)
            hp[space.hyperparameters[i].name] = values[i].typed;
        chosen.resize(static_cast<std::size_t>(trial) + 1);
        chosen[static_cast<std::size_t>(trial)] = hp;
        taken.insert(hpsweep::hyperparameter_hash(hp));
        return config_index(hp);
    };
    {
        // BOHB: rung results as AshaStore holds them, joined with the trials' configurations
        // (bohb_observations does this from the files); a trial's record at the last rung is
        // its final value.
        const AshaSchedule schedule(hpsweep::searcher::asha_settings(space));
        const auto& rungs = schedule.rung_lengths();
        std::vector<std::vector<RungResult>> rung_results(rungs.size());
        BohbObservations by_rung(rungs.size());
        auto noise_rng = model_noise_start;
        const auto choose = [&](long trial) {
            const auto s = hpsweep::searcher::suggest_bohb(
                space.hyperparameters, by_rung, tpe_settings, trial_seed(trial), taken, running());
            return record(trial, s.tpe.values);
        };
        const auto judge = [&](long trial, int config, long epoch) {
            const auto rung = std::find(rungs.begin(), rungs.end(), epoch);
            if (rung == rungs.end())
                return Step::go_on;
            const auto k = static_cast<std::size_t>(rung - rungs.begin());
            const double observed = surrogate.observe(config, epoch, unit_noise, noise_rng);
            rung_results[k].push_back({trial, observed, static_cast<long>(rung_results[k].size())});
            by_rung[k].push_back(
                TpeObservation{trial, chosen[static_cast<std::size_t>(trial)], observed});
            observe(trial);
            if (epoch >= max_length)
                return Step::finished;
            return asha_continues(schedule, rung_results[k], trial) ? Step::go_on : Step::stop;
        };
        costs.bohb = run_pool(surrogate, workers, choose, judge, give_up_steps);
    }
    {
        // TPE alone: fitted to the trials completed when the worker starts, no early stopping.
        chosen.clear();
        taken.clear();
        has_observation.clear();
        std::vector<TpeObservation> completed;
        auto noise_rng = model_noise_start;
        const auto choose = [&](long trial) {
            const auto s =
                hpsweep::searcher::suggest_tpe(space.hyperparameters, completed, tpe_settings,
                                               trial_seed(trial), taken, running());
            return record(trial, s.values);
        };
        const auto judge = [&](long trial, int config, long epoch) {
            if (epoch < max_length)
                return Step::go_on;
            const double observed = surrogate.observe(config, epoch, unit_noise, noise_rng);
            completed.push_back(
                TpeObservation{trial, chosen[static_cast<std::size_t>(trial)], observed});
            observe(trial);
            return Step::finished;
        };
        costs.tpe = run_pool(surrogate, workers, choose, judge, give_up_steps);
    }
    return costs;
}

// The fewest trial-steps any searcher can spend on the pool: no worker is ever idle, and a
// configuration is only finished after max_length time units, so when the first trial of
// the first worker is a good configuration the pool has spent max_length - 1 steps on every
// worker and one more. random / floor is the largest ratio any searcher can reach against
// random: a goal above it cannot be met on that row.
long floor_cost(int workers) {
    return (max_length - 1) * workers + 1;
}

void print_ratio(const char* label, const std::vector<double>& ratios) {
    const Spread s = spread_of(ratios);
    std::printf("  %-21s %6.2fx +- %5.2f  (median %5.2fx, min %5.2fx, max %6.2fx, %zu seeds)\n",
                label, s.mean, s.sd, s.median, s.low, s.high, ratios.size());
}

// One target's costs and ratios over a set of seeds.
struct Ratios {
    std::vector<double> random_asha, grid_asha, random_conservative, random_promotion, random_bohb,
        asha_bohb, random_tpe, random_floor;
    std::vector<double> asha_cost, random_cost, bohb_cost, tpe_cost, good;
    int asha_misses = 0, bohb_misses = 0, tpe_misses = 0;

    // `floor`: the fewest trial-steps any searcher can spend (floor_cost).
    void add(const Costs& c, std::optional<long> Cost::*target, int good_count, long floor) {
        // Random and grid train every configuration fully, so they always finish within the
        // cap; ASHA, BOHB and TPE may not (ASHA or BOHB stopping every good configuration
        // early, a model settling elsewhere) and are then charged the cap (a lower bound on
        // what they would have spent, counted against them).
        const auto cost = [&](const Cost& of) {
            return double((of.*target).value_or(give_up_steps));
        };
        const double asha = cost(c.asha), random = cost(c.random), bohb = cost(c.bohb),
                     tpe = cost(c.tpe);
        asha_misses += (c.asha.*target) ? 0 : 1;
        bohb_misses += (c.bohb.*target) ? 0 : 1;
        tpe_misses += (c.tpe.*target) ? 0 : 1;
        random_asha.push_back(random / asha);
        random_floor.push_back(random / double(floor));
        grid_asha.push_back(cost(c.grid) / asha);
        random_conservative.push_back(random / cost(c.asha_conservative));
        random_promotion.push_back(random / cost(c.asha_promotion));
        random_bohb.push_back(random / bohb);
        asha_bohb.push_back(asha / bohb);
        random_tpe.push_back(random / tpe);
        asha_cost.push_back(asha);
        random_cost.push_back(random);
        bohb_cost.push_back(bohb);
        tpe_cost.push_back(tpe);
        good.push_back(good_count);
    }

    void append(const Ratios& other) {
        for (auto [to, from] : {std::pair{&random_asha, &other.random_asha},
                                {&grid_asha, &other.grid_asha},
                                {&random_conservative, &other.random_conservative},
                                {&random_promotion, &other.random_promotion},
                                {&random_bohb, &other.random_bohb},
                                {&asha_bohb, &other.asha_bohb},
                                {&random_tpe, &other.random_tpe},
                                {&random_floor, &other.random_floor}})
            to->insert(to->end(), from->begin(), from->end());
    }

    void print_costs(bool model_based) const {
        if (model_based) {
            std::printf(
                "  mean cost asha %.0f, random %.0f, bohb %.0f, tpe %.0f trial-steps; %.1f good "
                "configurations of %d on average; at the cap (2 full grids, counted at the "
                "cap): asha %d, bohb %d, tpe %d seed(s)\n",
                spread_of(asha_cost).mean, spread_of(random_cost).mean, spread_of(bohb_cost).mean,
                spread_of(tpe_cost).mean, spread_of(good).mean, config_count, asha_misses,
                bohb_misses, tpe_misses);
        } else {
            std::printf(
                "  mean cost asha %.0f, random %.0f trial-steps; %.1f good configurations of %d "
                "on average; at the cap (2 full grids, counted at the cap): asha %d seed(s)\n",
                spread_of(asha_cost).mean, spread_of(random_cost).mean, spread_of(good).mean,
                config_count, asha_misses);
        }
    }

    void print(bool with_conservative, bool model_based) const {
        print_ratio("random / floor", random_floor);
        print_ratio("random / asha", random_asha);
        print_ratio("grid / asha", grid_asha);
        if (with_conservative)
            print_ratio("random / asha-cons", random_conservative);
        print_ratio("random / asha-promote", random_promotion);
        if (!model_based)
            return;
        print_ratio("random / bohb", random_bohb);
        print_ratio("asha / bohb", asha_bohb);
        print_ratio("random / tpe", random_tpe);
    }
};

// The diagnosis printed under each family: how predictive early results are, and where the
// "asha" row ended the trials of configurations within the error target on the seeds it hit
// the cap.
void print_diagnosis(const AshaSchedule& schedule, const std::vector<Costs>& by_seed) {
    const auto& rungs = schedule.rung_lengths();
    const std::size_t seeds = by_seed.size();
    std::printf(
        " early results (Spearman rank correlation with the noise-free final error over "
        "the %d configurations, mean over seeds):\n  noise-free at epoch",
        config_count);
    for (std::size_t k = 0; k + 1 < rungs.size(); ++k) {
        std::vector<double> rho;
        for (const Costs& c : by_seed) rho.push_back(c.predictiveness.rank_correlation[k]);
        std::printf(" %ld: %.2f%s", rungs[k], spread_of(rho).mean, k + 2 < rungs.size() ? "," : "");
    }
    std::vector<double> observed;
    for (const Costs& c : by_seed) observed.push_back(c.predictiveness.observed_first_rung);
    std::printf("; one noisy observation at epoch %ld: %.2f\n", rungs.front(),
                spread_of(observed).mean);
    std::printf("  the best final configuration among the %ld best of %d at epoch",
                schedule.survivors(config_count), config_count);
    for (std::size_t k = 0; k + 1 < rungs.size(); ++k) {
        long seeds_in_top = 0;
        for (const Costs& c : by_seed) seeds_in_top += c.predictiveness.best_in_top[k] ? 1 : 0;
        std::printf(" %ld: %ld%s", rungs[k], seeds_in_top, k + 2 < rungs.size() ? "," : "");
    }
    std::printf(" of %zu seeds (noise-free)\n", seeds);
    std::vector<int> ends(rungs.size(), 0);
    long capped = 0;
    for (const Costs& c : by_seed) {
        if (c.asha.error)
            continue;
        ++capped;
        for (std::size_t k = 0; k < rungs.size(); ++k) ends[k] += c.good_trial_ends.at_rung[k];
    }
    const long tries = std::accumulate(ends.begin(), ends.end(), 0L);
    std::printf(
        " asha at the cap on [error] on %ld seed(s); there it tried configurations within "
        "the error target %ld times, ended at epoch",
        capped, tries);
    for (std::size_t k = 0; k < rungs.size(); ++k)
        std::printf(" %ld: %d%s", rungs[k], ends[k], k + 1 < rungs.size() ? "," : "\n");
}

// A count on the command line: a whole decimal integer >= `minimum`; nullopt otherwise.
std::optional<int> parse_count(const char* text, int minimum) {
    const auto value = parse_integer(text, minimum, 1000000);
    return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
}

int usage(const char* program, const std::string& problem) {
    std::fprintf(stderr,
                 "%s: %s\nusage: %s [seeds>=1] [workers>=1] [--divisor N>=2] [--rungs N>=1] "
                 "[--mode aggressive|standard|conservative] [--asha-only] [--curves FILE]\n",
                 program, problem.c_str(), program);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--asha-only") {
            options.model_based = false;
            continue;
        }
        if (arg == "--divisor" || arg == "--rungs" || arg == "--mode" || arg == "--curves") {
            if (i + 1 >= argc)
                return usage(argv[0], arg + " needs a value");
            const char* value = argv[++i];
            if (arg == "--curves") {
                options.curves = value;
                continue;
            }
            if (arg == "--mode") {
                try {
                    options.mode = hpsweep::searcher::parse_asha_mode(value);
                } catch (const std::exception& e) {
                    return usage(argv[0], std::string("--mode: ") + e.what());
                }
                continue;
            }
            const auto count = parse_count(value, arg == "--divisor" ? 2 : 1);
            if (!count)
                return usage(argv[0], arg + ": '" + value + "' is not an integer >= " +
                                          (arg == "--divisor" ? "2" : "1"));
            (arg == "--divisor" ? options.divisor : options.rungs) = *count;
            continue;
        }
        if (positional >= 2)
            return usage(argv[0], "unexpected argument '" + arg + "'");
        const char* what = positional == 0 ? "seeds" : "workers";
        const auto count = parse_count(argv[i], 1);
        if (!count)
            return usage(argv[0], std::string(what) + ": '" + arg + "' is not an integer >= 1");
        (positional++ == 0 ? options.seeds : options.workers) = *count;
    }
    MeasuredCurves measured;
    try {
        measured = read_measured_curves(options.curves);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress, family by family

    const AshaSchedule shown(options.asha(options.mode));
    std::printf("bench/search: %d configurations, max_length %ld epochs, ASHA rungs", config_count,
                max_length);
    for (long r : shown.rung_lengths()) std::printf(" %ld", r);
    std::printf(" (divisor %d, mode %s, %d bracket(s)), %d workers, %d seeds%s\n", options.divisor,
                hpsweep::searcher::to_string(options.mode), shown.bracket_count(), options.workers,
                options.seeds, options.model_based ? "" : ", without bohb and tpe");
    std::printf(
        "cost = trial-steps until a configuration within %.0f%% of the grid's best is "
        "trained to max_length, for two targets:\n"
        "  [error]    final error <= best error x %.2f (the first definition)\n"
        "  [accuracy] final accuracy (1 - error) >= best accuracy x %.2f\n"
        "ratio = the first searcher's cost / the second's (random / asha > 1: ASHA cheaper), "
        "mean +- sd over seeds\n"
        "floor = %ld trial-steps, the fewest any searcher can spend (a good configuration on "
        "the first worker's first trial): random / floor is the most any searcher can save\n",
        target_tolerance * 100, 1 + target_tolerance, 1 - target_tolerance,
        floor_cost(options.workers));
    // The three formula families together, as printed before the measured family existed,
    // and all four.
    Ratios formula_error, formula_accuracy, all_error, all_accuracy;
    for (const Family family : families) {
        Ratios error, accuracy;
        std::vector<Costs> by_seed;
        for (int seed = 1; seed <= options.seeds; ++seed) {
            by_seed.push_back(run_seed(family, static_cast<unsigned>(seed), options, measured));
            const Costs& c = by_seed.back();
            error.add(c, &Cost::error, c.good_count, floor_cost(options.workers));
            accuracy.add(c, &Cost::accuracy, c.accuracy_good_count, floor_cost(options.workers));
        }
        std::printf("\n%s\n [error]\n", name_of(family));
        error.print_costs(options.model_based);
        error.print(true, options.model_based);
        std::printf(" [accuracy]\n");
        accuracy.print_costs(options.model_based);
        accuracy.print(true, options.model_based);
        print_diagnosis(shown, by_seed);
        if (family != Family::measured) {
            formula_error.append(error);
            formula_accuracy.append(accuracy);
        }
        all_error.append(error);
        all_accuracy.append(accuracy);
    }
    for (const auto& [title, error, accuracy] :
         {std::tuple{"the three formula families", &formula_error, &formula_accuracy},
          std::tuple{"all families", &all_error, &all_accuracy}}) {
        std::printf("\n%s:\n [error]\n", title);
        error->print(false, options.model_based);
        std::printf(" [accuracy]\n");
        accuracy->print(false, options.model_based);
    }
    return 0;
}
