#pragma once
// `hpsweep session --container IMAGE`: the session's command, or its interactive shell, runs
// in a container image on the compute nodes, with the same runtimes, mounts and node-local
// image cache as a trial (docs/containers.md).

#include <filesystem>
#include <string>
#include <vector>

namespace hpsweep::cli {

// Where the user starts the session: the image as the nodes get it (a relative path made
// absolute), after the checks `hpsweep run --container` makes (the name's grammar, the image
// exists, a runtime can be picked and is installed, or the site names it). Throws Error.
std::string session_container_image(const std::string& image);

// On the compute node: the argv that runs `command` in `image`. A command goes through
// hpsweep-launch (placement, DDP, signals, like a trial); the interactive shell is started by
// the runtime directly, so that it keeps the terminal (hpsweep-launch would put pipes in
// between), with the unpacked image's cache entry held until the shell ends.
std::vector<std::string> session_container_argv(const std::string& image, bool interactive,
                                                const std::vector<std::string>& command,
                                                const std::filesystem::path& launcher);

}  // namespace hpsweep::cli
