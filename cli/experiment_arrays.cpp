#include "experiment_arrays.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/pack_plan.hpp"

namespace hpsweep::cli::sweep {

std::string now_iso8601() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

ArrayRecord submitted_array(const std::string& job_id, const searcher::ArrayChunk& chunk,
                            int throttle, const std::string& kind) {
    return ArrayRecord{job_id,        chunk.offset, chunk.array_spec(throttle), chunk.count(), kind,
                       now_iso8601(), chunk.pack};
}

std::vector<searcher::IndexRange> array_tasks(const ArrayRecord& array) {
    try {
        return searcher::parse_array_spec(array.array);
    } catch (const Error& e) {
        throw Error(ErrorKind::data,
                    fmt::format("experiment.json: array of job {}: {}", array.job_id, e.what()));
    }
}

std::vector<std::optional<TrialJob>> trial_jobs(const ExperimentRecord& record) {
    const long num_trials = record.num_trials;
    std::vector<std::optional<TrialJob>> jobs(static_cast<size_t>(std::max(0L, num_trials)));
    // Later arrays (resubmissions) override earlier ones.
    for (const auto& r : record.arrays) {
        for (const auto& [first, last] : array_tasks(r)) {
            for (long task = first; task <= last; ++task) {
                const auto share = searcher::pack_share(r.offset, task, r.pack, num_trials);
                for (long trial = std::max(share.first, 0L); trial < share.end; ++trial) {
                    jobs[static_cast<size_t>(trial)] = TrialJob{r.job_id, task, r.pack > 1};
                }
            }
        }
    }
    return jobs;
}

}  // namespace hpsweep::cli::sweep
