#include "hpsweep/searcher/pyxis.hpp"

#include <algorithm>

#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Where the container settings were written (the same place check_container_at_submit names).
std::string container_origin(const ExperimentConfig& config) {
    return config.locations.count("container") ? config.locations.at("container")
                                               : config.location_of("environment");
}

// The image as pyxis takes it; throws for the forms it cannot run.
std::string pyxis_image(const std::string& image, const std::string& origin) {
    auto refuse = [&](const std::string& why) {
        throw Error(ErrorKind::config, origin + ": container image " + image +
                                           " cannot run with pyxis: " + why +
                                           " (pyxis takes a squashfs file by its absolute path "
                                           "or a registry image [USER@][REGISTRY#]IMAGE[:TAG]; "
                                           "docs/containers.md)");
    };
    for (const char* scheme : {"podman://", "oras://", "library://", "dockerd://", "shub://"}) {
        if (starts_with(image, scheme))
            refuse(std::string("pyxis imports registry images only, not ") + scheme);
    }
    // pyxis adds docker:// itself; given twice, enroot would refuse the URI.
    const std::string name = starts_with(image, "docker://") ? image.substr(9) : image;
    if (name.empty() || name.front() == '-')
        refuse("not an image name");
    for (const char c : name) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == ',')
            refuse("blanks, control characters and ',' are not allowed");
    }
    if (ends_with(name, ".sif"))
        refuse("a .sif image is Apptainer's");
    if (ends_with(name, ".tar") || ends_with(name, ".tar.gz") || ends_with(name, ".tgz"))
        refuse("a tarball is Charliecloud's");
    const bool squashfs = ends_with(name, ".sqsh") || ends_with(name, ".squashfs");
    if (name.front() == '/') {
        std::error_code ec;
        if (std::filesystem::is_directory(name, ec))
            refuse("a directory is Charliecloud's");
        if (!squashfs)
            refuse("a local image must be a squashfs file (.sqsh or .squashfs)");
    } else if (squashfs || starts_with(name, "./") || starts_with(name, "../")) {
        refuse("a squashfs file must be given by its absolute path");
    }
    return name;
}

void check_mount_path(const std::string& path, const std::string& origin) {
    if (path.find(',') != std::string::npos || path.find(':') != std::string::npos) {
        throw Error(ErrorKind::config,
                    origin + ": cannot mount " + path +
                        " with pyxis: --container-mounts separates mounts with ',' and fields "
                        "with ':'");
    }
}

// "SRC[:DST][:ro]" (container.mounts) as pyxis writes it: "SRC:DST[:ro]".
std::string pyxis_mount(const std::string& mount) {
    auto fields = split(mount, ':');
    const bool read_only = fields.size() > 1 && (fields.back() == "ro" || fields.back() == "rw");
    std::string flag = read_only ? fields.back() : "";
    if (read_only)
        fields.pop_back();
    const std::string target = fields.size() > 1 ? fields[1] : fields[0];
    return fields[0] + ":" + target + (flag == "ro" ? ":ro" : "");
}

}  // namespace

bool uses_pyxis(const ExperimentConfig& config, const SiteConfig& site) {
    if (config.container.empty())
        return false;
    if (!config.container.runtime.empty())
        return config.container.runtime == "pyxis";
    return site.container_pyxis;
}

std::optional<PyxisStep> pyxis_step(const ExperimentConfig& config, const SiteConfig& site,
                                    const std::filesystem::path& experiment_dir,
                                    const std::filesystem::path& workdir) {
    if (!uses_pyxis(config, site))
        return std::nullopt;
    const std::string origin = container_origin(config);
    PyxisStep step;
    step.image = pyxis_image(config.container.image_for(config.resources.slots_per_trial), origin);
    if (!config.container.args.empty()) {
        throw Error(ErrorKind::config,
                    origin +
                        ": container.args are passed to a runtime hpsweep-launch starts; "
                        "with pyxis, srun starts the container (put srun's --container-* "
                        "options in the site's pyxis configuration instead)");
    }
    step.workdir = workdir.lexically_normal();
    // Directories at their own paths, each once, none inside an earlier one.
    std::vector<std::filesystem::path> dirs;
    auto add_dir = [&](const std::filesystem::path& dir) {
        const auto normal = dir.lexically_normal();
        if (normal.empty() || !normal.is_absolute())
            return;
        for (const auto& kept : dirs) {
            const auto relative = normal.lexically_relative(kept);
            if (!relative.empty() && *relative.begin() != "..")
                return;  // the same or inside: already visible
        }
        check_mount_path(normal.string(), origin);
        dirs.push_back(normal);
    };
    add_dir(step.workdir);
    add_dir(experiment_dir);
    add_dir(site.datastore_root);
    add_dir(site.cache_dir);
    for (const auto& dir : dirs) step.mounts.push_back(dir.string() + ":" + dir.string());
    if (!site.loaded_from.empty()) {
        check_mount_path(site.loaded_from.string(), origin);
        step.mounts.push_back(site.loaded_from.string() + ":" + site.loaded_from.string() + ":ro");
    }
    for (const auto& mount : config.container.mounts) {
        if (mount.find(',') != std::string::npos)
            check_mount_path(mount, origin);
        step.mounts.push_back(pyxis_mount(mount));
    }
    return step;
}

std::vector<std::string> pyxis_srun_options(const PyxisStep& step) {
    return {"--container-image=" + step.image, "--container-mounts=" + join(step.mounts, ","),
            "--container-workdir=" + step.workdir.string()};
}

}  // namespace hpsweep::searcher
