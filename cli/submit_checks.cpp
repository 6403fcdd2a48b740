#include "submit_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "hpsweep/datastore/credentials.hpp"
#include "hpsweep/datastore/paths.hpp"
#include "hpsweep/datastore/settings.hpp"
#include "hpsweep/datastore/store.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/strings.hpp"
#include "slurm_nodes.hpp"

namespace hpsweep::cli {

namespace {

namespace ds = hpsweep::datastore;

// " (did you mean 'X'?)" for the candidate within two edits of WORD (a third of its length
// for long words), else "".
std::string nearest_hint(const std::string& word, const std::vector<std::string>& candidates) {
    std::string nearest;
    std::size_t best = std::max<std::size_t>(3, word.size() / 3 + 1);
    for (const auto& candidate : candidates) {
        const std::size_t distance = edit_distance(word, candidate);
        if (distance < best) {
            best = distance;
            nearest = candidate;
        }
    }
    return nearest.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", nearest);
}

// The output of a Slurm query, or nothing when it cannot be run or fails: a check that cannot
// ask leaves the decision to sbatch, which still refuses what is wrong.
std::optional<std::string> query(const std::vector<std::string>& argv) {
    try {
        const auto result = run_process(argv);
        if (result.ok())
            return result.out;
    } catch (const Error&) {
    }
    return std::nullopt;
}

}  // namespace

void check_datastores(const std::vector<std::string>& references, const std::string& where) {
    if (references.empty())
        return;
    const auto settings = ds::load_settings();
    const auto store = settings.store();
    const auto who = ds::Credentials::current();
    for (const auto& reference : references) {
        const auto ref = ds::Ref::parse(reference);
        try {
            (void)store.resolve(ref, who);
        } catch (const Error& e) {
            std::vector<std::string> names;
            try {
                for (const auto& dataset : store.list(who)) names.push_back(dataset.name);
            } catch (const Error&) {
            }
            const bool known = std::find(names.begin(), names.end(), ref.name) != names.end();
            throw Error(ErrorKind::usage,
                        fmt::format("{}: datastore '{}': {}{}", where, reference, e.what(),
                                    known ? std::string() : nearest_hint(ref.name, names)));
        }
    }
}

void check_request_fits_cluster(const searcher::ResourceRequest& request, int cpus_per_gpu) {
    const auto partition_text = query({"scontrol", "show", "partition", "-o"});
    if (!partition_text)
        return;
    const auto partitions = slurm::parse_partitions(*partition_text);
    std::vector<std::string> partition_names;
    for (const auto& p : partitions) partition_names.push_back(p.name);
    std::string partition = request.partition;
    if (partition.empty()) {
        const auto def = std::find_if(partitions.begin(), partitions.end(),
                                      [](const auto& p) { return p.is_default; });
        if (def == partitions.end())
            return;  // no default partition: sbatch says so itself
        partition = def->name;
    } else if (std::find(partition_names.begin(), partition_names.end(), partition) ==
               partition_names.end()) {
        throw Error(
            ErrorKind::usage,
            fmt::format("partition '{}' does not exist{}; this cluster has: {}", partition,
                        nearest_hint(partition, partition_names), join(partition_names, ", ")));
    }

    if (!request.account.empty()) {
        if (const auto text =
                query({"sacctmgr", "-n", "-P", "show", "account", "format=Account"})) {
            const auto accounts = slurm::parse_accounts(*text);
            if (!accounts.empty() &&
                std::find(accounts.begin(), accounts.end(), request.account) == accounts.end()) {
                throw Error(
                    ErrorKind::usage,
                    fmt::format("account '{}' does not exist{}; accounts here: {}", request.account,
                                nearest_hint(request.account, accounts), join(accounts, ", ")));
            }
        }
    }

    const auto node_text = query({"scontrol", "show", "node", "-o"});
    if (!node_text)
        return;
    std::vector<slurm::NodeInfo> nodes;
    for (auto& node : slurm::parse_nodes(*node_text)) {
        if (std::find(node.partitions.begin(), node.partitions.end(), partition) !=
            node.partitions.end())
            nodes.push_back(std::move(node));
    }
    slurm::NodeRequest need;
    need.nodes = request.nodes;
    need.gpus_per_node = request.gpus_per_node;
    need.cpus_per_node = request.tasks_per_node * std::max(1, request.cpus_per_task);
    need.cpus_per_gpu = cpus_per_gpu;
    if (!request.mem.empty()) {
        need.mem_mb = slurm::parse_slurm_memory_mb(request.mem);
        if (!need.mem_mb)
            throw Error(ErrorKind::usage,
                        fmt::format("--mem '{}' is not a size (16G, 500M)", request.mem));
    }
    const std::string misfit = slurm::request_misfit(need, nodes, partition);
    if (!misfit.empty())
        throw Error(ErrorKind::usage, misfit);
}

}  // namespace hpsweep::cli
