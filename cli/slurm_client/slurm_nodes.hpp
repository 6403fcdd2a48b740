#pragma once
// What the partitions and their nodes can give one job, read from `scontrol show node -o`
// and `scontrol show partition -o` (one `Key=Value ...` line per node / partition), and
// whether a request fits, so that a request Slurm could never satisfy is refused at submit
// instead of failing in the queue ("Requested partition configuration not available now")
// or pending forever (BadConstraints).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep::cli::slurm {

// `scontrol show node -o`
struct NodeInfo {
    std::string name;
    int cpus = 0;             // CPUTot
    long long memory_mb = 0;  // RealMemory
    int gpus = 0;             // every gpu entry of Gres= ("gpu:4", "gpu:a100:2(S:0)")
    std::vector<std::string> partitions;
};
std::vector<NodeInfo> parse_nodes(std::string_view scontrol_output);

// `scontrol show partition -o`
struct PartitionInfo {
    std::string name;
    bool is_default = false;
    std::string state;  // UP, DOWN, DRAIN, INACTIVE
};
std::vector<PartitionInfo> parse_partitions(std::string_view scontrol_output);

// `sacctmgr -n -P show account format=Account`: one account a line.
std::vector<std::string> parse_accounts(std::string_view sacctmgr_output);

// One trial's (or session's) needs on each of its nodes.
struct NodeRequest {
    int nodes = 1;
    int gpus_per_node = 0;
    int cpus_per_node = 1;            // tasks per node x CPUs per task
    std::optional<long long> mem_mb;  // --mem, per node
    int cpus_per_gpu = 0;             // to suggest another shape (0: one CPU per task)
};

// "16G" -> 16384, "500M" / "500" -> 500, "1T", "2048K"; nullopt when it is not a size.
std::optional<long long> parse_slurm_memory_mb(std::string_view text);

// Empty when REQUEST fits on NODES (those of one partition, named PARTITION); otherwise a
// message naming what the nodes have and a shape that fits, e.g.
//   "--gpus 8 asks for 8 GPUs on each of 1 node, but nodes in partition 'debug' have at most
//    4 GPUs and 2 CPUs: try --nodes 2 --gpus 8"
std::string request_misfit(const NodeRequest& request, const std::vector<NodeInfo>& nodes,
                           const std::string& partition);

}  // namespace hpsweep::cli::slurm
