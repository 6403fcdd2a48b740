#include "hpsweep/launcher/slot_plan.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "hpsweep/error.hpp"

namespace hpsweep::launcher {

namespace {

// Ports of one task's slots are this far apart: array tasks get consecutive job ids and so
// consecutive task ports (master_port_for); a stride keeps a neighbour task's slot 0 off
// this task's slot 1.
constexpr int slot_port_stride = 211;

int slot_port(int task_port, int slot, PortRange range) {
    if (task_port < range.first || task_port > range.last)
        task_port = range.first;
    const long offset =
        (static_cast<long>(task_port - range.first) + static_cast<long>(slot) * slot_port_stride) %
        range.size();
    return range.first + static_cast<int>(offset);
}

}  // namespace

const char* to_string(GpuSharing sharing) noexcept {
    switch (sharing) {
        case GpuSharing::none:
            return "none";
        case GpuSharing::exclusive:
            return "exclusive";
        case GpuSharing::mps:
            return "mps";
        case GpuSharing::time_sharing:
            return "time-sharing";
    }
    return "none";
}

std::optional<std::filesystem::path> mps_pipe_directory(const Environment& env) {
    const std::filesystem::path dir =
        get_env(env, "CUDA_MPS_PIPE_DIRECTORY").value_or("/tmp/nvidia-mps");
    struct stat st {};
    if (::stat((dir / "control").c_str(), &st) == 0 && S_ISFIFO(st.st_mode))
        return dir;
    return std::nullopt;
}

SlotPlan plan_slots(const Topology& topology, const SlotRequest& request) {
    if (request.trials_per_gpu < 1)
        throw Error(ErrorKind::usage, "trials per GPU must be >= 1");
    const int gpus = static_cast<int>(request.placement.step_gpus.size());
    PlacementRequest placement = request.placement;
    placement.local_ranks = std::max(gpus, 1) * request.trials_per_gpu;
    placement.gpus_per_task = gpus > 0 ? 1 : 0;
    placement.gpu_isolation = true;  // each trial sees its own GPU only
    PlacementPlan ranks = plan_placement(topology, placement);

    SlotPlan plan;
    if (gpus == 0) {
        plan.sharing = GpuSharing::none;
    } else if (request.trials_per_gpu == 1) {
        plan.sharing = GpuSharing::exclusive;
    } else {
        plan.sharing = request.mps_pipe_directory ? GpuSharing::mps : GpuSharing::time_sharing;
    }
    for (auto& note : ranks.notes) {
        // Slots share GPUs on purpose (trials_per_gpu); only the other notes are news.
        if (note.find("ranks share GPUs") == std::string::npos)
            plan.notes.push_back(std::move(note));
    }
    for (auto& rank : ranks.ranks) {
        Slot slot;
        slot.index = rank.local_rank;
        slot.master_port = slot_port(request.task_port, slot.index, request.port_range);
        slot.environment["HPSWEEP_PACK_SLOT"] = std::to_string(slot.index);
        slot.environment["HPSWEEP_GPU_SHARING"] = to_string(plan.sharing);
        if (plan.sharing == GpuSharing::mps) {
            slot.environment["CUDA_MPS_PIPE_DIRECTORY"] = request.mps_pipe_directory->string();
            slot.environment["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] =
                std::to_string(std::max(1, 100 / request.trials_per_gpu));
        }
        slot.placement = std::move(rank);
        plan.slots.push_back(std::move(slot));
    }
    return plan;
}

}  // namespace hpsweep::launcher
