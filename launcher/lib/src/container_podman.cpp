// Podman: `podman run` starts the container under conmon, outside the launcher's process
// tree, so what a child would inherit is passed explicitly: the rank's CPUs and NUMA nodes
// (--cpuset-cpus/--cpuset-mems), its GPU device nodes, the named variables (--env NAME takes
// the value from our environment), and fd 3, the metrics pipe (--preserve-fds=1 keeps fds
// 3..3 open). The network and IPC are the host's (DDP rendezvous, gloo shared memory), the
// user is the job's (rootless: --userns=keep-id; root needs no mapping and podman refuses
// keep-id there), and podman forwards our signals (--sig-proxy) and exits with the
// command's exit code. The command does not run as the container's PID 1, which the kernel
// shields from every signal it has no handler for, so that ASHA's and Slurm's SIGTERM would
// not stop a plain training script: podman's init (--init, catatonit) is PID 1 and passes
// signals on. The command writes straight into the launcher's stdout and stderr pipes
// (--log-driver=passthrough): podman's default attach copies them through conmon, and has
// lost a whole trial's output that way. The container runs under the limits the job runs
// under (the soft open-file and process limits, as both soft and hard): left alone, rootful
// podman raises both to 1048576, which quietly lifts what Slurm propagated and fails where
// root lacks CAP_SYS_RESOURCE (unprivileged containers, many CI runners); a hard limit above
// the soft one cannot be handed on either, as podman lowers its own process limit before it
// starts the OCI runtime.
#include "hpsweep/launcher/container.hpp"

namespace hpsweep::launcher {

std::vector<std::string> podman_command(const ContainerLaunch& launch,
                                        const std::vector<std::string>& command) {
    std::vector<std::string> argv = {"podman", "run", "--rm", "--network=host", "--ipc=host"};
    if (launch.rootless)
        argv.emplace_back("--userns=keep-id");
    argv.emplace_back("--sig-proxy=true");
    argv.emplace_back("--init");
    argv.emplace_back("--log-driver=passthrough");
    for (const auto& limit : launch.limits) {
        const auto value = std::to_string(limit.value);
        argv.push_back("--ulimit=" + limit.name + "=" + value + ":" + value);
    }
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
