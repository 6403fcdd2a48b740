// The parsers of Slurm's output, on output recorded from Slurm 22.05 on the local cluster
// (tests/data/slurm/record.sh says how each file was made).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "slurm_client.hpp"

using namespace hpsweep;
using namespace hpsweep::cli::slurm;

namespace {

std::string recorded(const std::string& name) {
    return read_file(std::filesystem::path(HPSWEEP_TEST_DATA_DIR) / "slurm" / "22.05.8" / name);
}

}  // namespace

TEST_CASE("sbatch --parsable: the job id, with or without a cluster name", "[cli][slurm]") {
    CHECK(parse_sbatch_job_id(recorded("sbatch_parsable.txt")) == "21817180");
    CHECK(parse_sbatch_job_id("123;cluster\n") == "123");
    CHECK_THROWS_AS(parse_sbatch_job_id(""), Error);
    CHECK_THROWS_AS(parse_sbatch_job_id("sbatch: error: Batch job submission failed\n"), Error);
}

TEST_CASE("salloc --no-shell: the granted job id from its stderr", "[cli][slurm]") {
    CHECK(parse_salloc_job_id(recorded("salloc_no_shell.stderr.txt")) == "21817186");
    CHECK_FALSE(parse_salloc_job_id("salloc: error: Job submit/allocate failed\n").has_value());
}

TEST_CASE("squeue: running and throttled array tasks, one line each", "[cli][slurm]") {
    const auto tasks = parse_squeue_tasks(recorded("squeue_tasks.txt"));
    REQUIRE(tasks.size() == 4);
    const auto& running = tasks.at("21817180_2");
    CHECK(running.state == "RUNNING");
    CHECK(running.reason == "None");
    CHECK(running.start == "2026-12-05T00:08:42");
    CHECK(running.node == "n1");
    const auto& throttled = tasks.at("21817180_4");
    CHECK(throttled.state == "PENDING");
    CHECK(throttled.reason == "JobArrayTaskLimit");
    CHECK(throttled.start.empty());  // N/A
    CHECK(throttled.node.empty());
    CHECK(trial_state_from_squeue(running.state) == "running");
    CHECK(trial_state_from_squeue(throttled.state) == "pending");
}

TEST_CASE("squeue: a held array lists every task as pending", "[cli][slurm]") {
    const auto tasks = parse_squeue_tasks(recorded("squeue_tasks_held.txt"));
    REQUIRE(tasks.size() == 3);
    for (const auto& [job_task, task] : tasks) {
        CHECK(job_task.starts_with("21817185_"));
        CHECK(task.reason == "JobHeldUser");
        CHECK(trial_state_from_squeue(task.state) == "pending");
    }
    CHECK(parse_squeue_tasks("").empty());
    CHECK(parse_squeue_tasks("1|2|RUNNING\n").empty());  // a line without every field
}

TEST_CASE("sacct: ended tasks with their exit codes, never-started ranges skipped",
          "[cli][slurm]") {
    const auto tasks = parse_sacct_tasks(recorded("sacct_tasks.txt"));
    // 21817180_[4-5%2] (tasks cancelled before they started) has no task of its own.
    CHECK(tasks.count("21817180_[4-5%2]") == 0);
    REQUIRE(tasks.size() == 5);
    CHECK(tasks.at("21817180_0").state == "COMPLETED");
    CHECK(tasks.at("21817180_0").exit_code == 0);
    CHECK(tasks.at("21817180_0").node == "n1");
    CHECK(tasks.at("21817180_1").state == "FAILED");
    CHECK(tasks.at("21817180_1").exit_code == 3);
    CHECK(tasks.at("21817180_2").state == "CANCELLED by 0");
    // A held array cancelled before any task existed is one row for the whole job.
    CHECK(tasks.at("21817185").node == "None assigned");
    CHECK(trial_state_from_sacct(tasks.at("21817180_0").state) == "completed");
    CHECK(trial_state_from_sacct(tasks.at("21817180_1").state) == "failed");
    CHECK(trial_state_from_sacct(tasks.at("21817180_2").state) == "cancelled");
    CHECK(trial_state_from_sacct("TIMEOUT") == "timeout");
    CHECK(trial_state_from_sacct("OUT_OF_MEMORY") == "failed");
    CHECK(trial_state_from_sacct("PREEMPTED") == "preempted");
}

TEST_CASE("squeue: the user's sessions", "[cli][slurm]") {
    const auto rows = parse_squeue_sessions(recorded("squeue_sessions.txt"));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].id == "21817186");
    CHECK(rows[0].state == "RUNNING");
    CHECK(rows[0].elapsed == "0:00");
    CHECK(rows[0].time_left == "5:00");
    CHECK(rows[0].nodes == "1");
    CHECK(rows[0].nodelist == "n1");
    CHECK(parse_squeue_sessions("\n  \n").empty());
}
