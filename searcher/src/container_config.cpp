#include "hpsweep/searcher/container_config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/site_config.hpp"

namespace hpsweep::searcher {
namespace {

// Determined's environment keys that have no meaning on a Slurm cluster.
const std::set<std::string> ignored_environment_keys = {
    "environment_variables", "pod_spec",          "registry_auth", "force_pull_image",
    "add_capabilities",      "drop_capabilities", "proxy_ports"};

std::string where(const YAML::Node& node, const ContainerYamlContext& context) {
    const YAML::Mark mark = node.Mark();
    if (mark.line < 0)
        return context.source;
    return fmt::format("{}:{}:{}", context.source, mark.line + 1, mark.column + 1);
}

[[noreturn]] void fail(const YAML::Node& node, const ContainerYamlContext& context,
                       const std::string& message) {
    throw Error(ErrorKind::config, where(node, context) + ": " + message);
}

std::string scalar(const YAML::Node& node, const ContainerYamlContext& context,
                   const std::string& key) {
    if (!node.IsScalar() || node.Scalar().empty())
        fail(node, context, fmt::format("'{}' must be a non-empty string", key));
    return node.Scalar();
}

std::vector<std::string> string_list(const YAML::Node& node, const ContainerYamlContext& context,
                                     const std::string& key) {
    if (!node.IsSequence())
        fail(node, context, fmt::format("'{}' must be a list of strings", key));
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(scalar(item, context, key + "[]"));
    return out;
}

template <typename Visit>
void for_each_key(const YAML::Node& map, const ContainerYamlContext& context,
                  const std::string& section, const std::vector<std::string>& known,
                  const std::set<std::string>& ignored, Visit&& visit) {
    if (!map.IsMap())
        fail(map, context, fmt::format("'{}' must be a mapping", section));
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const std::string key = it->first.Scalar();
        if (!seen.insert(key).second)
            fail(it->first, context, fmt::format("duplicate key '{}.{}'", section, key));
        if (std::find(known.begin(), known.end(), key) != known.end()) {
            visit(key, it->second);
        } else if (ignored.count(key)) {
            if (context.warnings) {
                context.warnings->push_back(
                    fmt::format("{}: warning: '{}.{}' is a Determined setting that hpsweep ignores",
                                where(it->first, context), section, key));
            }
        } else {
            std::string known_text;
            for (const auto& k : known) known_text += (known_text.empty() ? "" : ", ") + k;
            fail(it->first, context,
                 fmt::format("unknown key '{}.{}' (known: {})", section, key, known_text));
        }
    }
}

}  // namespace

void parse_environment_section(const YAML::Node& node, const ContainerYamlContext& context,
                               ContainerConfig& config) {
    if (node.IsNull())
        return;
    for_each_key(
        node, context, "environment", {"image"}, ignored_environment_keys,
        [&](const std::string&, const YAML::Node& image) {
            if (image.IsScalar()) {
                config.image_cpu = config.image_cuda = scalar(image, context, "environment.image");
                return;
            }
            for_each_key(image, context, "environment.image", {"cpu", "cuda", "gpu"}, {"rocm"},
                         [&](const std::string& key, const YAML::Node& value) {
                             auto text = scalar(value, context, "environment.image." + key);
                             (key == "cpu" ? config.image_cpu : config.image_cuda) = text;
                         });
            if (config.image_cpu.empty() && config.image_cuda.empty())
                fail(image, context, "'environment.image' names no image");
        });
}

void parse_container_section(const YAML::Node& node, const ContainerYamlContext& context,
                             ContainerConfig& config) {
    if (node.IsNull())
        return;
    for_each_key(
        node, context, "container", {"image", "runtime", "mounts", "args"}, {},
        [&](const std::string& key, const YAML::Node& value) {
            if (key == "image") {
                config.image_cpu = config.image_cuda = scalar(value, context, "container.image");
            } else if (key == "runtime") {
                config.runtime = scalar(value, context, "container.runtime");
                if (!is_container_runtime_name(config.runtime) && config.runtime != "pyxis") {
                    fail(value, context,
                         fmt::format("unknown container runtime '{}' (expected "
                                     "apptainer, enroot, charliecloud, podman or pyxis)",
                                     config.runtime));
                }
            } else if (key == "mounts") {
                config.mounts = string_list(value, context, "container.mounts");
                for (size_t i = 0; i < config.mounts.size(); ++i) {
                    if (config.mounts[i].empty() || config.mounts[i].front() != '/')
                        fail(value[i], context,
                             "container mounts are SRC[:DST][:ro] with absolute paths");
                }
            } else {
                config.args = string_list(value, context, "container.args");
            }
        });
}

void validate_container_config(const ContainerConfig& config, const std::string& origin) {
    if (!config.runtime.empty() && !is_container_runtime_name(config.runtime) &&
        config.runtime != "pyxis") {
        throw Error(ErrorKind::config,
                    fmt::format("{}: unknown container runtime '{}' (expected apptainer, enroot, "
                                "charliecloud, podman or pyxis)",
                                origin, config.runtime));
    }
    if (config.empty() && (!config.runtime.empty() || !config.mounts.empty())) {
        throw Error(ErrorKind::config, origin +
                                           ": a container runtime or mounts are given but no image "
                                           "(environment.image or container.image)");
    }
}

void emit_container_yaml(YAML::Emitter& out, const ContainerConfig& config) {
    if (config.empty())
        return;
    out << YAML::Key << "environment" << YAML::Value << YAML::BeginMap << YAML::Key << "image"
        << YAML::Value;
    if (config.image_cpu == config.image_cuda) {
        out << config.image_cpu;
    } else {
        out << YAML::BeginMap;
        if (!config.image_cpu.empty())
            out << YAML::Key << "cpu" << YAML::Value << config.image_cpu;
        if (!config.image_cuda.empty())
            out << YAML::Key << "cuda" << YAML::Value << config.image_cuda;
        out << YAML::EndMap;
    }
    out << YAML::EndMap;
    if (config.runtime.empty() && config.mounts.empty() && config.args.empty())
        return;
    out << YAML::Key << "container" << YAML::Value << YAML::BeginMap;
    if (!config.runtime.empty())
        out << YAML::Key << "runtime" << YAML::Value << config.runtime;
    if (!config.mounts.empty())
        out << YAML::Key << "mounts" << YAML::Value << YAML::Flow << config.mounts;
    if (!config.args.empty())
        out << YAML::Key << "args" << YAML::Value << YAML::Flow << config.args;
    out << YAML::EndMap;
}

}  // namespace hpsweep::searcher
