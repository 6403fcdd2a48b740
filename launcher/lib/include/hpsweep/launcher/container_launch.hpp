#pragma once
// What launch() does when a trial names a container image: choose the runtime, check it is
// installed here, get the node-local unpacked copy where the runtime needs one, and build the
// argv hpsweep-launch execs, with the directories the trial uses mounted at their own paths.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/launcher/container.hpp"
#include "hpsweep/launcher/container_image_cache.hpp"
#include "hpsweep/launcher/ddp_env.hpp"

namespace hpsweep::launcher {

struct RankPlacement;

// The experiment's (or the command line's) request, before it meets a node.
struct ContainerSpec {
    std::string image;
    std::optional<ContainerRuntime> runtime;  // the experiment's container.runtime
    std::vector<ContainerMount> mounts;       // container.mounts, on top of the automatic ones
    std::vector<std::string> args;            // container.args, passed to the runtime verbatim
    std::string site_runtime = "auto";        // the site config's container_runtime
    ImageCacheOptions cache;                  // the site config's container_cache_*
};

struct PreparedContainer {
    std::vector<std::string> argv;
    ContainerRuntime runtime = ContainerRuntime::charliecloud;
    std::optional<CachedImage> image;  // held until the child ends (keeps the entry)
    // Set in the child's environment on top of the launcher's (ch-run refuses to start
    // without USER, which a batch environment may lack).
    std::map<std::string, std::string> environment;
};

// The variables passed by name to runtimes that do not pass the whole environment: the
// launcher's own (HPSWEEP_*, DDP, CUDA/NCCL/GLOO/OMP hints) and Slurm's.
std::vector<std::string> container_env_names(const Environment& env);

// The directories mounted automatically: the working directory, and the existing directories
// named by HPSWEEP_EXPERIMENT_DIR, HPSWEEP_TRIAL_DIR, HPSWEEP_CHECKPOINT_DIR,
// HPSWEEP_DATASTORE_<NAME> (staged datastores) and HPSWEEP_SNAPSHOT_DIR (the code snapshot,
// when the experiment has one).
std::vector<ContainerMount> automatic_mounts(const Environment& env,
                                             const std::filesystem::path& workdir);

// Throws Error(config) for an unknown runtime, a runtime not installed on this node, or a
// missing image; Error(io) when the image cannot be unpacked.
PreparedContainer prepare_container(const ContainerSpec& spec,
                                    const std::vector<std::string>& command, const Environment& env,
                                    const RankPlacement& rank);

}  // namespace hpsweep::launcher
