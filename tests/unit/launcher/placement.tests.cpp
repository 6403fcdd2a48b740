#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <map>
#include <random>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/placement.hpp"

using namespace hpsweep;
using namespace hpsweep::launcher;

namespace {

const std::string topology_dir = HPSWEEP_TOPOLOGY_DIR;

Topology load(const std::string& name) {
    return Topology::load_xml(topology_dir + "/" + name);
}

Bitmap core_pus(const Topology& topology, unsigned logical_index) {
    hwloc_obj_type_t type = hwloc_get_nbobjs_by_type(topology.get(), HWLOC_OBJ_CORE) > 0
                                ? HWLOC_OBJ_CORE
                                : HWLOC_OBJ_PU;
    return Bitmap(hwloc_get_obj_by_type(topology.get(), type, logical_index)->cpuset);
}

// The cores (logical indices) whose usable PUs lie in `cpus`.
std::set<unsigned> cores_touching(const Topology& topology, const Bitmap& cpus,
                                  const Bitmap& allowed) {
    std::set<unsigned> out;
    hwloc_obj_type_t type = hwloc_get_nbobjs_by_type(topology.get(), HWLOC_OBJ_CORE) > 0
                                ? HWLOC_OBJ_CORE
                                : HWLOC_OBJ_PU;
    for (hwloc_obj_t c = hwloc_get_next_obj_by_type(topology.get(), type, nullptr); c;
         c = hwloc_get_next_obj_by_type(topology.get(), type, c)) {
        const Bitmap usable = Bitmap(c->cpuset) & allowed;
        if (!usable.empty() && usable.intersects(cpus))
            out.insert(c->logical_index);
    }
    return out;
}

// Checks every property the placement promises, for one request. Returns the plan.
PlacementPlan check_plan(const Topology& topology, const PlacementRequest& request) {
    const PlacementPlan plan = plan_placement(topology, request);
    const auto gpus = find_gpus(topology);
    const auto hcas = find_hcas(topology);
    REQUIRE(plan.ranks.size() == static_cast<size_t>(request.local_ranks));

    std::map<unsigned, int> core_users;
    for (const auto& rank : plan.ranks) {
        for (unsigned c : rank.cores) ++core_users[c];
    }
    std::map<std::string, std::vector<const RankPlacement*>> by_locality;
    for (const auto& rank : plan.ranks) {
        INFO("local rank " << rank.local_rank << " cpus " << rank.cpuset.to_list());
        // Every rank gets CPUs, only allowed ones, made of whole usable cores.
        REQUIRE_FALSE(rank.cpuset.empty());
        CHECK(request.allowed.includes(rank.cpuset));
        for (unsigned c : rank.cores)
            CHECK(rank.cpuset.includes(core_pus(topology, c) & request.allowed));

        Bitmap locality;
        for (int index : rank.gpus) {
            for (const auto& g : gpus) {
                if (g.index == index)
                    locality |= g.locality & request.allowed;
            }
        }
        if (locality.empty())
            continue;
        // GPU-local whenever the allocation has local cores.
        CHECK(rank.gpu_local);
        CHECK(locality.includes(rank.cpuset));
        // No core shared while a local core is free.
        if (rank.shares_cores) {
            for (unsigned c : cores_touching(topology, locality, request.allowed)) {
                INFO("local core " << c << " left free while rank shares a core");
                CHECK(core_users[c] >= 1);
            }
        }
        by_locality[locality.to_list()].push_back(&rank);
    }
    // Fair: ranks with the same local cores get core counts within one of each other,
    // unless they had to share.
    for (const auto& [where, ranks] : by_locality) {
        size_t least = SIZE_MAX, most = 0;
        bool shared = false;
        for (const auto* r : ranks) {
            least = std::min(least, r->cores.size());
            most = std::max(most, r->cores.size());
            shared = shared || r->shares_cores;
        }
        INFO("ranks local to " << where);
        if (!shared)
            CHECK(most - least <= 1);
    }
    // The HCA of each GPU is one of the nearest by PCI tree.
    for (const auto& rank : plan.ranks) {
        for (int index : rank.gpus) {
            const GpuDevice* gpu = nullptr;
            for (const auto& g : gpus) {
                if (g.index == index)
                    gpu = &g;
            }
            if (!gpu || hcas.empty())
                continue;
            int nearest = INT_MAX;
            for (const auto& h : hcas)
                nearest = std::min(nearest, pci_tree_distance(gpu->pci, h.pci));
            bool has_nearest = false;
            for (const auto& h : hcas) {
                if (pci_tree_distance(gpu->pci, h.pci) == nearest &&
                    std::find(rank.hcas.begin(), rank.hcas.end(), h.nccl_name()) !=
                        rank.hcas.end()) {
                    has_nearest = true;
                }
            }
            INFO("GPU " << index << " of local rank " << rank.local_rank);
            CHECK(has_nearest);
            CHECK(rank.environment.at("NCCL_IB_HCA").starts_with("="));
        }
    }
    return plan;
}

std::vector<std::vector<int>> subsets_to_try(const std::vector<int>& all) {
    std::vector<std::vector<int>> out;
    const size_t n = all.size();
    if (n <= 8) {
        for (unsigned mask = 1; mask < (1u << n); ++mask) {
            std::vector<int> s;
            for (size_t i = 0; i < n; ++i) {
                if (mask & (1u << i))
                    s.push_back(all[i]);
            }
            out.push_back(s);
        }
        return out;
    }
    for (size_t len = 1; len <= n; ++len) {  // every contiguous run
        for (size_t start = 0; start + len <= n; ++start) {
            out.emplace_back(all.begin() + static_cast<long>(start),
                             all.begin() + static_cast<long>(start + len));
        }
    }
    std::mt19937 random(12345);  // and a fixed sample of scattered subsets
    for (int k = 0; k < 200; ++k) {
        std::vector<int> s;
        for (int g : all) {
            if (random() % 2)
                s.push_back(g);
        }
        if (!s.empty())
            out.push_back(s);
    }
    return out;
}

}  // namespace

TEST_CASE("GPUs and HCAs and NICs are found on the captured topologies", "[launcher][placement]") {
    SECTION("DGX-2: 16 GPUs known only by name (osdev type from newer hwloc), 8 per socket") {
        const Topology t = load("nvidia-dgx2.xml");
        const auto gpus = find_gpus(t);
        REQUIRE(gpus.size() == 16);
        for (size_t i = 0; i < gpus.size(); ++i) {
            CHECK(gpus[i].index == static_cast<int>(i));
            CHECK(gpus[i].numa_nodes.to_list() == (i < 8 ? "0" : "1"));
        }
        CHECK(find_hcas(t).empty());
    }
    SECTION("POWER8: cuda/nvml/opencl names merge into 4 GPUs, 2 per socket") {
        const Topology t = load("power8gpudistances.xml");
        const auto gpus = find_gpus(t);
        REQUIRE(gpus.size() == 4);
        CHECK(gpus[0].names == std::vector<std::string>{"cuda0", "nvml0"});
        CHECK(gpus[0].pci_busid == "0002:01:00.0");
        CHECK(gpus[3].numa_nodes.to_list() == "1");
    }
    SECTION("Supermicro: cuda0 and mlx5_0 on NUMA node 1, Ethernet interfaces") {
        const Topology t = load("32em64t-2n8c2t-pci-normalio.xml");
        const auto gpus = find_gpus(t);
        REQUIRE(gpus.size() == 1);
        CHECK(gpus[0].numa_nodes.to_list() == "1");
        const auto hcas = find_hcas(t);
        REQUIRE(hcas.size() == 1);
        CHECK(hcas[0].nccl_name() == "mlx5_0:1");
        const auto nics = find_network_interfaces(t);
        CHECK(std::count_if(nics.begin(), nics.end(),
                            [](const auto& n) { return n.name == "ib0" && n.infiniband; }) == 1);
        CHECK(std::count_if(nics.begin(), nics.end(),
                            [](const auto& n) { return n.name == "eth0" && !n.infiniband; }) == 1);
    }
    SECTION("hand-written DGX-A100-like: 8 GPUs, 8 HCAs, GPU i nearest to mlx5_i") {
        const Topology t = load("dgx-a100-like.xml");
        const auto gpus = find_gpus(t);
        const auto hcas = find_hcas(t);
        REQUIRE(gpus.size() == 8);
        REQUIRE(hcas.size() == 8);
        for (size_t i = 0; i < 8; ++i) {
            int best = INT_MAX;
            std::string name;
            for (const auto& h : hcas) {
                const int d = pci_tree_distance(gpus[i].pci, h.pci);
                if (d < best) {
                    best = d;
                    name = h.name;
                }
            }
            CHECK(name == "mlx5_" + std::to_string(i));
            CHECK(gpus[i].numa_nodes.to_list() == std::to_string(i / 2));
        }
    }
}

TEST_CASE("every GPU subset and rank count gets GPU-local unshared fair cores and the nearest HCA",
          "[launcher][placement]") {
    const char* files[] = {"nvidia-dgx2.xml", "power8gpudistances.xml",
                           "32em64t-2n8c2t-pci-normalio.xml", "dgx-a100-like.xml", "pcie-4gpu.xml"};
    for (const char* file : files) {
        const Topology t = load(file);
        std::vector<int> all;
        for (const auto& g : find_gpus(t)) all.push_back(g.index);
        const Bitmap everything = t.complete_cpuset();
        // A restricted allocation too: the first half of every package's cores.
        Bitmap half;
        for (hwloc_obj_t p = hwloc_get_next_obj_by_type(t.get(), HWLOC_OBJ_PACKAGE, nullptr); p;
             p = hwloc_get_next_obj_by_type(t.get(), HWLOC_OBJ_PACKAGE, p)) {
            const auto pus = Bitmap(p->cpuset).indices();
            for (size_t i = 0; i < (pus.size() + 1) / 2; ++i) hwloc_bitmap_set(half.get(), pus[i]);
        }
        size_t plans = 0;
        for (const auto& subset : subsets_to_try(all)) {
            for (const Bitmap* allowed : {&everything, static_cast<const Bitmap*>(&half)}) {
                for (int gpus_per_task : {1, 2}) {
                    const int n = static_cast<int>(subset.size());
                    for (int ranks : {std::max(1, n / gpus_per_task), n * 2}) {
                        INFO(file << " GPUs " << subset.size() << " allowed " << allowed->to_list()
                                  << " ranks " << ranks << " x " << gpus_per_task);
                        PlacementRequest request;
                        request.step_gpus = subset;
                        request.allowed = *allowed;
                        request.local_ranks = ranks;
                        request.gpus_per_task = gpus_per_task;
                        check_plan(t, request);
                        ++plans;
                    }
                }
            }
        }
        INFO(file);
        CHECK(plans >= 4);
    }
}

TEST_CASE("DGX-A100-like: 8 ranks get 8 cores each on their GPU's NUMA node and their own HCA",
          "[launcher][placement]") {
    const Topology t = load("dgx-a100-like.xml");
    PlacementRequest request;
    request.step_gpus = {0, 1, 2, 3, 4, 5, 6, 7};
    request.allowed = t.complete_cpuset();
    request.local_ranks = 8;
    const auto plan = check_plan(t, request);
    for (const auto& rank : plan.ranks) {
        const auto i = static_cast<unsigned>(rank.local_rank);
        CHECK(rank.cores.size() == 8);
        CHECK_FALSE(rank.shares_cores);
        CHECK(rank.nodeset.to_list() == std::to_string(i / 2));
        CHECK(rank.hcas == std::vector<std::string>{"mlx5_" + std::to_string(i) + ":1"});
        CHECK(rank.environment.at("NCCL_IB_HCA") == "=mlx5_" + std::to_string(i) + ":1");
        CHECK(rank.environment.at("UCX_NET_DEVICES") == "mlx5_" + std::to_string(i) + ":1");
        CHECK(rank.environment.at("OMP_NUM_THREADS") == "8");
        CHECK(rank.environment.at("HPSWEEP_GPUS") == std::to_string(i));
        CHECK(rank.environment.count("CUDA_VISIBLE_DEVICES") == 0);  // all step GPUs stay visible
    }
}

TEST_CASE("an allocation without GPU-local cores falls back to a fair split of the allowed CPUs",
          "[launcher][placement]") {
    const Topology t = load("pcie-4gpu.xml");
    PlacementRequest request;
    request.step_gpus = {2, 3};                   // package 1
    request.allowed = Bitmap::parse_list("0-5");  // package 0 only
    request.local_ranks = 2;
    const auto plan = plan_placement(t, request);
    CHECK_FALSE(plan.notes.empty());
    CHECK(plan.ranks[0].cpuset.to_list() == "0-2");
    CHECK(plan.ranks[1].cpuset.to_list() == "3-5");
    CHECK_FALSE(plan.ranks[0].gpu_local);
    CHECK(plan.ranks[0].nodeset.to_list() == "1");  // memory still follows the GPU
}

TEST_CASE("gpu isolation narrows CUDA_VISIBLE_DEVICES to the rank's entries",
          "[launcher][placement]") {
    const Topology t = load("pcie-4gpu.xml");
    PlacementRequest request;
    request.step_gpus = {1, 3};
    request.visible_devices = {"0", "1"};  // Slurm renumbers under ConstrainDevices
    request.allowed = t.complete_cpuset();
    request.local_ranks = 2;
    request.gpu_isolation = true;
    const auto plan = check_plan(t, request);
    CHECK(plan.ranks[1].gpus == std::vector<int>{3});
    CHECK(plan.ranks[1].environment.at("CUDA_VISIBLE_DEVICES") == "1");
    CHECK(plan.ranks[1].environment.at("HPSWEEP_GPUS") == "0");
    CHECK(plan.ranks[1].nodeset.to_list() == "1");
}

TEST_CASE("GPU and CPU sets are read from Slurm's variables", "[launcher][placement]") {
    const Topology t = load("pcie-4gpu.xml");
    const auto gpus = find_gpus(t);
    PlacementRequest request;
    gpus_from_environment(Environment{{"SLURM_STEP_GPUS", "2,3"}, {"CUDA_VISIBLE_DEVICES", "0,1"}},
                          gpus, std::nullopt, request);
    CHECK(request.step_gpus == std::vector<int>{2, 3});
    CHECK(request.visible_devices == std::vector<std::string>{"0", "1"});
    gpus_from_environment(Environment{{"CUDA_VISIBLE_DEVICES", "1,3"}}, gpus, std::nullopt,
                          request);
    CHECK(request.step_gpus == std::vector<int>{1, 3});
    gpus_from_environment(Environment{{"CUDA_VISIBLE_DEVICES", "NoDevFiles"}}, gpus, std::nullopt,
                          request);
    CHECK(request.step_gpus.empty());
    gpus_from_environment(Environment{}, gpus, std::nullopt, request);
    CHECK(request.step_gpus == std::vector<int>{0, 1, 2, 3});
    gpus_from_environment(Environment{{"SLURM_STEP_GPUS", "2"}}, gpus, std::string("0-1"), request);
    CHECK(request.step_gpus == std::vector<int>{0, 1});

    const Environment bound{{"SLURM_CPU_BIND_TYPE", "mask_cpu:"},
                            {"SLURM_CPU_BIND_LIST", "0x3,0xC0"}};
    CHECK(allowed_cpus(t, bound, std::nullopt).to_list() == "0-1,6-7");
    CHECK(allowed_cpus(t, bound, std::string("4-5")).to_list() == "4-5");
    CHECK(allowed_cpus(t, Environment{}, std::nullopt).to_list() == "0-15");  // XML: everything
    CHECK_THROWS_AS(allowed_cpus(t, Environment{}, std::string("0-x")), Error);
}

TEST_CASE("topology files that do not exist or are not hwloc XML are clear errors",
          "[launcher][placement]") {
    CHECK_THROWS_WITH(Topology::load_xml("/nonexistent/topo.xml"),
                      Catch::Contains("/nonexistent/topo.xml"));
    const std::string readme = topology_dir + "/README.md";
    try {
        Topology::load_xml(readme);
        FAIL("loaded a README as a topology");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::topology);
        CHECK_THAT(e.what(), Catch::Contains("README.md"));
    }
}

// Found by the topology_xml fuzzer (tests/fuzz/corpus/topology_xml/finding-hwloc-segv-*.xml):
// hwloc 2.9 dereferences NULL importing a PU without complete_cpuset under caches, with
// either XML parser, so loading such a file killed hpsweep-launch / hpsweep doctor.
TEST_CASE("a topology file that crashes hwloc is an error, not a crash", "[launcher][placement]") {
    std::string xml = hpsweep::read_file(topology_dir + "/24em64t-2n6c2t-pci.xml");
    const std::string pu = R"(<object type="PU" os_index="8" cpuset="0x00000100" )";
    const std::string complete = R"(complete_cpuset="0x00000100" )";
    const auto at = xml.find(pu + complete);
    REQUIRE(at != std::string::npos);
    xml.replace(at, pu.size() + complete.size(), pu);
    const auto file = std::filesystem::temp_directory_path() /
                      ("hpsweep-crashing-topology-" + std::to_string(::getpid()) + ".xml");
    hpsweep::write_file_atomic(file, xml);
    try {
        (void)Topology::load_xml(file);
        FAIL("loaded a topology that crashes hwloc");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::topology);
        CHECK_THAT(e.what(), Catch::Contains("hwloc crashed"));
    }
    std::filesystem::remove(file);
    // The file it came from still loads, through the same check.
    CHECK(load("24em64t-2n6c2t-pci.xml").complete_cpuset().weight() == 24);
}

// Found by the topology_xml fuzzer (tests/fuzz/corpus/topology_xml/
// finding-oom-numanode-without-os-index.xml): a NUMA node without os_index has index 2^32-1
// for hwloc, whose bitmaps then take 512 MiB each: 2.6 GB before the load ended.
TEST_CASE("a topology with an index no machine has is refused before hwloc reads it",
          "[launcher][placement]") {
    const std::string original = hpsweep::read_file(topology_dir + "/24em64t-2n6c2t-pci.xml");
    const auto file = std::filesystem::temp_directory_path() /
                      ("hpsweep-huge-index-topology-" + std::to_string(::getpid()) + ".xml");
    const auto refused = [&](const std::string& from, const std::string& to,
                             const std::string& message) {
        std::string xml = original;
        const auto at = xml.find(from);
        REQUIRE(at != std::string::npos);
        xml.replace(at, from.size(), to);
        hpsweep::write_file_atomic(file, xml);
        try {
            (void)Topology::load_xml(file);
            FAIL("loaded a topology with " << message);
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::topology);
            CHECK_THAT(e.what(), Catch::Contains(message) && Catch::Contains(file.string() + ":"));
        }
    };
    refused(R"(<object type="NUMANode" os_index="0")", R"(<object type="NUMANode")",
            "a NUMANode object without os_index");
    refused(R"(<object type="PU" os_index="8")", R"(<object type="PU" os_index="4294967295")",
            "os_index \"4294967295\"");
    refused(R"(<object type="PU" os_index="8")", R"(<object type="PU" os_index="8x")",
            "os_index \"8x\"");
    std::filesystem::remove(file);
    CHECK(load("24em64t-2n6c2t-pci.xml").complete_cpuset().weight() == 24);
}

TEST_CASE("the live topology loads and a second load comes from the per-node cache",
          "[launcher][placement]") {
    const auto cache = std::filesystem::temp_directory_path() /
                       ("hpsweep-topocache-" + std::to_string(::getpid()));
    std::filesystem::remove_all(cache);
    std::filesystem::create_directories(cache);
    const Topology first = Topology::load_live_cached(cache);
    CHECK(first.source() == "live");
    const Topology second = Topology::load_live_cached(cache);
    CHECK_THAT(second.source(), Catch::Contains("cached"));
    CHECK(second.is_this_system());
    CHECK(second.complete_cpuset() == first.complete_cpuset());
    CHECK(find_gpus(second).size() == find_gpus(first).size());
    std::filesystem::remove_all(cache);
}

TEST_CASE("without CUDA or NVML OS devices the NVIDIA PCI devices are the GPUs in bus order",
          "[launcher][placement]") {
    const Topology t = load("pcie-4gpu-pci-only.xml");
    const auto gpus = find_gpus(t);
    REQUIRE(gpus.size() == 4);
    CHECK(gpus[0].pci_busid == "0000:11:00.0");
    CHECK(gpus[3].index == 3);
    CHECK(gpus[3].pci_busid == "0000:82:00.0");
    CHECK(gpus[3].numa_nodes.to_list() == "1");
    CHECK(gpus[0].names.empty());
}

TEST_CASE("binding a rank on the live machine changes the real affinity", "[launcher][placement]") {
    const Topology t = Topology::load_live();
    const Bitmap allowed = t.process_cpubind();
    const auto cpus = allowed.indices();
    REQUIRE_FALSE(cpus.empty());
    RankPlacement rank;
    hwloc_bitmap_set(rank.cpuset.get(), cpus.back());
    // In a child process, so the test runner keeps its own affinity.
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const auto warnings = apply_binding(t, rank);
        cpu_set_t set;
        CPU_ZERO(&set);
        if (!warnings.empty() || ::sched_getaffinity(0, sizeof set, &set) != 0)
            ::_exit(2);
        ::_exit(CPU_COUNT(&set) == 1 && CPU_ISSET(cpus.back(), &set) ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    // An XML topology is not this machine: binding it does nothing and says nothing.
    const Topology xml = load("pcie-4gpu.xml");
    CHECK_FALSE(xml.is_this_system());
    CHECK(apply_binding(xml, rank).empty());
}
