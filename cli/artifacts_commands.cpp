// `hpsweep artifacts EXP [TRIAL|--best] [--to DIR]`: what trials kept in
// $HPSWEEP_ARTIFACTS_DIR (EXP/trials/<id>/artifacts/), listed, or copied into a directory
// of the user's project (Batch AI's "download the models").

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "artifacts.hpp"
#include "command_registry.hpp"
#include "experiment_lookup.hpp"
#include "hpsweep/byte_sizes.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/metrics/summary.hpp"
#include "option_values.hpp"

namespace hpsweep::cli {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

std::vector<Artifact> list_artifacts(const fs::path& dir) {
    std::vector<Artifact> out;
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(dir, ec)))
        return out;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto status = it->symlink_status(ec);
        if (ec)
            break;
        if (fs::is_directory(status))
            continue;
        Artifact a;
        a.path = it->path().lexically_relative(dir).string();
        a.symlink = fs::is_symlink(status);
        a.bytes = fs::is_regular_file(status) ? it->file_size(ec) : 0;
        out.push_back(std::move(a));
    }
    if (ec)
        throw Error(ErrorKind::io, "cannot list " + dir.string() + ": " + ec.message());
    std::sort(out.begin(), out.end(),
              [](const Artifact& a, const Artifact& b) { return a.path < b.path; });
    return out;
}

ordered_json to_json(const std::vector<Artifact>& artifacts) {
    ordered_json files = ordered_json::array();
    for (const auto& a : artifacts)
        files.push_back({{"path", a.path}, {"bytes", a.bytes}, {"symlink", a.symlink}});
    return files;
}

namespace {

struct ArtifactsOptions {
    std::string experiment;
    std::optional<long> trial;
    bool best = false;
    std::string metric;
    std::string to;
    bool json = false;
};

long choose_trial(const fs::path& root, const ArtifactsOptions& options) {
    if (options.trial && options.best)
        throw Error(ErrorKind::usage, "give a TRIAL or --best, not both");
    if (options.trial)
        return *options.trial;
    const auto results = metrics::collect_results(root);
    const std::string metric = options.metric.empty() ? results.primary_metric() : options.metric;
    if (metric.empty())
        throw Error(ErrorKind::state,
                    root.string() + ": no trial reported a metric, so none is best");
    const auto best = results.best_trial(metric);
    if (!best)
        throw Error(ErrorKind::state, fmt::format("{}: no trial reported {}, so none is best",
                                                  root.string(), metric));
    return results.trials[*best].id;
}

// Copies the trial's artifacts into `to` (created when missing); refuses to overwrite.
void copy_artifacts(const fs::path& from, const std::vector<Artifact>& artifacts,
                    const fs::path& to) {
    std::error_code ec;
    for (const auto& a : artifacts) {
        if (fs::exists(fs::symlink_status(to / a.path, ec)))
            throw Error(ErrorKind::state, (to / a.path).string() +
                                              " exists; nothing was copied (choose another --to)");
    }
    fs::create_directories(to, ec);
    if (ec)
        throw Error(ErrorKind::io, "cannot create " + to.string() + ": " + ec.message());
    for (const auto& a : artifacts) {
        const fs::path target = to / a.path;
        fs::create_directories(target.parent_path(), ec);
        if (!ec)
            fs::copy(from / a.path, target, fs::copy_options::copy_symlinks, ec);
        if (ec)
            throw Error(ErrorKind::io,
                        fmt::format("cannot copy {} to {}: {}", (from / a.path).string(),
                                    target.string(), ec.message()));
    }
}

void run_artifacts(const ArtifactsOptions& options) {
    const fs::path root = find_experiment(options.experiment);
    const ExperimentDir exp(root);
    if (!options.trial && !options.best)
        throw Error(ErrorKind::usage, "give a TRIAL id or --best");
    const long trial = choose_trial(root, options);
    exp.read_trial(trial);  // Error(data) naming the table when there is no such trial
    const fs::path dir = exp.trial_artifacts(trial);
    const auto artifacts = list_artifacts(dir);
    if (!options.to.empty())
        copy_artifacts(dir, artifacts, fs::absolute(options.to));

    std::uint64_t total = 0;
    for (const auto& a : artifacts) total += a.bytes;
    if (options.json || global_options().json) {
        ordered_json out{{"experiment", root.filename().string()},
                         {"trial", trial},
                         {"directory", dir.string()},
                         {"files", to_json(artifacts)},
                         {"bytes", total}};
        if (!options.to.empty())
            out["copied_to"] = fs::absolute(options.to).string();
        std::cout << out.dump(2) << std::endl;
        return;
    }
    for (const auto& a : artifacts)
        std::printf("%10s  %s\n", human_bytes(static_cast<double>(a.bytes)).c_str(),
                    a.path.c_str());
    if (artifacts.empty())
        std::printf("trial %ld kept no artifacts (%s is empty)\n", trial, dir.c_str());
    else if (!options.to.empty())
        std::printf("copied %zu file(s), %s, of trial %ld to %s\n", artifacts.size(),
                    human_bytes(static_cast<double>(total)).c_str(), trial,
                    fs::absolute(options.to).c_str());
}

void add_artifacts_command(CLI::App& app) {
    auto options = std::make_shared<ArtifactsOptions>();
    auto* cmd = app.add_subcommand("artifacts",
                                   "List or copy a trial's artifacts ($HPSWEEP_ARTIFACTS_DIR)");
    cmd->add_option("experiment", options->experiment, "Experiment name or directory")->required();
    add_integer_option(cmd, "trial", options->trial, "Trial id", 0);
    cmd->add_flag("--best", options->best, "The best trial (by the experiment's metric)");
    cmd->add_option("--metric", options->metric, "With --best: rank trials by this metric");
    cmd->add_option("--to", options->to, "Copy the artifacts into this directory");
    cmd->add_flag("--json", options->json, "Machine-readable output");
    cmd->callback([options] { run_artifacts(*options); });
}

const CommandRegistrar registrar{"artifacts", &add_artifacts_command};

}  // namespace
}  // namespace hpsweep::cli
