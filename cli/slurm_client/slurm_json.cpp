#include "slurm_json.hpp"

#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::cli::slurm {

namespace {

using nlohmann::json;

// The releases whose squeue/sacct --json go through data_parser.
constexpr int first_json_major = 23;
constexpr int first_json_minor = 2;

// Slurm refuses arrays larger than MaxArraySize, at most 4000001 tasks: a record that
// claims more is not one Slurm wrote.
constexpr long max_array_tasks = 4000001;

// Where a field sits in the document, for error messages: "squeue --json: jobs[2].array".
struct Where {
    const char* command;
    std::string path;

    Where field(std::string_view name) const { return {command, path + "." + std::string(name)}; }
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(ErrorKind::slurm, fmt::format("{}: {}: {}", command, path, what));
    }
};

json parse_document(std::string_view text, const char* command) {
    json doc;
    try {
        doc = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        throw Error(ErrorKind::slurm,
                    fmt::format("{}: not JSON (at byte {}): {}", command, e.byte, e.what()));
    }
    if (!doc.is_object())
        throw Error(ErrorKind::slurm,
                    fmt::format("{}: expected a JSON object, got {}", command, doc.type_name()));
    // data_parser reports what went wrong in "errors" and may still print a document.
    if (const auto errors = doc.find("errors"); errors != doc.end() && errors->is_array()) {
        std::vector<std::string> said;
        for (const auto& e : *errors) {
            said.push_back(e.is_object() && e.contains("description") &&
                                   e["description"].is_string()
                               ? e["description"].get<std::string>()
                               : e.dump());
        }
        if (!said.empty())
            throw Error(ErrorKind::slurm,
                        fmt::format("{} reported errors: {}", command, join(said, "; ")));
    }
    const auto jobs = doc.find("jobs");
    if (jobs == doc.end() || !jobs->is_array())
        throw Error(ErrorKind::slurm, fmt::format("{}: no \"jobs\" array", command));
    return doc;
}

const json& member(const json& object, std::string_view name, const Where& where) {
    if (!object.is_object())
        where.fail(fmt::format("expected an object, got {}", object.type_name()));
    const auto it = object.find(std::string(name));
    if (it == object.end())
        where.fail(fmt::format("missing field \"{}\"", name));
    return *it;
}

std::string string_field(const json& object, std::string_view name, const Where& where) {
    const json& value = member(object, name, where);
    if (!value.is_string())
        where.field(name).fail(fmt::format("expected a string, got {}", value.type_name()));
    return value.get<std::string>();
}

// A number in either layout; nullopt when Slurm marks it unset (null, "set":false) or
// infinite.
std::optional<long long> number_value(const json& value, const Where& where) {
    if (value.is_null())
        return std::nullopt;
    if (value.is_number_integer())
        return value.get<long long>();
    if (value.is_object()) {
        const json& set = member(value, "set", where);
        const json& infinite = member(value, "infinite", where);
        const json& number = member(value, "number", where);
        if (!set.is_boolean() || !infinite.is_boolean() || !number.is_number_integer())
            where.fail("expected {\"set\": bool, \"infinite\": bool, \"number\": integer}");
        if (!set.get<bool>() || infinite.get<bool>())
            return std::nullopt;
        return number.get<long long>();
    }
    where.fail(fmt::format("expected an integer or a {{set, infinite, number}} object, got {}",
                           value.type_name()));
}

std::optional<long long> number_field(const json& object, std::string_view name,
                                      const Where& where) {
    return number_value(member(object, name, where), where.field(name));
}

// A job state as text's %T / State prints it: the base state, unless a flag that squeue
// names instead is set (Slurm's job_state_string() checks them in this order).
std::string state_field(const json& object, std::string_view name, const Where& where) {
    const json& value = member(object, name, where);
    if (value.is_string())
        return value.get<std::string>();
    if (!value.is_array() || value.empty())
        where.field(name).fail(
            fmt::format("expected a string or a non-empty array of strings, "
                        "got {}",
                        value.is_array() ? "[]" : value.type_name()));
    std::vector<std::string> states;
    for (const auto& s : value) {
        if (!s.is_string())
            where.field(name).fail(
                fmt::format("expected an array of strings, found {}", s.type_name()));
        states.push_back(s.get<std::string>());
    }
    static const char* const flags_named_first[] = {
        "COMPLETING",   "STAGE_OUT",    "CONFIGURING", "RESIZING", "REQUEUED",      "REQUEUE_FED",
        "REQUEUE_HOLD", "SPECIAL_EXIT", "STOPPED",     "REVOKED",  "RESV_DEL_HOLD", "SIGNALING"};
    for (const char* flag : flags_named_first) {
        for (const auto& s : states) {
            if (s == flag)
                return s;
        }
    }
    return states.front();
}

long parse_index(std::string_view digits, const Where& where) {
    long value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value < 0)
        where.fail(fmt::format("bad array index \"{}\"", digits));
    return value;
}

// The task ids of a pending array record: "4-5%2", "0-2", "1,3,5-9:2".
std::vector<long> expand_array_tasks(std::string_view spec, const Where& where) {
    spec = spec.substr(0, spec.find('%'));
    std::vector<long> ids;
    for (const auto& part : split(spec, ',')) {
        std::string_view range = part;
        long step = 1;
        if (const auto colon = range.find(':'); colon != std::string_view::npos) {
            step = parse_index(range.substr(colon + 1), where);
            range = range.substr(0, colon);
        }
        const auto dash = range.find('-');
        const long first = parse_index(range.substr(0, dash), where);
        const long last =
            dash == std::string_view::npos ? first : parse_index(range.substr(dash + 1), where);
        if (step < 1 || last < first)
            where.fail(fmt::format("bad array range \"{}\"", part));
        if (static_cast<long>(ids.size()) + (last - first) / step + 1 > max_array_tasks)
            where.fail(fmt::format("array \"{}\" has more than {} tasks", spec, max_array_tasks));
        for (long id = first; id <= last; id += step) ids.push_back(id);
    }
    return ids;
}

// squeue's %S: local time, "" for no estimate (text prints N/A).
std::string local_time(std::optional<long long> epoch) {
    if (!epoch || *epoch <= 0)
        return "";
    const std::time_t t = static_cast<std::time_t>(*epoch);
    std::tm tm{};
    if (localtime_r(&t, &tm) == nullptr)
        return "";
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(buf, n);
}

}  // namespace

OutputForm output_form_for_release(std::string_view version_output) {
    // "slurm 25.05.8", "slurm-wlm 22.05.8"
    const auto space = version_output.find(' ');
    if (space == std::string_view::npos)
        return OutputForm::text;
    const std::string_view version = trim(version_output.substr(space + 1));
    int major = 0;
    int minor = 0;
    const char* end = version.data() + version.size();
    const auto [after_major, ec1] = std::from_chars(version.data(), end, major);
    if (ec1 != std::errc() || after_major == end || *after_major != '.')
        return OutputForm::text;
    const auto [after_minor, ec2] = std::from_chars(after_major + 1, end, minor);
    if (ec2 != std::errc())
        return OutputForm::text;
    if (major > first_json_major || (major == first_json_major && minor >= first_json_minor))
        return OutputForm::json;
    return OutputForm::text;
}

std::map<std::string, QueuedTask> parse_squeue_tasks_json(std::string_view squeue_json) {
    const json doc = parse_document(squeue_json, "squeue --json");
    std::map<std::string, QueuedTask> tasks;
    const auto& jobs = doc["jobs"];
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const Where where{"squeue --json", fmt::format("jobs[{}]", i)};
        const json& job = jobs[i];
        const auto job_id = number_field(job, "job_id", where);
        if (!job_id)
            where.fail("job_id is unset");
        QueuedTask task{
            state_field(job, "job_state", where), string_field(job, "state_reason", where),
            local_time(number_field(job, "start_time", where)), string_field(job, "nodes", where)};
        const auto array_job = number_field(job, "array_job_id", where).value_or(0);
        const auto array_task = number_field(job, "array_task_id", where);
        if (array_job == 0) {
            // What %F|%K print for a job outside any array.
            tasks[fmt::format("{}_N/A", *job_id)] = std::move(task);
        } else if (array_task) {
            tasks[fmt::format("{}_{}", array_job, *array_task)] = std::move(task);
        } else {
            // The pending tasks of an array share one record; -r would list them one by one.
            const std::string spec = string_field(job, "array_task_string", where);
            for (const long id : expand_array_tasks(spec, where.field("array_task_string")))
                tasks[fmt::format("{}_{}", array_job, id)] = task;
        }
    }
    return tasks;
}

std::map<std::string, AccountedTask> parse_sacct_tasks_json(std::string_view sacct_json) {
    const json doc = parse_document(sacct_json, "sacct --json");
    std::map<std::string, AccountedTask> tasks;
    const auto& jobs = doc["jobs"];
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const Where where{"sacct --json", fmt::format("jobs[{}]", i)};
        const json& job = jobs[i];
        const auto job_id = number_field(job, "job_id", where);
        if (!job_id)
            where.fail("job_id is unset");
        const Where at_array = where.field("array");
        const json& array = member(job, "array", where);
        const auto array_job = number_field(array, "job_id", at_array).value_or(0);
        const auto array_task = number_field(array, "task_id", at_array);
        // 22.05 writes null where the record is one task, and a hex bitmap ("0x30") for
        // the tasks that never started.
        const json& task_value = member(array, "task", at_array);
        if (!task_value.is_null() && !task_value.is_string())
            at_array.field("task").fail(
                fmt::format("expected a string or null, got {}", task_value.type_name()));
        const std::string task_range = task_value.is_null() ? "" : task_value.get<std::string>();
        std::string key;
        if (array_job != 0 && array_task) {
            key = fmt::format("{}_{}", array_job, *array_task);
        } else if (!task_range.empty()) {
            continue;  // tasks that never started, text's "123_[4-9]" row
        } else {
            key = std::to_string(*job_id);
        }
        const Where at_exit = where.field("exit_code");
        const json& exit_code = member(job, "exit_code", where);
        AccountedTask task{
            state_field(member(job, "state", where), "current", where.field("state")),
            string_field(job, "nodes", where), std::nullopt};
        if (const auto code = number_field(exit_code, "return_code", at_exit))
            task.exit_code = static_cast<int>(*code);
        tasks[key] = std::move(task);
    }
    return tasks;
}

}  // namespace hpsweep::cli::slurm
