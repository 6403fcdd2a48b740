#include "resubmit_selection.hpp"

#include <fmt/format.h>

#include "hpsweep/error.hpp"

namespace hpsweep::cli {

std::set<long> user_cancelled_trials(const ExperimentRecord& record) {
    std::set<long> ids;
    for (const auto& entry : record.cancellations) {
        if (entry.all) {
            for (long id = 0; id < record.num_trials; ++id) ids.insert(id);
        } else {
            ids.insert(entry.trials.begin(), entry.trials.end());
        }
    }
    return ids;
}

std::vector<long> trials_to_resubmit(const sweep::ExperimentStates& states,
                                     const std::set<long>& user_cancelled,
                                     const ResubmitRequest& request) {
    if (request.trials.empty() && !request.failed) {
        throw Error(ErrorKind::usage,
                    "hpsweep resubmit needs trial ids (resubmit EXP 3 5) or --failed (every "
                    "trial that did not complete)");
    }
    if (!request.trials.empty() && request.failed) {
        throw Error(ErrorKind::usage, "give trial ids or --failed, not both");
    }
    std::vector<long> ids;
    if (!request.trials.empty()) {
        for (const long id : std::set<long>(request.trials.begin(), request.trials.end())) {
            if (id < 0 || static_cast<std::size_t>(id) >= states.trials.size()) {
                throw Error(ErrorKind::usage,
                            fmt::format("trial {} does not exist (the experiment has trials 0 to "
                                        "{})",
                                        id, static_cast<long>(states.trials.size()) - 1));
            }
            const auto& state = states.trials[static_cast<std::size_t>(id)].state;
            if (state == "pending" || state == "running") {
                throw Error(ErrorKind::usage,
                            fmt::format("trial {} is {}; cancel it first (hpsweep cancel EXP {})",
                                        id, state, id));
            }
            ids.push_back(id);
        }
        return ids;
    }
    for (const auto& t : states.trials) {
        if (!sweep::is_terminal(t.state) || sweep::is_success(t.state))
            continue;
        if (t.state == "cancelled" && !request.cancelled && user_cancelled.count(t.id) != 0)
            continue;
        ids.push_back(t.id);
    }
    return ids;
}

}  // namespace hpsweep::cli
