#include "snapshot_support.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "experiment_lookup.hpp"
#include "hpsweep/byte_sizes.hpp"
#include "hpsweep/datastore/settings.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace hpsweep::cli {

namespace {

namespace ds = hpsweep::datastore;

constexpr std::size_t biggest_shown = 5;

// Programs that run a script named by their first argument.
bool is_interpreter(const std::string& word) {
    const std::string base = fs::path(word).filename().string();
    if (base.rfind("python", 0) == 0)
        return true;
    for (const char* known : {"bash", "sh", "dash", "zsh", "Rscript", "julia", "perl", "ruby",
                              "node", "torchrun", "accelerate", "deepspeed"}) {
        if (base == known)
            return true;
    }
    return false;
}

// Programs installed on the system (/bin/true, /usr/bin/env) are the machine's, not the
// experiment's code: they name no script to snapshot.
bool is_system_program(const fs::path& path) {
    std::error_code ec;
    const fs::path real = fs::canonical(path, ec);
    const std::string text = (ec ? fs::absolute(path) : real).string();
    for (const char* prefix :
         {"/bin/", "/sbin/", "/usr/", "/lib/", "/lib64/", "/etc/", "/opt/", "/snap/", "/nix/"}) {
        if (text.rfind(prefix, 0) == 0)
            return true;
    }
    return false;
}

// The entrypoint's script: the word after an interpreter (unless options come first, as in
// `python -m pkg` or `bash -c CODE`: then the first later word naming a file, if any), or
// the program itself when it is a path ("./train.sh"). A bare command name ("sleep") is
// looked up in PATH by Slurm and has no script, nor has a program of the system. Throws
// Error(usage) for a script that is named but does not exist.
std::optional<fs::path> entrypoint_script(const std::vector<std::string>& entrypoint) {
    if (entrypoint.empty())
        return std::nullopt;
    const auto missing = [](const std::string& word) {
        return Error(ErrorKind::usage,
                     fmt::format("script {} does not exist (relative to {}); nothing was "
                                 "submitted",
                                 word, fs::current_path().string()));
    };
    std::error_code ec;
    if (!is_interpreter(entrypoint[0])) {
        const std::string& program = entrypoint[0];
        if (program.find('/') == std::string::npos)
            return fs::is_regular_file(program, ec) ? std::optional<fs::path>(program)
                                                    : std::nullopt;
        if (!fs::is_regular_file(program, ec))
            throw missing(program);
        if (is_system_program(program))
            return std::nullopt;
        return fs::path(program);
    }
    if (entrypoint.size() < 2)
        return std::nullopt;
    if (entrypoint[1].empty() || entrypoint[1].front() != '-') {
        if (!fs::is_regular_file(entrypoint[1], ec))
            throw missing(entrypoint[1]);
        return fs::path(entrypoint[1]);
    }
    for (std::size_t i = 2; i < entrypoint.size(); ++i) {
        if (!entrypoint[i].empty() && entrypoint[i].front() != '-' &&
            fs::is_regular_file(entrypoint[i], ec))
            return fs::path(entrypoint[i]);
    }
    return std::nullopt;
}

// Directories that never hold code and may sit inside the context: where experiments are
// written, the datastore and the node-local cache.
std::vector<fs::path> never_snapshotted() {
    const auto settings = ds::load_settings();
    return {default_experiments_home(), settings.datastore_root, settings.cache_dir};
}

std::uint64_t snapshot_limit(const SnapshotCliOptions& options) {
    std::string text = options.limit;
    std::string origin = "--snapshot-limit";
    if (text.empty()) {
        if (const char* env = std::getenv("HPSWEEP_SNAPSHOT_LIMIT"); env && *env) {
            text = env;
            origin = "HPSWEEP_SNAPSHOT_LIMIT";
        }
    }
    if (text.empty())
        return ds::default_snapshot_limit;
    try {
        return parse_size(text);
    } catch (const Error& e) {
        throw Error(ErrorKind::usage, origin + " '" + text + "': " + e.what());
    }
}

bool inside(const fs::path& path, const fs::path& dir) {
    const auto rel = path.lexically_relative(dir);
    return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

void add_snapshot_options(CLI::App* command, SnapshotCliOptions& options) {
    command->add_option("--context", options.context,
                        "Directory snapshotted as the sweep's code (default: the git work "
                        "tree holding the script, else its directory)");
    command->add_flag("--no-snapshot", options.disabled,
                      "Run the files on disk when each trial starts, not a snapshot taken now");
    command->add_option("--snapshot-limit", options.limit,
                        "Largest snapshot accepted (default 100M; HPSWEEP_SNAPSHOT_LIMIT)");
}

SnapshotPlan plan_snapshot(const std::vector<std::string>& entrypoint,
                           const SnapshotCliOptions& options, const std::string& config_context,
                           const fs::path& config_dir) {
    SnapshotPlan plan;
    plan.submit_cwd = fs::current_path();
    plan.script = entrypoint_script(entrypoint);  // checked even without a snapshot
    plan.limit = snapshot_limit(options);
    std::optional<fs::path> context;
    if (!options.context.empty()) {
        context = fs::absolute(options.context);
    } else if (!config_context.empty()) {
        context = fs::absolute(config_dir / config_context);
    }
    if (context) {
        std::error_code ec;
        if (!fs::is_directory(*context, ec)) {
            throw Error(ErrorKind::usage,
                        fmt::format("snapshot context {} is not a directory{}; nothing was "
                                    "submitted",
                                    context->string(), ec ? ": " + ec.message() : ""));
        }
    }
    if (options.disabled) {
        plan.skipped_reason = "--no-snapshot";
        return plan;
    }
    if (context) {
        plan.source = ds::list_snapshot_source(*context, never_snapshotted());
    } else if (plan.script) {
        plan.source = ds::list_script_snapshot_source(*plan.script, never_snapshotted());
    } else {
        plan.skipped_reason =
            "the entrypoint names no script file outside the system's "
            "directories (give --context DIR to snapshot one)";
        return plan;
    }
    ds::check_snapshot_size(*plan.source, plan.limit);
    return plan;
}

ordered_json snapshot_plan_json(const SnapshotPlan& plan) {
    if (!plan.source)
        return {{"enabled", false}, {"reason", plan.skipped_reason}};
    ordered_json biggest = ordered_json::array();
    for (const auto& f : plan.source->biggest(biggest_shown))
        biggest.push_back({{"path", f.path}, {"bytes", f.size}});
    return {{"enabled", true},
            {"context", plan.source->context.string()},
            {"git", plan.source->git},
            {"files", plan.source->files.size()},
            {"bytes", plan.source->total_bytes},
            {"limit", plan.limit},
            {"biggest", biggest}};
}

void print_snapshot_plan(const SnapshotPlan& plan) {
    if (!plan.source) {
        std::printf("Code snapshot: none (%s)\n", plan.skipped_reason.c_str());
        return;
    }
    const auto& s = *plan.source;
    std::printf("Code snapshot of %s%s: %zu file(s), %s (limit %s)\n", s.context.c_str(),
                s.git ? " (git work tree)" : "", s.files.size(),
                human_bytes(static_cast<double>(s.total_bytes)).c_str(),
                human_bytes(static_cast<double>(plan.limit)).c_str());
    for (const auto& f : s.biggest(biggest_shown))
        std::printf("  %10s  %s\n", human_bytes(static_cast<double>(f.size)).c_str(),
                    f.path.c_str());
}

ordered_json store_snapshot_for_experiment(const SnapshotPlan& plan,
                                           const std::vector<std::string>& entrypoint,
                                           const fs::path& diff_file) {
    if (!plan.source)
        return {{"enabled", false}, {"reason", plan.skipped_reason}};
    const auto& source = *plan.source;
    const auto started = std::chrono::steady_clock::now();
    const ds::Store store(fs::absolute(ds::load_settings().datastore_root));
    const auto index_dir = ds::default_snapshot_index_dir();
    const auto stored = ds::store_snapshot(
        store, source,
        index_dir.empty() ? fs::path() : ds::snapshot_index_file(index_dir, source.context, store));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    ordered_json record{{"enabled", true},
                        {"dataset", stored.dataset},
                        {"dataset_id", stored.dataset_id},
                        {"version", stored.version},
                        {"datastore_root", store.root().string()},
                        {"context", source.context.string()},
                        {"files", stored.files},
                        {"bytes", stored.bytes},
                        {"new_bytes", stored.new_bytes},
                        {"unchanged", stored.unchanged},
                        {"seconds", seconds}};
    // How the trial finds its files in the copy: the working directory when the submit
    // directory is inside the context, and each entrypoint word naming a file inside it.
    std::error_code ec;
    const fs::path cwd = fs::weakly_canonical(plan.submit_cwd, ec);
    record["submit_cwd"] = cwd.string();
    // Only a directory the copy has: a submit directory that git ignores (a scratch
    // directory in a build tree) is not in it, and the trial stays where it was submitted.
    bool cwd_inside = cwd == source.context;
    if (cwd_inside) {
        record["workdir"] = ".";
    } else if (inside(cwd, source.context)) {
        const std::string rel = cwd.lexically_relative(source.context).string();
        for (const auto& f : source.files) {
            if (f.path.size() > rel.size() && f.path.compare(0, rel.size(), rel) == 0 &&
                f.path[rel.size()] == '/') {
                cwd_inside = true;
                record["workdir"] = rel;
                break;
            }
        }
    }
    ordered_json words = ordered_json::array();
    for (std::size_t i = 0; i < entrypoint.size(); ++i) {
        const std::string& word = entrypoint[i];
        if (word.empty() || word.front() == '-')
            continue;
        const fs::path as_path(word);
        if (cwd_inside && as_path.is_relative())
            continue;  // resolves inside the copy already
        const fs::path real = fs::weakly_canonical(cwd / as_path, ec);
        if (ec || !fs::exists(real, ec) || !inside(real, source.context))
            continue;
        words.push_back({{"index", i},
                         {"word", word},
                         {"path", real.lexically_relative(source.context).string()}});
    }
    record["entrypoint_paths"] = words;

    if (const auto git = ds::git_state(source)) {
        ordered_json g{{"commit", git->commit},
                       {"branch", git->branch},
                       {"dirty", !git->diff.empty() || !git->untracked.empty()},
                       {"untracked", git->untracked}};
        if (!git->diff.empty()) {
            write_file_atomic(diff_file, git->diff, 0644);
            g["diff"] = diff_file.filename().string();
            if (git->diff_truncated)
                g["diff_truncated"] = true;
        }
        record["git"] = g;
    }
    return record;
}

}  // namespace hpsweep::cli
