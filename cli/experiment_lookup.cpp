#include "experiment_lookup.hpp"

#include <fmt/format.h>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/site_config.hpp"
#include "hpsweep/strings.hpp"
#include "hpsweep/users.hpp"

namespace fs = std::filesystem;

namespace hpsweep::cli {

namespace {

bool is_experiment_dir(const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / "experiment.json", ec) ||
           fs::is_regular_file(dir / "trials.jsonl", ec);
}

std::optional<fs::path> user_home() {
    if (const char* home = std::getenv("HOME"); home && *home)
        return fs::path(home);
    return std::nullopt;
}

// "4242" or "4242_3": the array job id part, if TEXT is shaped like a Slurm job id.
std::optional<std::string> array_job_part(const std::string& text) {
    const std::string job = text.substr(0, text.find('_'));
    if (job.empty() || !std::all_of(job.begin(), job.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
        }))
        return std::nullopt;
    if (job.size() != text.size()) {
        const std::string task = text.substr(job.size() + 1);
        if (task.empty() || !std::all_of(task.begin(), task.end(), [](char c) {
                return std::isdigit(static_cast<unsigned char>(c));
            }))
            return std::nullopt;
    }
    return job;
}

// The newest "<name>-*" experiment in HOME (ids end in a timestamp, so newest sorts last).
std::optional<fs::path> newest_named(const fs::path& home, const std::string& name) {
    std::optional<fs::path> newest;
    std::error_code ec;
    if (!fs::is_directory(home, ec))
        return newest;
    for (const auto& entry : fs::directory_iterator(home, ec)) {
        const std::string dirname = entry.path().filename().string();
        if (dirname.rfind(name + "-", 0) != 0 || !is_experiment_dir(entry.path()))
            continue;
        if (!newest || dirname > newest->filename().string())
            newest = entry.path();
    }
    return newest;
}

std::optional<ExperimentRecord> metadata_of(const fs::path& dir) {
    try {
        return ExperimentDir(dir).read_record();
    } catch (const Error&) {
        return std::nullopt;  // not ours or damaged: skipped
    }
}

}  // namespace

// The site's experiments_dir for this user (site config; ~/hpsweep-runs by default), or
// nothing when this user has no home to put "~/..." in.
std::optional<fs::path> site_experiments_dir() {
    const SiteConfig site = load_site_config();
    const auto home = user_home();
    if (site.experiments_dir.starts_with("~/") && !home)
        return std::nullopt;
    const passwd* user = ::getpwuid(::getuid());
    if (user == nullptr) {
        throw Error(ErrorKind::config,
                    fmt::format("experiments_dir: user id {} has no user name", ::getuid()));
    }
    return experiments_dir_for(site, user->pw_name, home.value_or(fs::path("/")));
}

fs::path default_experiments_home() {
    if (const char* home = std::getenv("HPSWEEP_HOME"); home && *home)
        return fs::absolute(home);
    if (const auto site_dir = site_experiments_dir())
        return *site_dir;
    return fs::current_path() / "hpsweep-runs";
}

std::vector<fs::path> experiment_homes() {
    std::vector<fs::path> homes;
    auto add = [&](const fs::path& p) {
        const fs::path normal = p.lexically_normal();
        if (std::find(homes.begin(), homes.end(), normal) == homes.end())
            homes.push_back(normal);
    };
    add(default_experiments_home());
    if (const auto site_dir = site_experiments_dir())
        add(*site_dir);
    if (const auto home = user_home())
        add(*home / "hpsweep-runs");
    std::error_code ec;
    const fs::path cwd = fs::current_path(ec);
    if (!ec)
        add(cwd / "hpsweep-runs");
    return homes;
}

std::vector<fs::path> all_experiments() {
    std::vector<fs::path> found;
    for (const auto& home : experiment_homes()) {
        std::error_code ec;
        if (!fs::is_directory(home, ec))
            continue;
        for (const auto& entry : fs::directory_iterator(home, ec)) {
            const std::string dirname = entry.path().filename().string();
            if (dirname.empty() || dirname.front() == '.')
                continue;
            if (fs::is_regular_file(entry.path() / "experiment.json", ec))
                found.push_back(entry.path());
        }
    }
    return found;
}

std::optional<fs::path> find_experiment_by_job(const std::string& job_id) {
    const auto job = array_job_part(job_id);
    if (!job)
        return std::nullopt;
    for (const auto& dir : all_experiments()) {
        const auto metadata = metadata_of(dir);
        if (!metadata)
            continue;
        for (const auto& array : metadata->arrays) {
            if (array.job_id == *job)
                return dir;
        }
    }
    return std::nullopt;
}

fs::path find_experiment(const std::string& exp) {
    if (exp.empty())
        throw Error(ErrorKind::usage, "no experiment given");
    const fs::path as_path(exp);
    if (is_experiment_dir(as_path))
        return fs::absolute(as_path);
    const auto homes = experiment_homes();
    const bool plain_name = exp.find('/') == std::string::npos && exp != "." && exp != "..";
    if (plain_name) {
        for (const auto& home : homes) {
            if (is_experiment_dir(home / exp))
                return home / exp;
        }
        for (const auto& home : homes) {
            if (auto newest = newest_named(home, exp))
                return *newest;
        }
        if (auto by_job = find_experiment_by_job(exp))
            return *by_job;
    }
    std::vector<std::string> searched;
    for (const auto& home : homes) searched.push_back(home.string());
    throw Error(ErrorKind::usage,
                fmt::format("experiment '{}' not found: not a directory with experiment.json, and "
                            "no experiment of that name or Slurm job id in {} (set HPSWEEP_HOME "
                            "to look elsewhere; `hpsweep list` shows them all)",
                            exp, join(searched, ", ")));
}

std::string name_reuse_note(const std::string& name, const std::string& new_id) {
    std::vector<std::string> earlier;
    for (const auto& dir : all_experiments()) {
        const std::string id = dir.filename().string();
        if (id == new_id)
            continue;
        const auto metadata = metadata_of(dir);
        if (metadata && metadata->name == name)
            earlier.push_back(id);
    }
    if (earlier.empty())
        return {};
    std::sort(earlier.begin(), earlier.end());
    return fmt::format(
        "note: the name '{}' now means {}; the {} earlier experiment(s) of that "
        "name keep their full ids (latest before: {})",
        name, new_id, earlier.size(), earlier.back());
}

void check_experiment_writable(const fs::path& root, const std::string& action) {
    if (::access(root.c_str(), W_OK) == 0)
        return;
    struct stat st {};
    const std::string owner =
        ::stat(root.c_str(), &st) == 0 ? user_name(st.st_uid) : std::string("its owner");
    throw Error(ErrorKind::state, fmt::format("permission denied: cannot write to experiment {} "
                                              "(it belongs to {}); only its owner can {}",
                                              root.string(), owner, action));
}

}  // namespace hpsweep::cli
