#include "slurm_usage.hpp"

#include <charconv>
#include <ctime>

#include "hpsweep/strings.hpp"

namespace hpsweep::cli::slurm {

namespace {

double number(std::string_view text) {
    double value = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && p == text.data() + text.size() ? value : 0;
}

// The value of `name=` in a TRES list; typed entries ("name:type=") are summed when the
// untyped total is missing; nullopt when neither is listed.
std::optional<double> tres_count(std::string_view alloc_tres, std::string_view name) {
    std::optional<double> typed;
    for (const auto& entry : split(alloc_tres, ',')) {
        const auto eq = entry.find('=');
        if (eq == std::string::npos)
            continue;
        const std::string_view key(entry.data(), eq);
        const std::string_view value(entry.data() + eq + 1, entry.size() - eq - 1);
        if (key == name)
            return number(value);
        if (key.size() > name.size() && key.substr(0, name.size()) == name &&
            key[name.size()] == ':')
            typed = typed.value_or(0) + number(value);
    }
    return typed;
}

}  // namespace

std::optional<double> allocated_gpus(std::string_view alloc_tres) {
    return tres_count(alloc_tres, "gres/gpu");
}
double allocated_cpus(std::string_view alloc_tres) {
    return tres_count(alloc_tres, "cpu").value_or(0);
}

std::optional<std::int64_t> parse_slurm_local_time(std::string_view text) {
    const std::string copy(trim(text));
    std::tm tm{};
    const char* end = ::strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (copy.empty() || end == nullptr || *end != '\0')
        return std::nullopt;
    tm.tm_isdst = -1;  // the zone's rule decides, as it did when sacct printed it
    const std::time_t seconds = std::mktime(&tm);
    if (seconds == static_cast<std::time_t>(-1))
        return std::nullopt;
    return static_cast<std::int64_t>(seconds);
}

std::map<std::string, TaskUsage> parse_sacct_usage(std::string_view output) {
    std::map<std::string, TaskUsage> tasks;
    for (const auto& line : split(output, '\n')) {
        const auto f = split(trim(line), '|');
        if (f.size() != 6 || f[0].find('[') != std::string::npos || f[0].empty())
            continue;
        TaskUsage usage;
        usage.submit = f[1];
        usage.start = f[2];
        usage.end = f[3];
        usage.submit_seconds = parse_slurm_local_time(f[1]);
        usage.start_seconds = parse_slurm_local_time(f[2]);
        usage.end_seconds = parse_slurm_local_time(f[3]);
        usage.elapsed_seconds = static_cast<std::int64_t>(number(f[4]));
        usage.gpus = allocated_gpus(f[5]);
        usage.cpus = allocated_cpus(f[5]);
        tasks[f[0]] = std::move(usage);
    }
    return tasks;
}

}  // namespace hpsweep::cli::slurm
