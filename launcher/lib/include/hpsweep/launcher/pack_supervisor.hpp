#pragma once
// The pack supervisor (docs/packing.md): one packed array task runs a share of a sweep's
// trials [first, first + count), as many at once as it has slots (slot_plan.hpp). Each trial
// runs as a child `hpsweep-launch --experiment EXP --trial ID` in its slot, so it gets
// exactly what an unpacked trial gets (result.json, logs, metrics file, ASHA, preemption);
// this class only schedules those children and carries signals to them:
//   - a child that ends frees its slot, which takes the next trial of the share;
//   - every forwarded signal goes to every running child; SIGUSR2 (the preemption notice)
//     and SIGTERM/SIGINT/SIGHUP (scancel) also stop new starts, and after SIGTERM/SIGINT/
//     SIGHUP the trials that never started are recorded "cancelled";
//   - trials/<id>/cancel-requested (hpsweep cancel EXP ID) ends that trial alone;
//   - a requeued task skips the trials this array already finished.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/launcher/launch.hpp"

namespace hpsweep::launcher {

struct PackOptions {
    std::filesystem::path experiment;
    long first_trial = 0;
    long count = 0;
    int trials_per_gpu = 1;
    std::filesystem::path launcher;  // the executable each trial runs under
    // Placement and rendezvous options, as for one unpacked trial (launch.hpp).
    GpuAffinity policy = GpuAffinity::closest;
    std::optional<std::filesystem::path> topology_file;
    std::optional<std::string> gpus;
    std::optional<std::string> cpuset;
    DdpOverrides ddp;
};

// Runs the share; returns 0 when every trial of it succeeded (completed, stopped_early) or
// had already finished, 1 otherwise. Throws Error(usage) on a bad share.
int run_pack(const PackOptions& options);

// True when result.json of `trial`, written by the array job `array_job_id`, records an end
// a requeued task must not run again: completed, failed, cancelled or stopped_early.
bool finished_in_array(const std::filesystem::path& experiment, long trial,
                       const std::string& array_job_id);

}  // namespace hpsweep::launcher
