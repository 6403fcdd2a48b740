#include "trial_container.hpp"

#include <cstdlib>

#include "hpsweep/container_image.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/site_config.hpp"

namespace hpsweep::launcher {

std::optional<ContainerSpec> trial_container(const ContainerArguments& arguments,
                                             const searcher::ExperimentConfig* config) {
    if (arguments.none) {
        // pyxis started this step in the image; the plugin's variable (if any) is dropped too,
        // so the command does not inherit it.
        ::unsetenv(kContainerImageVariable);
        return std::nullopt;
    }
    ContainerSpec spec;
    if (config && !config->container.empty() && config->container.runtime == "pyxis") {
        throw Error(ErrorKind::usage,
                    config->location_of("container") +
                        ": the experiment runs in its image through pyxis (container.runtime: "
                        "pyxis): srun starts the step in the image with --container-image, and "
                        "hpsweep-launch runs inside it with --no-container");
    }
    if (config && !config->container.empty()) {
        const auto& container = config->container;
        spec.image = container.image_for(config->resources.slots_per_trial);
        const std::string origin = config->location_of("container");
        if (!container.runtime.empty())
            spec.runtime = parse_container_runtime(container.runtime, origin);
        for (const auto& mount : container.mounts)
            spec.mounts.push_back(parse_container_mount(mount, origin));
        spec.args = container.args;
    }
    // The plugin's --hpsweep-container. Taken out of the environment so that the command
    // in the container (which gets the HPSWEEP_* variables) does not start a container again.
    if (const char* from_plugin = std::getenv(kContainerImageVariable)) {
        const std::string image = from_plugin;
        ::unsetenv(kContainerImageVariable);
        if (!arguments.image && !image.empty()) {
            check_container_image_name(image, kContainerImageVariable);
            spec.image = image;
        }
    }
    if (arguments.image)
        spec.image = *arguments.image;
    if (arguments.runtime)
        spec.runtime = parse_container_runtime(*arguments.runtime, "--container-runtime");
    for (const auto& mount : arguments.mounts)
        spec.mounts.push_back(parse_container_mount(mount, "--container-mount"));
    if (spec.image.empty()) {
        if (spec.runtime || !spec.mounts.empty()) {
            throw Error(ErrorKind::usage,
                        "--container-runtime/--container-mount need an image (--container)");
        }
        return std::nullopt;
    }
    const SiteConfig site = load_site_config();
    spec.site_runtime = site.container_runtime;
    spec.cache.root = site.container_cache_dir;
    spec.cache.max_bytes = site.container_cache_max_bytes;
    return spec;
}

}  // namespace hpsweep::launcher
