// enroot: `enroot start NAME` runs the container that prepare_container created once per node
// (`enroot create`, under ENROOT_DATA_PATH in the image cache: container_image_cache.hpp)
// and execs the command, keeping the launcher's binding and fd 3. Only the variables named
// with --env reach the container, and the GPUs go through NVIDIA_VISIBLE_DEVICES (read by
// enroot's nvidia hook). Mounts are fstab lines whose fields enroot wants colon-separated
// (it refuses blanks in --mount). enroot has no working-directory option: coreutils'
// `env --chdir` inside the image changes to it.
#include "hpsweep/launcher/container.hpp"

#include "hpsweep/strings.hpp"

namespace hpsweep::launcher {

std::vector<std::string> enroot_command(const ContainerLaunch& launch,
                                        const std::vector<std::string>& command) {
    std::vector<std::string> argv = {"enroot", "start"};
    for (const auto& mount : normalize_mounts(launch.mounts)) {
        // An fstab line: enroot creates the target directory (x-create) in its rootfs.
        argv.emplace_back("--mount");
        argv.push_back(
            mount.source.string() + ":" + mount.target.string() +
            (mount.read_only ? ":none:x-create=dir,bind,ro" : ":none:x-create=dir,bind"));
    }
    for (const auto& name : launch.env_names) {
        argv.emplace_back("--env");
        argv.push_back(name);
    }
    if (!launch.gpus.empty()) {
        std::vector<std::string> gpus;
        for (const int gpu : launch.gpus) gpus.push_back(std::to_string(gpu));
        argv.emplace_back("--env");
        argv.push_back("NVIDIA_VISIBLE_DEVICES=" + join(gpus, ","));
    }
    argv.insert(argv.end(), launch.extra_args.begin(), launch.extra_args.end());
    argv.push_back(launch.image);
    if (!launch.workdir.empty()) {
        argv.emplace_back("env");
        argv.push_back("--chdir=" + launch.workdir.string());
    }
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

}  // namespace hpsweep::launcher
