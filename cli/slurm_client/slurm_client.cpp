// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> (as in metrics/src/line_parser.cpp); clang has no such warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "slurm_client.hpp"

#include <cstdlib>
#include <regex>

#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::cli::slurm {

std::string parse_sbatch_job_id(std::string_view output) {
    const std::string line(trim(output.substr(0, output.find(';'))));
    if (line.empty() || line.find_first_not_of("0123456789") != std::string::npos) {
        throw Error(ErrorKind::slurm, "unexpected sbatch output: " + std::string(output));
    }
    return line;
}

std::optional<std::string> parse_salloc_job_id(std::string_view salloc_stderr) {
    static const std::regex granted(R"(Granted job allocation (\d+))");
    std::match_results<std::string_view::const_iterator> match;
    if (!std::regex_search(salloc_stderr.begin(), salloc_stderr.end(), match, granted))
        return std::nullopt;
    return match[1].str();
}

std::map<std::string, QueuedTask> parse_squeue_tasks(std::string_view output) {
    std::map<std::string, QueuedTask> tasks;
    for (const auto& line : split(output, '\n')) {
        const auto f = split(line, '|');
        if (f.size() < 6)
            continue;
        tasks[f[0] + "_" + f[1]] = QueuedTask{f[2], f[3], f[4] == "N/A" ? "" : f[4], f[5]};
    }
    return tasks;
}

std::map<std::string, AccountedTask> parse_sacct_tasks(std::string_view output) {
    std::map<std::string, AccountedTask> tasks;
    for (const auto& line : split(output, '\n')) {
        const auto f = split(line, '|');
        if (f.size() < 4 || f[0].find('[') != std::string::npos)
            continue;
        AccountedTask task{f[1], f[3], std::nullopt};
        if (const auto colon = f[2].find(':'); colon != std::string::npos) {
            task.exit_code = std::atoi(f[2].substr(0, colon).c_str());
        }
        tasks[f[0]] = std::move(task);
    }
    return tasks;
}

std::vector<SessionRow> parse_squeue_sessions(std::string_view output) {
    std::vector<SessionRow> rows;
    for (const auto& line : split(output, '\n')) {
        if (trim(line).empty())
            continue;
        const auto f = split(trim(line), '|');
        if (f.size() != 6)
            continue;
        rows.push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
    }
    return rows;
}

std::string trial_state_from_squeue(std::string_view slurm_state) {
    if (slurm_state == "PENDING" || slurm_state == "REQUEUED" || slurm_state == "REQUEUE_HOLD" ||
        slurm_state == "REQUEUE_FED" || slurm_state == "RESV_DEL_HOLD") {
        return "pending";
    }
    if (slurm_state == "PREEMPTED")
        return "preempted";
    return "running";  // RUNNING, CONFIGURING, COMPLETING, SUSPENDED, STAGE_OUT, SIGNALING...
}

std::string trial_state_from_sacct(std::string_view slurm_state) {
    const std::string_view s = slurm_state.substr(0, slurm_state.find(' '));  // "CANCELLED by 0"
    if (s == "COMPLETED")
        return "completed";
    if (s == "CANCELLED")
        return "cancelled";
    if (s == "TIMEOUT" || s == "DEADLINE")
        return "timeout";
    if (s == "PREEMPTED")
        return "preempted";
    if (s == "PENDING" || s == "REQUEUED")
        return "pending";
    if (s == "RUNNING" || s == "COMPLETING" || s == "SUSPENDED")
        return "running";
    return "failed";  // FAILED, NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL
}

}  // namespace hpsweep::cli::slurm
