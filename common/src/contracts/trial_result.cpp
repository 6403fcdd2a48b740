#include "hpsweep/contracts/trial_result.hpp"

#include <limits>

#include "hpsweep/contracts/json_fields.hpp"
#include "hpsweep/fs.hpp"

namespace hpsweep {

namespace {

using ordered_json = nlohmann::ordered_json;

template <typename T>
ordered_json or_null(const std::optional<T>& value) {
    return value ? ordered_json(*value) : ordered_json(nullptr);
}

ordered_json text_or_null(const std::string& text) {
    return text.empty() ? ordered_json(nullptr) : ordered_json(text);
}

// Slurm ids are strings as the environment gives them; a hand-written file may hold numbers.
std::optional<std::string> slurm_id(const contracts::JsonFields& f, const char* key) {
    if (!f.has(key))
        return std::nullopt;
    const auto& value = f.object().at(key);
    if (value.is_number_integer())
        return value.dump();
    return f.string(key);
}

}  // namespace

ordered_json to_json(const TrialResultRecord& r) {
    ordered_json j{
        {"trial", r.trial},
        {"status", r.status},
        {"exit_code", or_null(r.exit_code)},
        {"signal", or_null(r.signal)},
        {"start", text_or_null(r.start)},
        {"end", text_or_null(r.end)},
        {"node", r.node},
        {"job_id", or_null(r.job_id)},
        {"array_job_id", or_null(r.array_job_id)},
        {"array_task_id", or_null(r.array_task_id)},
        {"step_id", or_null(r.step_id)},
        {"rank", r.rank},
        {"restart_count", r.restart_count},
    };
    if (!r.error.empty())
        j["error"] = r.error;
    if (r.paused_at_rung)
        j["paused_at_rung"] = *r.paused_at_rung;
    return j;
}

TrialResultRecord trial_result_from_json(const ordered_json& j, const std::string& source) {
    constexpr long long int_min = std::numeric_limits<int>::min();
    constexpr long long int_max = std::numeric_limits<int>::max();
    const contracts::JsonFields f(j, source);
    TrialResultRecord r;
    r.trial = static_cast<long>(f.integer("trial", 0, std::numeric_limits<long>::max()));
    r.status = f.string("status");
    if (const auto code = f.optional_integer("exit_code", int_min, int_max))
        r.exit_code = static_cast<int>(*code);
    if (const auto signal = f.optional_integer("signal", 0, int_max))
        r.signal = static_cast<int>(*signal);
    r.start = f.optional_string("start").value_or("");
    r.end = f.optional_string("end").value_or("");
    r.node = f.optional_string("node").value_or("");
    r.job_id = slurm_id(f, "job_id");
    r.array_job_id = slurm_id(f, "array_job_id");
    r.array_task_id = slurm_id(f, "array_task_id");
    r.step_id = slurm_id(f, "step_id");
    r.rank = static_cast<int>(f.optional_integer("rank", 0, int_max).value_or(0));
    r.restart_count = static_cast<long>(
        f.optional_integer("restart_count", 0, std::numeric_limits<long>::max()).value_or(0));
    r.error = f.optional_string("error").value_or("");
    if (const auto rung = f.optional_integer("paused_at_rung", 0, int_max))
        r.paused_at_rung = static_cast<int>(*rung);
    return r;
}

bool ended_by_searcher(std::string_view status) noexcept {
    return status == "stopped_early" || status == "paused";
}

TrialResultRecord read_trial_result(const std::filesystem::path& path) {
    return trial_result_from_json(contracts::parse_json_document(read_file(path), path.string()),
                                  path.string());
}

void write_trial_result(const std::filesystem::path& path, const TrialResultRecord& result) {
    write_file_atomic(path, to_json(result).dump(2) + "\n");
}

}  // namespace hpsweep
