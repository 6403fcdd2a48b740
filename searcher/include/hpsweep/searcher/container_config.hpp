#pragma once
// The experiment's container settings: Determined's `environment: {image: ...}` (also its
// `image: {cpu: ..., cuda: ...}` form) and hpsweep's own `container:` section (the runtime,
// extra mounts, extra runtime arguments). The launcher turns them into the command it execs
// (launcher/container_launch.hpp); here they are only read, checked and written back.

#include <string>
#include <vector>

namespace YAML {
class Node;
class Emitter;
}  // namespace YAML

namespace hpsweep::searcher {

struct ContainerConfig {
    std::string image_cpu;   // `image: X` sets both; `image: {cpu: X, cuda: Y}` each
    std::string image_cuda;  // used when the trial has GPUs (resources.slots_per_trial > 0)
    std::string runtime;  // "" = the site's choice; else apptainer|enroot|charliecloud|podman|pyxis
    std::vector<std::string> mounts;  // "SRC[:DST][:ro]"
    std::vector<std::string> args;    // passed to the runtime before the image
    bool empty() const noexcept { return image_cpu.empty() && image_cuda.empty(); }
    // The image a trial with `gpus_per_trial` GPUs runs ("" when none applies).
    const std::string& image_for(int gpus_per_trial) const noexcept {
        return gpus_per_trial > 0 && !image_cuda.empty() ? image_cuda : image_cpu;
    }
};

// Both parsers throw Error(config) "FILE:LINE:COL: message" through `fail`; `warn` receives
// "FILE:LINE:COL: warning: ..." for Determined keys hpsweep ignores.
struct ContainerYamlContext {
    std::string source;
    std::vector<std::string>* warnings = nullptr;
};
void parse_environment_section(const YAML::Node& node, const ContainerYamlContext& context,
                               ContainerConfig& config);
void parse_container_section(const YAML::Node& node, const ContainerYamlContext& context,
                             ContainerConfig& config);

// Checks that hold whatever the source: a runtime hpsweep knows, mounts of absolute paths.
// `origin` prefixes the messages.
void validate_container_config(const ContainerConfig& config, const std::string& origin);

// The `environment:` and `container:` keys of experiment.yaml (nothing when empty).
void emit_container_yaml(YAML::Emitter& out, const ContainerConfig& config);

}  // namespace hpsweep::searcher
