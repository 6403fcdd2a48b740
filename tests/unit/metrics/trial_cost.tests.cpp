// Time and cost of each trial and the experiment's totals (metrics/trial_cost.hpp): the
// rules for trials alone in their task, packed trials, no accounting, rates and the
// early-stopping estimate of adaptive search.
#include <catch2/catch.hpp>

#include <cmath>

#include "hpsweep/metrics/summary.hpp"
#include "hpsweep/metrics/trial_cost.hpp"

using namespace hpsweep::metrics;

namespace {

TrialResult ran(std::int64_t id, const std::string& start, const std::string& end,
                const std::string& status = "completed") {
    TrialResult trial;
    trial.id = id;
    trial.status = status;
    trial.start = start;
    trial.end = end;
    return trial;
}

MetricStats steps_reached(std::int64_t last_step) {
    MetricStats stats;
    stats.name = "loss";
    stats.count = last_step;
    stats.last_step = last_step;
    stats.last_value = 1;
    return stats;
}

}  // namespace

TEST_CASE("a trial alone in its task costs the task: sacct's elapsed x allocated GPUs",
          "[metrics][cost]") {
    const auto trial = ran(0, "2026-12-05T03:00:05Z", "2026-12-05T03:01:05Z");
    TrialUsage usage;
    usage.from_accounting = true;
    usage.submit = 1000;
    usage.start = 1030;
    usage.elapsed_seconds = 63;  // the launcher's 60 s plus the task's set-up
    usage.gpus = 2;
    usage.cpus = 4;
    const auto cost = trial_cost(trial, usage, CostRates{2.5, 0.1}, 0);
    CHECK(cost.source == "sacct");
    CHECK(cost.queue_wait_seconds == 30);
    CHECK(cost.run_seconds == 63);
    CHECK(cost.gpus == 2);
    CHECK(cost.gpu_hours == Approx(63.0 * 2 / 3600));
    CHECK(cost.cpu_hours == Approx(63.0 * 4 / 3600));
    CHECK(cost.cost == Approx(63.0 * 2 / 3600 * 2.5 + 63.0 * 4 / 3600 * 0.1));
}

TEST_CASE("no rate set: no cost; only a CPU rate: CPU-hours priced", "[metrics][cost]") {
    const auto trial = ran(0, "2026-12-05T03:00:00Z", "2026-12-05T04:00:00Z");
    TrialUsage usage;
    usage.gpus = 1;
    usage.cpus = 2;
    CHECK(std::isnan(trial_cost(trial, usage, CostRates{}, 0).cost));
    const auto cpu_only = trial_cost(trial, usage, CostRates{std::nullopt, 0.5}, 0);
    CHECK(cpu_only.cost == Approx(1.0));
    CHECK(cpu_only.source == "launcher");  // no accounting: the launcher's start and end
    CHECK(cpu_only.run_seconds == 3600);
}

TEST_CASE("a packed trial counts its own run and its share of the task", "[metrics][cost]") {
    // Task: 1 GPU, 4 trials per GPU; this trial ran 10 minutes of the task's hour.
    const auto trial = ran(3, "2026-12-05T03:20:00Z", "2026-12-05T03:30:00Z");
    TrialUsage usage;
    usage.from_accounting = true;
    usage.submit = *parse_utc_seconds("2026-12-05T03:00:00Z");
    usage.start = *parse_utc_seconds("2026-12-05T03:01:00Z");
    usage.elapsed_seconds = 3600;
    usage.gpus = 1;
    usage.cpus = 8;
    usage.share = 0.25;
    const auto cost = trial_cost(trial, usage, CostRates{4.0, std::nullopt}, 0);
    CHECK(cost.run_seconds == 600);
    CHECK(cost.gpus == 0.25);
    CHECK(cost.cpus == 2);
    CHECK(cost.gpu_hours == Approx(600.0 * 0.25 / 3600));
    CHECK(cost.cost == Approx(600.0 * 0.25 / 3600 * 4));
    CHECK(cost.queue_wait_seconds == 1200);  // waiting for a free slot counts as waiting
}

TEST_CASE("a running trial counts to now; a pending one has no run time", "[metrics][cost]") {
    const auto start = *parse_utc_seconds("2026-12-05T03:00:00Z");
    TrialUsage usage;
    usage.gpus = 1;
    const auto running = trial_cost(ran(0, "2026-12-05T03:00:00Z", ""), usage, {}, start + 90);
    CHECK(running.run_seconds == 90);
    const auto pending = trial_cost(ran(1, "", "", "pending"), usage, {}, start + 90);
    CHECK(std::isnan(pending.run_seconds));
    CHECK(std::isnan(pending.gpu_hours));
    CHECK(pending.source.empty());
}

TEST_CASE("totals sum the trials; ASHA's saving is per-step cost x steps not run",
          "[metrics][cost]") {
    ExperimentResults results;
    auto full = ran(0, "2026-12-05T03:00:00Z", "2026-12-05T04:00:00Z");
    full.metrics.push_back(steps_reached(100));
    auto stopped = ran(1, "2026-12-05T03:00:00Z", "2026-12-05T03:15:00Z", "stopped_early");
    stopped.metrics.push_back(steps_reached(25));
    auto pending = ran(2, "", "", "pending");
    TrialUsage usage;
    usage.gpus = 2;
    for (auto* trial : {&full, &stopped, &pending}) {
        trial->cost = trial_cost(*trial, usage, CostRates{1.0, std::nullopt}, 0);
        results.trials.push_back(*trial);
    }
    const auto plain = cost_totals(results, CostRates{1.0, std::nullopt}, false);
    CHECK(plain.trials_counted == 2);
    CHECK(plain.run_seconds == 4500);
    CHECK(plain.gpu_hours == Approx(2.5));
    CHECK(plain.cost == Approx(2.5));
    CHECK(std::isnan(plain.early_stopping_saved_gpu_hours));

    const auto asha = cost_totals(results, CostRates{}, true);
    CHECK(std::isnan(asha.cost));
    CHECK(asha.full_length_steps == 100);
    // 0.5 GPU-h for 25 steps; 75 more steps to the full length: 1.5 GPU-h saved.
    CHECK(asha.early_stopping_saved_gpu_hours == Approx(1.5));
}

TEST_CASE("durations print as minutes and seconds, or hours and minutes", "[metrics][cost]") {
    CHECK(duration_text(65) == "1m05s");
    CHECK(duration_text(7500) == "2h05m");
    CHECK(duration_text(std::nan("")).empty());
    CHECK_FALSE(parse_utc_seconds("yesterday"));
    CHECK(parse_utc_seconds("1970-01-01T00:01:00Z") == 60);
}
