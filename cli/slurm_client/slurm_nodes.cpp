#include "slurm_nodes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace hpsweep::cli::slurm {

namespace {

// The value of KEY in a `Key=Value Key=Value` line ("" when absent). Values of the keys read
// here hold no spaces.
std::string field(std::string_view line, std::string_view key) {
    std::size_t at = 0;
    while (at < line.size()) {
        const std::size_t start = line.find_first_not_of(' ', at);
        if (start == std::string_view::npos)
            break;
        std::size_t end = line.find(' ', start);
        if (end == std::string_view::npos)
            end = line.size();
        const std::string_view word = line.substr(start, end - start);
        if (word.size() > key.size() && word.substr(0, key.size()) == key &&
            word[key.size()] == '=') {
            return std::string(word.substr(key.size() + 1));
        }
        at = end;
    }
    return {};
}

std::optional<long long> whole_number(std::string_view text) {
    long long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0)
        return std::nullopt;
    return value;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find(separator, start), text.size());
        if (end > start)
            parts.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

// Gres=gpu:4, gpu:a100:2(S:0-1), gpu:2,gpu:v100:1 -> the sum of the gpu counts. Commas also
// separate socket lists inside parentheses, so those are dropped first.
int gpu_count(const std::string& gres) {
    std::string flat;
    int depth = 0;
    for (const char c : gres) {
        if (c == '(')
            ++depth;
        else if (c == ')')
            depth = std::max(0, depth - 1);
        else if (depth == 0)
            flat += c;
    }
    int total = 0;
    for (const auto& entry : split(flat, ',')) {
        const auto parts = split(entry, ':');
        if (parts.size() < 2 || parts.front() != "gpu")
            continue;
        if (const auto count = whole_number(parts.back()))
            total += static_cast<int>(*count);
    }
    return total;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        if (end > start)
            lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

}  // namespace

std::vector<NodeInfo> parse_nodes(std::string_view scontrol_output) {
    std::vector<NodeInfo> nodes;
    for (const auto line : lines_of(scontrol_output)) {
        NodeInfo node;
        node.name = field(line, "NodeName");
        if (node.name.empty())
            continue;
        node.cpus = static_cast<int>(whole_number(field(line, "CPUTot")).value_or(0));
        node.memory_mb = whole_number(field(line, "RealMemory")).value_or(0);
        node.gpus = gpu_count(field(line, "Gres"));
        node.partitions = split(field(line, "Partitions"), ',');
        nodes.push_back(std::move(node));
    }
    return nodes;
}

std::vector<PartitionInfo> parse_partitions(std::string_view scontrol_output) {
    std::vector<PartitionInfo> partitions;
    for (const auto line : lines_of(scontrol_output)) {
        PartitionInfo partition;
        partition.name = field(line, "PartitionName");
        if (partition.name.empty())
            continue;
        partition.is_default = field(line, "Default") == "YES";
        partition.state = field(line, "State");
        partitions.push_back(std::move(partition));
    }
    return partitions;
}

std::vector<std::string> parse_accounts(std::string_view sacctmgr_output) {
    std::vector<std::string> accounts;
    for (auto line : lines_of(sacctmgr_output)) {
        while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
        if (!line.empty())
            accounts.emplace_back(line);
    }
    return accounts;
}

std::optional<long long> parse_slurm_memory_mb(std::string_view text) {
    if (text.empty())
        return std::nullopt;
    long long scale_kb = 1024;  // Slurm's default unit is MB
    const char unit = text.back();
    if (unit == 'K' || unit == 'k' || unit == 'M' || unit == 'm' || unit == 'G' || unit == 'g' ||
        unit == 'T' || unit == 't') {
        text.remove_suffix(1);
        switch (unit) {
            case 'K':
            case 'k':
                scale_kb = 1;
                break;
            case 'G':
            case 'g':
                scale_kb = 1024LL * 1024;
                break;
            case 'T':
            case 't':
                scale_kb = 1024LL * 1024 * 1024;
                break;
            default:
                break;
        }
    }
    const auto value = whole_number(text);
    if (!value || *value > (1LL << 40))
        return std::nullopt;
    return (*value * scale_kb + 1023) / 1024;
}

std::string request_misfit(const NodeRequest& request, const std::vector<NodeInfo>& nodes,
                           const std::string& partition) {
    if (nodes.empty())
        return {};  // nothing known: leave the judgement to Slurm
    const auto fits = [&](const NodeInfo& n) {
        return n.gpus >= request.gpus_per_node && n.cpus >= request.cpus_per_node &&
               (!request.mem_mb || n.memory_mb >= *request.mem_mb);
    };
    const auto fitting = std::count_if(nodes.begin(), nodes.end(), fits);
    if (fitting >= request.nodes)
        return {};

    int most_gpus = 0, most_cpus = 0;
    long long most_memory = 0;
    for (const auto& n : nodes) {
        most_gpus = std::max(most_gpus, n.gpus);
        most_cpus = std::max(most_cpus, n.cpus);
        most_memory = std::max(most_memory, n.memory_mb);
    }
    const long long node_count = static_cast<long long>(nodes.size());
    std::string asks = fmt::format("{} node(s) with {} GPU(s), {} CPU(s)", request.nodes,
                                   request.gpus_per_node, request.cpus_per_node);
    if (request.mem_mb)
        asks += fmt::format(" and {} MB of memory", *request.mem_mb);
    std::string message = fmt::format(
        "the request needs {} each, but partition '{}' has {} node(s) with at most {} GPU(s), "
        "{} CPU(s) and {} MB of memory each",
        asks, partition, node_count, most_gpus, most_cpus, most_memory);
    if (fitting > 0 && fitting < request.nodes)
        message += fmt::format(" ({} of them fit)", fitting);

    // Another shape with the same GPUs in all: the fewest nodes whose share fits on a node.
    const int total_gpus = request.gpus_per_node * request.nodes;
    const int cpus_per_gpu = std::max(1, request.cpus_per_gpu);
    if (request.mem_mb && *request.mem_mb > most_memory) {
        message += fmt::format(": ask for at most --mem {}M", most_memory);
    } else if (total_gpus > 0) {
        const int gpus_per_node_max = std::min(most_gpus, most_cpus / cpus_per_gpu);
        std::optional<int> shape;
        for (int n = 1; n <= node_count && gpus_per_node_max > 0; ++n) {
            if (total_gpus % n == 0 && total_gpus / n <= gpus_per_node_max) {
                shape = n;
                break;
            }
        }
        if (shape) {
            message += fmt::format(": try --nodes {} --gpus {}", *shape, total_gpus);
        } else {
            message += fmt::format(": at most {} GPU(s) per trial fit (--nodes {} --gpus {})",
                                   gpus_per_node_max * node_count, node_count,
                                   gpus_per_node_max * node_count);
        }
    } else if (request.cpus_per_node > most_cpus) {
        message += fmt::format(": ask for at most {} CPU(s) per node", most_cpus);
    } else if (request.nodes > node_count) {
        message += fmt::format(": ask for at most --nodes {}", node_count);
    }
    return message;
}

}  // namespace hpsweep::cli::slurm
