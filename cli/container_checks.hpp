#pragma once
// What `hpsweep submit|run` can tell about a trial's container image before anything is
// queued: a runtime nobody can pick, an image file that is not there, a runtime that is not
// installed. What only a compute node knows is reported by hpsweep-launch into the trial's
// result.json and stderr.log instead.

#include <string>

#include <nlohmann/json.hpp>

#include "hpsweep/searcher/config.hpp"

namespace hpsweep::cli {

// Throws Error(config) naming the setting's location; prints a warning (and goes on) when
// the runtime is missing here but the site config names it, i.e. the admin says the compute
// nodes have it.
void check_container_at_submit(const searcher::ExperimentConfig& config);

// For `hpsweep doctor`: each runtime hpsweep has an adapter for, whether it is installed here
// (path, `--version`'s first line), and the site's container settings.
nlohmann::ordered_json container_runtimes_json();
// The same as text lines for doctor's plain output.
std::string container_runtimes_text(const nlohmann::ordered_json& runtimes);

}  // namespace hpsweep::cli
