#pragma once
// Which trials `hpsweep resubmit` submits again:
//   resubmit EXP 3 5            exactly those trials (refused while one is pending or running);
//   resubmit EXP --failed       every trial that ended without success, except the ones the
//                               user cancelled on purpose (`hpsweep cancel`, recorded in
//                               experiment.json "cancellations");
//   resubmit EXP --failed --cancelled   those too.

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "trial_states.hpp"

namespace hpsweep::cli {

// The trials named by experiment.json "cancellations" (every trial for an `all` entry).
std::set<long> user_cancelled_trials(const ExperimentRecord& record);

struct ResubmitRequest {
    std::vector<long> trials;  // explicit ids; empty: choose by state
    bool failed = false;
    bool cancelled = false;
};

// Throws Error(usage) for a request that names nothing, an unknown id, or an active trial.
std::vector<long> trials_to_resubmit(const sweep::ExperimentStates& states,
                                     const std::set<long>& user_cancelled,
                                     const ResubmitRequest& request);

}  // namespace hpsweep::cli
