// The parsers of `squeue --json` and `sacct --json`, on output recorded from Slurm 25.05.8
// (tests/data/slurm/25.05.8/README.md says how) and 22.05.8 (tests/data/slurm/record.sh) and
// on the older layout, checked against the text Slurm printed for the same jobs.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/strings.hpp"
#include "slurm_json.hpp"

using namespace hpsweep;
using namespace hpsweep::cli::slurm;
using Catch::Matchers::Contains;

namespace {

std::string recorded(const std::string& release, const std::string& name) {
    return read_file(std::filesystem::path(HPSWEEP_TEST_DATA_DIR) / "slurm" / release / name);
}

// squeue prints %S in local time: pin the zone while a test reads start times.
class UtcClock {
public:
    UtcClock() {
        if (const char* tz = std::getenv("TZ"))
            saved_ = tz;
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
    ~UtcClock() {
        if (saved_)
            ::setenv("TZ", saved_->c_str(), 1);
        else
            ::unsetenv("TZ");
        ::tzset();
    }
    UtcClock(const UtcClock&) = delete;
    UtcClock& operator=(const UtcClock&) = delete;

private:
    std::optional<std::string> saved_;
};

// The error message a parse throws, "" when it does not throw.
template <typename Parse>
std::string refusal(Parse parse) {
    try {
        parse();
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::slurm);
        return e.what();
    }
    return "";
}

// A one-job squeue document in the older layout: states as strings, plain numbers.
std::string squeue_v38(const std::string& job_fields) {
    return R"({"meta": {}, "errors": [], "jobs": [{)" + job_fields + "}]}";
}

}  // namespace

TEST_CASE("squeue --json 25.05: running array tasks, keyed as the text parser keys them",
          "[cli][slurm][json]") {
    const UtcClock utc;
    const auto tasks = parse_squeue_tasks_json(recorded("25.05.8", "squeue.json"));
    REQUIRE(tasks.size() == 3);
    // The last task runs under the array's own job id (21817137), the others under theirs.
    const auto& first = tasks.at("21817137_0");
    CHECK(first.state == "RUNNING");
    CHECK(first.reason == "None");
    CHECK(first.start == "2026-12-04T21:40:54");
    CHECK(first.node == "n1");
    CHECK(tasks.at("21817137_2").node == "n2");
    CHECK(trial_state_from_squeue(first.state) == "running");
}

TEST_CASE("squeue 25.05: JSON and text give the same tasks, states and nodes",
          "[cli][slurm][json]") {
    // squeue.txt was printed with -h -o '%i %T %N' for the same jobs (README.md).
    const auto from_json = parse_squeue_tasks_json(recorded("25.05.8", "squeue.json"));
    std::size_t lines = 0;
    for (const auto& line : split(recorded("25.05.8", "squeue.txt"), '\n')) {
        if (trim(line).empty())
            continue;
        ++lines;
        const auto f = split(line, ' ');
        REQUIRE(f.size() == 3);
        INFO(line);
        REQUIRE(from_json.count(f[0]) == 1);
        CHECK(from_json.at(f[0]).state == f[1]);
        CHECK(from_json.at(f[0]).node == f[2]);
    }
    CHECK(lines == from_json.size());
}

TEST_CASE("sacct --json 25.05: the tasks with their states, nodes and exit codes",
          "[cli][slurm][json]") {
    const auto tasks = parse_sacct_tasks_json(recorded("25.05.8", "sacct.json"));
    REQUIRE(tasks.size() == 3);
    CHECK(tasks.at("21817137_0").state == "RUNNING");
    CHECK(tasks.at("21817137_0").node == "n1");
    CHECK(tasks.at("21817137_0").exit_code == 0);
    CHECK(tasks.at("21817137_2").node == "n2");
    CHECK(trial_state_from_sacct(tasks.at("21817137_1").state) == "running");
}

TEST_CASE("sacct 25.05: JSON and text give the same tasks, states and exit codes",
          "[cli][slurm][json]") {
    // sacct.txt was printed with -n -P -o JobID,State,ExitCode (steps included) for the same
    // jobs: the text parser's -X rows are the ones without a step suffix.
    const auto from_json = parse_sacct_tasks_json(recorded("25.05.8", "sacct.json"));
    std::size_t rows = 0;
    for (const auto& line : split(recorded("25.05.8", "sacct.txt"), '\n')) {
        const auto f = split(line, '|');
        if (f.size() != 3 || f[0].find('.') != std::string::npos)
            continue;
        ++rows;
        INFO(line);
        REQUIRE(from_json.count(f[0]) == 1);
        CHECK(from_json.at(f[0]).state == f[1]);
        CHECK(from_json.at(f[0]).exit_code == std::atoi(f[2].c_str()));
    }
    CHECK(rows == 3);
    CHECK(rows == from_json.size());
}

// 22.05.8's JSON (openapi/v0.0.38, recorded by ../record.sh at the same moments as its text).
// Its squeue --json ignores -j, -u and -n: it lists every job slurmctld still holds, ended
// ones included. The CLI therefore asks 22.05 for text (output_form_for_release); these
// tests keep the parsers honest on that layout, and show why.
TEST_CASE("squeue --json 22.05: the asked-for tasks read as the text gives them",
          "[cli][slurm][json]") {
    const UtcClock utc;
    for (const char* name : {"squeue_tasks", "squeue_tasks_held"}) {
        INFO(name);
        const auto from_json =
            parse_squeue_tasks_json(recorded("22.05.8", std::string(name) + ".json"));
        const auto from_text = parse_squeue_tasks(recorded("22.05.8", std::string(name) + ".txt"));
        REQUIRE(!from_text.empty());
        for (const auto& [key, task] : from_text) {
            INFO(key);
            REQUIRE(from_json.count(key) == 1);
            CHECK(from_json.at(key).state == task.state);
            CHECK(from_json.at(key).reason == task.reason);
            CHECK(from_json.at(key).start == task.start);
            CHECK(from_json.at(key).node == task.node);
        }
    }
    const auto held = parse_squeue_tasks_json(recorded("22.05.8", "squeue_tasks_held.json"));
    CHECK(held.at("21817185_2").reason == "JobHeldUser");  // one record, "0-2", expanded
}

TEST_CASE("squeue --json 22.05 ignores -j: other jobs and ended tasks are listed too",
          "[cli][slurm][json]") {
    const auto from_json = parse_squeue_tasks_json(recorded("22.05.8", "squeue_tasks.json"));
    const auto from_text = parse_squeue_tasks(recorded("22.05.8", "squeue_tasks.txt"));
    CHECK(from_text.size() == 4);
    CHECK(from_json.size() > 20);  // squeue_tasks.json was asked for one array (-j 21817180)
    // Tasks 0 and 1 had ended: text squeue no longer shows them, 22.05's JSON does.
    CHECK(from_text.count("21817180_0") == 0);
    CHECK(from_json.at("21817180_0").state == "COMPLETED");
    CHECK(from_json.at("21817180_1").state == "FAILED");
}

TEST_CASE("sacct --json 22.05: JSON and text give the same tasks, states and nodes",
          "[cli][slurm][json]") {
    const auto from_json = parse_sacct_tasks_json(recorded("22.05.8", "sacct_tasks.json"));
    const auto from_text = parse_sacct_tasks(recorded("22.05.8", "sacct_tasks.txt"));
    REQUIRE(from_text.size() == 5);
    CHECK(from_json.size() == from_text.size());  // sacct honours -j
    for (const auto& [key, task] : from_text) {
        INFO(key);
        REQUIRE(from_json.count(key) == 1);
        // Text says "CANCELLED by 0", JSON "CANCELLED": the first word is the state.
        CHECK(trial_state_from_sacct(from_json.at(key).state) ==
              trial_state_from_sacct(task.state));
        CHECK(split(task.state, ' ').front() == from_json.at(key).state);
        CHECK(from_json.at(key).node == task.node);
        if (key != "21817180_1")
            CHECK(from_json.at(key).exit_code == task.exit_code);
    }
    // 22.05's dbv0.0.38 loses the exit code: task 1 ran `exit 3`, text says 3:0, the JSON
    // says {"status": "SUCCESS", "return_code": 0}. Another reason the CLI reads text there.
    CHECK(from_text.at("21817180_1").exit_code == 3);
    CHECK(from_json.at("21817180_1").exit_code == 0);
    CHECK(from_json.at("21817180_1").state == "FAILED");
}

TEST_CASE("scontrol show config --json: 22.05.8 has no such option, the CLI reads text",
          "[cli][slurm][json]") {
    CHECK_THAT(recorded("22.05.8", "scontrol_show_config.json.stderr"),
               Contains("scontrol: unrecognized option '--json'"));
}

TEST_CASE("squeue --json, older layout: string states, plain numbers, pending arrays expanded",
          "[cli][slurm][json]") {
    const UtcClock utc;
    const std::string doc = R"({"jobs": [
        {"job_id": 12, "array_job_id": 10, "array_task_id": 2, "job_state": "RUNNING",
         "state_reason": "None", "start_time": 1796420454, "nodes": "n1"},
        {"job_id": 10, "array_job_id": 10, "array_task_id": null, "array_task_string": "4-5%2",
         "job_state": "PENDING", "state_reason": "JobArrayTaskLimit", "start_time": 0,
         "nodes": ""},
        {"job_id": 20, "array_job_id": 0, "array_task_id": null, "job_state": "PENDING",
         "state_reason": "Resources", "start_time": 0, "nodes": ""}]})";
    const auto tasks = parse_squeue_tasks_json(doc);
    REQUIRE(tasks.size() == 4);
    CHECK(tasks.at("10_2").start == "2026-12-04T21:40:54");
    // As `squeue -r` prints them: one line per throttled task, no start estimate, no node.
    for (const char* key : {"10_4", "10_5"}) {
        CHECK(tasks.at(key).state == "PENDING");
        CHECK(tasks.at(key).reason == "JobArrayTaskLimit");
        CHECK(tasks.at(key).start.empty());
        CHECK(tasks.at(key).node.empty());
    }
    CHECK(tasks.at("20_N/A").reason == "Resources");  // %F|%K of a job outside any array
}

TEST_CASE("squeue --json: a state with flags reads as squeue's text names it",
          "[cli][slurm][json]") {
    const auto tasks = parse_squeue_tasks_json(squeue_v38(
        R"("job_id": 3, "array_job_id": {"set": true, "infinite": false, "number": 3},
           "array_task_id": {"set": true, "infinite": false, "number": 0},
           "job_state": ["RUNNING", "COMPLETING"], "state_reason": "None",
           "start_time": {"set": true, "infinite": false, "number": 0}, "nodes": "n1")"));
    CHECK(tasks.at("3_0").state == "COMPLETING");
    CHECK(trial_state_from_squeue(tasks.at("3_0").state) == "running");
}

TEST_CASE("sacct --json, older layout: tasks that never started are skipped",
          "[cli][slurm][json]") {
    const std::string doc = R"({"jobs": [
        {"job_id": 2, "array": {"job_id": 1, "task_id": 1, "task": ""}, "nodes": "n1",
         "state": {"current": "FAILED", "reason": "None"},
         "exit_code": {"status": "FAILED", "return_code": 3}},
        {"job_id": 1, "array": {"job_id": 1, "task_id": null, "task": "4-5%2"},
         "nodes": "None assigned", "state": {"current": "CANCELLED", "reason": "None"},
         "exit_code": {"status": "SUCCESS", "return_code": 0}},
        {"job_id": 6, "array": {"job_id": 0, "task_id": null, "task": ""},
         "nodes": "None assigned", "state": {"current": "CANCELLED", "reason": "None"},
         "exit_code": {"status": "SUCCESS", "return_code": 0}}]})";
    const auto tasks = parse_sacct_tasks_json(doc);
    REQUIRE(tasks.size() == 2);
    CHECK(tasks.at("1_1").state == "FAILED");
    CHECK(tasks.at("1_1").exit_code == 3);
    CHECK(trial_state_from_sacct(tasks.at("1_1").state) == "failed");
    CHECK(tasks.at("6").node == "None assigned");
    CHECK(trial_state_from_sacct(tasks.at("6").state) == "cancelled");
}

TEST_CASE("squeue/sacct --json: malformed output is refused with what and where",
          "[cli][slurm][json]") {
    const std::string squeue = recorded("25.05.8", "squeue.json");
    CHECK_THAT(refusal([&] { parse_squeue_tasks_json(squeue.substr(0, squeue.size() / 2)); }),
               Contains("squeue --json: not JSON (at byte"));
    CHECK_THAT(refusal([] { parse_squeue_tasks_json(""); }), Contains("not JSON"));
    CHECK_THAT(refusal([] { parse_squeue_tasks_json("[]"); }),
               Contains("expected a JSON object, got array"));
    CHECK_THAT(refusal([] { parse_sacct_tasks_json(R"({"meta": {}})"); }),
               Contains("sacct --json: no \"jobs\" array"));
    CHECK_THAT(refusal([] {
                   parse_squeue_tasks_json(
                       R"({"jobs": [], "errors": [{"description": "Invalid job id specified"}]})");
               }),
               Contains("squeue --json reported errors: Invalid job id specified"));

    const std::string fields = R"("job_id": 3, "array_job_id": 3, "array_task_id": 0,
        "state_reason": "None", "start_time": 0, "nodes": "n1")";
    CHECK_THAT(refusal([&] { parse_squeue_tasks_json(squeue_v38(fields)); }),
               Contains("squeue --json: jobs[0]: missing field \"job_state\""));
    CHECK_THAT(
        refusal([&] { parse_squeue_tasks_json(squeue_v38(fields + R"(, "job_state": 7)")); }),
        Contains("jobs[0].job_state: expected a string or a non-empty array of strings, got "
                 "number"));
    CHECK_THAT(
        refusal([&] { parse_squeue_tasks_json(squeue_v38(fields + R"(, "job_state": [])")); }),
        Contains("jobs[0].job_state"));
    CHECK_THAT(refusal([] {
                   parse_squeue_tasks_json(squeue_v38(
                       R"("job_id": 3, "array_job_id": {"set": true}, "array_task_id": 0,
                          "job_state": "RUNNING", "state_reason": "None", "start_time": 0,
                          "nodes": "n1")"));
               }),
               Contains("jobs[0].array_job_id: missing field \"infinite\""));
    CHECK_THAT(refusal([] {
                   parse_squeue_tasks_json(squeue_v38(
                       R"("job_id": 3, "array_job_id": 3, "array_task_id": null,
                          "array_task_string": "5-2", "job_state": "PENDING",
                          "state_reason": "None", "start_time": 0, "nodes": "")"));
               }),
               Contains("jobs[0].array_task_string: bad array range \"5-2\""));
    CHECK_THAT(refusal([] {
                   parse_squeue_tasks_json(squeue_v38(
                       R"("job_id": 3, "array_job_id": 3, "array_task_id": null,
                          "array_task_string": "0-99999999", "job_state": "PENDING",
                          "state_reason": "None", "start_time": 0, "nodes": "")"));
               }),
               Contains("has more than 4000001 tasks"));
    CHECK_THAT(refusal([] {
                   parse_sacct_tasks_json(R"({"jobs": [{"job_id": 2, "array": "1_1",
                       "nodes": "n1", "state": {"current": "FAILED"}, "exit_code": {}}]})");
               }),
               Contains("sacct --json: jobs[0].array: expected an object, got string"));
}

TEST_CASE("the release decides once whether squeue/sacct are asked for JSON",
          "[cli][slurm][json]") {
    CHECK(output_form_for_release("slurm 22.05.8\n") == OutputForm::text);
    CHECK(output_form_for_release("slurm-wlm 22.05.8\n") == OutputForm::text);
    CHECK(output_form_for_release("slurm 23.02.0\n") == OutputForm::json);
    CHECK(output_form_for_release("slurm 24.11.1\n") == OutputForm::json);
    CHECK(output_form_for_release("slurm 25.05.8\n") == OutputForm::json);
    CHECK(output_form_for_release("") == OutputForm::text);
    CHECK(output_form_for_release("squeue: fatal: Could not establish a configuration source") ==
          OutputForm::text);
}

TEST_CASE("scontrol show config --json: 25.05.8 prints the text form, read as text",
          "[cli][slurm][json]") {
    const std::string with_flag = recorded("25.05.8", "scontrol_show_config--json.txt");
    CHECK(with_flag.starts_with("Configuration data as of"));
    CHECK(with_flag == recorded("25.05.8", "scontrol_show_config.txt"));
}

TEST_CASE("squeue/sacct --json: every truncation of a recording is refused, never a crash",
          "[cli][slurm][json]") {
    for (const char* name : {"squeue.json", "sacct.json"}) {
        const std::string doc = recorded("25.05.8", name);
        const bool squeue = std::string(name) == "squeue.json";
        for (std::size_t cut = 0; cut < doc.size() - 2; cut += 97) {
            INFO(name << " cut at byte " << cut);
            const std::string part = doc.substr(0, cut);
            CHECK_THROWS_AS(
                squeue ? (void)parse_squeue_tasks_json(part) : (void)parse_sacct_tasks_json(part),
                Error);
        }
    }
}

TEST_CASE("squeue/sacct --json: a field of the wrong type is refused by name",
          "[cli][slurm][json]") {
    const auto squeue = nlohmann::json::parse(recorded("25.05.8", "squeue.json"));
    for (const char* field : {"job_id", "job_state", "state_reason", "start_time", "nodes",
                              "array_job_id", "array_task_id"}) {
        for (const auto& wrong : {nlohmann::json::object(), nlohmann::json(true)}) {
            auto doc = squeue;
            doc["jobs"][1][field] = wrong;
            INFO(field << " = " << wrong.dump());
            CHECK_THAT(refusal([&] { parse_squeue_tasks_json(doc.dump()); }),
                       Contains(std::string("jobs[1]")) && Contains(std::string(field)));
        }
    }
    const auto sacct = nlohmann::json::parse(recorded("25.05.8", "sacct.json"));
    for (const nlohmann::json::json_pointer& pointer :
         {"/job_id"_json_pointer, "/array/job_id"_json_pointer, "/array/task_id"_json_pointer,
          "/array/task"_json_pointer, "/state/current"_json_pointer, "/nodes"_json_pointer,
          "/exit_code/return_code"_json_pointer}) {
        auto doc = sacct;
        doc["jobs"][2][pointer] = true;
        INFO(pointer.to_string());
        CHECK_THAT(refusal([&] { parse_sacct_tasks_json(doc.dump()); }),
                   Contains(std::string("jobs[2]")) && Contains(pointer.back()));
    }
}
