#pragma once
// The pack supervisor (docs/packing.md): one packed array task runs a share of a sweep's
// trials [first, first + count), as many at once as it has slots (slot_plan.hpp). It loads
// the topology and plans the slots once; each trial runs in a child forked from it (no exec)
// that calls PackOptions::run_trial: the single-trial launch (launch.hpp) in the slot, so the
// trial gets exactly what an unpacked trial gets (binding, environment, result.json, logs,
// metrics file, ASHA, preemption) without starting a new launcher. This class schedules those
// children and carries signals to them:
//   - a child that ends frees its slot, which takes the next trial of the share;
//   - every forwarded signal goes to every running child; SIGUSR2 (the preemption notice)
//     and SIGTERM/SIGINT/SIGHUP (scancel) also stop new starts, and after SIGTERM/SIGINT/
//     SIGHUP the trials that never started are recorded "cancelled";
//   - trials/<id>/cancel-requested (hpsweep cancel EXP ID) ends that trial alone;
//   - a requeued task skips the trials this array already finished.

#include <filesystem>
#include <functional>
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
    // One trial's launch in its slot (the options carry the trial, slot and loaded topology),
    // called in the forked child with the slot's environment in place; returns the exit code
    // of the child. An exception is reported on stderr and fails the child.
    std::function<int(const LaunchOptions& trial)> run_trial;
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
