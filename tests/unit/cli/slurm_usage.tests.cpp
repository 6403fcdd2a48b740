// sacct's usage of array tasks (slurm_usage.hpp), on output recorded from Slurm 22.05 on the
// local cluster (tests/data/slurm/record.sh, "Usage").
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "hpsweep/fs.hpp"
#include "slurm_usage.hpp"

using namespace hpsweep;
using namespace hpsweep::cli::slurm;

TEST_CASE("sacct usage: times, elapsed seconds and allocated GPUs of each task", "[cli][slurm]") {
    const auto tasks = parse_sacct_usage(read_file(std::filesystem::path(HPSWEEP_TEST_DATA_DIR) /
                                                   "slurm" / "22.05.8" / "sacct_usage.txt"));
    REQUIRE(tasks.size() == 5);
    const auto& done = tasks.at("24817039_0");
    CHECK(done.submit == "2026-12-05T03:06:14");
    CHECK(done.elapsed_seconds == 2);
    CHECK(done.gpus == 2);
    CHECK(done.cpus == 2);
    REQUIRE(done.start_seconds);
    REQUIRE(done.end_seconds);
    CHECK(*done.end_seconds - *done.start_seconds == 2);
    const auto& cancelled_running = tasks.at("24817039_3");
    CHECK(cancelled_running.elapsed_seconds == 3);
    CHECK(*cancelled_running.start_seconds - *cancelled_running.submit_seconds == 3);
    // Cancelled before it started: no start, nothing allocated.
    const auto& never_started = tasks.at("24817039_4");
    CHECK_FALSE(never_started.start_seconds);
    CHECK(never_started.elapsed_seconds == 0);
    CHECK_FALSE(never_started.gpus);
}

TEST_CASE("AllocTRES: untyped GPU total, typed counts, no GPU accounting", "[cli][slurm]") {
    CHECK(allocated_gpus("billing=2,cpu=2,gres/gpu=1,mem=1G,node=1") == 1);
    CHECK(allocated_gpus("cpu=8,gres/gpu:a100=2,gres/gpu:v100=1") == 3);
    CHECK(allocated_gpus("cpu=8,gres/gpu=4,gres/gpu:a100=4") == 4);
    CHECK_FALSE(allocated_gpus("billing=2,cpu=2,mem=8034M,node=1"));
    CHECK(allocated_cpus("billing=2,cpu=16,mem=1G") == 16);
    CHECK(allocated_cpus("") == 0);
    CHECK(parse_sacct_usage("123_1|x|y\n\n").empty());
    CHECK_FALSE(parse_slurm_local_time("Unknown"));
    CHECK_FALSE(parse_slurm_local_time("None"));
    CHECK(parse_slurm_local_time("2026-12-05T03:06:14"));
}
