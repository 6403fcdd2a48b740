#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/pbt.hpp"

namespace hpsweep::searcher {

namespace fs = std::filesystem;

namespace {

nlohmann::ordered_json to_json(const PbtMember& m) {
    return {{"trial", m.trial_id},
            {"value", std::isfinite(m.value) ? nlohmann::ordered_json(m.value) : nullptr},
            {"hyperparameters", m.hyperparameters},
            {"checkpoint", m.checkpoint}};
}

PbtMember member_from_json(const nlohmann::ordered_json& j) {
    PbtMember m;
    m.trial_id = j.at("trial").get<long>();
    m.value = j.at("value").is_null() ? std::nan("") : j.at("value").get<double>();
    m.hyperparameters = j.at("hyperparameters");
    m.checkpoint = j.at("checkpoint").get<std::string>();
    return m;
}

}  // namespace

std::uint64_t pbt_decision_seed(std::uint64_t sweep_seed, long trial, long ready_point) {
    return derive_seed(sweep_seed,
                       "pbt#" + std::to_string(trial) + "@" + std::to_string(ready_point));
}

PbtStore::PbtStore(fs::path experiment_dir, std::vector<Hyperparameter> space, PbtSettings settings,
                   std::uint64_t seed)
    : root_(std::move(experiment_dir) / "pbt"),
      space_(std::move(space)),
      settings_(std::move(settings)),
      seed_(seed) {}

fs::path PbtStore::ready_dir(long ready_point) const {
    return root_ / ("ready" + std::to_string(ready_point));
}

std::vector<PbtMember> PbtStore::members_at(long ready_point) const {
    std::vector<std::pair<long, PbtMember>> slots;
    std::error_code ec;
    for (fs::directory_iterator it(ready_dir(ready_point), ec), end; !ec && it != end;
         it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        try {
            slots.emplace_back(
                std::stol(name),
                member_from_json(nlohmann::ordered_json::parse(read_file(it->path()))));
        } catch (const std::exception&) {
            continue;  // never a half record (they are linked complete); skip foreign files
        }
    }
    std::sort(slots.begin(), slots.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<PbtMember> out;
    for (auto& [slot, member] : slots) out.push_back(std::move(member));
    return out;
}

std::optional<PbtExploit> PbtStore::report(long ready_point, const PbtMember& member) {
    fs::create_directories(ready_dir(ready_point));
    auto members = members_at(ready_point);
    auto mine = std::find_if(members.begin(), members.end(),
                             [&](const PbtMember& m) { return m.trial_id == member.trial_id; });
    if (mine == members.end()) {
        const fs::path temp = ready_dir(ready_point) / (".tmp." + std::to_string(member.trial_id) +
                                                        "." + std::to_string(::getpid()));
        write_file_atomic(temp, to_json(member).dump());
        for (size_t slot = members.size();; ++slot) {
            const fs::path target = ready_dir(ready_point) / std::to_string(slot);
            if (::link(temp.c_str(), target.c_str()) == 0)
                break;
            if (errno != EEXIST) {
                const int saved = errno;
                fs::remove(temp);
                throw Error(ErrorKind::io, "cannot record PBT result " + target.string() + ": " +
                                               std::strerror(saved));
            }
        }
        fs::remove(temp);
        members = members_at(ready_point);
        mine = std::find_if(members.begin(), members.end(),
                            [&](const PbtMember& m) { return m.trial_id == member.trial_id; });
    }
    // Judge against the arrivals up to and including this trial's own record.
    members.erase(mine + 1, members.end());
    return pbt_decide(space_, settings_, members, member.trial_id,
                      pbt_decision_seed(seed_, member.trial_id, ready_point));
}

void PbtStore::record_lineage(long ready_point, long trial, const PbtExploit& exploit) const {
    fs::create_directories(root_);
    const std::string line = nlohmann::ordered_json{{"trial", trial},
                                                    {"ready_point", ready_point},
                                                    {"copied_from", exploit.source_trial},
                                                    {"checkpoint", exploit.checkpoint},
                                                    {"hyperparameters", exploit.hyperparameters}}
                                 .dump() +
                             "\n";
    // One write(2) of a short line with O_APPEND: lines of concurrent trials never interleave
    // on a local file system; NFS has no atomic append, and the lineage is a log, not a contract.
    const auto path = root_ / "lineage.jsonl";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd || ::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        throw Error(ErrorKind::io,
                    "cannot append to " + path.string() + ": " + std::strerror(errno));
}

}  // namespace hpsweep::searcher
