#include "hpsweep/launcher/container.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::launcher {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// True when `inner` is `outer` or lies below it (both lexically normal absolute paths).
bool is_within(const std::filesystem::path& inner, const std::filesystem::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty())
            continue;  // the trailing "" of "/a/b/"
        if (i == inner.end() || *i != *o)
            return false;
    }
    return true;
}

}  // namespace

ContainerRuntime parse_container_runtime(std::string_view text, std::string_view origin) {
    for (const ContainerRuntime runtime : all_container_runtimes()) {
        if (text == to_string(runtime))
            return runtime;
    }
    throw Error(ErrorKind::config, std::string(origin) + ": unknown container runtime '" +
                                       std::string(text) +
                                       "' (expected apptainer, enroot, charliecloud or podman)");
}

const char* to_string(ContainerRuntime runtime) noexcept {
    switch (runtime) {
        case ContainerRuntime::apptainer:
            return "apptainer";
        case ContainerRuntime::enroot:
            return "enroot";
        case ContainerRuntime::charliecloud:
            return "charliecloud";
        case ContainerRuntime::podman:
            return "podman";
    }
    return "charliecloud";
}

const char* runtime_executable(ContainerRuntime runtime) noexcept {
    switch (runtime) {
        case ContainerRuntime::apptainer:
            return "apptainer";
        case ContainerRuntime::enroot:
            return "enroot";
        case ContainerRuntime::charliecloud:
            return "ch-run";
        case ContainerRuntime::podman:
            return "podman";
    }
    return "ch-run";
}

const std::vector<ContainerRuntime>& all_container_runtimes() {
    static const std::vector<ContainerRuntime> runtimes = {
        ContainerRuntime::apptainer, ContainerRuntime::enroot, ContainerRuntime::charliecloud,
        ContainerRuntime::podman};
    return runtimes;
}

std::optional<ContainerRuntime> runtime_for_image_form(std::string_view image) {
    if (ends_with(image, ".sif") || starts_with(image, "docker://") ||
        starts_with(image, "oras://") || starts_with(image, "library://")) {
        return ContainerRuntime::apptainer;
    }
    if (starts_with(image, "podman://"))
        return ContainerRuntime::podman;
    if (ends_with(image, ".sqsh") || ends_with(image, ".squashfs"))
        return ContainerRuntime::enroot;
    if (ends_with(image, ".tar") || ends_with(image, ".tar.gz") || ends_with(image, ".tgz"))
        return ContainerRuntime::charliecloud;
    struct stat st {};
    if (!image.empty() && image.front() == '/' && ::stat(std::string(image).c_str(), &st) == 0 &&
        S_ISDIR(st.st_mode)) {
        return ContainerRuntime::charliecloud;
    }
    return std::nullopt;
}

ContainerRuntime choose_container_runtime(std::string_view image,
                                          std::optional<ContainerRuntime> requested,
                                          std::string_view site_runtime) {
    if (requested)
        return *requested;
    if (site_runtime != "auto" && !site_runtime.empty())
        return parse_container_runtime(site_runtime, "site config container_runtime");
    if (auto runtime = runtime_for_image_form(image))
        return *runtime;
    throw Error(ErrorKind::config,
                "cannot tell which container runtime runs image '" + std::string(image) +
                    "': it is not a .sif, docker://, podman://, squashfs (.sqsh), tarball or an "
                    "existing directory; set container.runtime in the experiment or "
                    "container_runtime in the site config");
}

ContainerMount parse_container_mount(std::string_view text, std::string_view origin) {
    const auto fields = split(std::string(text), ':');
    auto bad = [&](const std::string& why) {
        throw Error(ErrorKind::config,
                    std::string(origin) + ": container mount '" + std::string(text) + "': " + why);
    };
    if (fields.empty() || fields.size() > 3)
        bad("expected SRC[:DST][:ro]");
    ContainerMount mount;
    mount.source = fields[0];
    mount.target = fields[0];
    size_t next = 1;
    if (fields.size() >= 2 && fields[1] != "ro" && fields[1] != "rw") {
        mount.target = fields[1];
        next = 2;
    }
    if (next < fields.size()) {
        if (fields[next] == "ro")
            mount.read_only = true;
        else if (fields[next] != "rw")
            bad("unknown flag '" + fields[next] + "' (expected ro or rw)");
        if (next + 1 != fields.size())
            bad("expected SRC[:DST][:ro]");
    }
    if (!mount.source.is_absolute() || !mount.target.is_absolute())
        bad("paths must be absolute");
    for (const char c : text) {
        // enroot takes mounts as fstab lines: a blank would split a path.
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            bad("paths with whitespace or control characters are not supported");
    }
    mount.source = mount.source.lexically_normal();
    mount.target = mount.target.lexically_normal();
    return mount;
}

std::vector<ContainerMount> normalize_mounts(std::vector<ContainerMount> mounts) {
    std::vector<ContainerMount> kept;
    for (auto& mount : mounts) {
        mount.source = mount.source.lexically_normal();
        mount.target = mount.target.lexically_normal();
        bool covered = false;
        for (const auto& other : mounts) {
            if (&other == &mount)
                continue;
            const auto other_target = other.target.lexically_normal();
            if (is_within(mount.target, other_target) && mount.target != other_target) {
                // Visible already when the outer mount maps it to the same host path.
                const auto relative = mount.target.lexically_relative(other_target);
                if ((other.source.lexically_normal() / relative).lexically_normal() ==
                    mount.source) {
                    covered = true;
                    break;
                }
            }
        }
        const bool duplicate = std::any_of(kept.begin(), kept.end(),
                                           [&](const auto& k) { return k.target == mount.target; });
        if (!covered && !duplicate)
            kept.push_back(mount);
    }
    return kept;
}

std::vector<std::string> container_command(const ContainerLaunch& launch,
                                           const std::vector<std::string>& command) {
    if (command.empty())
        throw Error(ErrorKind::internal, "container_command: empty command");
    switch (launch.runtime) {
        case ContainerRuntime::apptainer:
            return apptainer_command(launch, command);
        case ContainerRuntime::enroot:
            return enroot_command(launch, command);
        case ContainerRuntime::charliecloud:
            return charliecloud_command(launch, command);
        case ContainerRuntime::podman:
            return podman_command(launch, command);
    }
    throw Error(ErrorKind::internal, "container_command: unknown runtime");
}

std::optional<std::filesystem::path> find_runtime(ContainerRuntime runtime,
                                                  std::string_view path_env) {
    for (const auto& dir : split(std::string(path_env), ':')) {
        if (dir.empty())
            continue;
        const auto candidate = std::filesystem::path(dir) / runtime_executable(runtime);
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return std::nullopt;
}

std::optional<std::string> runtime_version(ContainerRuntime runtime,
                                           const std::filesystem::path& executable) {
    try {
        const auto result = run_process(
            {executable.string(), runtime == ContainerRuntime::enroot ? "version" : "--version"});
        const std::string& text = result.out.empty() ? result.err : result.out;
        if (!result.ok() || text.empty())
            return std::nullopt;
        return text.substr(0, text.find('\n'));
    } catch (const Error&) {
        return std::nullopt;
    }
}

}  // namespace hpsweep::launcher
