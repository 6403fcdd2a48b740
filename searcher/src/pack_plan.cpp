#include "hpsweep/searcher/pack_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {

namespace {

std::optional<long> number(std::string_view text) {
    long v = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 0)
        return std::nullopt;
    return v;
}

[[noreturn]] void invalid(const ExperimentConfig& c, const std::string& key,
                          const std::string& message) {
    throw Error(ErrorKind::config, c.location_of(key) + ": " + message);
}

// sbatch_arguments asks for the preemption notice this long before the time limit.
constexpr long preemption_notice_seconds = 60;

long ceil_div(long a, long b) {
    return (a + b - 1) / b;
}

}  // namespace

std::optional<long> slurm_time_seconds(const std::string& text) {
    std::string_view rest = text;
    long days = 0;
    const auto dash = rest.find('-');
    if (dash != std::string_view::npos) {
        const auto d = number(rest.substr(0, dash));
        if (!d)
            return std::nullopt;
        days = *d;
        rest = rest.substr(dash + 1);
    }
    std::vector<long> parts;
    for (const auto& part : split(rest, ':')) {
        const auto v = number(part);
        if (!v)
            return std::nullopt;
        parts.push_back(*v);
    }
    if (parts.empty() || parts.size() > 3)
        return std::nullopt;
    long seconds = 0;
    if (dash != std::string_view::npos) {
        // D-H, D-H:M, D-H:M:S
        const long h = parts[0], m = parts.size() > 1 ? parts[1] : 0,
                   s = parts.size() > 2 ? parts[2] : 0;
        seconds = h * 3600 + m * 60 + s;
    } else if (parts.size() == 1) {
        seconds = parts[0] * 60;  // minutes
    } else if (parts.size() == 2) {
        seconds = parts[0] * 60 + parts[1];  // M:S
    } else {
        seconds = parts[0] * 3600 + parts[1] * 60 + parts[2];
    }
    return days * 86400 + seconds;
}

std::string format_slurm_time(long seconds) {
    const long days = seconds / 86400;
    const long rest = seconds % 86400;
    const std::string hms =
        fmt::format("{:02}:{:02}:{:02}", rest / 3600, (rest % 3600) / 60, rest % 60);
    return days > 0 ? fmt::format("{}-{}", days, hms) : hms;
}

bool is_packed(const Resources& r) {
    return r.trials_per_task_auto || r.trials_per_task > 1 || r.trials_per_gpu > 1;
}

int pack_slots(const Resources& r) {
    return std::max(r.gpus_per_task, 1) * r.trials_per_gpu;
}

void check_packing(const ExperimentConfig& c) {
    const auto& r = c.resources;
    if (r.trials_per_task < 1)
        invalid(c, "resources.trials_per_task", "trials_per_task must be >= 1 or auto");
    if (r.trials_per_gpu < 1)
        invalid(c, "resources.trials_per_gpu", "trials_per_gpu must be >= 1");
    if (r.gpus_per_task < 0)
        invalid(c, "resources.gpus_per_task", "gpus_per_task must be >= 0");
    if (!is_packed(r))
        return;
    const std::string key = r.trials_per_task_auto || r.trials_per_task > 1
                                ? "resources.trials_per_task"
                                : "resources.trials_per_gpu";
    if (r.nodes != 1 || r.slots_per_trial > 1) {
        invalid(c, key,
                fmt::format("packing runs trials of at most one GPU on one node (this trial "
                            "asks for {} GPU(s) on {} node(s))",
                            r.slots_per_trial, r.nodes));
    }
    if (r.slots_per_trial == 1 && r.gpus_per_task < 1) {
        invalid(c, "resources.gpus_per_task",
                "each trial needs a GPU: a packed task needs gpus_per_task >= 1");
    }
    if (r.trials_per_task_auto) {
        const auto seconds = r.time.empty() ? std::nullopt : slurm_time_seconds(r.time);
        if (!seconds || *seconds <= 0) {
            invalid(c, "resources.trials_per_task",
                    "trials_per_task: auto needs a finite trial time limit (resources.time, "
                    "--time) to size tasks by");
        }
    }
}

long auto_trials_per_task(const Resources& r, long min_job_seconds) {
    const auto seconds = slurm_time_seconds(r.time);
    if (!seconds || *seconds <= 0) {
        throw Error(ErrorKind::config, "trials_per_task: auto needs a finite resources.time");
    }
    const long rounds = std::max(1L, ceil_div(std::max(min_job_seconds, 1L), *seconds));
    return static_cast<long>(pack_slots(r)) * rounds;
}

void resolve_trials_per_task(Resources& r, long min_job_seconds) {
    if (!r.trials_per_task_auto)
        return;
    r.trials_per_task = auto_trials_per_task(r, min_job_seconds);
    r.trials_per_task_auto = false;
}

std::vector<ArrayChunk> plan_packed_arrays(long num_trials, long trials_per_task,
                                           long max_array_size) {
    if (trials_per_task < 1)
        throw Error(ErrorKind::config, "trials per task must be >= 1");
    const long tasks = ceil_div(std::max(num_trials, 0L), trials_per_task);
    auto chunks = plan_arrays(tasks, max_array_size);
    for (auto& chunk : chunks) {
        chunk.offset *= trials_per_task;  // task offset -> trial id of the chunk's task 0
        chunk.pack = trials_per_task;
        chunk.trial_end = num_trials;
    }
    return chunks;
}

long array_task_count(const Resources& r, long num_trials) {
    return is_packed(r) ? ceil_div(num_trials, std::max(r.trials_per_task, 1L)) : num_trials;
}

PackShare pack_share(long offset, long task, long trials_per_task, long trial_end) {
    const long first = offset + task * trials_per_task;
    return PackShare{first, std::min(first + trials_per_task, trial_end)};
}

long packed_task_of(long trial, long offset, long trials_per_task) {
    return (trial - offset) / std::max(trials_per_task, 1L);
}

ResourceRequest packed_task_request(const Resources& r) {
    ResourceRequest request = trial_resource_request(r);
    request.nodes = 1;
    request.tasks_per_node = 1;
    request.gpus_per_node = r.slots_per_trial > 0 ? r.gpus_per_task : 0;
    const int cpu_units = request.gpus_per_node > 0 ? request.gpus_per_node : pack_slots(r);
    request.cpus_per_task = r.cpus_per_gpu > 0 ? r.cpus_per_gpu * cpu_units : 0;
    if (const auto seconds = slurm_time_seconds(r.time); seconds && *seconds > 0) {
        // Plus the lead of the preemption notice (sbatch --signal=B:USR2@60): a task whose
        // limit is its trials' alone gets the notice while they still have time to run.
        const long rounds = ceil_div(r.trials_per_task, pack_slots(r));
        request.time = format_slurm_time(*seconds * rounds + preemption_notice_seconds);
    }
    return request;
}

}  // namespace hpsweep::searcher
