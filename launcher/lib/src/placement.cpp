#include "hpsweep/launcher/placement.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::launcher {

namespace {

struct Core {
    unsigned logical_index = 0;
    Bitmap pus;  // usable PUs of the core (within the allowed set)
};

std::vector<Core> usable_cores(const Topology& topology, const Bitmap& allowed) {
    std::vector<Core> cores;
    hwloc_obj_type_t type = HWLOC_OBJ_CORE;
    if (hwloc_get_nbobjs_by_type(topology.get(), HWLOC_OBJ_CORE) <= 0)
        type = HWLOC_OBJ_PU;
    for (hwloc_obj_t c = hwloc_get_next_obj_by_type(topology.get(), type, nullptr); c;
         c = hwloc_get_next_obj_by_type(topology.get(), type, c)) {
        Bitmap pus = Bitmap(c->cpuset) & allowed;
        if (!pus.empty())
            cores.push_back(Core{c->logical_index, std::move(pus)});
    }
    return cores;
}

// Fair contiguous split of `items` into `parts` groups: sizes differ by at most one.
std::vector<std::vector<size_t>> split_fairly(const std::vector<size_t>& items, size_t parts) {
    std::vector<std::vector<size_t>> out(parts);
    if (parts == 0)
        return out;
    if (items.size() >= parts) {
        for (size_t p = 0; p < parts; ++p) {
            const size_t begin = p * items.size() / parts;
            const size_t end = (p + 1) * items.size() / parts;
            out[p].assign(items.begin() + static_cast<long>(begin),
                          items.begin() + static_cast<long>(end));
        }
    } else if (!items.empty()) {
        for (size_t p = 0; p < parts; ++p) out[p].push_back(items[p % items.size()]);
    }
    return out;
}

bool is_number(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<int> parse_index_list(std::string_view text, std::string_view what) {
    std::vector<int> out;
    for (unsigned i : Bitmap::parse_list(text, what).indices()) out.push_back(static_cast<int>(i));
    return out;
}

// SLURM_STEP_GPUS keeps the order Slurm gives; entries are plain numbers separated by commas.
std::optional<std::vector<int>> numeric_list(const std::string& text) {
    std::vector<int> out;
    for (const auto& part : split(text, ',')) {
        const auto t = trim(part);
        if (!is_number(t) || t.size() > 6)
            return std::nullopt;
        out.push_back(std::stoi(std::string(t)));
    }
    return out;
}

}  // namespace

void gpus_from_environment(const Environment& env, const std::vector<GpuDevice>& topology_gpus,
                           const std::optional<std::string>& override_list,
                           PlacementRequest& request) {
    request.step_gpus.clear();
    request.visible_devices.clear();
    const auto cvd = get_env(env, "CUDA_VISIBLE_DEVICES");
    std::vector<std::string> visible;
    if (cvd && *cvd != "NoDevFiles") {
        for (const auto& part : split(*cvd, ',')) {
            if (!trim(part).empty())
                visible.emplace_back(trim(part));
        }
    }
    if (override_list) {
        request.step_gpus = parse_index_list(*override_list, "--gpus");
    } else if (auto step = get_env(env, "SLURM_STEP_GPUS"); step && numeric_list(*step)) {
        request.step_gpus = *numeric_list(*step);
    } else if (auto job = get_env(env, "SLURM_JOB_GPUS"); job && numeric_list(*job)) {
        request.step_gpus = *numeric_list(*job);
    } else if (cvd) {
        if (*cvd == "NoDevFiles")
            return;  // Slurm: the job has no GPU
        for (size_t i = 0; i < visible.size(); ++i) {
            // UUIDs or MIG ids cannot be matched to the topology: keep their position.
            request.step_gpus.push_back(is_number(visible[i]) ? std::stoi(visible[i])
                                                              : static_cast<int>(i));
        }
    } else {
        for (const auto& g : topology_gpus) request.step_gpus.push_back(g.index);
    }
    if (!override_list && visible.size() == request.step_gpus.size()) {
        request.visible_devices = visible;
    }
}

Bitmap allowed_cpus(const Topology& topology, const Environment& env,
                    const std::optional<std::string>& override_list) {
    if (override_list)
        return Bitmap::parse_list(*override_list, "--cpuset");
    const auto type = get_env(env, "SLURM_CPU_BIND_TYPE");
    const auto list = get_env(env, "SLURM_CPU_BIND_LIST");
    if (type && list && type->find("mask_cpu") != std::string::npos) {
        Bitmap all;
        bool ok = true;
        for (const auto& mask : split(*list, ',')) {
            Bitmap one;
            const std::string m(trim(mask));
            if (m.empty() || hwloc_bitmap_taskset_sscanf(one.get(), m.c_str()) != 0) {
                ok = false;
                break;
            }
            all |= one;
        }
        if (ok && !all.empty())
            return all;
    }
    if (topology.is_this_system())
        return topology.process_cpubind();
    return topology.complete_cpuset();
}

std::optional<std::string> route_interface(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), "9", &hints, &found) != 0 || !found)
        return std::nullopt;
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, &::freeaddrinfo);
    UniqueFd sock(::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock)
        return std::nullopt;
    // connect() on a UDP socket only asks the kernel for a route: nothing is sent.
    if (::connect(sock.get(), found->ai_addr, found->ai_addrlen) != 0)
        return std::nullopt;
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0)
        return std::nullopt;
    ifaddrs* ifs = nullptr;
    if (::getifaddrs(&ifs) != 0)
        return std::nullopt;
    std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> ifs_guard(ifs, &::freeifaddrs);
    for (ifaddrs* i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != local.ss_family)
            continue;
        if (local.ss_family == AF_INET) {
            const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            const auto* b = reinterpret_cast<const sockaddr_in*>(&local);
            if (a->sin_addr.s_addr == b->sin_addr.s_addr)
                return std::string(i->ifa_name);
        } else if (local.ss_family == AF_INET6) {
            const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            const auto* b = reinterpret_cast<const sockaddr_in6*>(&local);
            if (std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0) {
                return std::string(i->ifa_name);
            }
        }
    }
    return std::nullopt;
}

namespace {

const GpuDevice* gpu_by_index(const std::vector<GpuDevice>& gpus, int index) {
    for (const auto& g : gpus) {
        if (g.index == index)
            return &g;
    }
    return nullptr;
}

// GPUs: rank r takes positions r*g .. r*g+g-1 of the step's list (wrapping, shared, when
// there are fewer GPUs than ranks ask for). Returns each rank's GPU-local CPUs (within the
// allowed set).
std::vector<Bitmap> assign_gpus(const PlacementRequest& request, const std::vector<GpuDevice>& gpus,
                                PlacementPlan& plan) {
    const size_t ranks = plan.ranks.size();
    const size_t n_gpus = request.step_gpus.size();
    const auto per_task = static_cast<size_t>(std::max(request.gpus_per_task, 0));
    if (n_gpus > 0 && per_task > 0 && ranks * per_task > n_gpus) {
        plan.notes.push_back(std::to_string(ranks) + " ranks x " + std::to_string(per_task) +
                             " GPU(s) > " + std::to_string(n_gpus) + " GPUs: ranks share GPUs");
    }
    std::vector<Bitmap> locality(ranks);
    for (size_t r = 0; r < ranks; ++r) {
        RankPlacement& rank = plan.ranks[r];
        rank.local_rank = static_cast<int>(r);
        if (n_gpus == 0)
            continue;
        for (size_t k = 0; k < per_task; ++k) {
            const size_t position = (r * per_task + k) % n_gpus;
            const int index = request.step_gpus[position];
            if (std::find(rank.gpus.begin(), rank.gpus.end(), index) != rank.gpus.end())
                continue;
            rank.gpus.push_back(index);
            rank.gpu_positions.push_back(static_cast<int>(position));
            rank.gpu_visible.push_back(request.visible_devices.empty()
                                           ? std::to_string(index)
                                           : request.visible_devices[position]);
            const GpuDevice* gpu = gpu_by_index(gpus, index);
            rank.gpu_busids.push_back(gpu ? gpu->pci_busid : "");
            if (gpu) {
                locality[r] |= gpu->locality & request.allowed;
                rank.nodeset |= gpu->numa_nodes;
            } else {
                plan.notes.push_back("GPU " + std::to_string(index) +
                                     " is not in the topology: no locality for it");
            }
        }
    }
    return locality;
}

// Ranks that choose their cores together.
struct CoreDomain {
    std::vector<size_t> cores;  // indices into the usable cores
    std::vector<size_t> ranks;
    bool gpu_local = true;
};

// Ranks whose GPUs have the same local cores form a domain, the most constrained first;
// ranks without GPU-local cores form a last domain over all allowed cores.
std::vector<CoreDomain> core_domains(const std::vector<Core>& cores,
                                     const std::vector<Bitmap>& locality, bool gpus_requested,
                                     PlacementPlan& plan) {
    std::map<std::vector<size_t>, std::vector<size_t>> by_cores;  // local cores -> ranks
    std::vector<size_t> unplaced;
    for (size_t r = 0; r < locality.size(); ++r) {
        std::vector<size_t> local;
        for (size_t c = 0; c < cores.size(); ++c) {
            if (cores[c].pus.intersects(locality[r]))
                local.push_back(c);
        }
        if (local.empty()) {
            unplaced.push_back(r);
        } else {
            by_cores[local].push_back(r);
        }
    }
    std::vector<CoreDomain> domains;
    for (auto& [local, members] : by_cores) domains.push_back(CoreDomain{local, members, true});
    std::stable_sort(domains.begin(), domains.end(), [](const CoreDomain& a, const CoreDomain& b) {
        return a.cores.size() < b.cores.size();
    });
    if (!unplaced.empty()) {
        CoreDomain rest{{}, unplaced, false};
        for (size_t c = 0; c < cores.size(); ++c) rest.cores.push_back(c);
        domains.push_back(std::move(rest));
        if (gpus_requested) {
            plan.notes.push_back("no GPU-local cores in the allowed set for " +
                                 std::to_string(unplaced.size()) +
                                 " rank(s): they share the remaining allowed CPUs fairly");
        }
    }
    return domains;
}

// Each domain in turn splits its free cores fairly (contiguous, whole cores) and only shares
// cores when it has fewer free cores than ranks. Marks the ranks that share a core.
void assign_cores(const std::vector<Core>& cores, const std::vector<CoreDomain>& domains,
                  PlacementPlan& plan) {
    std::vector<int> users(cores.size(), 0);
    for (const CoreDomain& domain : domains) {
        std::vector<size_t> free_cores;
        for (size_t c : domain.cores) {
            if (users[c] == 0)
                free_cores.push_back(c);
        }
        const std::vector<size_t>& pool =
            free_cores.size() >= domain.ranks.size() ? free_cores : domain.cores;
        const auto parts = split_fairly(pool, domain.ranks.size());
        for (size_t k = 0; k < domain.ranks.size(); ++k) {
            RankPlacement& rank = plan.ranks[domain.ranks[k]];
            rank.gpu_local = domain.gpu_local;
            for (size_t c : parts[k]) {
                rank.cores.push_back(cores[c].logical_index);
                rank.cpuset |= cores[c].pus;
                ++users[c];
            }
        }
    }
    for (auto& rank : plan.ranks) {
        for (size_t c = 0; c < cores.size(); ++c) {
            if (users[c] > 1 && std::find(rank.cores.begin(), rank.cores.end(),
                                          cores[c].logical_index) != rank.cores.end()) {
                rank.shares_cores = true;
            }
        }
    }
}

// Memory: the GPU-local NUMA nodes (set with the GPUs); without a GPU, the nodes of the
// rank's cores.
void assign_memory(const Topology& topology, PlacementPlan& plan) {
    for (auto& rank : plan.ranks) {
        if (!rank.nodeset.empty())
            continue;
        for (hwloc_obj_t n =
                 hwloc_get_next_obj_by_type(topology.get(), HWLOC_OBJ_NUMANODE, nullptr);
             n; n = hwloc_get_next_obj_by_type(topology.get(), HWLOC_OBJ_NUMANODE, n)) {
            if (Bitmap(n->cpuset).intersects(rank.cpuset))
                hwloc_bitmap_set(rank.nodeset.get(), n->os_index);
        }
    }
}

// HCA: the nearest by PCI tree to each of the rank's GPUs; among equally near ones, the one
// fewest ranks use so far.
void assign_hcas(const std::vector<GpuDevice>& gpus, const std::vector<HcaDevice>& hcas,
                 PlacementPlan& plan) {
    std::map<std::string, int> hca_users;
    for (auto& rank : plan.ranks) {
        std::set<std::string> chosen;
        for (int index : rank.gpus) {
            const GpuDevice* gpu = gpu_by_index(gpus, index);
            if (!gpu || hcas.empty())
                continue;
            const HcaDevice* best = nullptr;
            int best_distance = 0;
            for (const auto& hca : hcas) {
                const int d = pci_tree_distance(gpu->pci, hca.pci);
                if (!best || d < best_distance ||
                    (d == best_distance && hca_users[hca.name] < hca_users[best->name])) {
                    best = &hca;
                    best_distance = d;
                }
            }
            if (best && chosen.insert(best->nccl_name()).second) {
                rank.hcas.push_back(best->nccl_name());
                ++hca_users[best->name];
            }
        }
    }
}

// The variables each rank's process gets: its GPUs, and with hints its CPUs, NUMA nodes,
// HCAs, rendezvous interface and thread count.
void fill_environment(const PlacementRequest& request, PlacementPlan& plan) {
    for (auto& rank : plan.ranks) {
        auto& env = rank.environment;
        if (!rank.gpus.empty()) {
            std::vector<std::string> positions;
            for (int p : rank.gpu_positions) positions.push_back(std::to_string(p));
            if (request.gpu_isolation) {
                // Only the rank's GPUs are visible, so CUDA numbers them from 0.
                env["CUDA_VISIBLE_DEVICES"] = join(rank.gpu_visible, ",");
                positions.clear();
                for (size_t i = 0; i < rank.gpus.size(); ++i)
                    positions.push_back(std::to_string(i));
            }
            env["HPSWEEP_GPUS"] = join(positions, ",");
        }
        if (!request.hints)
            continue;
        env["HPSWEEP_CPUS"] = rank.cpuset.to_list();
        if (!rank.nodeset.empty())
            env["HPSWEEP_NUMA_NODES"] = rank.nodeset.to_list();
        if (!rank.hcas.empty()) {
            env["NCCL_IB_HCA"] = "=" + join(rank.hcas, ",");  // '=': exact names, no prefix match
            env["UCX_NET_DEVICES"] = join(rank.hcas, ",");
        }
        if (request.rendezvous_interface) {
            rank.interface = *request.rendezvous_interface;
            env["NCCL_SOCKET_IFNAME"] = rank.interface;
            env["GLOO_SOCKET_IFNAME"] = rank.interface;
        }
        env["OMP_NUM_THREADS"] = std::to_string(std::max<size_t>(rank.cores.size(), 1));
    }
}

}  // namespace

PlacementPlan plan_placement(const Topology& topology, const PlacementRequest& request) {
    PlacementPlan plan;
    if (request.local_ranks < 1)
        throw Error(ErrorKind::usage, "need at least one local rank");
    plan.ranks.resize(static_cast<size_t>(request.local_ranks));

    const std::vector<GpuDevice> gpus = find_gpus(topology);
    const std::vector<HcaDevice> hcas = find_hcas(topology);
    const std::vector<Core> cores = usable_cores(topology, request.allowed);
    if (cores.empty()) {
        throw Error(ErrorKind::topology, "the allowed CPUs (" + request.allowed.to_list() +
                                             ") are not in the topology (" + topology.source() +
                                             ")");
    }
    const std::vector<Bitmap> locality = assign_gpus(request, gpus, plan);
    const bool gpus_requested = !request.step_gpus.empty() && request.gpus_per_task > 0;
    assign_cores(cores, core_domains(cores, locality, gpus_requested, plan), plan);
    assign_memory(topology, plan);
    assign_hcas(gpus, hcas, plan);
    fill_environment(request, plan);
    return plan;
}

std::vector<std::string> apply_binding(const Topology& topology, const RankPlacement& rank) {
    std::vector<std::string> warnings;
    if (!topology.is_this_system())
        return warnings;
    if (!rank.cpuset.empty() &&
        hwloc_set_cpubind(topology.get(), rank.cpuset.get(), HWLOC_CPUBIND_PROCESS) != 0) {
        warnings.push_back("cannot bind to CPUs " + rank.cpuset.to_list() + ": " +
                           std::strerror(errno));
    }
    if (!rank.nodeset.empty() && hwloc_get_nbobjs_by_type(topology.get(), HWLOC_OBJ_NUMANODE) > 1 &&
        hwloc_set_membind(topology.get(), rank.nodeset.get(), HWLOC_MEMBIND_BIND,
                          HWLOC_MEMBIND_PROCESS | HWLOC_MEMBIND_BYNODESET) != 0) {
        warnings.push_back("cannot bind memory to NUMA node(s) " + rank.nodeset.to_list() + ": " +
                           std::strerror(errno));
    }
    return warnings;
}

}  // namespace hpsweep::launcher
