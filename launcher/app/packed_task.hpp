#pragma once
// hpsweep-launch --pack-first ID --pack-count N: one packed array task (docs/packing.md).
// Prepares the experiment once (config, datastores, code snapshot, git commit) and hands
// over to the pack supervisor, which runs each trial's launch in a child forked from this
// process.

#include "hpsweep/launcher/launch.hpp"
#include "trial_container.hpp"

namespace hpsweep::launcher {

int run_packed_task(const LaunchOptions& options, const ContainerArguments& container);

}  // namespace hpsweep::launcher
