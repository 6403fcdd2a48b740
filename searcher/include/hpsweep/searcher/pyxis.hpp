#pragma once
// Trials in a container image at sites with NVIDIA's pyxis (a SPANK plugin that runs a
// step's tasks in an enroot container): instead of hpsweep-launch wrapping the trial in a
// runtime (launcher/container.hpp), the batch script gives the image to srun
// (--container-image, --container-mounts, --container-workdir) and hpsweep-launch, which the
// image must contain, runs inside it with --no-container. Chosen by the experiment's
// `container.runtime: pyxis`, or by the site's `container_pyxis = yes` when the experiment
// names no runtime (docs/containers.md, "Which path is used when"). Text only: nothing here
// talks to Slurm.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hpsweep/searcher/config.hpp"
#include "hpsweep/site_config.hpp"

namespace hpsweep::searcher {

// What srun gets for a trial's step.
struct PyxisStep {
    std::string image;  // as pyxis takes it: /abs/file.sqsh or [USER@][REGISTRY#]IMAGE[:TAG]
    std::vector<std::string> mounts;  // "SRC:DST[:ro]", joined with ',' for --container-mounts
    std::filesystem::path workdir;    // --container-workdir: where the user submitted from
};

// True when the experiment's trials run through pyxis.
bool uses_pyxis(const ExperimentConfig& config, const SiteConfig& site);

// The step's options when uses_pyxis(), else nullopt. Mounted at their own paths: `workdir`
// (the submit directory), the experiment directory, the site's datastore root and node-local
// cache (staged datastores and the code snapshot, which hpsweep-launch stages from inside the
// container), the site config file hpsweep-launch reads, then container.mounts. Throws
// Error(config) at the container setting's FILE:LINE:COL for what pyxis cannot take: an
// image form other than a squashfs file or a registry reference (.sif, tarballs, directories,
// podman://, oras://, library://), a relative squashfs path, or a path with ',' (which would
// split --container-mounts).
std::optional<PyxisStep> pyxis_step(const ExperimentConfig& config, const SiteConfig& site,
                                    const std::filesystem::path& experiment_dir,
                                    const std::filesystem::path& workdir);

// The srun options of the step, in order.
std::vector<std::string> pyxis_srun_options(const PyxisStep& step);

}  // namespace hpsweep::searcher
