#pragma once
// Asynchronous successive halving (ASHA) without a central daemon.
//
// Each trial decides for itself, at each rung, whether it goes on: it records its metric
// value at the rung as one file in the experiment directory (atomic rename, so it works on
// NFS/Lustre without locks), reads every value recorded at that rung so far, and continues
// only if it ranks in the top 1/divisor of them (at least the best one always continues).
// This is the asynchronous promotion rule of Li et al. ("A System for Massively Parallel
// Hyperparameter Tuning", 2020) in its stopping form, as Determined's adaptive_asha uses it.
//
// Rungs: with max_length L, divisor d and R rungs, rung k (0-based) is at L / d^(R-1-k)
// units, so the last rung is L itself. Hyperband-style brackets (mode) let some trials
// skip the first rungs: bracket b's trials are first judged at rung b.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

enum class AshaMode { aggressive, standard, conservative };

struct AshaSettings {
    std::string metric;
    bool smaller_is_better = true;
    long max_length = 0;  // in the unit the training program reports steps in
    int divisor = 4;
    int max_rungs = 5;
    AshaMode mode = AshaMode::standard;
};

AshaMode parse_asha_mode(const std::string& text);  // throws Error(config)

// The ASHA settings of an experiment whose searcher stops early (adaptive_asha, bohb):
// metric, direction, max_length (already in the trial's step unit), divisor, rungs, mode.
AshaSettings asha_settings(const ExperimentConfig& config);
const char* to_string(AshaMode mode) noexcept;

// The schedule: rung lengths and bracket assignment. Pure and cheap.
class AshaSchedule {
public:
    explicit AshaSchedule(const AshaSettings& settings);

    const AshaSettings& settings() const noexcept { return settings_; }
    // Rung lengths, increasing, last == max_length; rungs that would be < 1 unit are dropped.
    const std::vector<long>& rung_lengths() const noexcept { return rungs_; }
    int bracket_count() const noexcept { return brackets_; }
    int bracket_of(long trial_id) const noexcept;
    // The first rung this trial is judged at.
    int first_rung_of(long trial_id) const noexcept { return bracket_of(trial_id); }
    // Index of the highest rung whose length is <= step, or nullopt below the first rung.
    std::optional<int> rung_reached(long step) const noexcept;
    // Among n results at a rung, how many continue: ceil(n / divisor), at least 1.
    long survivors(long n) const noexcept;

private:
    AshaSettings settings_;
    std::vector<long> rungs_;
    int brackets_ = 1;
};

struct RungResult {
    long trial_id = 0;
    double value = 0;
    long sequence = 0;  // arrival order at this rung (ties in value go to the earlier one)
};

// True when `candidate` ranks within the survivors among `results` (which include it).
bool asha_continues(const AshaSchedule& schedule, const std::vector<RungResult>& results,
                    long candidate_trial);

enum class AshaDecision { continue_training, stop };

// ASHA's promotion form (Li et al., Algorithm 2; Determined's adaptive_asha unless
// stop_once: true): a trial that is not promoted at a rung pauses, keeping what it learned,
// instead of stopping for good, and goes on once it is promoted. Whenever a result arrives at
// a rung that then holds n results, the best floor(n / divisor) of them are all promoted
// (ties go to the earlier arrival, a nan/inf value ranks last), so an arrival promotes either
// the reporting trial itself or at most one paused trial: the one that has just entered them.
// hpsweep-launch runs only the stop-once form (asha_continues) for now: it has no paused
// state. bench/search measures this rule against it.
struct AshaPromotion {
    bool reporting_trial = false;      // the trial that reported goes on at once
    std::optional<long> paused_trial;  // else, a paused trial this arrival promoted
};

// One rung's results, fed in arrival order; the schedule gives the divisor and direction.
class AshaPromotionRung {
public:
    explicit AshaPromotionRung(const AshaSchedule& schedule);

    AshaPromotion report(long trial_id, double value);
    std::size_t size() const noexcept { return ranked_.size(); }

private:
    struct Entry {
        double key;  // smaller ranks first
        long trial_id;
        bool promoted;
    };
    std::vector<Entry> ranked_;  // best first; equal keys in arrival order
    long divisor_;
    bool smaller_is_better_;
};

// The file-based rung store under EXP/asha/: one complete record per slot, written as a
// temp file + link(): arrival order is the slot number rung<k>/<n> each record is linked
// to, and link() fails with EEXIST when a slot is taken, on local disks, NFS and Lustre.
class AshaStore {
public:
    AshaStore(std::filesystem::path experiment_dir, AshaSchedule schedule);

    // Records the trial's value at `rung` (idempotent: a requeued trial that reports the
    // same rung again keeps its first record) and decides whether it goes on.
    AshaDecision report(long trial_id, int rung, double value);
    // Every result recorded at a rung, in arrival order.
    std::vector<RungResult> results_at(int rung) const;
    const AshaSchedule& schedule() const noexcept { return schedule_; }

private:
    std::filesystem::path rung_dir(int rung) const;

    std::filesystem::path root_;
    AshaSchedule schedule_;
};

// Reference: the same rule applied sequentially to a list of (trial, rung, value) reports
// in arrival order, in memory. Used by tests to check the file-based store, and by
// `hpsweep submit --dry-run` to show what a sweep would do on simulated curves.
struct AshaReport {
    long trial_id;
    int rung;
    double value;
};
std::vector<AshaDecision> simulate_asha(const AshaSchedule& schedule,
                                        const std::vector<AshaReport>& reports);

}  // namespace hpsweep::searcher
