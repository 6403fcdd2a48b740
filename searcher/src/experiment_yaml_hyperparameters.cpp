#include <cmath>
#include <map>

#include "experiment_yaml_reader.hpp"
#include "hpsweep/searcher/expression.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {

// A scalar hyper-parameter value: a sweep expression, or a constant typed like YAML would.
Domain ExperimentYamlReader::scalar_domain(const YAML::Node& node, const std::string& name) const {
    const std::string& text = node.Scalar();
    const bool quoted = node.Tag() == "!";
    if (looks_like_sweep_expression(text)) {
        try {
            return parse_sweep_expression(text);
        } catch (const ExpressionError& e) {
            // Point into the file: the scalar starts at its mark (after the quote if any).
            const YAML::Mark mark = node.Mark();
            throw Error(
                ErrorKind::config,
                fmt::format("{}:{}:{}: hyperparameter '{}': {}", source_, mark.line + 1,
                            mark.column + 1 + (quoted ? 1 : 0) + static_cast<int>(e.column()) - 1,
                            name, e.reason()));
        }
    }
    Domain d;
    d.kind = Domain::Kind::constant;
    d.values.push_back(quoted ? make_string_value(text) : infer_value(text));
    return d;
}

Value ExperimentYamlReader::list_element(const YAML::Node& node, const std::string& name) const {
    if (!node.IsScalar()) {
        fail(node, fmt::format("hyperparameter '{}': list values must be scalars", name));
    }
    return node.Tag() == "!" ? make_string_value(node.Scalar()) : infer_value(node.Scalar());
}

void ExperimentYamlReader::hyperparameters(const YAML::Node& map, const std::string& prefix) {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node key_node = it->first;
        const YAML::Node value = it->second;
        if (!key_node.IsScalar())
            fail(key_node, "hyperparameter names must be plain names");
        const std::string short_name = key_node.Scalar();
        if (!seen.insert(short_name).second) {
            fail(key_node, fmt::format("duplicate hyperparameter '{}'", prefix + short_name));
        }
        if (short_name.empty() ||
            short_name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_-.") != std::string::npos) {
            fail(key_node, fmt::format("hyperparameter name '{}' may only use letters, "
                                       "digits, '_', '-' and '.' (it becomes --{})",
                                       short_name, short_name));
        }
        const std::string name = prefix + short_name;
        Hyperparameter hp;
        hp.name = name;
        hp.origin = where(value.IsNull() ? key_node : value);
        if (value.IsMap() && !value["type"]) {
            hyperparameters(value, name + ".");  // a nested group, as Determined allows
            continue;
        }
        if (value.IsNull()) {
            fail(key_node, fmt::format("hyperparameter '{}' has no value", name));
        } else if (value.IsScalar()) {
            hp.domain = scalar_domain(value, name);
        } else if (value.IsSequence()) {
            hp.domain.kind = Domain::Kind::categorical;
            for (const auto& element : value)
                hp.domain.values.push_back(list_element(element, name));
            if (hp.domain.values.empty())
                fail(value, fmt::format("hyperparameter '{}': empty list", name));
        } else {
            hp.domain = typed_domain(value, name);
        }
        config_.hyperparameters.push_back(std::move(hp));
    }
}

// Determined's typed form: {type: const|int|double|log|categorical, ...}.
Domain ExperimentYamlReader::typed_domain(const YAML::Node& map, const std::string& name) {
    const YAML::Node type_node = map["type"];
    if (!type_node.IsScalar())
        fail(type_node, fmt::format("hyperparameter '{}': 'type' must be a string", name));
    const std::string type = type_node.Scalar();
    static const std::map<std::string, std::vector<std::string>> keys_of_type = {
        {"const", {"type", "val"}},
        {"int", {"type", "minval", "maxval", "count"}},
        {"double", {"type", "minval", "maxval", "count"}},
        {"log", {"type", "base", "minval", "maxval", "count"}},
        {"categorical", {"type", "vals"}},
    };
    const auto known = keys_of_type.find(type);
    if (known == keys_of_type.end()) {
        std::vector<std::string> types;
        for (const auto& [t, unused] : keys_of_type) types.push_back(t);
        fail(type_node, fmt::format("hyperparameter '{}': unknown type '{}' (expected const, "
                                    "int, double, log or categorical){}",
                                    name, type, did_you_mean(type, types)));
    }
    const std::string section = "hyperparameters." + name;
    // Default-constructed YAML nodes count as defined (null), so absence is tracked apart.
    std::optional<YAML::Node> val, minval, maxval, count, base, vals;
    for_each_key(map, section, known->second, {},
                 [&](const std::string& key, const YAML::Node& value) {
                     if (key == "val")
                         val = value;
                     else if (key == "minval")
                         minval = value;
                     else if (key == "maxval")
                         maxval = value;
                     else if (key == "count")
                         count = value;
                     else if (key == "base")
                         base = value;
                     else if (key == "vals")
                         vals = value;
                 });
    auto require = [&](const std::optional<YAML::Node>& node, const char* key) {
        if (!node) {
            fail(map, fmt::format("hyperparameter '{}' of type {} needs '{}'", name, type, key));
        }
    };
    Domain d;
    if (type == "const") {
        require(val, "val");
        if (!val->IsScalar())
            fail(*val, fmt::format("hyperparameter '{}': 'val' must be a scalar", name));
        d.kind = Domain::Kind::constant;
        d.values.push_back(list_element(*val, name));
        return d;
    }
    if (type == "categorical") {
        require(vals, "vals");
        if (!vals->IsSequence() || vals->size() == 0) {
            fail(*vals, fmt::format("hyperparameter '{}': 'vals' must be a non-empty list", name));
        }
        d.kind = Domain::Kind::categorical;
        for (const auto& element : *vals) d.values.push_back(list_element(element, name));
        return d;
    }
    require(minval, "minval");
    require(maxval, "maxval");
    if (count)
        d.count = integer(*count, section + ".count", 1);
    if (type == "int") {
        d.kind = Domain::Kind::int_range;
        d.minval = static_cast<double>(integer(*minval, section + ".minval", -(1LL << 52)));
        d.maxval = static_cast<double>(integer(*maxval, section + ".maxval", -(1LL << 52)));
    } else {
        d.kind = type == "log" ? Domain::Kind::log_range : Domain::Kind::double_range;
        d.minval = number(*minval, section + ".minval");
        d.maxval = number(*maxval, section + ".maxval");
        if (type == "log" && base) {
            d.base = number(*base, section + ".base");
            if (d.base <= 0 || d.base == 1) {
                fail(*base,
                     fmt::format("hyperparameter '{}': 'base' must be positive and not 1", name));
            }
        }
    }
    if (d.minval > d.maxval) {
        fail(*maxval, fmt::format("hyperparameter '{}': maxval ({}) is below minval ({})", name,
                                  maxval->Scalar(), minval->Scalar()));
    }
    // Ranges a trial's value cannot come from: an int maxval near 2^63 would be converted
    // from double with undefined behaviour, and a log range whose base^maxval overflows
    // would give trials "inf" (base^minval underflowing: 0).
    if (type == "int" && d.maxval > static_cast<double>(1LL << 52)) {
        fail(*maxval, fmt::format("hyperparameter '{}': maxval must be at most 2^52", name));
    }
    if (type == "log") {
        const double low = std::pow(d.base, d.minval);
        const double high = std::pow(d.base, d.maxval);
        if (!std::isfinite(low) || !std::isfinite(high) || low <= 0 || high <= 0) {
            fail(std::isfinite(high) && high > 0 ? *minval : *maxval,
                 fmt::format("hyperparameter '{}': {}^{} .. {}^{} is outside the numbers a "
                             "trial can be given",
                             name, format_double(d.base), format_double(d.minval),
                             format_double(d.base), format_double(d.maxval)));
        }
        // minval: 0.001, maxval: 0.1 reads like the values wanted, but Determined takes
        // exponents: every trial would get a learning rate of about 1.
        if (d.minval > 0 && d.maxval > 0 && d.minval < 1 && d.maxval <= 1) {
            config_.warnings.push_back(fmt::format(
                "{}: warning: hyperparameter '{}': type log takes exponents, so minval {} "
                "and maxval {} give values from {:.6g} to {:.6g}; for {} to {} write "
                "minval: {:.6g} and maxval: {:.6g}",
                where(*minval), name, format_double(d.minval), format_double(d.maxval), low, high,
                format_double(d.minval), format_double(d.maxval),
                std::log(d.minval) / std::log(d.base), std::log(d.maxval) / std::log(d.base)));
        }
    }
    return d;
}

}  // namespace hpsweep::searcher
