#pragma once
// hpsweep-launch --pack-first ID --pack-count N: one packed array task (docs/packing.md).
// Reads trials_per_gpu from the experiment's config and hands over to the pack supervisor,
// which runs each trial under this same executable.

#include "hpsweep/launcher/launch.hpp"

namespace hpsweep::launcher {

int run_packed_task(const LaunchOptions& options);

}  // namespace hpsweep::launcher
