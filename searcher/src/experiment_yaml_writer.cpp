#include <yaml-cpp/yaml.h>

#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/expression.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {

namespace {

void emit_value(YAML::Emitter& out, const Value& v) {
    if (v.typed.is_string()) {
        // Quote strings that would read back as another type (numbers, booleans).
        const Value reread = infer_value(v.text);
        if (!reread.typed.is_string() || looks_like_sweep_expression(v.text)) {
            out << YAML::DoubleQuoted << v.text;
        } else {
            out << v.text;
        }
    } else {
        out << v.text;
    }
}

// perturb_every, quantile, resample_probability, perturbation_factors (max_trials and
// max_length already hold population_size and num_rounds x length_per_round).
void emit_pbt(YAML::Emitter& out, const PbtConfig& pbt) {
    if (pbt.perturb_every) {
        out << YAML::Key << "perturb_every" << YAML::Value << YAML::Flow << YAML::BeginMap
            << YAML::Key << pbt.perturb_every->unit << YAML::Value << pbt.perturb_every->value
            << YAML::EndMap;
    }
    out << YAML::Key << "quantile" << YAML::Value << pbt.quantile;
    out << YAML::Key << "resample_probability" << YAML::Value << pbt.resample_probability;
    out << YAML::Key << "perturbation_factors" << YAML::Value << YAML::Flow << pbt.factors;
}

void emit_domain(YAML::Emitter& out, const Domain& d) {
    using Kind = Domain::Kind;
    switch (d.kind) {
        case Kind::constant:
            if (d.values.front().typed.is_string() &&
                looks_like_sweep_expression(d.values.front().text)) {
                // A constant string that reads like a sweep ({type: const, val: "[1, 2]"}):
                // written plainly it would be a sweep when read back.
                out << YAML::Flow << YAML::BeginMap << YAML::Key << "type" << YAML::Value << "const"
                    << YAML::Key << "val" << YAML::Value;
                emit_value(out, d.values.front());
                out << YAML::EndMap;
            } else {
                emit_value(out, d.values.front());
            }
            break;
        case Kind::categorical:
            out << YAML::Flow << YAML::BeginSeq;
            for (const auto& v : d.values) emit_value(out, v);
            out << YAML::EndSeq;
            break;
        case Kind::sampled:
            out << YAML::DoubleQuoted << d.describe();
            break;
        case Kind::int_range:
        case Kind::double_range:
        case Kind::log_range:
            out << YAML::Flow << YAML::BeginMap;
            out << YAML::Key << "type" << YAML::Value
                << (d.kind == Kind::int_range   ? "int"
                    : d.kind == Kind::log_range ? "log"
                                                : "double");
            if (d.kind == Kind::log_range)
                out << YAML::Key << "base" << YAML::Value << format_double(d.base);
            if (d.kind == Kind::int_range) {
                out << YAML::Key << "minval" << YAML::Value << static_cast<long long>(d.minval);
                out << YAML::Key << "maxval" << YAML::Value << static_cast<long long>(d.maxval);
            } else {
                out << YAML::Key << "minval" << YAML::Value << format_double(d.minval);
                out << YAML::Key << "maxval" << YAML::Value << format_double(d.maxval);
            }
            if (d.count)
                out << YAML::Key << "count" << YAML::Value << *d.count;
            out << YAML::EndMap;
            break;
    }
}

}  // namespace

std::string to_yaml(const ExperimentConfig& c) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << c.name;
    if (!c.description.empty())
        out << YAML::Key << "description" << YAML::Value << c.description;
    out << YAML::Key << "entrypoint" << YAML::Value << YAML::Flow << c.entrypoint;
    if (c.hyperparameters_as != "flags")
        out << YAML::Key << "hyperparameters_as" << YAML::Value << c.hyperparameters_as;
    if (c.flag_style != "underscore")
        out << YAML::Key << "flag_style" << YAML::Value << c.flag_style;
    if (!c.budget_flag.empty())
        out << YAML::Key << "budget_flag" << YAML::Value << c.budget_flag;
    out << YAML::Key << "hyperparameters" << YAML::Value << YAML::BeginMap;
    // Nested Determined groups were flattened; the dotted names are written as they are used.
    for (const auto& hp : c.hyperparameters) {
        out << YAML::Key << hp.name << YAML::Value;
        emit_domain(out, hp.domain);
    }
    out << YAML::EndMap;
    const auto& s = c.searcher;
    out << YAML::Key << "searcher" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << std::string(strategy_name(s.strategy));
    if (!s.metric.empty())
        out << YAML::Key << "metric" << YAML::Value << s.metric;
    out << YAML::Key << "smaller_is_better" << YAML::Value << s.smaller_is_better;
    if (s.max_trials)
        out << YAML::Key << "max_trials" << YAML::Value << *s.max_trials;
    if (s.max_length) {
        out << YAML::Key << "max_length" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
            << s.max_length->unit << YAML::Value << s.max_length->value << YAML::EndMap;
    }
    // Lengths are written converted, so step_unit reads back as no conversion at all.
    if (!s.step_unit.empty())
        out << YAML::Key << "step_unit" << YAML::Value << s.step_unit;
    if (s.seed)
        out << YAML::Key << "seed" << YAML::Value << *s.seed;
    if (stops_early(s.strategy)) {
        out << YAML::Key << "divisor" << YAML::Value << s.divisor;
        out << YAML::Key << "max_rungs" << YAML::Value << s.max_rungs;
        out << YAML::Key << "mode" << YAML::Value << s.mode;
        if (!s.stop_once)
            out << YAML::Key << "stop_once" << YAML::Value << false;
    }
    if (chooses_at_start(s.strategy)) {
        out << YAML::Key << "startup_trials" << YAML::Value << s.startup_trials;
        out << YAML::Key << "constant_liar" << YAML::Value << s.constant_liar;
    }
    if (s.strategy == Strategy::pbt)
        emit_pbt(out, s.pbt);
    if (s.max_concurrent_trials) {
        out << YAML::Key << "max_concurrent_trials" << YAML::Value << *s.max_concurrent_trials;
    }
    out << YAML::EndMap;
    const auto& r = c.resources;
    out << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "slots_per_trial" << YAML::Value << r.slots_per_trial;
    out << YAML::Key << "nodes" << YAML::Value << r.nodes;
    if (r.cpus_per_gpu)
        out << YAML::Key << "cpus_per_gpu" << YAML::Value << r.cpus_per_gpu;
    if (!r.mem.empty())
        out << YAML::Key << "mem" << YAML::Value << r.mem;
    if (!r.time.empty())
        out << YAML::Key << "time" << YAML::Value << YAML::DoubleQuoted << r.time;
    if (!r.partition.empty())
        out << YAML::Key << "partition" << YAML::Value << r.partition;
    if (!r.account.empty())
        out << YAML::Key << "account" << YAML::Value << r.account;
    out << YAML::Key << "max_concurrent" << YAML::Value << r.max_concurrent;
    if (r.trials_per_task_auto)
        out << YAML::Key << "trials_per_task" << YAML::Value << "auto";
    else if (r.trials_per_task != 1)
        out << YAML::Key << "trials_per_task" << YAML::Value << r.trials_per_task;
    if (r.trials_per_gpu != 1)
        out << YAML::Key << "trials_per_gpu" << YAML::Value << r.trials_per_gpu;
    if (r.gpus_per_task != 1)
        out << YAML::Key << "gpus_per_task" << YAML::Value << r.gpus_per_task;
    out << YAML::EndMap;
    if (!c.datastores.empty())
        out << YAML::Key << "datastores" << YAML::Value << YAML::Flow << c.datastores;
    if (!c.context.empty())
        out << YAML::Key << "context" << YAML::Value << c.context;
    emit_container_yaml(out, c.container);
    if (!c.metrics.regex.empty() || !c.metrics.lightning_csv.empty()) {
        out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
        if (!c.metrics.regex.empty()) {
            out << YAML::Key << "regex" << YAML::Value << YAML::BeginMap;
            for (const auto& m : c.metrics.regex)
                out << YAML::Key << m.name << YAML::Value << YAML::SingleQuoted << m.pattern;
            out << YAML::EndMap;
        }
        if (!c.metrics.lightning_csv.empty())
            out << YAML::Key << "lightning_csv" << YAML::Value << c.metrics.lightning_csv;
        out << YAML::EndMap;
    }
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

}  // namespace hpsweep::searcher
