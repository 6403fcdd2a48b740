#include "experiment_yaml_reader.hpp"
#include "hpsweep/metric_name.hpp"

namespace hpsweep::searcher {

// metrics: {regex: {NAME: PATTERN, ...}, lightning_csv: PATH}
void ExperimentYamlReader::metrics(const YAML::Node& node) {
    if (node.IsNull())
        return;
    if (!node.IsMap())
        fail(node, "'metrics' must be a mapping (regex:, lightning_csv:)");
    for_each_key(node, "metrics", {"regex", "lightning_csv"}, {},
                 [&](const std::string& key, const YAML::Node& v) {
                     if (key == "regex") {
                         metric_regexes(v);
                     } else if (key == "lightning_csv") {
                         config_.metrics.lightning_csv = scalar_string(v, "metrics.lightning_csv");
                         if (config_.metrics.lightning_csv.empty())
                             fail(v,
                                  "'metrics.lightning_csv' is empty (a path to "
                                  "Lightning's metrics.csv)");
                     }
                 });
}

void ExperimentYamlReader::metric_regexes(const YAML::Node& node) {
    if (node.IsNull())
        return;
    if (!node.IsMap())
        fail(node, "'metrics.regex' must be a mapping of metric name: regex");
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node key_node = it->first;
        if (!key_node.IsScalar())
            fail(key_node, "metric names must be plain names");
        const std::string name = key_node.Scalar();
        if (!seen.insert(name).second)
            fail(key_node, fmt::format("duplicate key 'metrics.regex.{}'", name));
        if (!is_valid_metric_name(name)) {
            fail(key_node, fmt::format("invalid metric name '{}' (allowed: letters, digits, "
                                       "_ . : / -; at most 128; not 'step')",
                                       name));
        }
        const std::string path = "metrics.regex." + name;
        const std::string pattern = scalar_string(it->second, path);
        remember(path, it->second);
        config_.metrics.regex.push_back(make_regex_metric(name, pattern, where(it->second)));
    }
}

}  // namespace hpsweep::searcher
