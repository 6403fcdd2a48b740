#pragma once
// Slots of a packed array task (docs/packing.md): the task's GPUs and cores split between
// the trials it runs at once. Slots are placed by the rank placement rules (placement.hpp)
// with one rank per slot: slot s takes GPU s mod G, and the cores near that GPU are split
// fairly between its slots, shared only when there are fewer free cores than slots.
// Pure computation on a Topology, except mps_pipe_directory() which looks at the node.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/launcher/ddp_env.hpp"
#include "hpsweep/launcher/placement.hpp"

namespace hpsweep::launcher {

// How the trials of one GPU share it.
enum class GpuSharing {
    none,          // the slots have no GPU
    exclusive,     // one trial per GPU
    mps,           // NVIDIA MPS: the node runs its control daemon
    time_sharing,  // several processes on one GPU, time-sliced by the driver
};
const char* to_string(GpuSharing sharing) noexcept;

// The MPS pipe directory when an MPS control daemon listens on this node:
// $CUDA_MPS_PIPE_DIRECTORY (else /tmp/nvidia-mps) holding the `control` FIFO.
std::optional<std::filesystem::path> mps_pipe_directory(const Environment& env);

struct Slot {
    int index = 0;
    RankPlacement placement;  // GPU (at most one), cores, NUMA nodes
    int master_port = 0;      // the task's port + 211 * index, wrapped inside the port range
    // On top of the placement's environment: HPSWEEP_PACK_SLOT, HPSWEEP_GPU_SHARING, and
    // the MPS variables when the GPU is shared through MPS.
    std::map<std::string, std::string> environment;
};

struct SlotPlan {
    std::vector<Slot> slots;
    GpuSharing sharing = GpuSharing::none;
    std::vector<std::string> notes;
};

struct SlotRequest {
    PlacementRequest placement;  // step GPUs, visible devices, allowed CPUs; local_ranks unused
    int trials_per_gpu = 1;      // K; without GPUs the number of slots
    int task_port = 0;           // MASTER_PORT of the task (master_port_for)
    PortRange port_range;
    std::optional<std::filesystem::path> mps_pipe_directory;
};

// Throws Error(usage) when trials_per_gpu < 1.
SlotPlan plan_slots(const Topology& topology, const SlotRequest& request);

}  // namespace hpsweep::launcher
