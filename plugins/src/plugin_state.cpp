#include "plugin_state.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "hpsweep/container_image.hpp"
#include "hpsweep/error.hpp"
#include "option_sources.hpp"

namespace hpsweep::plugin {
namespace {

enum OptionId : int { kGpuAffinity = 1, kDatastore = 2, kTrial = 3, kContainer = 4 };

// spank_option wants mutable char*; these arrays live as long as the plugin.
char gpu_affinity_name[] = "gpu-affinity";
char gpu_affinity_arg[] = "closest|none|verbose";
char gpu_affinity_usage[] =
    "hpsweep: bind each task to the cores and memory nearest its GPU and set the DDP "
    "environment (MASTER_ADDR, RANK, ...); verbose also prints the plan";
char datastore_name_text[] = "datastore";
char datastore_arg[] = "NAME[:VERSION][,NAME...]";
char datastore_usage[] =
    "hpsweep: stage datastores to the node-local cache before the tasks start; paths are "
    "in HPSWEEP_DATASTORE_<NAME>, names in HPSWEEP_DATASTORES";
char trial_name[] = "hpsweep-trial";
char trial_arg[] = "EXPDIR";
char trial_usage[] =
    "hpsweep: run the array task's trial of experiment EXPDIR (HPSWEEP_TRIAL_ARGS, "
    "HPSWEEP_TRIAL_DIR, ... ; trial = HPSWEEP_TRIAL_OFFSET + SLURM_ARRAY_TASK_ID)";

char container_name[] = "hpsweep-container";
char container_arg[] = "IMAGE";
char container_usage[] =
    "hpsweep: hpsweep-launch in this job's steps runs its command in container IMAGE (a .sif, "
    "squashfs, tarball or directory image, or docker://...); see docs/containers.md";

const char* option_name(int option) noexcept {
    switch (option) {
        case kGpuAffinity:
            return gpu_affinity_name;
        case kDatastore:
            return datastore_name_text;
        case kTrial:
            return trial_name;
        case kContainer:
            return container_name;
        default:
            return nullptr;
    }
}

// This process's own argv (srun/sbatch/salloc, run by the user), without the program name.
std::vector<std::string> own_arguments() {
    std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(cmdline), {}};
    std::vector<std::string> words;
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t end = std::min(text.find('\0', start), text.size());
        words.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    if (!words.empty())
        words.erase(words.begin());
    return words;
}

// Refuses an option that one source (the #SBATCH lines, the command line) gave two
// different values.
void check_options_given_once() {
    const std::vector<std::string> arguments = own_arguments();
    for (const auto& [name, values] : state().delivered_values) {
        const char* inherited = std::getenv(inherited_option_variable("hpsweep", name).c_str());
        check_option_given_once(name, values,
                                inherited ? std::optional<std::string>(inherited) : std::nullopt,
                                command_line_values(arguments, name));
    }
}

std::filesystem::path current_directory() {
    std::error_code ec;
    auto cwd = std::filesystem::current_path(ec);
    return ec ? std::filesystem::path("/") : cwd;
}

// One callback for the options. In srun/sbatch/salloc (remote == 0) a bad value is
// refused: Slurm prints our message and the submission fails. In slurmstepd (remote == 1)
// returning an error would fail the step's setup (and, for a batch step, drain the
// node), so the error is kept and reported by the task instead.
int option_callback(int option, const char* optarg, int remote) noexcept {
    const std::string value = optarg ? optarg : "";
    try {
        if (const char* name = option_name(option); name && !remote)
            state().delivered_values[name].push_back(value);
        switch (option) {
            case kGpuAffinity:
                state().affinity = parse_affinity_option(value);
                break;
            case kDatastore:
                state().datastores = parse_datastore_option(value);
                break;
            case kTrial:
                // Checked where the user submits (their cwd, their permissions); slurmstepd
                // resolves it again as the user, relative to SLURM_SUBMIT_DIR.
                if (!remote)
                    (void)parse_trial_option(value, current_directory());
                state().trial = value;
                break;
            case kContainer:
                // Root in slurmstepd checks only the name: the image is opened by
                // hpsweep-launch, as the user (docs/security.md).
                if (remote) {
                    check_container_image_name(value, "--hpsweep-container");
                } else {
                    (void)check_container_option(
                        value, current_directory(),
                        state().site ? state().site->container_runtime : std::string("auto"));
                }
                state().container = value;
                break;
            default:
                return 0;
        }
        return 0;
    } catch (const std::exception& e) {
        if (remote) {
            state().option_errors.emplace_back(e.what());
            return 0;
        }
        log_error(e.what());
        return -1;
    } catch (...) {
        if (remote)
            return 0;
        log_error("unexpected error while checking an option");
        return -1;
    }
}

}  // namespace

PluginState& state() {
    static PluginState instance;
    return instance;
}

void parse_site_config(int argc, char** argv) {
    try {
        state().site = parse_plugin_args(argc, argv);
        state().site_error.clear();
    } catch (const std::exception& e) {
        state().site.reset();
        state().site_error = e.what();
        log_error(state().site_error);
    }
}

void register_options(spank_t sp) {
    static spank_option options[] = {
        {gpu_affinity_name, gpu_affinity_arg, gpu_affinity_usage, 1, kGpuAffinity,
         &option_callback},
        {datastore_name_text, datastore_arg, datastore_usage, 1, kDatastore, &option_callback},
        {trial_name, trial_arg, trial_usage, 1, kTrial, &option_callback},
        {container_name, container_arg, container_usage, 1, kContainer, &option_callback},
    };
    for (auto& option : options) {
        if (const spank_err_t rc = spank_option_register(sp, &option); rc != ESPANK_SUCCESS) {
            throw Error(ErrorKind::internal, std::string("cannot register --") + option.name +
                                                 ": " + spank_strerror(rc));
        }
    }
}

int check_submission() {
    if (state().requested_anything() && !state().site) {
        log_error("this cluster's hpsweep configuration is wrong (" + state().site_error +
                  "); ask your administrator. The job was not submitted.");
        return -1;
    }
    try {
        check_options_given_once();
    } catch (const Error& e) {
        log_error(e.what());
        return -1;
    }
    return 0;
}

}  // namespace hpsweep::plugin
