#pragma once
// A trial's artifacts ($HPSWEEP_ARTIFACTS_DIR = EXP/trials/<id>/artifacts/), for
// `hpsweep artifacts` and the `artifacts` list of `hpsweep results --json`.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hpsweep::cli {

struct Artifact {
    std::string path;  // relative to the trial's artifacts/
    std::uint64_t bytes = 0;
    bool symlink = false;
};

// Files below `dir`, sorted; symbolic links are listed, never followed. Empty when the
// directory does not exist (a trial that has not started, or kept nothing).
std::vector<Artifact> list_artifacts(const std::filesystem::path& dir);
// [{"path", "bytes", "symlink"}]
nlohmann::ordered_json to_json(const std::vector<Artifact>& artifacts);

}  // namespace hpsweep::cli
