// Charliecloud: `ch-run` is fully unprivileged (a user namespace) and execs the command, so
// the binding, fd 3 and the host environment all pass through. It cannot create bind
// destinations in a read-only image: the node-local image cache (container_image_cache.hpp)
// makes them in its copy before the first run. /dev (the GPUs' device nodes) is always bound.
#include "hpsweep/launcher/container.hpp"

#include <iterator>

namespace hpsweep::launcher {

std::vector<std::string> charliecloud_command(const ContainerLaunch& launch,
                                              const std::vector<std::string>& command) {
    std::vector<std::string> argv = {"ch-run"};
    for (const auto& mount : normalize_mounts(launch.mounts)) {
        // ch-run always shares the host's /tmp at /tmp, and refuses a bind inside it.
        const auto first = mount.target.begin() == mount.target.end()
                               ? std::filesystem::path()
                               : *std::next(mount.target.begin());
        if (first == "tmp" && mount.source == mount.target)
            continue;
        // ch-run binds read-write only; a read-only request is kept read-only by the
        // permissions of the host directory (documented in docs/containers.md).
        argv.push_back("--bind=" + mount.source.string() + ":" + mount.target.string());
    }
    if (!launch.workdir.empty())
        argv.push_back("--cd=" + launch.workdir.string());
    argv.insert(argv.end(), launch.extra_args.begin(), launch.extra_args.end());
    argv.push_back(launch.image);
    argv.emplace_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

}  // namespace hpsweep::launcher
