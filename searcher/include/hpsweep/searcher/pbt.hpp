#pragma once
// Population-based training (Jaderberg et al., "Population Based Training of Neural
// Networks", 2017) without a master, in the asynchronous form Orion uses: each trial decides
// for itself at each ready point (every perturb_every steps) from the results the population
// has published at that point.
//
// The rule, at ready point k of trial t, among the members that published at k so far (t
// included), ranked best first:
//   - fewer than 2 members, or t not in the bottom `quantile`: t goes on unchanged;
//   - otherwise t exploits: it picks one member of the top `quantile` (from the seed), takes
//     that member's checkpoint and explores from its hyper-parameters: each one is resampled
//     from its domain with `resample_probability`, else continuous values are multiplied by
//     one of `factors` (clamped to the domain) and list values move to a neighbouring entry.
//
// Checkpoints are shared through a content-addressed store (PbtCheckpointStore): a copy is
// made under a temporary name and renamed to the digest of its content only when complete,
// and a restore checks the digest again, so a half-written checkpoint is never copied.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

struct PbtSettings {
    bool smaller_is_better = true;
    long population_size = 8;
    long perturb_every = 1;  // in the steps the training program reports
    double quantile = 0.25;
    double resample_probability = 0.25;
    std::vector<double> factors = {0.8, 1.2};
};

struct PbtMember {
    long trial_id = 0;
    double value = 0;
    nlohmann::ordered_json hyperparameters;
    std::string checkpoint;  // digest in the checkpoint store; empty: none published
};

struct PbtExploit {
    long source_trial = 0;
    std::string checkpoint;
    nlohmann::ordered_json hyperparameters;  // the source's, perturbed
};

// Members ranked in the top / bottom quantile of n: max(1, floor(quantile * n)).
long pbt_quantile_count(const PbtSettings& settings, long members);

// The decision of `trial` at one ready point, given the members that published there (in
// arrival order, `trial` among them). Members without a checkpoint are never copied.
std::optional<PbtExploit> pbt_decide(const std::vector<Hyperparameter>& space,
                                     const PbtSettings& settings,
                                     const std::vector<PbtMember>& members, long trial,
                                     std::uint64_t seed);

// Explore: the perturbed copy of `hyperparameters` (see above). Values that do not fit the
// space are resampled.
nlohmann::ordered_json pbt_perturb(const std::vector<Hyperparameter>& space,
                                   const PbtSettings& settings,
                                   const nlohmann::ordered_json& hyperparameters,
                                   std::uint64_t seed);

// Content-addressed checkpoints under EXP/pbt/checkpoints/<digest>/ (immutable once named).
class PbtCheckpointStore {
public:
    explicit PbtCheckpointStore(std::filesystem::path experiment_dir);

    // Copies the regular files under `checkpoint_dir` into the store and returns their digest
    // (the same content always gets the same digest and is stored once). Throws Error(data)
    // on a FIFO, device or link, Error(io) when it cannot copy.
    std::string publish(const std::filesystem::path& checkpoint_dir) const;
    // Replaces the content of `checkpoint_dir` with the stored checkpoint, after checking
    // its digest. Returns false, leaving `checkpoint_dir` untouched, when the digest is not
    // in the store or its content does not match it.
    bool restore(const std::string& digest, const std::filesystem::path& checkpoint_dir) const;
    std::filesystem::path path_of(const std::string& digest) const;

private:
    std::filesystem::path root_;
};

// Digest of a directory's regular files: names, sizes and contents, in name order (64-bit
// FNV-1a, hex). Names a copy and checks it; it is not a defence against a user who forges
// collisions in their own experiment.
std::string checkpoint_digest(const std::filesystem::path& dir);

}  // namespace hpsweep::searcher

namespace hpsweep::searcher {

// The ready-point records of a PBT population under EXP/pbt/ready<k>/<slot>: one complete
// JSON member per slot, linked to the next free slot number (as AshaStore does), so the slot
// is the arrival order and each decision is the one pbt_decide makes over the members that
// arrived up to and including the reporting trial. A requeued trial that reports a ready
// point again keeps its first record and gets the same decision.
class PbtStore {
public:
    PbtStore(std::filesystem::path experiment_dir, std::vector<Hyperparameter> space,
             PbtSettings settings, std::uint64_t seed);

    std::optional<PbtExploit> report(long ready_point, const PbtMember& member);
    std::vector<PbtMember> members_at(long ready_point) const;  // in arrival order
    // Appends one exploit to EXP/pbt/lineage.jsonl (one line per exploit, O_APPEND).
    void record_lineage(long ready_point, long trial, const PbtExploit& exploit) const;

private:
    std::filesystem::path ready_dir(long ready_point) const;

    std::filesystem::path root_;
    std::vector<Hyperparameter> space_;
    PbtSettings settings_;
    std::uint64_t seed_;
};

// Seed of one trial's decision at one ready point.
std::uint64_t pbt_decision_seed(std::uint64_t sweep_seed, long trial, long ready_point);

}  // namespace hpsweep::searcher
