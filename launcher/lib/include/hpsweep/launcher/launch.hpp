#pragma once
// What hpsweep-launch does, as a library call (the executable only parses arguments):
// compute this rank's placement and DDP environment, set up the trial directory, run the
// command under a Supervisor, record the result, return the exit code to exit with.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/launcher/container_launch.hpp"
#include "hpsweep/launcher/ddp_env.hpp"
#include "hpsweep/launcher/supervisor.hpp"
#include "hpsweep/site_config.hpp"

namespace hpsweep::launcher {

class Topology;

struct LaunchOptions {
    std::optional<std::filesystem::path> experiment;
    std::optional<long> trial;
    // A packed array task (pack_supervisor.hpp): trials [pack_first, pack_first + pack_count).
    std::optional<long> pack_first;
    long pack_count = 0;
    std::vector<std::string> command;
    // closest: bind cores/memory near the rank's GPU(s) and pick the nearest HCA; none: no
    // binding, the DDP environment only; verbose: closest, and print the plan to stderr.
    GpuAffinity policy = GpuAffinity::closest;
    int gpus_per_task = 1;
    bool gpu_isolation = false;
    std::optional<std::filesystem::path> topology_file;
    // Already loaded (a packed task loads it once for all its trials): wins over
    // topology_file and the live machine.
    std::shared_ptr<const Topology> topology;
    std::optional<std::string> gpus;    // physical GPU indices of the step ("0,2-3")
    std::optional<std::string> cpuset;  // allowed CPUs ("0-7,16")
    std::optional<int> ntasks;          // local ranks on this node
    DdpOverrides ddp;
    std::optional<ContainerSpec> container;  // run the command in this image
    bool explain = false;
    bool json = false;
    bool echo = true;
};

// Where the live topology is cached: $HPSWEEP_TOPOLOGY_CACHE, else $TMPDIR, else /tmp.
std::filesystem::path topology_cache_dir(const Environment& env);

class TrialRun;

// Extra work the embedding program plugs in: the hooks are passed through to the
// Supervisor (see supervisor.hpp for when each one runs). When the launch runs a trial of
// an experiment, `for_trial` (if set) builds the hooks instead, knowing the trial, this
// rank's DDP variables and the supervisor (to stop the child): hpsweep-launch uses it for
// the metrics file and adaptive search, which this library does not depend on.
struct LaunchHooks {
    SupervisorHooks supervisor;
    std::function<SupervisorHooks(TrialRun& trial, const DdpEnv& ddp, Supervisor& supervisor)>
        for_trial;
    // The trial's argv from the table -> what runs (hpsweep-launch points the script's path
    // into the code snapshot's copy).
    std::function<std::vector<std::string>(std::vector<std::string>)> rewrite_command;
};

// Runs (or, with explain, prints) the launch; returns the process exit code: the child's,
// or 0 when the launcher stopped the child on purpose (a trial stopped early is a success
// for Slurm: its array task must not look FAILED).
int launch(const LaunchOptions& options, LaunchHooks hooks = {});

}  // namespace hpsweep::launcher
