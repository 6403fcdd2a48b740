#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/slot_plan.hpp"

using namespace hpsweep;
using namespace hpsweep::launcher;

namespace {

Topology load(const std::string& name) {
    return Topology::load_xml(std::string(HPSWEEP_TOPOLOGY_DIR) + "/" + name);
}

SlotRequest four_gpus(const Topology& t, int trials_per_gpu) {
    SlotRequest request;
    request.placement.step_gpus = {0, 1, 2, 3};
    request.placement.visible_devices = {"0", "1", "2", "3"};
    request.placement.allowed = t.complete_cpuset();
    request.trials_per_gpu = trials_per_gpu;
    request.task_port = 29990;
    request.port_range = PortRange{20000, 29999};
    return request;
}

}  // namespace

TEST_CASE("4 trials per GPU on a 4-GPU node: own GPU, own GPU-local cores, no overlap",
          "[launcher][slot_plan]") {
    const Topology t = load("pcie-4gpu.xml");  // 16 cores, GPUs 0,1 / 2,3 on packages 0 / 1
    const SlotPlan plan = plan_slots(t, four_gpus(t, 4));
    REQUIRE(plan.slots.size() == 16);
    CHECK(plan.sharing == GpuSharing::time_sharing);
    std::map<int, int> per_gpu;
    std::set<int> ports;
    Bitmap used;
    for (const auto& slot : plan.slots) {
        INFO("slot " << slot.index);
        REQUIRE(slot.placement.gpus.size() == 1);
        CHECK(slot.placement.gpus[0] == slot.index % 4);
        CHECK(slot.placement.environment.at("CUDA_VISIBLE_DEVICES") ==
              std::to_string(slot.index % 4));
        ++per_gpu[slot.placement.gpus[0]];
        CHECK(slot.placement.cpuset.weight() > 0);
        CHECK_FALSE(slot.placement.cpuset.intersects(used));  // free cores remain: no overlap
        used |= slot.placement.cpuset;
        CHECK(slot.placement.gpu_local);
        CHECK_FALSE(slot.placement.shares_cores);
        CHECK(slot.environment.at("HPSWEEP_GPU_SHARING") == "time-sharing");
        CHECK(slot.environment.count("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE") == 0);
        CHECK(slot.master_port >= 20000);
        CHECK(slot.master_port <= 29999);
        ports.insert(slot.master_port);
    }
    CHECK(per_gpu == std::map<int, int>{{0, 4}, {1, 4}, {2, 4}, {3, 4}});
    CHECK(ports.size() == 16);  // one DDP port per trial, wrapped inside the range
    CHECK(plan.notes.empty());
}

TEST_CASE("more slots than cores: cores are shared evenly", "[launcher][slot_plan]") {
    const Topology t = load("pcie-4gpu.xml");
    const SlotPlan plan = plan_slots(t, four_gpus(t, 8));
    REQUIRE(plan.slots.size() == 32);
    std::map<std::string, int> users;  // PU list -> slots on it
    for (const auto& slot : plan.slots) {
        CHECK(slot.placement.shares_cores);
        ++users[slot.placement.cpuset.to_list()];
    }
    for (const auto& [cpus, n] : users) {
        INFO(cpus);
        CHECK(n == 2);
    }
}

TEST_CASE("MPS shares a GPU when the node runs its control daemon", "[launcher][slot_plan]") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("hpsweep-mps-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    Environment env{{"CUDA_MPS_PIPE_DIRECTORY", dir.string()}};
    CHECK_FALSE(mps_pipe_directory(env).has_value());  // no control pipe: no daemon
    REQUIRE(::mkfifo((dir / "control").c_str(), 0600) == 0);
    REQUIRE(mps_pipe_directory(env) == dir);

    const Topology t = load("pcie-4gpu.xml");
    auto request = four_gpus(t, 4);
    request.mps_pipe_directory = mps_pipe_directory(env);
    const SlotPlan plan = plan_slots(t, request);
    CHECK(plan.sharing == GpuSharing::mps);
    CHECK(plan.slots[5].environment.at("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE") == "25");
    CHECK(plan.slots[5].environment.at("CUDA_MPS_PIPE_DIRECTORY") == dir.string());
    std::filesystem::remove_all(dir);
}

TEST_CASE("CPU-only packed tasks split their CPUs between K slots", "[launcher][slot_plan]") {
    const Topology t = load("pcie-4gpu.xml");
    SlotRequest request;
    request.placement.allowed = Bitmap::parse_list("0-5");
    request.trials_per_gpu = 3;
    const SlotPlan plan = plan_slots(t, request);
    REQUIRE(plan.slots.size() == 3);
    CHECK(plan.sharing == GpuSharing::none);
    CHECK(plan.slots[0].placement.gpus.empty());
    CHECK(plan.slots[0].placement.cpuset.to_list() == "0-1");
    CHECK(plan.slots[2].placement.cpuset.to_list() == "4-5");
    request.trials_per_gpu = 0;
    CHECK_THROWS_AS(plan_slots(t, request), Error);
}
