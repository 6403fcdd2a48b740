#include "session_container.hpp"

#include <cstdlib>

#include "container_checks.hpp"
#include "hpsweep/container_image.hpp"
#include "hpsweep/launcher/container_launch.hpp"
#include "hpsweep/launcher/placement.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/site_config.hpp"

namespace hpsweep::cli {

std::string session_container_image(const std::string& image) {
    check_container_image_name(image, "--container");
    searcher::ExperimentConfig config;
    config.container.image_cpu = config.container.image_cuda =
        container_image_for_node(image, std::filesystem::current_path());
    config.locations["container"] = "--container";
    check_container_at_submit(config);
    return config.container.image_cpu;
}

std::vector<std::string> session_container_argv(const std::string& image, bool interactive,
                                                const std::vector<std::string>& command,
                                                const std::filesystem::path& launcher) {
    if (!interactive) {
        std::vector<std::string> argv{launcher.string(), "--container", image, "--"};
        argv.insert(argv.end(), command.begin(), command.end());
        return argv;
    }
    const SiteConfig site = load_site_config();
    launcher::ContainerSpec spec;
    spec.image = image;
    spec.site_runtime = site.container_runtime;
    spec.cache.root = site.container_cache_dir;
    spec.cache.max_bytes = site.container_cache_max_bytes;
    // The shell is not placed: it gets the whole allocation, like `srun --pty bash`.
    auto prepared = launcher::prepare_container(spec, command, launcher::current_environment(),
                                                launcher::RankPlacement{});
    for (const auto& [name, value] : prepared.environment) ::setenv(name.c_str(), value.c_str(), 1);
    if (prepared.image)
        prepared.image->keep_across_exec();
    return prepared.argv;
}

}  // namespace hpsweep::cli
