#include "trial_diagnosis.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "hpsweep/contracts/json_fields.hpp"
#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/metrics/summary.hpp"

namespace fs = std::filesystem;

namespace hpsweep::cli {

namespace {

// The last BYTES of PATH ("" when it cannot be read): enough for the last lines of a log.
std::string file_tail(const fs::path& path, off_t bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return {};
    std::string text;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    if (size > 0) {
        const off_t start = std::max<off_t>(0, size - bytes);
        text.resize(static_cast<std::size_t>(size - start));
        const ssize_t got = ::pread(fd, text.data(), text.size(), start);
        text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    }
    ::close(fd);
    return text;
}

std::optional<std::time_t> parse_iso8601_utc(const std::string& text) {
    std::tm tm{};
    if (::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr)
        return std::nullopt;
    return ::timegm(&tm);
}

std::string format_elapsed(long long seconds) {
    if (seconds < 0)
        seconds = 0;
    if (seconds >= 3600)
        return fmt::format("{}h{:02}m", seconds / 3600, seconds / 60 % 60);
    return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
}

}  // namespace

std::string last_line(const std::string& text) {
    std::size_t end = text.find_last_not_of(" \t\r\n");
    if (end == std::string::npos)
        return {};
    const std::size_t start = text.find_last_of('\n', end);
    std::string line = text.substr(start == std::string::npos ? 0 : start + 1,
                                   end + 1 - (start == std::string::npos ? 0 : start + 1));
    if (line.size() > 200)
        line = line.substr(0, 197) + "...";
    return line;
}

std::string interpreter_hint(std::optional<int> exit_code, const std::string& stderr_tail,
                             const std::string& interpreter) {
    if (const auto at = stderr_tail.rfind("ModuleNotFoundError"); at != std::string::npos) {
        return fmt::format(
            "hint: '{}' (found through the job's PATH on the compute node) lacks "
            "a module the program imports; give the entrypoint the full path of "
            "a Python that has it (hpsweep run --python /path/to/python, or "
            "entrypoint: /path/to/python ...)",
            interpreter);
    }
    if (exit_code && *exit_code == 127) {
        return fmt::format(
            "hint: exit 127: '{}' was not found on the compute node (the job's "
            "PATH); give its full path",
            interpreter);
    }
    return {};
}

TrialDiagnosis diagnose_trial(const ExperimentDir& dir, long trial_id, const std::string& state,
                              std::optional<int> exit_code, const std::string& interpreter) {
    TrialDiagnosis diagnosis;
    TrialResultRecord result;
    try {
        const auto path = dir.trial_result(trial_id).string();
        result = trial_result_from_json(
            contracts::parse_json_document(file_tail(path, 64 * 1024), path), path);
    } catch (const Error&) {
        // None yet, or one being rewritten: Slurm's state and the logs still tell something.
    }
    diagnosis.signal = result.signal;
    if (!exit_code)
        exit_code = result.exit_code;
    if (state == "failed" || state == "timeout" || state == "cancelled" || state == "preempted" ||
        state == "unknown") {
        const std::string tail = file_tail(dir.trial_stderr(trial_id), 16 * 1024);
        diagnosis.last_stderr_line = last_line(tail);
        diagnosis.hint = interpreter_hint(exit_code, tail, interpreter);
    }
    if (state == "running") {
        if (const auto start = parse_iso8601_utc(result.start)) {
            diagnosis.elapsed = format_elapsed(static_cast<long long>(std::time(nullptr) - *start));
        }
    }
    return diagnosis;
}

std::vector<std::string> metric_warnings(const std::map<std::string, std::string>& configured,
                                         const std::vector<std::vector<std::string>>& reported) {
    std::vector<std::string> warnings;
    if (reported.empty())
        return warnings;
    for (const auto& [name, pattern] : configured) {
        const auto missing = std::count_if(reported.begin(), reported.end(), [&](const auto& r) {
            return std::find(r.begin(), r.end(), name) == r.end();
        });
        if (missing > 0) {
            warnings.push_back(fmt::format(
                "warning: metric '{}' (regex '{}') never matched in {} of {} finished trial(s); "
                "the regex is searched in each line of stdout and stderr",
                name, pattern, missing, reported.size()));
        }
    }
    const bool none_at_all =
        std::all_of(reported.begin(), reported.end(), [](const auto& r) { return r.empty(); });
    if (none_at_all && configured.empty()) {
        warnings.push_back(
            fmt::format("warning: none of the {} finished trial(s) reported a metric: print "
                        "'HPSWEEP_METRIC step=N name=value' lines, or give a regex (--metric-regex "
                        "NAME=REGEX, metrics.regex in the experiment file)",
                        reported.size()));
    }
    return warnings;
}

std::vector<std::string> experiment_metric_warnings(const fs::path& root) {
    std::map<std::string, std::string> configured;
    try {
        const auto record = ExperimentDir(root).read_record();
        for (const auto& [name, pattern] : record.metrics.regex) configured[name] = pattern;
    } catch (const Error&) {
        return {};
    }
    std::vector<std::vector<std::string>> reported;
    try {
        const auto results = metrics::collect_results(root);
        for (const auto& trial : results.trials) {
            if (trial.status != "completed" && trial.status != "failed")
                continue;
            std::vector<std::string> names;
            for (const auto& m : trial.metrics) names.push_back(m.name);
            reported.push_back(std::move(names));
        }
    } catch (const Error&) {
        return {};
    }
    return metric_warnings(configured, reported);
}

std::map<long, long long> reported_steps(const fs::path& root) {
    std::map<long, long long> steps;
    try {
        for (const auto& trial : metrics::collect_results(root).trials) {
            if (trial.last_step() >= 0)
                steps[static_cast<long>(trial.id)] = trial.last_step();
        }
    } catch (const Error&) {
    }
    return steps;
}

nlohmann::ordered_json to_json(const TrialDiagnosis& diagnosis) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    if (diagnosis.signal)
        j["signal"] = *diagnosis.signal;
    if (!diagnosis.last_stderr_line.empty())
        j["last_stderr_line"] = diagnosis.last_stderr_line;
    if (!diagnosis.hint.empty())
        j["hint"] = diagnosis.hint;
    if (diagnosis.step)
        j["step"] = *diagnosis.step;
    if (!diagnosis.elapsed.empty())
        j["elapsed"] = diagnosis.elapsed;
    return j;
}

std::vector<std::string> detail_lines(const TrialDiagnosis& diagnosis) {
    std::vector<std::string> lines;
    if (!diagnosis.elapsed.empty() || diagnosis.step) {
        std::string progress = "running";
        if (diagnosis.step)
            progress += fmt::format(", step {}", *diagnosis.step);
        if (!diagnosis.elapsed.empty())
            progress += ", for " + diagnosis.elapsed;
        lines.push_back(progress);
    }
    if (diagnosis.signal)
        lines.push_back(fmt::format("killed by signal {}", *diagnosis.signal));
    if (!diagnosis.last_stderr_line.empty())
        lines.push_back("stderr: " + diagnosis.last_stderr_line);
    if (!diagnosis.hint.empty())
        lines.push_back(diagnosis.hint);
    return lines;
}

}  // namespace hpsweep::cli
