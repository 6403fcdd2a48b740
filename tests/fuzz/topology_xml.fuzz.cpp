// hwloc XML topologies (launcher/lib/src/topology.cpp: Topology::load_xml, as
// `hpsweep-launch --topology FILE` and `hpsweep doctor --topology FILE` use it), then what
// the launcher does with one: find the GPUs, HCAs and NICs and plan a placement on it.
// Note: hwloc itself is the Debian build (not instrumented): the fuzzer is guided by the
// coverage of hpsweep's code, and ASan sees hwloc's memory errors only through its
// interceptors. The XML cache of the live topology is private to its user (0600, checked
// on load), so this is a robustness target, not a privilege boundary.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_support.hpp"
#include "hpsweep/launcher/placement.hpp"
#include "hpsweep/launcher/topology.hpp"

using namespace hpsweep;
using namespace hpsweep::launcher;

namespace {

void use_topology(const Topology& topology) {
    (void)topology.is_this_system();
    const Bitmap complete = topology.complete_cpuset();
    (void)complete.to_list();
    (void)topology.allowed_cpuset().to_list();
    const auto gpus = find_gpus(topology);
    const auto hcas = find_hcas(topology);
    const auto nics = find_network_interfaces(topology);
    for (const auto& g : gpus) {
        (void)g.locality.to_list();
        (void)g.numa_nodes.to_list();
        for (const auto& h : hcas) (void)pci_tree_distance(g.pci, h.pci);
    }
    for (const auto& n : nics) (void)pci_tree_distance(n.pci, gpus.empty() ? nullptr : gpus[0].pci);

    // A step on every GPU, one rank per GPU (at most 16), as srun --gpus-per-task=1 would.
    PlacementRequest request;
    std::set<int> seen;
    for (const auto& g : gpus) {
        if (request.step_gpus.size() < 16 && seen.insert(g.index).second)
            request.step_gpus.push_back(g.index);
    }
    request.allowed = allowed_cpus(topology, Environment{}, std::nullopt);
    request.local_ranks = std::max<int>(1, static_cast<int>(request.step_gpus.size()));
    request.gpus_per_task = request.step_gpus.empty() ? 0 : 1;
    fuzz::only_bad_input([&] {
        const PlacementPlan plan = plan_placement(topology, request);
        if (plan.ranks.size() != static_cast<std::size_t>(request.local_ranks))
            fuzz::finding("placement planned %zu ranks for %d", plan.ranks.size(),
                          request.local_ranks);
        for (const auto& rank : plan.ranks) {
            if (!rank.cpuset.empty() && !request.allowed.includes(rank.cpuset))
                fuzz::finding("rank %d bound to CPUs %s outside the allowed %s", rank.local_rank,
                              rank.cpuset.to_list().c_str(), request.allowed.to_list().c_str());
        }
    });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Binding must never act on this machine, and hwloc's complaints about broken XML are
    // noise here (load_xml turns a refused file into an Error).
    ::unsetenv("HWLOC_THISSYSTEM");
    ::setenv("HWLOC_HIDE_ERRORS", "2", 1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto file = fuzz::scratch_dir() / "topology.xml";
    fuzz::write_bytes(file, data, size);
    fuzz::only_bad_input([&] {
        const Topology topology = Topology::load_xml(file);
        if (topology.is_this_system())
            fuzz::finding("a topology loaded from XML claims to be this system");
        use_topology(topology);
    });
    return 0;
}
