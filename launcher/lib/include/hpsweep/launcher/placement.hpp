#pragma once
// Topology-aware placement of the ranks of one node: which GPU(s), which cores, which NUMA
// node(s), which HCA and which interface each local rank gets, from the hwloc topology and
// what Slurm allocated. Pure computation on a Topology: no Slurm, no binding side effects
// (apply_binding() does those). See docs/placement.md.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/launcher/ddp_env.hpp"
#include "hpsweep/launcher/topology.hpp"

namespace hpsweep::launcher {

struct PlacementRequest {
    // The step's GPUs as physical indices (the nvidiaN minor), in LOCAL_RANK order.
    std::vector<int> step_gpus;
    // What CUDA_VISIBLE_DEVICES says for the same GPUs, in the same order (Slurm renumbers
    // under ConstrainDevices). Empty: the physical indices are what CUDA sees.
    std::vector<std::string> visible_devices;
    Bitmap allowed;  // CPUs the step may use on this node
    int local_ranks = 1;
    int gpus_per_task = 1;  // 0: ranks get no GPU
    bool gpu_isolation = false;
    bool hints = true;                                // NCCL/UCX/OMP hints; false for policy "none"
    std::optional<std::string> rendezvous_interface;  // NCCL_SOCKET_IFNAME / GLOO_SOCKET_IFNAME
};

struct RankPlacement {
    int local_rank = 0;
    std::vector<int> gpus;                 // physical indices
    std::vector<int> gpu_positions;        // positions in the step's visible list (cuda:N)
    std::vector<std::string> gpu_visible;  // the CUDA_VISIBLE_DEVICES entries of those GPUs
    std::vector<std::string> gpu_busids;   // "" for GPUs the topology does not show
    Bitmap cpuset;                         // PUs (OS indices) to bind to
    std::vector<unsigned> cores;           // hwloc logical indices of the cores in cpuset
    Bitmap nodeset;                        // NUMA nodes (OS indices) to bind memory to
    bool gpu_local = false;                // the cores are local to the rank's GPU(s)
    bool shares_cores = false;             // another rank of this node has one of these cores
    std::vector<std::string> hcas;         // "mlx5_0:1", nearest to the GPU(s) by PCI tree
    std::string interface;                 // rendezvous interface, "" when unknown
    std::map<std::string, std::string> environment;  // what the child gets on top of DDP env
};

struct PlacementPlan {
    std::vector<RankPlacement> ranks;  // index = local rank
    std::vector<std::string> notes;    // why a fallback was taken, etc.
};

PlacementPlan plan_placement(const Topology& topology, const PlacementRequest& request);

// The step's GPUs from SLURM_STEP_GPUS, else SLURM_JOB_GPUS, else CUDA_VISIBLE_DEVICES
// (numeric entries), else every GPU of the topology; `override_list` ("0,2-3") wins.
// Fills request.step_gpus and request.visible_devices.
void gpus_from_environment(const Environment& env, const std::vector<GpuDevice>& topology_gpus,
                           const std::optional<std::string>& override_list,
                           PlacementRequest& request);

// CPUs the step may use: `override_list`, else the union of Slurm's per-task masks
// (SLURM_CPU_BIND_LIST under task/affinity binding: each task is bound to its own CPUs,
// the step owns all of them), else this process's affinity (live), else every CPU.
Bitmap allowed_cpus(const Topology& topology, const Environment& env,
                    const std::optional<std::string>& override_list);

// The interface whose address the kernel would use to reach `host` (UDP connect, no
// packet sent); nullopt when it cannot be resolved.
std::optional<std::string> route_interface(const std::string& host);

// Binds this process's CPUs and memory (children inherit both). Does nothing on a
// topology that is not this system. Returns warnings (binding refused...) instead of
// throwing: a job is better run unbound than not at all.
std::vector<std::string> apply_binding(const Topology& topology, const RankPlacement& rank);

}  // namespace hpsweep::launcher
