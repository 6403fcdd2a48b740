#include <catch2/catch.hpp>

#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/ddp_env.hpp"

using namespace hpsweep;
using namespace hpsweep::launcher;

namespace {
std::string error_of(std::string_view hostlist) {
    try {
        expand_hostlist(hostlist);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::usage);
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("hostlists expand like scontrol show hostnames", "[launcher][hostlist]") {
    using V = std::vector<std::string>;
    CHECK(expand_hostlist("n1") == V{"n1"});
    CHECK(expand_hostlist("n[1-3,5]") == V{"n1", "n2", "n3", "n5"});
    CHECK(expand_hostlist("gpu[001-004]") == V{"gpu001", "gpu002", "gpu003", "gpu004"});
    CHECK(expand_hostlist("gpu[098-101]") == V{"gpu098", "gpu099", "gpu100", "gpu101"});
    CHECK(expand_hostlist("a,b[1-2]c") == V{"a", "b1c", "b2c"});
    CHECK(expand_hostlist("n[1-2],m[7],x") == V{"n1", "n2", "m7", "x"});
    CHECK(expand_hostlist("rack[1-2]-n[1-2]") == V{"rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"});
    CHECK(expand_hostlist("node-1.cluster") == V{"node-1.cluster"});
    CHECK(expand_hostlist("n[9-10]").back() == "n10");
}

TEST_CASE("bad hostlists are rejected with the expression and the column", "[launcher][hostlist]") {
    CHECK_THAT(error_of("n[1-3"), Catch::Contains("'n[1-3'") && Catch::Contains("'[' without ']'"));
    CHECK_THAT(error_of("n1-3]"),
               Catch::Contains("']' without '['") && Catch::Contains("column 5"));
    CHECK_THAT(error_of("n[3-1]"), Catch::Contains("range end is below its start"));
    CHECK_THAT(error_of("n[a-b]"), Catch::Contains("unexpected 'a'"));
    CHECK_THAT(error_of("n[]"), Catch::Contains("empty range"));
    CHECK_THAT(error_of("n[1,,2]"), Catch::Contains("empty range"));
    CHECK_THAT(error_of("a,,b"), Catch::Contains("empty host name"));
    CHECK_THAT(error_of(""), Catch::Contains("empty hostlist"));
    CHECK_THAT(error_of("n[[1]]"), Catch::Contains("nested"));
    CHECK_THAT(error_of("n [1]"), Catch::Contains("unexpected space"));
    CHECK_THAT(error_of("n[0-99999999]"), Catch::Contains("range too large"));
}

TEST_CASE("tasks-per-node lists expand Slurm's (xN) repeat form", "[launcher][hostlist]") {
    CHECK(expand_tasks_per_node("2(x3),1") == std::vector<int>{2, 2, 2, 1});
    CHECK(expand_tasks_per_node("4") == std::vector<int>{4});
    CHECK_THROWS_AS(expand_tasks_per_node("2(x3"), Error);
    CHECK_THROWS_AS(expand_tasks_per_node("two"), Error);
}

TEST_CASE("master ports stay in range and differ for concurrent jobs and steps",
          "[launcher][port]") {
    const PortRange range = parse_port_range("20000-29999");
    CHECK(range.size() == 10000);
    std::set<int> seen;
    // 500 consecutive job ids (as an array's tasks get) x 4 steps each: all distinct.
    for (unsigned long long job = 123456; job < 123456 + 500; ++job) {
        for (unsigned long long step = 0; step < 4; ++step) {
            const int port = master_port_for(job, step, range);
            CHECK(port >= range.first);
            CHECK(port <= range.last);
            seen.insert(port);
        }
    }
    CHECK(seen.size() == 2000);
    CHECK(master_port_for(77, 0, range) == master_port_for(77, 0, range));  // deterministic
    CHECK(master_port_for(77, parse_step_id("batch"), range) != master_port_for(77, 0, range));
    const PortRange tiny = parse_port_range("40000-40000");
    CHECK(master_port_for(99, 3, tiny) == 40000);
    CHECK_THROWS_AS(parse_port_range("80-90"), Error);
    CHECK_THROWS_AS(parse_port_range("3000-2000"), Error);
    CHECK_THROWS_AS(parse_port_range("20000"), Error);
}

TEST_CASE("DDP variables under srun come from the SLURM variables", "[launcher][ddp]") {
    const Environment env{
        {"SLURM_JOB_ID", "4242"},
        {"SLURM_STEP_ID", "1"},
        {"SLURM_STEP_NUM_TASKS", "6"},
        {"SLURM_STEP_NUM_NODES", "3"},
        {"SLURM_PROCID", "3"},
        {"SLURM_LOCALID", "1"},
        {"SLURM_NODEID", "1"},
        {"SLURM_STEP_TASKS_PER_NODE", "2(x3)"},
        {"SLURM_STEP_NODELIST", "gpu[007-009]"},
        {"SLURM_JOB_NODELIST", "gpu[001-009]"},
    };
    const DdpEnv ddp = ddp_from_environment(env);
    CHECK(ddp.source == "srun");
    CHECK(ddp.rank == 3);
    CHECK(ddp.world_size == 6);
    CHECK(ddp.local_rank == 1);
    CHECK(ddp.local_world_size == 2);
    CHECK(ddp.node_rank == 1);
    CHECK(ddp.num_nodes == 3);
    CHECK(ddp.master_addr == "gpu007");  // the step's first node, not the job's
    CHECK(ddp.master_port == master_port_for(4242, 1, PortRange{}));
    const auto vars = ddp.variables();
    CHECK(vars.at("GROUP_RANK") == "1");
    CHECK(vars.at("LOCAL_WORLD_SIZE") == "2");
    CHECK(vars.at("MASTER_PORT") == std::to_string(ddp.master_port));

    DdpOverrides overrides;
    overrides.master_addr = "10.0.0.1";
    overrides.port_range = parse_port_range("30000-30099");
    const DdpEnv other = ddp_from_environment(env, overrides);
    CHECK(other.master_addr == "10.0.0.1");
    CHECK(other.master_port >= 30000);
    CHECK(other.master_port <= 30099);
}

TEST_CASE("DDP variables under mpirun come from the OMPI_COMM_WORLD variables", "[launcher][ddp]") {
    const Environment env{
        {"OMPI_COMM_WORLD_SIZE", "8"},
        {"OMPI_COMM_WORLD_RANK", "5"},
        {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
        {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"},
        {"SLURM_JOB_ID", "17"},
        {"SLURM_JOB_NODELIST", "n[3-4]"},
        // srun's variables of the orted step must not win over mpirun's.
        {"SLURM_STEP_NUM_TASKS", "2"},
        {"SLURM_PROCID", "0"},
    };
    const DdpEnv ddp = ddp_from_environment(env);
    CHECK(ddp.source == "mpirun");
    CHECK(ddp.rank == 5);
    CHECK(ddp.world_size == 8);
    CHECK(ddp.local_rank == 1);
    CHECK(ddp.local_world_size == 4);
    CHECK(ddp.node_rank == 1);
    CHECK(ddp.num_nodes == 2);
    CHECK(ddp.master_addr == "n3");
}

TEST_CASE("outside srun and mpirun one process rendezvous on loopback", "[launcher][ddp]") {
    const DdpEnv ddp = ddp_from_environment(Environment{{"SLURM_JOB_ID", "5"}});
    CHECK(ddp.source == "single");
    CHECK(ddp.world_size == 1);
    CHECK(ddp.rank == 0);
    CHECK(ddp.master_addr == "127.0.0.1");
}

TEST_CASE("malformed rank variables are usage errors naming the variable", "[launcher][ddp]") {
    const Environment bad{{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "x"}};
    try {
        ddp_from_environment(bad);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::usage);
        CHECK_THAT(e.what(), Catch::Contains("SLURM_PROCID"));
    }
    const Environment inconsistent{{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "5"}};
    CHECK_THROWS_AS(ddp_from_environment(inconsistent), Error);
    const Environment bad_nodes{
        {"SLURM_STEP_NUM_TASKS", "1"}, {"SLURM_PROCID", "0"}, {"SLURM_STEP_NODELIST", "n[1-"}};
    CHECK_THROWS_WITH(ddp_from_environment(bad_nodes), Catch::Contains("invalid hostlist 'n[1-'"));
}

// Found by code review while writing the hostlist fuzz target, confirmed by it
// (tests/fuzz/corpus/hostlist/review-*): each bracket was bounded to 1,000,000 hosts but a
// list of several groups, or one bracket of several ranges, was not, so a short text could
// take gigabytes; the same for tasks-per-node repeats.
TEST_CASE("a hostlist never expands past 1,000,000 hosts in total", "[launcher][hostlist]") {
    CHECK(expand_hostlist("a[0-999999]").size() == 1'000'000);
    CHECK_THAT(error_of("a[0-999999],b[0-999999]"), Catch::Contains("too many hosts"));
    CHECK_THAT(error_of("a[0-999999],b"), Catch::Contains("too many hosts"));
    CHECK_THAT(error_of("a[0-999999,0-999999]"), Catch::Contains("too many hosts"));
    CHECK_THAT(error_of("a[0-600000]b[0-1]"), Catch::Contains("too many hosts"));
    CHECK_THROWS_AS(expand_tasks_per_node("1(x1000000),1(x1000000)"), Error);
    CHECK(expand_tasks_per_node("1(x999999),2").size() == 1'000'000);
}

// Found by code review while writing the hostlist fuzz target, confirmed by it under UBSan
// (tests/fuzz/corpus/hostlist/review-ompi-size-overflow): the node count of an mpirun job
// overflowed int for a world size near INT_MAX.
TEST_CASE("a huge mpirun world size does not overflow the node count", "[launcher][ddp]") {
    const Environment env = {{"OMPI_COMM_WORLD_SIZE", "2147483647"},
                             {"OMPI_COMM_WORLD_RANK", "0"},
                             {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}};
    const DdpEnv ddp = ddp_from_environment(env);
    CHECK(ddp.num_nodes == 1073741824);
    CHECK(ddp.world_size == 2147483647);
}
