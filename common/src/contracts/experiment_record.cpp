#include "hpsweep/contracts/experiment_record.hpp"

#include <fmt/format.h>

#include <limits>

#include "hpsweep/contracts/json_fields.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"

namespace hpsweep {

namespace {

using contracts::JsonFields;
using ordered_json = nlohmann::ordered_json;

constexpr long long no_max = std::numeric_limits<long long>::max();
constexpr long long int_max = std::numeric_limits<int>::max();
constexpr long long long_max = std::numeric_limits<long>::max();

template <typename T>
ordered_json or_null(const std::optional<T>& value) {
    return value ? ordered_json(*value) : ordered_json(nullptr);
}

std::vector<std::string> strings_at(const JsonFields& fields, const char* key) {
    std::vector<std::string> out;
    if (!fields.has(key))
        return out;
    for (const auto& value : fields.array(key)) {
        if (!value.is_string())
            fields.fail(key, "expected strings, found " + contracts::json_kind(value));
        out.push_back(value.get<std::string>());
    }
    return out;
}

bool is_length_unit(const std::string& unit) {
    return unit == "epochs" || unit == "batches" || unit == "records" || unit == "steps";
}

MaxLength length_from(const JsonFields& length) {
    const std::string unit = length.string("unit");
    if (!is_length_unit(unit))
        length.fail("unit", "expected epochs, batches, records or steps, got '" + unit + "'");
    return MaxLength{unit, length.integer("value", 1, no_max)};
}

ordered_json length_json(const std::optional<MaxLength>& length) {
    return length ? ordered_json{{"unit", length->unit}, {"value", length->value}}
                  : ordered_json(nullptr);
}

LengthsAsWritten as_written_from(const JsonFields& f) {
    LengthsAsWritten w;
    if (f.has("max_length"))
        w.max_length = length_from(f.nested("max_length"));
    if (f.has("perturb_every"))
        w.perturb_every = length_from(f.nested("perturb_every"));
    w.records_per_epoch = f.optional_integer("records_per_epoch", 1, no_max);
    w.global_batch_size = f.optional_integer("global_batch_size", 1, no_max);
    return w;
}

PbtConfig pbt_from(const JsonFields& f) {
    PbtConfig p;
    if (f.has("perturb_every"))
        p.perturb_every = length_from(f.nested("perturb_every"));
    p.population_size = f.optional_integer("population_size", 1, no_max);
    p.num_rounds = f.optional_integer("num_rounds", 1, no_max);
    if (f.has("quantile"))
        p.quantile = f.number("quantile");
    if (f.has("resample_probability"))
        p.resample_probability = f.number("resample_probability");
    if (f.has("factors")) {
        p.factors.clear();
        for (const auto& factor : f.array("factors")) {
            if (!factor.is_number())
                f.fail("factors", "expected numbers, found " + contracts::json_kind(factor));
            p.factors.push_back(factor.get<double>());
        }
    }
    return p;
}

SearcherConfig searcher_from(const JsonFields& f) {
    SearcherConfig s;
    if (const auto name = f.optional_string("name")) {
        const auto strategy = parse_strategy(*name);
        if (!strategy)
            f.fail("name", fmt::format("expected {}, got '{}'", strategy_names(), *name));
        s.strategy = *strategy;
    }
    s.metric = f.optional_string("metric").value_or("");
    s.smaller_is_better = f.optional_boolean("smaller_is_better").value_or(true);
    s.max_trials = f.optional_integer("max_trials", 1, no_max);
    if (f.has("max_length"))
        s.max_length = length_from(f.nested("max_length"));
    if (const auto unit = f.optional_string("step_unit")) {
        if (!is_length_unit(*unit))
            f.fail("step_unit", "expected epochs, batches, records or steps, got '" + *unit + "'");
        s.step_unit = *unit;
    }
    if (f.has("as_written"))
        s.as_written = as_written_from(f.nested("as_written"));
    s.seed = f.optional_unsigned("seed");
    s.divisor = f.optional_integer("divisor", 2, no_max).value_or(s.divisor);
    s.max_rungs = f.optional_integer("max_rungs", 1, no_max).value_or(s.max_rungs);
    if (const auto mode = f.optional_string("mode")) {
        if (*mode != "aggressive" && *mode != "standard" && *mode != "conservative")
            f.fail("mode", "expected aggressive, standard or conservative, got '" + *mode + "'");
        s.mode = *mode;
    }
    s.max_concurrent_trials = f.optional_integer("max_concurrent_trials", 1, no_max);
    s.startup_trials = f.optional_integer("startup_trials", 1, no_max).value_or(s.startup_trials);
    s.constant_liar = f.optional_boolean("constant_liar").value_or(s.constant_liar);
    s.stop_once = f.optional_boolean("stop_once").value_or(s.stop_once);
    if (f.has("pbt"))
        s.pbt = pbt_from(f.nested("pbt"));
    return s;
}

Resources resources_from(const JsonFields& f) {
    Resources r;
    auto int_field = [&](const char* key, int fallback, long long min) {
        return static_cast<int>(f.optional_integer(key, min, int_max).value_or(fallback));
    };
    r.slots_per_trial = int_field("slots_per_trial", r.slots_per_trial, 0);
    r.nodes = int_field("nodes", r.nodes, 1);
    r.cpus_per_gpu = int_field("cpus_per_gpu", r.cpus_per_gpu, 0);
    r.mem = f.optional_string("mem").value_or("");
    r.time = f.optional_string("time").value_or("");
    r.partition = f.optional_string("partition").value_or("");
    r.account = f.optional_string("account").value_or("");
    r.max_concurrent = int_field("max_concurrent", r.max_concurrent, 0);
    r.trials_per_task = static_cast<long>(
        f.optional_integer("trials_per_task", 1, long_max).value_or(r.trials_per_task));
    r.trials_per_gpu = int_field("trials_per_gpu", r.trials_per_gpu, 1);
    r.gpus_per_task = int_field("gpus_per_task", r.gpus_per_task, 1);
    return r;
}

MetricsRecord metrics_from(const JsonFields& f) {
    MetricsRecord m;
    if (f.has("regex")) {
        const JsonFields regex = f.nested("regex");
        for (const auto& [name, pattern] : regex.object().items()) {
            m.regex.emplace_back(name, regex.string(name.c_str()));
        }
    }
    m.lightning_csv = f.optional_string("lightning_csv").value_or("");
    return m;
}

ArrayRecord array_from(const JsonFields& f) {
    ArrayRecord a;
    a.job_id = f.string("job_id");
    a.offset = static_cast<long>(f.integer("offset", 0, long_max));
    a.array = f.string("array");
    a.trials = static_cast<long>(f.optional_integer("trials", 0, long_max).value_or(0));
    if (const auto kind = f.optional_string("kind")) {
        if (*kind != "submit" && *kind != "resubmit" && *kind != "extend")
            f.fail("kind", "expected submit, resubmit or extend, got '" + *kind + "'");
        a.kind = *kind;
    }
    a.submitted = f.optional_string("submitted").value_or("");
    a.pack = static_cast<long>(f.optional_integer("pack", 1, long_max).value_or(1));
    return a;
}

CancellationRecord cancellation_from(const JsonFields& f) {
    CancellationRecord c;
    c.time = f.optional_string("time").value_or("");
    c.all = f.optional_boolean("all").value_or(false);
    if (f.has("trials")) {
        for (const auto& id : f.array("trials")) {
            if (!id.is_number_integer() || id.get<long long>() < 0)
                f.fail("trials", "expected trial ids (integers >= 0), found " + id.dump());
            c.trials.push_back(id.get<long>());
        }
    }
    return c;
}

template <typename Record, typename Read>
std::vector<Record> records_at(const JsonFields& fields, const char* key, const std::string& source,
                               Read read) {
    std::vector<Record> out;
    if (!fields.has(key))
        return out;
    const auto& list = fields.array(key);
    for (std::size_t i = 0; i < list.size(); ++i) {
        out.push_back(read(JsonFields(list[i], source, fmt::format("{}[{}]", key, i))));
    }
    return out;
}

}  // namespace

ordered_json to_json(const SearcherConfig& s) {
    ordered_json j;
    j["name"] = strategy_name(s.strategy);
    j["metric"] = s.metric;
    j["smaller_is_better"] = s.smaller_is_better;
    j["max_trials"] = or_null(s.max_trials);
    j["max_length"] = length_json(s.max_length);
    // Written only when set, so an experiment that converts nothing records what it did before.
    if (!s.step_unit.empty())
        j["step_unit"] = s.step_unit;
    if (const auto& w = s.as_written) {
        ordered_json written = ordered_json::object();
        if (w->max_length)
            written["max_length"] = length_json(w->max_length);
        if (w->perturb_every)
            written["perturb_every"] = length_json(w->perturb_every);
        if (w->records_per_epoch)
            written["records_per_epoch"] = *w->records_per_epoch;
        if (w->global_batch_size)
            written["global_batch_size"] = *w->global_batch_size;
        j["as_written"] = std::move(written);
    }
    j["seed"] = or_null(s.seed);
    j["divisor"] = s.divisor;
    j["max_rungs"] = s.max_rungs;
    j["mode"] = s.mode;
    if (!s.stop_once)
        j["stop_once"] = false;
    j["max_concurrent_trials"] = or_null(s.max_concurrent_trials);
    if (chooses_at_start(s.strategy)) {
        j["startup_trials"] = s.startup_trials;
        j["constant_liar"] = s.constant_liar;
    }
    if (s.strategy == Strategy::pbt) {
        const auto& p = s.pbt;
        j["pbt"] = ordered_json{{"perturb_every", length_json(p.perturb_every)},
                                {"population_size", or_null(p.population_size)},
                                {"num_rounds", or_null(p.num_rounds)},
                                {"quantile", p.quantile},
                                {"resample_probability", p.resample_probability},
                                {"factors", p.factors}};
    }
    return j;
}

ordered_json to_json(const Resources& r) {
    return ordered_json{{"slots_per_trial", r.slots_per_trial},
                        {"nodes", r.nodes},
                        {"gpus_per_node", r.gpus_per_node()},
                        {"cpus_per_gpu", r.cpus_per_gpu},
                        {"mem", r.mem},
                        {"time", r.time},
                        {"partition", r.partition},
                        {"account", r.account},
                        {"max_concurrent", r.max_concurrent},
                        {"trials_per_task", r.trials_per_task},
                        {"trials_per_gpu", r.trials_per_gpu},
                        {"gpus_per_task", r.gpus_per_task}};
}

ordered_json to_json(const MetricsRecord& metrics) {
    ordered_json regex = ordered_json::object();
    for (const auto& [name, pattern] : metrics.regex) regex[name] = pattern;
    return {{"regex", std::move(regex)}, {"lightning_csv", metrics.lightning_csv}};
}

ordered_json to_json(const ArrayRecord& a) {
    ordered_json j{{"job_id", a.job_id}, {"offset", a.offset}, {"array", a.array},
                   {"trials", a.trials}, {"kind", a.kind},     {"submitted", a.submitted}};
    if (a.pack > 1)
        j["pack"] = a.pack;
    return j;
}

ordered_json to_json(const CancellationRecord& c) {
    ordered_json j{{"time", c.time}};
    if (c.all)
        j["all"] = true;
    else
        j["trials"] = c.trials;
    return j;
}

ordered_json to_json(const ExperimentRecord& r) {
    ordered_json j;
    j["format"] = r.format;
    j["name"] = r.name;
    j["id"] = r.id;
    j["created"] = r.created;
    j["origin"] = r.origin;
    if (!r.config_file.empty())
        j["config_file"] = r.config_file;
    if (!r.command_line.empty())
        j["command_line"] = r.command_line;
    j["cwd"] = r.cwd;
    j["num_trials"] = r.num_trials;
    j["seed"] = r.seed;
    j["searcher"] = to_json(r.searcher);
    j["resources"] = to_json(r.resources);
    j["datastores"] = r.datastores;
    j["metrics"] = to_json(r.metrics);
    j["max_array_size"] = r.max_array_size;
    j["max_concurrent"] = r.max_concurrent;
    j["launcher"] = r.launcher;
    j["arrays"] = ordered_json::array();
    for (const auto& a : r.arrays) j["arrays"].push_back(to_json(a));
    if (!r.cancellations.empty()) {
        j["cancellations"] = ordered_json::array();
        for (const auto& c : r.cancellations) j["cancellations"].push_back(to_json(c));
    }
    if (!r.snapshot.is_null())
        j["snapshot"] = r.snapshot;
    for (const auto& [key, value] : r.unknown.items()) j[key] = value;
    return j;
}

ExperimentRecord experiment_record_from_json(const ordered_json& j, const std::string& source) {
    const JsonFields f(j, source);
    ExperimentRecord r;
    r.format = static_cast<int>(f.optional_integer("format", 1, int_max).value_or(1));
    r.name = f.string("name");
    r.id = f.optional_string("id").value_or("");
    r.created = f.optional_string("created").value_or("");
    r.origin = f.optional_string("origin").value_or("");
    r.config_file = f.optional_string("config_file").value_or("");
    r.command_line = strings_at(f, "command_line");
    r.cwd = f.optional_string("cwd").value_or("");
    r.num_trials = static_cast<long>(f.optional_integer("num_trials", 0, long_max).value_or(0));
    r.seed = f.optional_unsigned("seed").value_or(0);
    if (f.has("searcher"))
        r.searcher = searcher_from(f.nested("searcher"));
    if (f.has("resources"))
        r.resources = resources_from(f.nested("resources"));
    r.datastores = strings_at(f, "datastores");
    if (f.has("metrics"))
        r.metrics = metrics_from(f.nested("metrics"));
    r.max_array_size =
        static_cast<long>(f.optional_integer("max_array_size", 0, long_max).value_or(0));
    r.max_concurrent =
        static_cast<int>(f.optional_integer("max_concurrent", 0, int_max).value_or(0));
    r.launcher = f.optional_string("launcher").value_or("");
    r.arrays = records_at<ArrayRecord>(f, "arrays", source, array_from);
    r.cancellations = records_at<CancellationRecord>(f, "cancellations", source, cancellation_from);
    if (f.has("snapshot"))
        r.snapshot = f.nested("snapshot").object();
    r.unknown = contracts::unknown_members(
        j, {"format",         "name",         "id",         "created",       "origin",
            "config_file",    "command_line", "cwd",        "num_trials",    "seed",
            "searcher",       "resources",    "datastores", "metrics",       "max_array_size",
            "max_concurrent", "launcher",     "arrays",     "cancellations", "snapshot"});
    return r;
}

ExperimentRecord read_experiment_record(const std::filesystem::path& path) {
    return experiment_record_from_json(
        contracts::parse_json_document(read_file(path), path.string()), path.string());
}

void write_experiment_record(const std::filesystem::path& path, const ExperimentRecord& record) {
    write_file_atomic(path, to_json(record).dump(2) + "\n");
}

}  // namespace hpsweep
