#include "trial_snapshot.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "hpsweep/datastore/credentials.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/settings.hpp"
#include "hpsweep/datastore/store.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"

namespace fs = std::filesystem;

namespace hpsweep::launcher {

std::vector<std::string> StagedSnapshot::rewrite(std::vector<std::string> argv) const {
    for (const auto& r : replaced_words) {
        if (r.index < argv.size() && argv[r.index] == r.word)
            argv[r.index] = r.in_copy;
    }
    return argv;
}

std::optional<StagedSnapshot> stage_trial_snapshot(const fs::path& experiment) {
    const ExperimentDir dir(experiment);
    std::error_code ec;
    if (!fs::exists(dir.metadata_path(), ec))
        return std::nullopt;
    const nlohmann::json record = dir.read_record().snapshot;
    if (!record.is_object() || !record.value("enabled", false))
        return std::nullopt;
    const std::string where = dir.metadata_path().string() + ": snapshot";
    std::string dataset, dataset_id, root;
    int version = 0;
    try {
        dataset = record.at("dataset").get<std::string>();
        dataset_id = record.at("dataset_id").get<std::string>();
        root = record.at("datastore_root").get<std::string>();
        version = record.at("version").get<int>();
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::data, where + ": " + e.what());
    }

    const datastore::Store store{fs::path(root)};
    const auto who = datastore::Credentials::current();
    const datastore::Ref ref{dataset, version, std::nullopt};
    const auto resolved = store.resolve(ref, who);
    if (resolved.dataset_id != dataset_id || resolved.owner_uid != ::geteuid()) {
        throw Error(ErrorKind::state,
                    where + ": " + ref.str() + " in " + root +
                        " is not the snapshot this experiment stored (it was deleted and "
                        "the name reused); resubmit the experiment");
    }
    auto settings = datastore::load_settings();
    auto staged = datastore::stage(store, settings.cache(), ref, who);
    if (!staged.warning.empty())
        std::fprintf(stderr, "hpsweep-launch: code snapshot %s: %s\n", ref.str().c_str(),
                     staged.warning.c_str());

    StagedSnapshot out;
    out.root = staged.path;
    out.lease = std::move(staged.lease);
    if (const auto workdir = record.find("workdir");
        workdir != record.end() && workdir->is_string()) {
        const fs::path target = (out.root / workdir->get<std::string>()).lexically_normal();
        if (::chdir(target.c_str()) != 0) {
            throw_errno("cannot change to " + target.string() +
                        " (the submit directory in the code snapshot)");
        }
    }
    if (const auto words = record.find("entrypoint_paths");
        words != record.end() && words->is_array()) {
        for (const auto& w : *words) {
            out.replaced_words.push_back(
                {w.value("index", std::size_t{0}), w.value("word", std::string()),
                 (out.root / w.value("path", std::string())).lexically_normal().string()});
        }
    }
    if (::setenv("HPSWEEP_SNAPSHOT_DIR", out.root.c_str(), 1) != 0)
        throw_errno("cannot set HPSWEEP_SNAPSHOT_DIR");
    if (const auto git = record.find("git"); git != record.end() && git->is_object()) {
        const std::string commit = git->value("commit", std::string());
        if (!commit.empty() && ::setenv("HPSWEEP_SNAPSHOT_COMMIT", commit.c_str(), 1) != 0)
            throw_errno("cannot set HPSWEEP_SNAPSHOT_COMMIT");
    }
    return out;
}

}  // namespace hpsweep::launcher
