#pragma once
// Trials in container images: which runtime runs an image, and the exact command
// hpsweep-launch execs (after placement, in place of the trial's argv) so that the process
// inside the container gets what a bare trial gets: its CPU/memory binding (inherited
// affinity, or the runtime's cpuset flags), its GPUs, the DDP and HPSWEEP_* variables, the
// metrics pipe (fd 3), and the directories it reads and writes, mounted at the same paths.
// One adapter per runtime (container_<runtime>.cpp); this header is their common shape.
// No Slurm dependency: pyxis sites pass the image to srun instead (docs/containers.md).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep::launcher {

enum class ContainerRuntime { apptainer, enroot, charliecloud, podman };

// "apptainer" | "enroot" | "charliecloud" | "podman"; throws Error(config) naming the
// accepted values (`origin` says where the word was written).
ContainerRuntime parse_container_runtime(std::string_view text, std::string_view origin);
const char* to_string(ContainerRuntime runtime) noexcept;
// The executable each runtime is run through ("apptainer", "enroot", "ch-run", "podman").
const char* runtime_executable(ContainerRuntime runtime) noexcept;
const std::vector<ContainerRuntime>& all_container_runtimes();

// The runtime an image's form implies, if any: "*.sif" apptainer, "docker://..." (and
// "oras://", "library://") apptainer, "*.sqsh"/"*.squashfs" enroot, a directory or
// "*.tar"/"*.tar.gz"/"*.tgz" charliecloud, "podman://..." podman.
std::optional<ContainerRuntime> runtime_for_image_form(std::string_view image);

// The runtime that runs `image`: `requested` (the experiment's container.runtime) wins, then
// the site's `container_runtime` unless it is "auto", then the image's form. Throws
// Error(config) when none applies or the site word is unknown.
ContainerRuntime choose_container_runtime(std::string_view image,
                                          std::optional<ContainerRuntime> requested,
                                          std::string_view site_runtime);

struct ContainerMount {
    std::filesystem::path source;  // host path
    std::filesystem::path target;  // path inside the container (the same as source by default)
    bool read_only = false;
};

// "SRC[:DST][:ro]" as the experiment's container.mounts and --container-mount write it;
// throws Error(config) for relative paths or an unknown flag.
ContainerMount parse_container_mount(std::string_view text, std::string_view origin);

// Everything an adapter needs to build the command.
// A resource limit the job runs under ("nofile", "nproc": its soft value), as podman's
// --ulimit names it; -1 is unlimited.
struct ProcessLimit {
    std::string name;
    long long value = -1;
};

struct ContainerLaunch {
    ContainerRuntime runtime = ContainerRuntime::charliecloud;
    std::string image;  // as the runtime takes it (a path, a docker:// URL, a cached dir, a name)
    std::vector<ContainerMount> mounts;   // deduplicated, nested ones dropped
    std::filesystem::path workdir;        // the trial's working directory
    std::vector<std::string> env_names;   // variables to pass in (podman and enroot name them)
    std::vector<int> gpus;                // physical GPU indices of this rank (device nodes)
    std::string cpus;                     // this rank's CPU list ("0-3"), for podman's cpuset
    std::string mems;                     // this rank's NUMA list, for podman
    int metrics_fd = 3;                   // kept open across the runtime (podman: --preserve-fds)
    bool rootless = true;                 // podman: map the job's user in (--userns=keep-id)
    std::vector<ProcessLimit> limits;     // the job's limits, for podman (--ulimit)
    std::vector<std::string> extra_args;  // container.args, verbatim, before the image
};

// The argv that runs `command` in the container described by `launch`.
std::vector<std::string> container_command(const ContainerLaunch& launch,
                                           const std::vector<std::string>& command);

// One per runtime (container_<runtime>.cpp); container_command dispatches to them.
std::vector<std::string> apptainer_command(const ContainerLaunch& launch,
                                           const std::vector<std::string>& command);
std::vector<std::string> enroot_command(const ContainerLaunch& launch,
                                        const std::vector<std::string>& command);
std::vector<std::string> charliecloud_command(const ContainerLaunch& launch,
                                              const std::vector<std::string>& command);
std::vector<std::string> podman_command(const ContainerLaunch& launch,
                                        const std::vector<std::string>& command);

// Drops duplicate mounts and mounts whose target lies inside another mount's target (a
// runtime either refuses those or they are already visible), keeping the order given.
std::vector<ContainerMount> normalize_mounts(std::vector<ContainerMount> mounts);

// The runtime's executable found in `path_env` (a PATH value), or nullopt.
std::optional<std::filesystem::path> find_runtime(ContainerRuntime runtime,
                                                  std::string_view path_env);

// The first line of the runtime's version ("ch-run 0.31"; `<exe> --version`, but
// `enroot version`, as enroot has no --version), or nullopt when it cannot be run.
std::optional<std::string> runtime_version(ContainerRuntime runtime,
                                           const std::filesystem::path& executable);

}  // namespace hpsweep::launcher
