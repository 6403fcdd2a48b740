#pragma once
// The torchrun-compatible rendezvous environment, computed from what srun (SLURM_*) or
// OpenMPI's mpirun (OMPI_COMM_WORLD_*) tells each process. No forking: the Slurm hostlist
// is expanded here, not by `scontrol show hostnames`.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpsweep::launcher {

using Environment = std::map<std::string, std::string, std::less<>>;

// This process's environment as a map.
Environment current_environment();
// The value of `name`, or nullopt when unset or empty.
std::optional<std::string> get_env(const Environment& env, std::string_view name);

// Expands Slurm hostlist syntax: "n[1-3,5]", "gpu[001-004]" (zero padding kept),
// "a,b[1-2]c", "rack[1-2]-n[1-2]" (cartesian product). Throws Error(usage) that quotes the
// expression and the position of the problem on bad input.
std::vector<std::string> expand_hostlist(std::string_view hostlist);

// Expands Slurm's tasks-per-node form: "2(x3),1" -> {2, 2, 2, 1}. Throws Error(usage).
std::vector<int> expand_tasks_per_node(std::string_view text);

struct PortRange {
    int first = 20000;
    int last = 29999;
    int size() const noexcept { return last - first + 1; }
};
// "A-B", 1024 <= A <= B <= 65535. Throws Error(usage).
PortRange parse_port_range(std::string_view text);

// MASTER_PORT for a step: first + (job_id + step_id * 1009) mod size. SLURM_JOB_ID is
// unique per array task, so concurrent jobs (consecutive ids) on a node get distinct
// ports, and the steps of one job are 1009 ports apart (mod size).
int master_port_for(unsigned long long job_id, unsigned long long step_id, PortRange range);
// Slurm's step id text: a number, or "batch"/"extern"/"interactive" (mapped to distinct
// large values so they never equal a numbered step).
unsigned long long parse_step_id(std::string_view text);

struct DdpEnv {
    std::string source;  // "srun", "mpirun" or "single"
    std::string master_addr;
    int master_port = 0;
    int world_size = 1;
    int rank = 0;
    int local_rank = 0;
    int local_world_size = 1;
    int node_rank = 0;
    int num_nodes = 1;
    // The variables the child gets: MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK,
    // LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK, GROUP_RANK, GROUP_WORLD_SIZE, ROLE_RANK,
    // ROLE_WORLD_SIZE.
    std::map<std::string, std::string> variables() const;
};

struct DdpOverrides {
    std::optional<std::string> master_addr;
    std::optional<int> master_port;
    PortRange port_range;
};

// From the environment:
//  - mpirun (OMPI_COMM_WORLD_SIZE set): RANK/WORLD_SIZE/LOCAL_RANK/LOCAL_WORLD_SIZE from
//    OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}; NODE_RANK = RANK / LOCAL_WORLD_SIZE
//    (mpirun's default by-slot mapping); MASTER_ADDR = first host of SLURM_JOB_NODELIST,
//    else an inherited MASTER_ADDR, else 127.0.0.1;
//  - srun (SLURM_STEP_NUM_TASKS set): SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID,
//    SLURM_NODEID, SLURM_STEP_TASKS_PER_NODE[SLURM_NODEID]; MASTER_ADDR = first host of
//    SLURM_STEP_NODELIST (or SLURM_JOB_NODELIST);
//  - otherwise one process (a batch script without srun, or a login shell): 127.0.0.1.
// Throws Error(usage) on malformed variables, naming the variable.
DdpEnv ddp_from_environment(const Environment& env, const DdpOverrides& overrides = {});

}  // namespace hpsweep::launcher
