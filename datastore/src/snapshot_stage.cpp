#include "hpsweep/datastore/snapshot_stage.hpp"

#include <fcntl.h>

#include <cerrno>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "hpsweep/datastore/metadata.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/datastore/snapshot.hpp"
#include "hpsweep/datastore/user_reader.hpp"
#include "hpsweep/error.hpp"

namespace fs = std::filesystem;

namespace hpsweep::datastore {

namespace {

Error bad_value(const std::string& where, const std::string& key, const std::string& why) {
    return Error(ErrorKind::data, where + ": snapshot." + key + " " + why);
}

std::string required_string(const nlohmann::json& record, const std::string& key,
                            const std::string& where) {
    const auto it = record.find(key);
    if (it == record.end() || !it->is_string())
        throw bad_value(where, key, "is missing or not a string");
    return it->get<std::string>();
}

bool lower_hex(const std::string& text) {
    for (const char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

// A path inside the snapshot: relative, normal, never leaving it.
bool inside_relative(const std::string& text) {
    if (text.empty() || text.find('\0') != std::string::npos)
        return false;
    const fs::path p(text);
    if (p.is_absolute() || p.lexically_normal() != p)
        return false;
    for (const auto& part : p) {
        if (part == "..")
            return false;
    }
    return true;
}

}  // namespace

std::optional<RecordedSnapshot> parse_recorded_snapshot(const std::string& experiment_json,
                                                        const std::string& where) {
    nlohmann::json experiment;
    try {
        experiment = nlohmann::json::parse(experiment_json);
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::data, where + ": not valid JSON: " + e.what());
    }
    if (!experiment.is_object())
        throw Error(ErrorKind::data, where + ": not a JSON object");
    const auto it = experiment.find("snapshot");
    if (it == experiment.end() || !it->is_object())
        return std::nullopt;
    const auto& record = *it;
    const auto enabled = record.find("enabled");
    if (enabled == record.end() || !enabled->is_boolean() || !enabled->get<bool>())
        return std::nullopt;

    RecordedSnapshot out;
    out.dataset = required_string(record, "dataset", where);
    try {
        validate_dataset_name(out.dataset);
    } catch (const Error& e) {
        throw bad_value(where, "dataset", std::string("is not a dataset name: ") + e.what());
    }
    out.dataset_id = required_string(record, "dataset_id", where);
    if (!valid_dataset_id(out.dataset_id))
        throw bad_value(where, "dataset_id", "is not a dataset id ([a-z0-9]{8,64})");
    const auto version = record.find("version");
    if (version == record.end() || !version->is_number_integer() || version->get<long long>() < 1 ||
        version->get<long long>() > std::numeric_limits<int>::max())
        throw bad_value(where, "version", "is not a version number");
    out.version = version->get<int>();
    const std::string root = required_string(record, "datastore_root", where);
    if (root.empty() || root.front() != '/' || root.find('\0') != std::string::npos)
        throw bad_value(where, "datastore_root", "is not an absolute path");
    out.datastore_root = root;
    if (const auto workdir = record.find("workdir"); workdir != record.end()) {
        if (!workdir->is_string())
            throw bad_value(where, "workdir", "is not a string");
        const std::string text = workdir->get<std::string>();
        if (text != "." && !inside_relative(text))
            throw bad_value(where, "workdir", "is not a relative path inside the snapshot");
        if (text != ".")
            out.workdir = text;
    }
    if (const auto git = record.find("git"); git != record.end() && git->is_object()) {
        if (const auto commit = git->find("commit"); commit != git->end() && commit->is_string()) {
            const std::string text = commit->get<std::string>();
            if (!text.empty() && !((text.size() == 40 || text.size() == 64) && lower_hex(text)))
                throw bad_value(where, "git.commit", "is not a commit id");
            out.commit = text;
        }
    }
    return out;
}

std::optional<RecordedSnapshot> read_recorded_snapshot_as(const Credentials& who,
                                                          const fs::path& experiment_dir) {
    const fs::path file = experiment_dir / "experiment.json";
    std::optional<std::string> text;
    std::exception_ptr error;
    // A thread of its own takes the user's file credentials (detail::ThreadFsIdentity): the
    // kernel decides what the user may open, root never looks the path up itself.
    std::thread reader([&] {
        try {
            const detail::ThreadFsIdentity as_user(who);
            const UniqueFd dir(
                ::open(experiment_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK));
            if (!dir) {
                if (errno == ENOENT || errno == ENOTDIR)
                    return;  // --hpsweep-trial's own check names it
                throw_errno("cannot open the experiment directory " + experiment_dir.string());
            }
            const UniqueFd probe = detail::open_beneath(dir.get(), "experiment.json", O_RDONLY);
            if (!probe && errno == ENOENT)
                return;  // an experiment directory made by hand: no snapshot
            text = detail::read_regular_beneath(dir.get(), "experiment.json",
                                                experiment_record_max_bytes, file.string());
        } catch (...) {
            error = std::current_exception();
        }
    });
    reader.join();
    if (error)
        std::rethrow_exception(error);
    if (!text)
        return std::nullopt;
    return parse_recorded_snapshot(*text, file.string());
}

StageResult stage_recorded_snapshot(const Store& store, const CacheConfig& cache,
                                    const RecordedSnapshot& snapshot, const Credentials& who,
                                    const std::string& where) {
    if (snapshot.datastore_root.lexically_normal() != store.root().lexically_normal()) {
        throw Error(ErrorKind::state, where + ": the code snapshot is in the datastore " +
                                          snapshot.datastore_root.string() +
                                          ", not in this cluster's (" + store.root().string() +
                                          "); resubmit the experiment here");
    }
    const std::string own = snapshot_dataset_name(who.uid);
    if (snapshot.dataset != own) {
        throw Error(ErrorKind::state, where + ": the code snapshot names dataset '" +
                                          snapshot.dataset + "', not the job user's own '" + own +
                                          "'");
    }
    StageOptions options;
    options.expected_dataset_id = snapshot.dataset_id;
    options.expected_owner = who.uid;
    return stage(store, cache, Ref{snapshot.dataset, snapshot.version, std::nullopt}, who, options);
}

}  // namespace hpsweep::datastore
