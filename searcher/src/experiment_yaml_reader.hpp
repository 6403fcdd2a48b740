#pragma once
// The experiment file reader: one member function per YAML section, each section's
// definitions in the file named for it (experiment_yaml_<section>.cpp). A new section is a
// member declared here, defined in its own file, and a branch in load()
// (experiment_yaml_reader.cpp). Private to the searcher library.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"

namespace hpsweep::searcher {

// " (did you mean 'KEY'?)" for the known key nearest to `key` when it is a near miss, else "".
std::string did_you_mean(const std::string& key, const std::vector<std::string>& known);

class ExperimentYamlReader {
public:
    explicit ExperimentYamlReader(std::string source) : source_(std::move(source)) {}

    ExperimentConfig load(const std::string& text);

private:
    std::string source_;
    ExperimentConfig config_;
    std::optional<std::uint64_t> searcher_seed_;

    std::string where(const YAML::Node& node) const {
        const YAML::Mark mark = node.Mark();
        if (mark.line < 0)
            return source_;
        return fmt::format("{}:{}:{}", source_, mark.line + 1, mark.column + 1);
    }
    [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
        throw Error(ErrorKind::config, where(node) + ": " + message);
    }
    void remember(const std::string& key, const YAML::Node& node) {
        config_.locations[key] = where(node);
    }

    // Visits the keys of a mapping in document order; unknown and duplicate keys are errors
    // at the key's position, ignored Determined keys become warnings.
    template <typename Visit>
    void for_each_key(const YAML::Node& map, const std::string& section,
                      const std::vector<std::string>& known, const std::set<std::string>& ignored,
                      Visit&& visit) {
        std::set<std::string> seen;
        const std::string prefix = section.empty() ? "" : section + ".";
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node key_node = it->first;
            if (!key_node.IsScalar())
                fail(key_node, "keys must be plain names");
            const std::string key = key_node.Scalar();
            if (!seen.insert(key).second) {
                fail(key_node, fmt::format("duplicate key '{}{}'", prefix, key));
            }
            if (std::find(known.begin(), known.end(), key) != known.end()) {
                remember(prefix + key, it->second);
                visit(key, it->second);
            } else if (ignored.count(key)) {
                config_.warnings.push_back(
                    fmt::format("{}: warning: '{}{}' is a Determined setting that hpsweep ignores",
                                where(key_node), prefix, key));
            } else {
                fail(key_node, fmt::format("unknown key '{}'{}{}", prefix + key,
                                           section.empty() ? "" : " in " + section,
                                           did_you_mean(key, known)));
            }
        }
    }

    std::string scalar_string(const YAML::Node& node, const std::string& key) const;
    long long integer(const YAML::Node& node, const std::string& key, long long min_value) const;
    double number(const YAML::Node& node, const std::string& key) const;
    bool boolean(const YAML::Node& node, const std::string& key) const;
    static std::string describe(const YAML::Node& node);

    // The sections, in the order of the file's keys.
    void entrypoint(const YAML::Node& node);
    void hyperparameters(const YAML::Node& map, const std::string& prefix);
    void searcher(const YAML::Node& node);
    void resources(const YAML::Node& node);
    void datastores(const YAML::Node& node);
    void metrics(const YAML::Node& node);
    void reproducibility(const YAML::Node& node);
    // hyperparameters_as, flag_style, budget_flag: how a trial is given its values.
    void passing_setting(const std::string& key, const YAML::Node& node);

    // Parts of sections.
    Domain scalar_domain(const YAML::Node& node, const std::string& name) const;
    Value list_element(const YAML::Node& node, const std::string& name) const;
    Domain typed_domain(const YAML::Node& map, const std::string& name);
    MaxLength max_length(const YAML::Node& node);
    void metric_regexes(const YAML::Node& node);
};

}  // namespace hpsweep::searcher
