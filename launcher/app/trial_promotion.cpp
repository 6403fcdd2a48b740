#include "trial_promotion.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/searcher/asha.hpp"

namespace hpsweep::launcher {

namespace {

std::optional<TrialResultRecord> previous_result(const ExperimentDir& dir, long trial) {
    std::error_code ec;
    if (!std::filesystem::exists(dir.trial_result(trial), ec))
        return std::nullopt;
    try {
        return read_trial_result(dir.trial_result(trial));
    } catch (const Error&) {
        return std::nullopt;  // being rewritten: the caller polls again
    }
}

bool same_job(const TrialResultRecord& result) {
    const char* job = std::getenv("SLURM_JOB_ID");
    return job != nullptr && result.job_id && *result.job_id == job;
}

}  // namespace

bool trial_runs_in_promotion_form(const searcher::ExperimentConfig& config,
                                  const std::filesystem::path& experiment, long trial,
                                  std::chrono::milliseconds grace) {
    const ExperimentDir dir(experiment);
    const searcher::AshaStore store(experiment,
                                    searcher::AshaSchedule(searcher::asha_settings(config)));
    const auto resumed_rung = store.highest_promotion(trial);
    auto previous = previous_result(dir, trial);
    if (previous && previous->status == "paused" && previous->paused_at_rung &&
        !store.promotion_of(trial, *previous->paused_at_rung)) {
        std::fprintf(stderr,
                     "hpsweep-launch: trial %ld is paused at rung %d and no result has promoted "
                     "it: nothing to run\n",
                     trial, *previous->paused_at_rung);
        return false;
    }
    if (resumed_rung) {
        // The run that paused this trial may still be in its stop grace, checkpointing.
        const auto deadline = std::chrono::steady_clock::now() + grace + std::chrono::minutes(1);
        while (previous && previous->status == "running" && !same_job(*previous) &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            previous = previous_result(dir, trial);
        }
        std::fprintf(stderr, "hpsweep-launch: trial %ld resumes: promoted at rung %d\n", trial,
                     *resumed_rung);
    }
    return true;
}

}  // namespace hpsweep::launcher
