#include "hpsweep/launcher/ddp_env.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>

#include "hpsweep/error.hpp"

extern char** environ;

namespace hpsweep::launcher {

Environment current_environment() {
    Environment env;
    for (char** e = environ; *e; ++e) {
        const std::string_view entry(*e);
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos)
            continue;
        env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
    return env;
}

std::optional<std::string> get_env(const Environment& env, std::string_view name) {
    const auto it = env.find(name);
    if (it == env.end() || it->second.empty())
        return std::nullopt;
    return it->second;
}

namespace {

// No job has more nodes than this; a hostlist that expands to more is a mistake or an
// attempt to exhaust memory (each bracket, each comma-separated group and the whole list
// are bounded by it).
constexpr size_t max_hosts = 1'000'000;

[[noreturn]] void bad_hostlist(std::string_view text, size_t pos, const std::string& what) {
    throw Error(ErrorKind::usage, "invalid hostlist '" + std::string(text) + "' at column " +
                                      std::to_string(pos + 1) + ": " + what);
}

// One bracket's content "1-3,5,007-009" -> the numbers as text (padding kept).
std::vector<std::string> expand_ranges(std::string_view whole, std::string_view body,
                                       size_t offset) {
    std::vector<std::string> values;
    size_t start = 0;
    while (start <= body.size()) {
        size_t comma = body.find(',', start);
        if (comma == std::string_view::npos)
            comma = body.size();
        const std::string_view item = body.substr(start, comma - start);
        const size_t item_pos = offset + start;
        if (item.empty())
            bad_hostlist(whole, item_pos, "empty range");
        const auto dash = item.find('-');
        const std::string_view lo_text = item.substr(0, dash);
        const std::string_view hi_text =
            dash == std::string_view::npos ? item : item.substr(dash + 1);
        auto parse = [&](std::string_view digits, size_t pos) {
            if (digits.empty() || digits.size() > 18)
                bad_hostlist(whole, pos, "expected a number");
            unsigned long long v = 0;
            for (char c : digits) {
                if (!std::isdigit(static_cast<unsigned char>(c))) {
                    bad_hostlist(whole, pos, std::string("unexpected '") + c + "' in a range");
                }
                v = v * 10 + static_cast<unsigned long long>(c - '0');
            }
            return v;
        };
        const unsigned long long lo = parse(lo_text, item_pos);
        const unsigned long long hi =
            parse(hi_text, item_pos + (dash == std::string_view::npos ? 0 : dash + 1));
        if (hi < lo)
            bad_hostlist(whole, item_pos, "range end is below its start");
        if (hi - lo > 1'000'000)
            bad_hostlist(whole, item_pos, "range too large");
        if (values.size() + (hi - lo + 1) > max_hosts)
            bad_hostlist(whole, item_pos, "too many hosts");
        const size_t width = lo_text.size();  // Slurm pads to the width of the start
        for (unsigned long long v = lo; v <= hi; ++v) {
            std::string digits = std::to_string(v);
            if (digits.size() < width)
                digits.insert(0, width - digits.size(), '0');
            values.push_back(std::move(digits));
        }
        start = comma + 1;
    }
    return values;
}

void expand_one(std::string_view whole, std::string_view expr, size_t offset,
                std::vector<std::string>& out) {
    // Split into literal pieces and bracket groups; the hosts are their cartesian product.
    std::vector<std::string> hosts{""};
    size_t i = 0;
    while (i < expr.size()) {
        const size_t open = expr.find('[', i);
        const size_t close_early = expr.find(']', i);
        if (close_early != std::string_view::npos &&
            (open == std::string_view::npos || close_early < open)) {
            bad_hostlist(whole, offset + close_early, "']' without '['");
        }
        const std::string_view literal =
            expr.substr(i, (open == std::string_view::npos ? expr.size() : open) - i);
        for (auto& h : hosts) h += literal;
        if (open == std::string_view::npos)
            break;
        const size_t close = expr.find(']', open);
        if (close == std::string_view::npos)
            bad_hostlist(whole, offset + open, "'[' without ']'");
        const std::string_view body = expr.substr(open + 1, close - open - 1);
        if (body.find('[') != std::string_view::npos) {
            bad_hostlist(whole, offset + open + 1 + body.find('['), "nested '['");
        }
        const auto values = expand_ranges(whole, body, offset + open + 1);
        if (hosts.size() * values.size() > max_hosts)
            bad_hostlist(whole, offset + open, "too many hosts");
        std::vector<std::string> next;
        next.reserve(hosts.size() * values.size());
        for (const auto& h : hosts) {
            for (const auto& v : values) next.push_back(h + v);
        }
        hosts = std::move(next);
        i = close + 1;
    }
    if (hosts.size() == 1 && hosts[0].empty())
        bad_hostlist(whole, offset, "empty host name");
    if (out.size() + hosts.size() > max_hosts)
        bad_hostlist(whole, offset, "too many hosts");
    for (auto& h : hosts) out.push_back(std::move(h));
}

int parse_int(std::string_view text, std::string_view what) {
    int value = 0;
    const auto trimmed = text;
    const auto [ptr, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
    if (ec != std::errc{} || ptr != trimmed.data() + trimmed.size()) {
        throw Error(ErrorKind::usage,
                    std::string(what) + "='" + std::string(text) + "' is not an integer");
    }
    return value;
}

int required_int(const Environment& env, std::string_view name) {
    const auto v = get_env(env, name);
    if (!v)
        throw Error(ErrorKind::usage, std::string(name) + " is not set");
    return parse_int(*v, name);
}

int optional_int(const Environment& env, std::string_view name, int fallback) {
    const auto v = get_env(env, name);
    return v ? parse_int(*v, name) : fallback;
}

unsigned long long parse_u64(std::string_view text, std::string_view what) {
    unsigned long long value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size()) {
        throw Error(ErrorKind::usage,
                    std::string(what) + "='" + std::string(text) + "' is not an integer");
    }
    return value;
}

// Identifies a run of the same job for the port: a Slurm job id, else OpenMPI's job id.
unsigned long long job_key(const Environment& env) {
    if (const auto id = get_env(env, "SLURM_JOB_ID"))
        return parse_u64(*id, "SLURM_JOB_ID");
    if (const auto id = get_env(env, "OMPI_MCA_ess_base_jobid")) {
        return parse_u64(*id, "OMPI_MCA_ess_base_jobid");
    }
    return 0;
}

std::string first_host(const Environment& env, std::initializer_list<std::string_view> names) {
    for (const auto name : names) {
        if (const auto list = get_env(env, name)) {
            const auto hosts = expand_hostlist(*list);
            if (!hosts.empty())
                return hosts.front();
        }
    }
    return "";
}

}  // namespace

std::vector<std::string> expand_hostlist(std::string_view text) {
    std::vector<std::string> hosts;
    if (text.empty())
        bad_hostlist(text, 0, "empty hostlist");
    size_t start = 0;
    int depth = 0;
    for (size_t i = 0; i <= text.size(); ++i) {
        const char c = i < text.size() ? text[i] : ',';
        if (c == '[')
            ++depth;
        if (c == ']')
            --depth;
        if (depth < 0)
            bad_hostlist(text, i, "']' without '['");
        if (c == ',' && depth == 0) {
            if (i == start)
                bad_hostlist(text, i, "empty host name");
            expand_one(text, text.substr(start, i - start), start, hosts);
            start = i + 1;
        }
        if (i < text.size() && (std::isspace(static_cast<unsigned char>(c)) != 0)) {
            bad_hostlist(text, i, "unexpected space");
        }
    }
    if (depth != 0)
        bad_hostlist(text, text.rfind('['), "'[' without ']'");
    return hosts;
}

std::vector<int> expand_tasks_per_node(std::string_view text) {
    std::vector<int> counts;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string_view::npos)
            comma = text.size();
        const std::string_view item = text.substr(start, comma - start);
        const auto paren = item.find("(x");
        int repeat = 1;
        std::string_view count_text = item;
        if (paren != std::string_view::npos) {
            if (item.back() != ')') {
                throw Error(ErrorKind::usage, "invalid tasks-per-node '" + std::string(text) + "'");
            }
            count_text = item.substr(0, paren);
            repeat =
                parse_int(item.substr(paren + 2, item.size() - paren - 3), "tasks-per-node repeat");
        }
        const int count = parse_int(count_text, "tasks-per-node");
        if (count < 0 || repeat < 1 || repeat > 1'000'000 ||
            counts.size() + static_cast<size_t>(repeat) > max_hosts) {
            throw Error(ErrorKind::usage, "invalid tasks-per-node '" + std::string(text) + "'");
        }
        counts.insert(counts.end(), static_cast<size_t>(repeat), count);
        start = comma + 1;
    }
    return counts;
}

PortRange parse_port_range(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) {
        throw Error(ErrorKind::usage, "--port-range '" + std::string(text) + "': expected A-B");
    }
    PortRange range{parse_int(text.substr(0, dash), "--port-range start"),
                    parse_int(text.substr(dash + 1), "--port-range end")};
    if (range.first < 1024 || range.last > 65535 || range.first > range.last) {
        throw Error(ErrorKind::usage,
                    "--port-range '" + std::string(text) + "': need 1024 <= A <= B <= 65535");
    }
    return range;
}

int master_port_for(unsigned long long job_id, unsigned long long step_id, PortRange range) {
    const auto size = static_cast<unsigned long long>(range.size());
    const unsigned long long offset = (job_id % size + (step_id % size) * 1009 % size) % size;
    return range.first + static_cast<int>(offset);
}

unsigned long long parse_step_id(std::string_view text) {
    // Slurm's own special step ids (SLURM_BATCH_SCRIPT etc. in slurm.h).
    if (text == "batch")
        return 0xfffffffbULL;
    if (text == "extern")
        return 0xfffffffcULL;
    if (text == "interactive")
        return 0xfffffffaULL;
    return parse_u64(text, "SLURM_STEP_ID");
}

std::map<std::string, std::string> DdpEnv::variables() const {
    return {
        {"MASTER_ADDR", master_addr},
        {"MASTER_PORT", std::to_string(master_port)},
        {"WORLD_SIZE", std::to_string(world_size)},
        {"RANK", std::to_string(rank)},
        {"LOCAL_RANK", std::to_string(local_rank)},
        {"LOCAL_WORLD_SIZE", std::to_string(local_world_size)},
        {"NODE_RANK", std::to_string(node_rank)},
        {"GROUP_RANK", std::to_string(node_rank)},
        {"GROUP_WORLD_SIZE", std::to_string(num_nodes)},
        {"ROLE_RANK", std::to_string(rank)},
        {"ROLE_WORLD_SIZE", std::to_string(world_size)},
    };
}

DdpEnv ddp_from_environment(const Environment& env, const DdpOverrides& overrides) {
    DdpEnv ddp;
    unsigned long long step = 0;
    if (get_env(env, "OMPI_COMM_WORLD_SIZE")) {
        ddp.source = "mpirun";
        ddp.world_size = required_int(env, "OMPI_COMM_WORLD_SIZE");
        ddp.rank = required_int(env, "OMPI_COMM_WORLD_RANK");
        ddp.local_rank = optional_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0);
        ddp.local_world_size = optional_int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1);
        if (ddp.local_world_size < 1)
            ddp.local_world_size = 1;
        ddp.node_rank = ddp.rank / ddp.local_world_size;
        // In 64 bits: OMPI_COMM_WORLD_SIZE near INT_MAX overflowed int here (found by code
        // review while writing the hostlist fuzz target, which confirmed it under UBSan).
        ddp.num_nodes =
            static_cast<int>((static_cast<long long>(ddp.world_size) + ddp.local_world_size - 1) /
                             ddp.local_world_size);
        ddp.master_addr = first_host(env, {"SLURM_JOB_NODELIST", "SLURM_NODELIST"});
        if (ddp.master_addr.empty())
            ddp.master_addr = get_env(env, "MASTER_ADDR").value_or("127.0.0.1");
        if (const auto s = get_env(env, "SLURM_STEP_ID"))
            step = parse_step_id(*s);
    } else if (get_env(env, "SLURM_STEP_NUM_TASKS")) {
        ddp.source = "srun";
        ddp.world_size = required_int(env, "SLURM_STEP_NUM_TASKS");
        ddp.rank = required_int(env, "SLURM_PROCID");
        ddp.local_rank = optional_int(env, "SLURM_LOCALID", 0);
        ddp.node_rank = optional_int(env, "SLURM_NODEID", 0);
        ddp.num_nodes = optional_int(env, "SLURM_STEP_NUM_NODES", 1);
        ddp.local_world_size = 1;
        if (const auto per_node = get_env(env, "SLURM_STEP_TASKS_PER_NODE")) {
            const auto counts = expand_tasks_per_node(*per_node);
            if (ddp.node_rank >= 0 && static_cast<size_t>(ddp.node_rank) < counts.size()) {
                ddp.local_world_size = counts[static_cast<size_t>(ddp.node_rank)];
            }
        } else if (ddp.num_nodes == 1) {
            ddp.local_world_size = ddp.world_size;
        }
        ddp.master_addr =
            first_host(env, {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"});
        if (ddp.master_addr.empty())
            ddp.master_addr = "127.0.0.1";
        if (const auto s = get_env(env, "SLURM_STEP_ID"))
            step = parse_step_id(*s);
    } else {
        ddp.source = "single";
        ddp.master_addr = "127.0.0.1";
        if (const auto s = get_env(env, "SLURM_STEP_ID"))
            step = parse_step_id(*s);
        else if (get_env(env, "SLURM_JOB_ID"))
            step = parse_step_id("batch");
    }
    if (ddp.rank < 0 || ddp.rank >= ddp.world_size || ddp.local_rank < 0 ||
        ddp.local_rank >= ddp.local_world_size) {
        throw Error(ErrorKind::usage, "inconsistent rank variables (" + ddp.source + "): rank " +
                                          std::to_string(ddp.rank) + " of " +
                                          std::to_string(ddp.world_size) + ", local rank " +
                                          std::to_string(ddp.local_rank) + " of " +
                                          std::to_string(ddp.local_world_size));
    }
    ddp.master_port = master_port_for(job_key(env), step, overrides.port_range);
    if (overrides.master_addr)
        ddp.master_addr = *overrides.master_addr;
    if (overrides.master_port)
        ddp.master_port = *overrides.master_port;
    return ddp;
}

}  // namespace hpsweep::launcher
