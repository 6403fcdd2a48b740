#include "trial_promotion.hpp"

#include <cerrno>
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

// HPSWEEP_RESUMED_BY: the trial whose task hands this one over (submit.sh), if any.
std::optional<long> resumed_by() {
    const char* text = std::getenv("HPSWEEP_RESUMED_BY");
    if (text == nullptr || *text == '\0')
        return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const long id = std::strtol(text, &end, 10);
    if (*end != '\0' || errno != 0 || id < 0)
        return std::nullopt;
    return id;
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
    if (previous && previous->status == "paused" && previous->paused_at_rung) {
        const int rung = *previous->paused_at_rung;
        const auto promotion = store.promotion_of(trial, rung);
        if (!promotion) {
            std::fprintf(stderr,
                         "hpsweep-launch: trial %ld is paused at rung %d and no result has "
                         "promoted it: nothing to run\n",
                         trial, rung);
            return false;
        }
        // Only the task of the trial that promoted it resumes it (submit.sh says which trial
        // handed it over): its own task, requeued, would run it a second time.
        if (resumed_by() != promotion->by) {
            std::fprintf(stderr,
                         "hpsweep-launch: trial %ld is paused at rung %d and trial %ld's task "
                         "resumes it: nothing to run here\n",
                         trial, rung, promotion->by);
            return false;
        }
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
