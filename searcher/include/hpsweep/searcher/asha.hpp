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

#include "hpsweep/contracts/rung_record.hpp"
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
// hpsweep-launch runs it when the experiment says stop_once: false (AshaStore::
// arrive_promotion); bench/search measures it against the stop-once form.
struct AshaPromotion {
    bool reporting_trial = false;      // the trial that reported goes on at once
    std::optional<long> paused_trial;  // else, a paused trial this arrival promoted
};

// One rung's results, fed in arrival order; the schedule gives the divisor and direction.
class AshaPromotionRung {
public:
    explicit AshaPromotionRung(const AshaSchedule& schedule);

    AshaPromotion report(long trial_id, double value);
    // The rung has every result it will ever get (a sweep of a fixed number of trials): the
    // best ceil(n / divisor) go on, as the stop-once form lets them, so that the last paused
    // trials of a rung do not wait for results that never come. Returns the one trial this
    // promotes that floor(n / divisor) had not (there is at most one), if any.
    std::optional<long> close();
    std::size_t size() const noexcept { return ranked_.size(); }
    long promoted_count() const noexcept { return promoted_count_; }

private:
    struct Entry {
        double key;  // smaller ranks first
        long trial_id;
        bool promoted;
    };
    std::vector<Entry> ranked_;  // best first; equal keys in arrival order
    long divisor_;
    bool smaller_is_better_;
    long promoted_count_ = 0;
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

    // The promotion form (stop_once: false) on the same slots. Records the value as report()
    // does, then replays each rung's results in arrival order through AshaPromotionRung, so
    // that every trial that replays a rung sees the same promotions:
    //  - goes_on: this arrival promoted the reporting trial;
    //  - host: else, the paused trial this trial's task resumes, claimed for it (by
    //    record_promotion): the one this arrival promoted, or the one a rung's closing
    //    promoted. A rung closes once it holds every result it will get: every trial of the
    //    sweep (`trials` of them) whose bracket starts there, and every trial promoted out of
    //    the rung below once that one has closed. A trial that fails before reporting keeps
    //    the rungs above it open.
    // At the last rung nothing goes on, and the trial's task may host a closing's promotion.
    struct Arrival {
        bool goes_on = false;
        std::optional<PromotionRecord> host;
    };
    Arrival arrive_promotion(long trial_id, int rung, double value, long trials);
    // Records that record.by's result promoted the paused record.trial at record.rung, as
    // asha/rung<K>/promoted/<trial> (temp file + link()): true when this call created it,
    // false when it was there already (another trial claimed it first, or an earlier run of
    // this one).
    bool record_promotion(const PromotionRecord& record);
    std::optional<PromotionRecord> promotion_of(long trial_id, int rung) const;
    // The highest rung at which the trial was promoted while paused; nullopt if none.
    std::optional<int> highest_promotion(long trial_id) const;

private:
    std::filesystem::path rung_dir(int rung) const;
    // Links the trial's record to the next free slot of `rung` unless it has one; returns the
    // rung's results in arrival order and the slot (sequence) of the trial's record.
    std::pair<std::vector<RungResult>, long> publish(long trial_id, int rung, double value);
    // Claims `candidate` for this arrival (by, by_rung) unless another holds it; true when
    // this arrival hosts it.
    bool claim(const PromotionRecord& candidate);

    std::filesystem::path root_;
    AshaSchedule schedule_;
};

// EXP/asha/rung<K>/promoted/<trial> (contracts/rung_record.hpp), or nullopt when the trial was
// not promoted at that rung. Throws Error(data) naming the file when it is not a valid record.
std::optional<PromotionRecord> read_promotion(const std::filesystem::path& experiment_dir,
                                              long trial_id, int rung);

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
