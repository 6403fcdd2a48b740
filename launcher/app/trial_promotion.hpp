#pragma once
// ASHA's promotion form (searcher.stop_once: false) on the launcher's side. A trial outside its
// rung's best pauses: its child is stopped (it keeps its checkpoint), result.json says
// "paused" and the rung. When a later result at that rung promotes it, that result's trial
// (which then pauses itself) writes the paused trial's id to its trials/<id>/resume-next, and
// its task's batch script runs the paused trial next, in the same allocation: resumed trials
// go before new configurations, as in Li et al.'s ASHA, and nothing is left queued when the
// sweep ends. docs/adaptive-search.md.

#include <chrono>
#include <filesystem>
#include <optional>

#include "hpsweep/searcher/config.hpp"

namespace hpsweep::launcher {

// Whether a run of `trial` of a promotion-form experiment runs it: a new trial, one requeued
// after a preemption, or a promoted one that the task of the trial that promoted it hands over
// (HPSWEEP_RESUMED_BY, set by submit.sh) runs. A paused trial does not run in any other task:
// when nobody promoted it, or when another task resumes it, its own task was requeued while it
// hosted another trial, and the batch script goes on to that one. A resumed trial first waits, up
// to `grace` and a minute, for the run that paused it to record the pause, so that two runs of one
// trial never overlap.
bool trial_runs_in_promotion_form(const searcher::ExperimentConfig& config,
                                  const std::filesystem::path& experiment, long trial,
                                  std::chrono::milliseconds grace);

}  // namespace hpsweep::launcher
