// Apptainer (Singularity): `apptainer exec` replaces itself with the command in a mount
// namespace, so the process keeps the launcher's CPU/memory binding, fd 3 (the metrics pipe)
// and the whole environment (Apptainer passes the host's by default; CUDA_VISIBLE_DEVICES
// included). --nv binds the host's NVIDIA driver libraries when the rank has GPUs.
#include "hpsweep/launcher/container.hpp"

namespace hpsweep::launcher {

std::vector<std::string> apptainer_command(const ContainerLaunch& launch,
                                           const std::vector<std::string>& command) {
    std::vector<std::string> argv = {"apptainer", "exec"};
    if (!launch.gpus.empty())
        argv.emplace_back("--nv");
    for (const auto& mount : normalize_mounts(launch.mounts)) {
        argv.emplace_back("--bind");
        argv.push_back(mount.source.string() + ":" + mount.target.string() +
                       (mount.read_only ? ":ro" : ""));
    }
    if (!launch.workdir.empty()) {
        argv.emplace_back("--pwd");
        argv.push_back(launch.workdir.string());
    }
    argv.insert(argv.end(), launch.extra_args.begin(), launch.extra_args.end());
    argv.push_back(launch.image);
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

}  // namespace hpsweep::launcher
