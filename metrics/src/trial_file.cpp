#include "hpsweep/metrics/trial_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/metrics/h5.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::metrics {

namespace {

h5::Datatype record_type() {
    h5::Datatype type(H5Tcreate(H5T_COMPOUND, sizeof(MetricRecord)),
                      "cannot create the record type");
    H5Tinsert(type.get(), "step", HOFFSET(MetricRecord, step), H5T_NATIVE_INT64);
    H5Tinsert(type.get(), "wall_time", HOFFSET(MetricRecord, wall_time), H5T_NATIVE_DOUBLE);
    H5Tinsert(type.get(), "value", HOFFSET(MetricRecord, value), H5T_NATIVE_DOUBLE);
    return type;
}

std::string env_or_empty(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::string(value) : std::string();
}

// Chunks sized to the data: big files get big chunks (fast reads), small files stay small.
hsize_t chunk_records(std::size_t count) {
    hsize_t chunk = 64;
    while (chunk < count && chunk < 16384) chunk *= 2;
    return chunk;
}

void write_hyperparameter(hid_t group, const std::string& name,
                          const nlohmann::ordered_json& value) {
    if (value.is_boolean()) {
        h5::write_attribute_bool(group, name.c_str(), value.get<bool>());
    } else if (value.is_number_integer()) {
        h5::write_attribute(group, name.c_str(), value.get<std::int64_t>());
    } else if (value.is_number()) {
        h5::write_attribute(group, name.c_str(), value.get<double>());
    } else if (value.is_string()) {
        h5::write_attribute(group, name.c_str(),
                            std::string_view(value.get_ref<const std::string&>()));
    } else {
        h5::write_attribute(group, name.c_str(), std::string_view(value.dump()));
    }
}

void write_metric(hid_t metrics_group, const MetricSeries& series, hid_t type) {
    const hsize_t count = series.records.size();
    const hsize_t unlimited = H5S_UNLIMITED;
    const hsize_t chunk = chunk_records(series.records.size());
    h5::Dataspace space(H5Screate_simple(1, &count, &unlimited), "cannot create a dataspace");
    h5::PropertyList create(H5Pcreate(H5P_DATASET_CREATE), "cannot create a dataset property list");
    H5Pset_chunk(create.get(), 1, &chunk);
    const std::string link = dataset_name_for_metric(series.name);
    h5::Dataset dataset(H5Dcreate2(metrics_group, link.c_str(), type, space.get(), H5P_DEFAULT,
                                   create.get(), H5P_DEFAULT),
                        "cannot create dataset metrics/" + link);
    if (count > 0 &&
        H5Dwrite(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, series.records.data()) < 0) {
        throw Error(ErrorKind::io,
                    "cannot write metrics/" + link + ": " + h5::last_error_message());
    }
    const MetricStats stats = compute_stats(series);
    h5::write_attribute(dataset.get(), "name", std::string_view(series.name));
    h5::write_attribute(dataset.get(), "count", stats.count);
    h5::write_attribute(dataset.get(), "last_step", stats.last_step);
    h5::write_attribute(dataset.get(), "last_value", stats.last_value);
    h5::write_attribute(dataset.get(), "min_step", stats.min_step);
    h5::write_attribute(dataset.get(), "min_value", stats.min_value);
    h5::write_attribute(dataset.get(), "max_step", stats.max_step);
    h5::write_attribute(dataset.get(), "max_value", stats.max_value);
}

std::string json_attribute(const nlohmann::ordered_json& value) {
    return value.is_null() ? std::string() : value.dump();
}

herr_t collect_link_name(hid_t, const char* name, const H5L_info_t*, void* data) {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
}

std::vector<std::string> link_names(hid_t group) {
    std::vector<std::string> names;
    hsize_t index = 0;
    H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, collect_link_name, &names);
    return names;
}

std::string metric_name_of(hid_t dataset, const std::string& link) {
    if (auto name = h5::read_string_attribute(dataset, "name"))
        return *name;
    std::string name = link;
    for (std::size_t pos; (pos = name.find("%2F")) != std::string::npos;) name.replace(pos, 3, "/");
    return name;
}

double now_unix() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

}  // namespace

std::string dataset_name_for_metric(std::string_view metric_name) {
    std::string link;
    link.reserve(metric_name.size());
    for (const char c : metric_name) {
        if (c == '/') {
            link += "%2F";
        } else {
            link += c;
        }
    }
    return link;
}

std::string format_utc(double unix_seconds) {
    if (unix_seconds <= 0)
        return {};
    const auto seconds = static_cast<std::time_t>(unix_seconds);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
}

MetricStats compute_stats(const MetricSeries& series) {
    MetricStats stats;
    stats.name = series.name;
    stats.count = static_cast<std::int64_t>(series.records.size());
    if (series.records.empty())
        return stats;
    stats.last_step = series.records.back().step;
    stats.last_value = series.records.back().value;
    for (const auto& record : series.records) {
        if (std::isnan(record.value))
            continue;
        if (stats.min_step < 0 || record.value < stats.min_value) {
            stats.min_value = record.value;
            stats.min_step = record.step;
        }
        if (stats.max_step < 0 || record.value > stats.max_value) {
            stats.max_value = record.value;
            stats.max_step = record.step;
        }
    }
    if (stats.min_step < 0) {
        stats.min_value = stats.max_value = std::nan("");
    }
    return stats;
}

void TrialAttributes::fill_from_slurm_environment() {
    slurm_job_id = env_or_empty("SLURM_JOB_ID");
    slurm_array_job_id = env_or_empty("SLURM_ARRAY_JOB_ID");
    slurm_array_task_id = env_or_empty("SLURM_ARRAY_TASK_ID");
    slurm_step_id = env_or_empty("SLURM_STEP_ID");
    nodelist = env_or_empty("SLURM_JOB_NODELIST");
    if (nodelist.empty())
        nodelist = env_or_empty("SLURM_NODELIST");
    slurm_restart_count = std::atoll(env_or_empty("SLURM_RESTART_COUNT").c_str());
}

std::string git_commit_of(const std::filesystem::path& directory) {
    try {
        const auto result = run_process({"git", "-C", directory.string(), "rev-parse", "HEAD"});
        if (!result.ok())
            return {};
        return std::string(trim(result.out));
    } catch (const Error&) {
        return {};  // no git on this node
    }
}

void encode_trial_file(const std::filesystem::path& path, const TrialFileContent& content) {
    std::size_t records = 0;
    for (const auto& series : content.metrics) records += series.records.size();
    h5::MemoryFile file(path.string(),
                        std::max<std::size_t>(1 << 16, records * sizeof(MetricRecord) + (1 << 16)));
    const hid_t root = file.get();
    const auto& attributes = content.attributes;
    h5::write_attribute(root, "format", std::string_view("hpsweep-metrics"));
    h5::write_attribute(root, "format_version", std::int64_t{trial_file_format_version});
    h5::write_attribute(root, "experiment", std::string_view(attributes.experiment));
    h5::write_attribute(root, "trial_id", attributes.trial_id);
    std::vector<std::string> quoted;
    for (const auto& word : attributes.command) quoted.push_back(shell_quote(word));
    h5::write_attribute(root, "command", std::string_view(join(quoted, " ")));
    h5::write_attribute(root, "hyperparameters",
                        std::string_view(attributes.hyperparameters.dump()));
    h5::write_attribute(root, "slurm_job_id", std::string_view(attributes.slurm_job_id));
    h5::write_attribute(root, "slurm_array_job_id",
                        std::string_view(attributes.slurm_array_job_id));
    h5::write_attribute(root, "slurm_array_task_id",
                        std::string_view(attributes.slurm_array_task_id));
    h5::write_attribute(root, "slurm_step_id", std::string_view(attributes.slurm_step_id));
    h5::write_attribute(root, "nodelist", std::string_view(attributes.nodelist));
    h5::write_attribute(root, "slurm_restart_count", attributes.slurm_restart_count);
    h5::write_attribute(root, "plan", std::string_view(json_attribute(attributes.plan)));
    h5::write_attribute(root, "git_commit", std::string_view(attributes.git_commit));
    h5::write_attribute(root, "datastores",
                        std::string_view(json_attribute(attributes.datastores)));
    h5::write_attribute(root, "start", std::string_view(format_utc(content.start_unix)));
    h5::write_attribute(root, "start_unix", content.start_unix);
    h5::write_attribute(root, "end", std::string_view(format_utc(content.end_unix)));
    h5::write_attribute(root, "end_unix", content.end_unix);
    h5::write_attribute(root, "status", std::string_view(content.status));
    h5::write_attribute(root, "exit_code", content.exit_code);
    h5::write_attribute(root, "attempts", content.attempts);
    h5::write_attribute(root, "malformed_lines", content.malformed_lines);
    h5::write_attribute(root, "duplicate_records", content.duplicate_records);
    h5::write_attribute(root, "written_unix", now_unix());
    {
        // Everything the experiment summary needs in one attribute: summarising 1,000 trials
        // then costs one open and one attribute read per file (NaN is stored as null).
        nlohmann::json summary = {
            {"status", content.status},         {"exit_code", content.exit_code},
            {"start_unix", content.start_unix}, {"end_unix", content.end_unix},
            {"attempts", content.attempts},     {"metrics", nlohmann::json::array()}};
        for (const auto& series : content.metrics) {
            const MetricStats stats = compute_stats(series);
            summary["metrics"].push_back({{"name", stats.name},
                                          {"count", stats.count},
                                          {"last_step", stats.last_step},
                                          {"last_value", stats.last_value},
                                          {"min_step", stats.min_step},
                                          {"min_value", stats.min_value},
                                          {"max_step", stats.max_step},
                                          {"max_value", stats.max_value}});
        }
        h5::write_attribute(root, "summary", std::string_view(summary.dump()));
    }

    {
        h5::Group hyperparameters(
            H5Gcreate2(root, "hyperparameters", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            "cannot create group hyperparameters");
        for (const auto& [name, value] : attributes.hyperparameters.items()) {
            write_hyperparameter(hyperparameters.get(), name, value);
        }
    }
    h5::Group metrics(H5Gcreate2(root, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "cannot create group metrics");
    const h5::Datatype type = record_type();
    for (const auto& series : content.metrics) {
        write_metric(metrics.get(), series, type.get());
    }
    metrics.reset();
    file.close();
}

void write_trial_file(const std::filesystem::path& path, const TrialFileContent& content) {
    h5::write_atomically(path, [&](const std::filesystem::path& temporary) {
        encode_trial_file(temporary, content);
    });
}

namespace {
h5::File open_metrics_file(const std::filesystem::path& path) {
    try {
        h5::File file = h5::open_file_readonly(path.string());
        const auto format = h5::read_string_attribute(file.get(), "format");
        if (format && *format != "hpsweep-metrics") {
            throw Error(ErrorKind::data,
                        path.string() + ": not an hpsweep metrics file (format '" + *format + "')");
        }
        return file;
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::data)
            throw;
        throw Error(ErrorKind::data,
                    path.string() + ": not a readable HDF5 file (" + e.what() + ")");
    }
}

template <typename T>
T attribute_or(std::optional<T> value, T fallback) {
    return value ? *value : fallback;
}
}  // namespace

TrialFileContent read_trial_file(const std::filesystem::path& path) {
    const h5::File file = open_metrics_file(path);
    const hid_t root = file.get();
    TrialFileContent content;
    auto& attributes = content.attributes;
    attributes.experiment =
        attribute_or(h5::read_string_attribute(root, "experiment"), std::string());
    attributes.trial_id = attribute_or(h5::read_int_attribute(root, "trial_id"), std::int64_t{-1});
    try {
        attributes.hyperparameters = nlohmann::ordered_json::parse(
            attribute_or(h5::read_string_attribute(root, "hyperparameters"), std::string("{}")));
    } catch (const nlohmann::json::exception&) {
        attributes.hyperparameters = nlohmann::ordered_json::object();
    }
    attributes.git_commit =
        attribute_or(h5::read_string_attribute(root, "git_commit"), std::string());
    content.status =
        attribute_or(h5::read_string_attribute(root, "status"), std::string("unknown"));
    content.exit_code = attribute_or(h5::read_int_attribute(root, "exit_code"), std::int64_t{-1});
    content.start_unix = attribute_or(h5::read_double_attribute(root, "start_unix"), 0.0);
    content.end_unix = attribute_or(h5::read_double_attribute(root, "end_unix"), 0.0);
    content.attempts = attribute_or(h5::read_int_attribute(root, "attempts"), std::int64_t{1});
    content.malformed_lines =
        attribute_or(h5::read_int_attribute(root, "malformed_lines"), std::int64_t{0});
    content.duplicate_records =
        attribute_or(h5::read_int_attribute(root, "duplicate_records"), std::int64_t{0});

    if (H5Lexists(root, "metrics", H5P_DEFAULT) <= 0)
        return content;
    const h5::Group metrics(H5Gopen2(root, "metrics", H5P_DEFAULT),
                            path.string() + ": cannot open group metrics");
    const h5::Datatype type = record_type();
    for (const auto& link : link_names(metrics.get())) {
        const h5::Dataset dataset(H5Dopen2(metrics.get(), link.c_str(), H5P_DEFAULT),
                                  path.string() + ": cannot open metrics/" + link);
        const h5::Dataspace space(H5Dget_space(dataset.get()), "cannot get a dataspace");
        hsize_t count = 0;
        if (H5Sget_simple_extent_ndims(space.get()) != 1) {
            throw Error(ErrorKind::data, path.string() + ": metrics/" + link + " is not 1-D");
        }
        H5Sget_simple_extent_dims(space.get(), &count, nullptr);
        MetricSeries series;
        series.name = metric_name_of(dataset.get(), link);
        series.records.resize(count);
        if (count > 0 && H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                 series.records.data()) < 0) {
            throw Error(ErrorKind::data, path.string() + ": cannot read metrics/" + link + ": " +
                                             h5::last_error_message());
        }
        content.metrics.push_back(std::move(series));
    }
    return content;
}

namespace {
double number_or_nan(const nlohmann::json& value) {
    return value.is_number() ? value.get<double>() : std::nan("");
}

std::optional<TrialFileSummary> summary_from_attribute(hid_t root) {
    const auto text = h5::read_string_attribute(root, "summary");
    if (!text)
        return std::nullopt;
    try {
        const auto json = nlohmann::json::parse(*text);
        TrialFileSummary summary;
        summary.status = json.at("status").get<std::string>();
        summary.exit_code = json.at("exit_code").get<std::int64_t>();
        summary.start_unix = number_or_nan(json.at("start_unix"));
        summary.end_unix = number_or_nan(json.at("end_unix"));
        summary.attempts = json.at("attempts").get<std::int64_t>();
        for (const auto& m : json.at("metrics")) {
            MetricStats stats;
            stats.name = m.at("name").get<std::string>();
            stats.count = m.at("count").get<std::int64_t>();
            stats.last_step = m.at("last_step").get<std::int64_t>();
            stats.last_value = number_or_nan(m.at("last_value"));
            stats.min_step = m.at("min_step").get<std::int64_t>();
            stats.min_value = number_or_nan(m.at("min_value"));
            stats.max_step = m.at("max_step").get<std::int64_t>();
            stats.max_value = number_or_nan(m.at("max_value"));
            summary.metrics.push_back(std::move(stats));
        }
        std::sort(summary.metrics.begin(), summary.metrics.end(),
                  [](const MetricStats& a, const MetricStats& b) { return a.name < b.name; });
        return summary;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;  // fall back to the per-dataset attributes
    }
}
}  // namespace

TrialFileSummary read_trial_file_summary(const std::filesystem::path& path) {
    const h5::File file = open_metrics_file(path);
    const hid_t root = file.get();
    if (auto fast = summary_from_attribute(root))
        return std::move(*fast);
    TrialFileSummary summary;
    summary.status =
        attribute_or(h5::read_string_attribute(root, "status"), std::string("unknown"));
    summary.exit_code = attribute_or(h5::read_int_attribute(root, "exit_code"), std::int64_t{-1});
    summary.start_unix = attribute_or(h5::read_double_attribute(root, "start_unix"), 0.0);
    summary.end_unix = attribute_or(h5::read_double_attribute(root, "end_unix"), 0.0);
    summary.attempts = attribute_or(h5::read_int_attribute(root, "attempts"), std::int64_t{1});
    if (H5Lexists(root, "metrics", H5P_DEFAULT) <= 0)
        return summary;
    const h5::Group metrics(H5Gopen2(root, "metrics", H5P_DEFAULT),
                            path.string() + ": cannot open group metrics");
    for (const auto& link : link_names(metrics.get())) {
        const h5::Dataset dataset(H5Dopen2(metrics.get(), link.c_str(), H5P_DEFAULT),
                                  path.string() + ": cannot open metrics/" + link);
        MetricStats stats;
        stats.name = metric_name_of(dataset.get(), link);
        const auto count = h5::read_int_attribute(dataset.get(), "count");
        if (count) {
            stats.count = *count;
            stats.last_step =
                attribute_or(h5::read_int_attribute(dataset.get(), "last_step"), std::int64_t{-1});
            stats.last_value =
                attribute_or(h5::read_double_attribute(dataset.get(), "last_value"), 0.0);
            stats.min_step =
                attribute_or(h5::read_int_attribute(dataset.get(), "min_step"), std::int64_t{-1});
            stats.min_value =
                attribute_or(h5::read_double_attribute(dataset.get(), "min_value"), 0.0);
            stats.max_step =
                attribute_or(h5::read_int_attribute(dataset.get(), "max_step"), std::int64_t{-1});
            stats.max_value =
                attribute_or(h5::read_double_attribute(dataset.get(), "max_value"), 0.0);
        } else {
            // A file written by another tool without the stats attributes: read the data.
            const h5::Dataspace space(H5Dget_space(dataset.get()), "cannot get a dataspace");
            hsize_t rows = 0;
            H5Sget_simple_extent_dims(space.get(), &rows, nullptr);
            MetricSeries series;
            series.name = stats.name;
            series.records.resize(rows);
            const h5::Datatype type = record_type();
            if (rows > 0 && H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                    series.records.data()) < 0) {
                throw Error(ErrorKind::data, path.string() + ": cannot read metrics/" + link);
            }
            stats = compute_stats(series);
        }
        summary.metrics.push_back(std::move(stats));
    }
    std::sort(summary.metrics.begin(), summary.metrics.end(),
              [](const MetricStats& a, const MetricStats& b) { return a.name < b.name; });
    return summary;
}

}  // namespace hpsweep::metrics
