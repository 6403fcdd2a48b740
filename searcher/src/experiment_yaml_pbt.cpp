// The pbt keys of the experiment file's `searcher` section, hpsweep's own and Determined's.
#include "experiment_yaml_reader.hpp"

namespace hpsweep::searcher {

bool ExperimentYamlReader::pbt_key(const std::string& key, const YAML::Node& v) {
    auto& s = config_.searcher;
    auto& pbt = s.pbt;
    const std::string path = "searcher." + key;
    if (key == "population_size") {
        pbt.population_size = integer(v, path, 2);
    } else if (key == "perturb_every" || key == "length_per_round") {
        if (pbt.perturb_every)
            fail(v,
                 "give either 'searcher.perturb_every' or Determined's "
                 "'searcher.length_per_round', not both");
        pbt.perturb_every = length(v, path);
    } else if (key == "num_rounds") {
        pbt.num_rounds = integer(v, path, 1);
    } else if (key == "quantile") {
        pbt.quantile = number(v, path);
    } else if (key == "resample_probability") {
        pbt.resample_probability = number(v, path);
    } else if (key == "perturbation_factors") {
        if (!v.IsSequence() || v.size() == 0)
            fail(v, "'searcher.perturbation_factors' must be a list of numbers, e.g. [0.8, 1.2]");
        pbt.factors.clear();
        for (const auto& factor : v) pbt.factors.push_back(number(factor, path));
    } else if (key == "replace_function") {
        if (!v.IsMap())
            fail(v, "'searcher.replace_function' must be a mapping (truncate_fraction: F)");
        for_each_key(v, path, {"truncate_fraction"}, {},
                     [&](const std::string&, const YAML::Node& fraction) {
                         pbt.quantile = number(fraction, path + ".truncate_fraction");
                     });
    } else if (key == "explore_function") {
        if (!v.IsMap())
            fail(v,
                 "'searcher.explore_function' must be a mapping (resample_probability: P, "
                 "perturb_factor: F)");
        for_each_key(v, path, {"resample_probability", "perturb_factor"}, {},
                     [&](const std::string& name, const YAML::Node& value) {
                         const double x = number(value, path + "." + name);
                         if (name == "resample_probability") {
                             pbt.resample_probability = x;
                         } else {
                             if (!(x > 0 && x < 1))
                                 fail(value, "'" + path +
                                                 ".perturb_factor' must be in (0, 1), "
                                                 "e.g. 0.2 for factors 0.8 and 1.2");
                             pbt.factors = {1 - x, 1 + x};
                         }
                     });
    } else {
        return false;
    }
    return true;
}

void ExperimentYamlReader::resolve_pbt_sizes(const YAML::Node& searcher_node) {
    auto& s = config_.searcher;
    const auto& pbt = s.pbt;
    if (pbt.population_size) {
        if (s.max_trials && *s.max_trials != *pbt.population_size) {
            fail(searcher_node["population_size"],
                 fmt::format("'searcher.population_size' ({}) and 'searcher.max_trials' ({}) "
                             "disagree: a PBT population is its trials",
                             *pbt.population_size, *s.max_trials));
        }
        s.max_trials = pbt.population_size;
    }
    if (pbt.num_rounds) {
        if (!pbt.perturb_every)
            fail(searcher_node["num_rounds"],
                 "'searcher.num_rounds' needs 'searcher.length_per_round' (the length of a round)");
        const MaxLength total{pbt.perturb_every->unit, *pbt.num_rounds * pbt.perturb_every->value};
        if (s.max_length &&
            (s.max_length->unit != total.unit || s.max_length->value != total.value)) {
            fail(searcher_node["num_rounds"],
                 fmt::format("'searcher.num_rounds' x 'length_per_round' ({} {}) and "
                             "'searcher.max_length' ({} {}) disagree",
                             total.value, total.unit, s.max_length->value, s.max_length->unit));
        }
        s.max_length = total;
    }
}

}  // namespace hpsweep::searcher
