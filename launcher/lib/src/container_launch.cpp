#include "hpsweep/launcher/container_launch.hpp"

#include <algorithm>

#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/placement.hpp"
#include "hpsweep/launcher/supervisor.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::launcher {
namespace {

bool is_directory(const std::string& path) {
    struct stat st {};
    return !path.empty() && path.front() == '/' && ::stat(path.c_str(), &st) == 0 &&
           S_ISDIR(st.st_mode);
}

bool passed_by_name(const std::string& name) {
    static const char* const prefixes[] = {"HPSWEEP_", "SLURM_", "NCCL_", "GLOO_",
                                           "UCX_",     "OMPI_",  "PMIX_", "NVIDIA_"};
    for (const char* prefix : prefixes) {
        if (starts_with(name, prefix))
            return true;
    }
    static const char* const names[] = {"RANK",
                                        "WORLD_SIZE",
                                        "LOCAL_RANK",
                                        "LOCAL_WORLD_SIZE",
                                        "NODE_RANK",
                                        "GROUP_RANK",
                                        "MASTER_ADDR",
                                        "MASTER_PORT",
                                        "CUDA_VISIBLE_DEVICES",
                                        "CUDA_DEVICE_ORDER",
                                        "OMP_NUM_THREADS",
                                        "TORCHELASTIC_RUN_ID",
                                        "PYTHONUNBUFFERED"};
    for (const char* n : names) {
        if (name == n)
            return true;
    }
    return false;
}

// The soft limit `resource` this process runs under, under podman's name for it.
ProcessLimit own_limit(int resource, const char* name) {
    rlimit value{};
    if (::getrlimit(resource, &value) != 0)
        throw_errno(std::string("getrlimit ") + name);
    return ProcessLimit{
        name, value.rlim_cur == RLIM_INFINITY ? -1LL : static_cast<long long>(value.rlim_cur)};
}

// A local image path the runtime opens itself (not a registry reference).
bool is_local_path(const std::string& image) {
    return !image.empty() && image.front() == '/';
}

}  // namespace

std::vector<std::string> container_env_names(const Environment& env) {
    std::vector<std::string> names;
    for (const auto& [name, value] : env) {
        if (passed_by_name(name))
            names.push_back(name);
    }
    return names;
}

std::vector<ContainerMount> automatic_mounts(const Environment& env,
                                             const std::filesystem::path& workdir) {
    std::vector<ContainerMount> mounts;
    auto add = [&](const std::filesystem::path& dir) {
        mounts.push_back(ContainerMount{dir, dir, false});
    };
    if (!workdir.empty())
        add(workdir);
    for (const auto& [name, value] : env) {
        const bool trial_dir = name == "HPSWEEP_EXPERIMENT_DIR" || name == "HPSWEEP_TRIAL_DIR" ||
                               name == "HPSWEEP_CHECKPOINT_DIR" || name == "HPSWEEP_SNAPSHOT_DIR" ||
                               starts_with(name, "HPSWEEP_DATASTORE_");
        if (trial_dir && is_directory(value))
            add(std::filesystem::path(value).lexically_normal());
    }
    return mounts;
}

PreparedContainer prepare_container(const ContainerSpec& spec,
                                    const std::vector<std::string>& command, const Environment& env,
                                    const RankPlacement& rank) {
    if (spec.image.empty())
        throw Error(ErrorKind::config, "the container image is empty");
    PreparedContainer prepared;
    prepared.runtime = choose_container_runtime(spec.image, spec.runtime, spec.site_runtime);
    const auto path = get_env(env, "PATH").value_or("/usr/local/bin:/usr/bin:/bin");
    const auto executable = find_runtime(prepared.runtime, path);
    if (!executable) {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        throw Error(ErrorKind::config,
                    std::string("container runtime ") + to_string(prepared.runtime) + ": '" +
                        runtime_executable(prepared.runtime) + "' is not installed on node " +
                        host + " (not found in PATH=" + path + ")");
    }

    std::error_code ec;
    const auto workdir = std::filesystem::current_path(ec);
    ContainerLaunch launch;
    launch.runtime = prepared.runtime;
    launch.image = spec.image;
    launch.mounts = automatic_mounts(env, ec ? std::filesystem::path() : workdir);
    launch.mounts.insert(launch.mounts.end(), spec.mounts.begin(), spec.mounts.end());
    launch.mounts = normalize_mounts(std::move(launch.mounts));
    launch.workdir = ec ? std::filesystem::path() : workdir;
    launch.env_names = container_env_names(env);
    // The supervisor adds the metrics pipe's variable when it starts the runtime, after this;
    // the runtimes that take variables by name (podman, enroot) must name it all the same.
    if (std::find(launch.env_names.begin(), launch.env_names.end(), metrics_fd_variable) ==
        launch.env_names.end())
        launch.env_names.emplace_back(metrics_fd_variable);
    launch.gpus = rank.gpus;
    launch.cpus = rank.cpuset.to_list();
    launch.mems = rank.nodeset.empty() ? std::string() : rank.nodeset.to_list();
    launch.extra_args = spec.args;
    launch.rootless = ::geteuid() != 0;
    if (prepared.runtime == ContainerRuntime::podman)
        launch.limits = {own_limit(RLIMIT_NOFILE, "nofile"), own_limit(RLIMIT_NPROC, "nproc")};

    if (prepared.runtime == ContainerRuntime::charliecloud) {
        std::vector<std::filesystem::path> targets;
        for (const auto& mount : launch.mounts) targets.push_back(mount.target);
        prepared.image.emplace(acquire_unpacked_image(spec.image, targets, spec.cache));
        launch.image = prepared.image->dir().string();
        if (!get_env(env, "USER")) {
            if (const passwd* user = ::getpwuid(::getuid()))
                prepared.environment["USER"] = user->pw_name;
        }
    } else if (prepared.runtime == ContainerRuntime::enroot) {
        // `enroot start IMAGE.sqsh` would convert the squashfs on every start: the container
        // is created once per node instead (the cache's enroot entry) and started by name.
        if (!is_local_path(spec.image)) {
            throw Error(ErrorKind::config,
                        "container image " + spec.image +
                            ": enroot runs a squashfs file given by its absolute path; import a "
                            "registry image first (enroot import -o IMAGE.sqsh docker://...)");
        }
        prepared.image.emplace(acquire_enroot_container(spec.image, *executable, spec.cache));
        launch.image = enroot_container_name(*prepared.image);
        prepared.environment["ENROOT_DATA_PATH"] = prepared.image->dir().string();
    } else if (is_local_path(spec.image) && ::access(spec.image.c_str(), R_OK) != 0) {
        throw Error(ErrorKind::config, "container image " + spec.image +
                                           " does not exist or is not readable on this node");
    }
    prepared.argv = container_command(launch, command);
    return prepared;
}

}  // namespace hpsweep::launcher
