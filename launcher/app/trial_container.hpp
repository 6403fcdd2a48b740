#pragma once
// Which container image (if any) hpsweep-launch runs the command in: hpsweep-launch's own
// --container options (plain srun steps, the plugin's --hpsweep-container) win over the
// experiment's environment.image / container: section. The site config gives the runtime when
// neither names one, and where images are unpacked.

#include <optional>
#include <string>
#include <vector>

#include "hpsweep/launcher/container_launch.hpp"
#include "hpsweep/searcher/config.hpp"

namespace hpsweep::launcher {

struct ContainerArguments {
    std::optional<std::string> image;    // --container IMAGE
    std::optional<std::string> runtime;  // --container-runtime R
    std::vector<std::string> mounts;     // --container-mount SRC[:DST][:ro]
    // --no-container: this process already runs in the experiment's image (pyxis started the
    // step in it, docs/containers.md): run the command as it is.
    bool none = false;
};

std::optional<ContainerSpec> trial_container(const ContainerArguments& arguments,
                                             const searcher::ExperimentConfig* config);

}  // namespace hpsweep::launcher
