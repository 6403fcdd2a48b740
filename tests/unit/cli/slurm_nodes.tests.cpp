// The partition and node parsers, on `scontrol show node -o` / `show partition -o` recorded
// from Slurm 22.05 on the local cluster (3 nodes of 2 CPUs and 4 GPUs), and the check that
// refuses at submit a request no node can hold.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

#include "hpsweep/fs.hpp"
#include "slurm_nodes.hpp"

using namespace hpsweep;
using namespace hpsweep::cli::slurm;

namespace {

std::string recorded(const std::string& name) {
    return read_file(std::filesystem::path(HPSWEEP_TEST_DATA_DIR) / "slurm" / "22.05.8" / name);
}

std::vector<NodeInfo> recorded_nodes() {
    return parse_nodes(recorded("scontrol_show_node.txt"));
}

}  // namespace

TEST_CASE("scontrol show node -o: CPUs, memory, GPUs and partitions of each node", "[cli][slurm]") {
    const auto nodes = recorded_nodes();
    REQUIRE(nodes.size() == 3);
    CHECK(nodes[0].name == "n1");
    CHECK(nodes[2].name == "n3");
    for (const auto& node : nodes) {
        CHECK(node.cpus == 2);
        CHECK(node.gpus == 4);
        CHECK(node.memory_mb > 0);
        CHECK(node.partitions == std::vector<std::string>{"debug"});
    }
}

TEST_CASE("Gres with types and socket lists counts every GPU", "[cli][slurm]") {
    const auto nodes = parse_nodes(
        "NodeName=a CPUTot=64 RealMemory=512000 Gres=gpu:a100:4(S:0-1),gpu:v100:2(S:1) "
        "Partitions=gpu,long\n"
        "NodeName=b CPUTot=8 RealMemory=1000 Gres=(null) Partitions=cpu\n");
    REQUIRE(nodes.size() == 2);
    CHECK(nodes[0].gpus == 6);
    CHECK(nodes[0].partitions == std::vector<std::string>{"gpu", "long"});
    CHECK(nodes[1].gpus == 0);
}

TEST_CASE("scontrol show partition -o: names, default and state", "[cli][slurm]") {
    const auto partitions = parse_partitions(recorded("scontrol_show_partition.txt"));
    REQUIRE(partitions.size() == 1);
    CHECK(partitions[0].name == "debug");
    CHECK(partitions[0].is_default);
    CHECK(partitions[0].state == "UP");
}

TEST_CASE("sacctmgr show account: one name a line", "[cli][slurm]") {
    const auto accounts = parse_accounts(recorded("sacctmgr_show_account.txt"));
    CHECK(std::find(accounts.begin(), accounts.end(), "root") != accounts.end());
}

TEST_CASE("Slurm memory sizes in MB", "[cli][slurm]") {
    CHECK(parse_slurm_memory_mb("500") == 500);
    CHECK(parse_slurm_memory_mb("500M") == 500);
    CHECK(parse_slurm_memory_mb("16G") == 16384);
    CHECK(parse_slurm_memory_mb("1T") == 1024 * 1024);
    CHECK(parse_slurm_memory_mb("2048K") == 2);
    CHECK_FALSE(parse_slurm_memory_mb("lots").has_value());
    CHECK_FALSE(parse_slurm_memory_mb("").has_value());
}

TEST_CASE("a request that fits says nothing", "[cli][slurm]") {
    NodeRequest request;
    request.nodes = 2;
    request.gpus_per_node = 2;
    request.cpus_per_node = 2;
    CHECK(request_misfit(request, recorded_nodes(), "debug").empty());
    CHECK(request_misfit(request, {}, "debug").empty());  // nothing known: Slurm decides
}

TEST_CASE("8 GPUs on one 4-GPU, 2-CPU node: refused with the limits and a shape that fits",
          "[cli][slurm]") {
    NodeRequest request;
    request.nodes = 1;
    request.gpus_per_node = 8;
    request.cpus_per_node = 8;  // one task per GPU
    const auto message = request_misfit(request, recorded_nodes(), "debug");
    CHECK_THAT(message, Catch::Contains("at most 4 GPU(s), 2 CPU(s)"));
    CHECK_THAT(message, Catch::Contains("partition 'debug'"));
    // 2 CPUs hold 2 one-CPU tasks, so 2 GPUs a node: 6 on the 3 nodes.
    CHECK_THAT(message, Catch::Contains("--nodes 3 --gpus 6"));
}

TEST_CASE("6 GPUs on 2 nodes of 2 CPUs (BadConstraints in the queue) gets --nodes 3",
          "[cli][slurm]") {
    NodeRequest request;
    request.nodes = 2;
    request.gpus_per_node = 3;
    request.cpus_per_node = 3;
    const auto message = request_misfit(request, recorded_nodes(), "debug");
    CHECK_THAT(message, Catch::Contains("try --nodes 3 --gpus 6"));
}

TEST_CASE("more memory or nodes than the partition has", "[cli][slurm]") {
    NodeRequest request;
    request.mem_mb = 1024LL * 1024;
    CHECK_THAT(request_misfit(request, recorded_nodes(), "debug"),
               Catch::Contains("ask for at most --mem"));
    NodeRequest many;
    many.nodes = 5;
    CHECK_THAT(request_misfit(many, recorded_nodes(), "debug"),
               Catch::Contains("at most --nodes 3"));
}
