#include "container_checks.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/container.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/searcher/pyxis.hpp"
#include "hpsweep/site_config.hpp"

namespace hpsweep::cli {

void check_container_at_submit(const searcher::ExperimentConfig& config) {
    if (config.container.empty())
        return;
    const std::string where = config.locations.count("container")
                                  ? config.locations.at("container")
                                  : config.location_of("environment");
    const std::string image = config.container.image_for(config.resources.slots_per_trial);
    const SiteConfig site = load_site_config();
    if (!image.empty() && image.front() == '/' && ::access(image.c_str(), R_OK) != 0) {
        throw Error(ErrorKind::config,
                    where + ": container image " + image + " does not exist or is not readable");
    }
    // pyxis is a Slurm plugin on the nodes: nothing to find here (its image forms are checked
    // where the batch script is planned, searcher::pyxis_step).
    if (searcher::uses_pyxis(config, site))
        return;
    std::optional<launcher::ContainerRuntime> requested;
    if (!config.container.runtime.empty())
        requested = launcher::parse_container_runtime(config.container.runtime, where);
    launcher::ContainerRuntime runtime;
    try {
        runtime = launcher::choose_container_runtime(image, requested, site.container_runtime);
    } catch (const Error& e) {
        throw Error(ErrorKind::config, where + ": " + e.what());
    }
    const char* path = std::getenv("PATH");
    if (!launcher::find_runtime(runtime, path ? path : "")) {
        const std::string message =
            std::string("container runtime ") + launcher::to_string(runtime) + ": '" +
            launcher::runtime_executable(runtime) + "' is not installed here (not in PATH)";
        if (site.container_runtime != launcher::to_string(runtime))
            throw Error(ErrorKind::config,
                        where + ": " + message +
                            "; install it, or set container_runtime in the site config when "
                            "only the compute nodes have it");
        std::fprintf(stderr, "hpsweep: warning: %s; the site config says the nodes have it\n",
                     message.c_str());
    }
}

nlohmann::ordered_json container_runtimes_json() {
    const SiteConfig site = load_site_config();
    nlohmann::ordered_json out{{"site_runtime", site.container_runtime},
                               {"pyxis", site.container_pyxis},
                               {"cache_dir", site.container_cache_dir.string()},
                               {"runtimes", nlohmann::ordered_json::array()}};
    const char* path = std::getenv("PATH");
    for (const auto runtime : launcher::all_container_runtimes()) {
        nlohmann::ordered_json entry{{"name", launcher::to_string(runtime)},
                                     {"executable", launcher::runtime_executable(runtime)},
                                     {"found", false},
                                     {"path", nullptr},
                                     {"version", nullptr}};
        if (const auto exe = launcher::find_runtime(runtime, path ? path : "")) {
            entry["found"] = true;
            entry["path"] = exe->string();
            if (const auto version = launcher::runtime_version(runtime, *exe))
                entry["version"] = *version;
        }
        out["runtimes"].push_back(entry);
    }
    // pyxis is no executable: it is loaded, srun lists its options.
    bool pyxis_loaded = false;
    try {
        const auto help = run_process({"srun", "--help"});
        pyxis_loaded = help.out.find("--container-image") != std::string::npos;
    } catch (const Error&) {
        // no srun here
    }
    out["pyxis_in_srun"] = pyxis_loaded;
    return out;
}

std::string container_runtimes_text(const nlohmann::ordered_json& runtimes) {
    std::string text = "container runtimes (site: container_runtime = " +
                       runtimes["site_runtime"].get<std::string>() +
                       ", container_pyxis = " + (runtimes["pyxis"].get<bool>() ? "yes" : "no") +
                       "):";
    for (const auto& r : runtimes["runtimes"]) {
        text += " " + r["name"].get<std::string>();
        if (!r["found"].get<bool>())
            text += " (not installed)";
        else if (r["version"].is_string())
            text += " (" + r["version"].get<std::string>() + ")";
        else
            text += " (" + r["path"].get<std::string>() + ", version unknown)";
        text += ",";
    }
    text.back() = '\n';
    text += runtimes["pyxis_in_srun"].get<bool>()
                ? "pyxis: loaded (srun --help lists --container-image)\n"
                : "pyxis: not loaded here (srun --help lists no --container-image)\n";
    return text;
}

}  // namespace hpsweep::cli
