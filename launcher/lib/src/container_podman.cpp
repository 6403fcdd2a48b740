// Podman: `podman run` starts the container under conmon, outside the launcher's process
// tree, so what a child would inherit is passed explicitly: the rank's CPUs and NUMA nodes
// (--cpuset-cpus/--cpuset-mems), its GPU device nodes, the named variables (--env NAME takes
// the value from our environment), and fd 3, the metrics pipe (--preserve-fds=1 keeps fds
// 3..3 open). The network and IPC are the host's (DDP rendezvous, gloo shared memory), the
// user is the job's (--userns=keep-id), and podman forwards our signals (--sig-proxy) and
// exits with the command's exit code.
#include "hpsweep/launcher/container.hpp"

namespace hpsweep::launcher {

std::vector<std::string> podman_command(const ContainerLaunch& launch,
                                        const std::vector<std::string>& command) {
    std::vector<std::string> argv = {"podman",          "run",        "--rm",
                                     "--network=host",  "--ipc=host", "--userns=keep-id",
                                     "--sig-proxy=true"};
    if (launch.metrics_fd >= 3)
        argv.push_back("--preserve-fds=" + std::to_string(launch.metrics_fd - 2));
    if (!launch.cpus.empty())
        argv.push_back("--cpuset-cpus=" + launch.cpus);
    if (!launch.mems.empty())
        argv.push_back("--cpuset-mems=" + launch.mems);
    if (!launch.gpus.empty()) {
        for (const int gpu : launch.gpus)
            argv.push_back("--device=/dev/nvidia" + std::to_string(gpu));
        argv.emplace_back("--device=/dev/nvidiactl");
        argv.emplace_back("--device=/dev/nvidia-uvm");
    }
    for (const auto& mount : normalize_mounts(launch.mounts)) {
        argv.push_back("--volume=" + mount.source.string() + ":" + mount.target.string() +
                       (mount.read_only ? ":ro" : ""));
    }
    for (const auto& name : launch.env_names) argv.push_back("--env=" + name);
    if (!launch.workdir.empty())
        argv.push_back("--workdir=" + launch.workdir.string());
    argv.insert(argv.end(), launch.extra_args.begin(), launch.extra_args.end());
    constexpr std::string_view scheme = "podman://";
    argv.push_back(launch.image.rfind(scheme, 0) == 0 ? launch.image.substr(scheme.size())
                                                      : launch.image);
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

}  // namespace hpsweep::launcher
