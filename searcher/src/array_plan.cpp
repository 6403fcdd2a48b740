#include "hpsweep/searcher/array_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {

long ArrayChunk::count() const {
    long n = 0;
    for (const auto& [first, last] : indices) n += last - first + 1;
    return n;
}

std::string ArrayChunk::array_spec(int max_concurrent) const {
    std::string spec;
    for (const auto& [first, last] : indices) {
        if (!spec.empty())
            spec += ',';
        spec += first == last ? std::to_string(first) : fmt::format("{}-{}", first, last);
    }
    if (max_concurrent > 0)
        spec += fmt::format("%{}", max_concurrent);
    return spec;
}

bool ArrayChunk::contains_trial(long trial_id) const {
    const long index = trial_id - offset;
    return std::any_of(indices.begin(), indices.end(), [index](const IndexRange& r) {
        return index >= r.first && index <= r.second;
    });
}

std::vector<ArrayChunk> plan_arrays(long num_trials, long max_array_size) {
    if (num_trials < 0)
        throw Error(ErrorKind::config, "negative number of trials");
    if (max_array_size < 1) {
        throw Error(ErrorKind::config,
                    fmt::format("MaxArraySize {} leaves no room for a job array", max_array_size));
    }
    std::vector<ArrayChunk> chunks;
    for (long offset = 0; offset < num_trials; offset += max_array_size) {
        ArrayChunk chunk;
        chunk.offset = offset;
        chunk.indices.push_back({0, std::min(max_array_size, num_trials - offset) - 1});
        chunks.push_back(std::move(chunk));
    }
    return chunks;
}

std::vector<ArrayChunk> plan_arrays_for_trials(std::vector<long> trial_ids, long max_array_size) {
    if (max_array_size < 1) {
        throw Error(ErrorKind::config,
                    fmt::format("MaxArraySize {} leaves no room for a job array", max_array_size));
    }
    std::sort(trial_ids.begin(), trial_ids.end());
    trial_ids.erase(std::unique(trial_ids.begin(), trial_ids.end()), trial_ids.end());
    std::vector<ArrayChunk> chunks;
    for (const long id : trial_ids) {
        if (id < 0)
            throw Error(ErrorKind::config, fmt::format("negative trial id {}", id));
        const long offset = (id / max_array_size) * max_array_size;
        if (chunks.empty() || chunks.back().offset != offset) {
            chunks.push_back(ArrayChunk{offset, {}});
        }
        auto& ranges = chunks.back().indices;
        const long index = id - offset;
        if (!ranges.empty() && ranges.back().second + 1 == index) {
            ranges.back().second = index;
        } else {
            ranges.push_back({index, index});
        }
    }
    return chunks;
}

std::vector<IndexRange> parse_array_spec(const std::string& spec) {
    std::string body = spec.substr(0, spec.find('%'));
    std::vector<IndexRange> ranges;
    auto number = [&spec](std::string_view text) {
        long v = 0;
        const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size() || v < 0) {
            throw Error(ErrorKind::data, fmt::format("invalid job array spec '{}'", spec));
        }
        return v;
    };
    for (const auto& part : split(body, ',')) {
        const auto dash = part.find('-');
        if (dash == std::string::npos) {
            const long v = number(part);
            ranges.push_back({v, v});
        } else {
            const long first = number(std::string_view(part).substr(0, dash));
            const long last = number(std::string_view(part).substr(dash + 1));
            if (last < first)
                throw Error(ErrorKind::data, fmt::format("invalid job array spec '{}'", spec));
            ranges.push_back({first, last});
        }
    }
    return ranges;
}

std::optional<long> parse_slurm_config_number(const std::string& text, const std::string& key) {
    for (const auto& line : split(text, '\n')) {
        const auto eq = line.find('=');
        if (eq == std::string::npos)
            continue;
        if (trim(std::string_view(line).substr(0, eq)) != key)
            continue;
        const std::string_view value = trim(std::string_view(line).substr(eq + 1));
        long v = 0;
        const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec == std::errc() && v > 0)
            return v;
        return std::nullopt;
    }
    return std::nullopt;
}

std::optional<long> parse_max_array_size(const std::string& text) {
    return parse_slurm_config_number(text, "MaxArraySize");
}

std::string render_batch_script(const ExperimentConfig& config,
                                const std::filesystem::path& experiment_dir,
                                const std::filesystem::path& launcher) {
    // Resources travel as sbatch options on the command line (one place that maps them), so
    // the script only turns the array index into a trial id and hands over to the launcher.
    const std::string exp = shell_quote(experiment_dir.string());
    return fmt::format(
        "#!/bin/bash\n"
        "# Generated by hpsweep for experiment '{name}'. Every array task runs one trial:\n"
        "# trial id = HPSWEEP_TRIAL_OFFSET (set per array by `sbatch --export`) + array index.\n"
        "# Resources are given on the sbatch command line; see experiment.json for each array.\n"
        "set -euo pipefail\n"
        ": \"${{HPSWEEP_TRIAL_OFFSET:?submit.sh is run by hpsweep submit/run through sbatch}}\"\n"
        ": \"${{SLURM_ARRAY_TASK_ID:?submit.sh must run as a Slurm array task}}\"\n"
        "TRIAL_ID=$((HPSWEEP_TRIAL_OFFSET + SLURM_ARRAY_TASK_ID))\n"
        "export HPSWEEP_EXPERIMENT_DIR={exp}\n"
        "export HPSWEEP_TRIAL_ID=\"$TRIAL_ID\"\n"
        "# Preemption: Slurm signals only this shell (sbatch --signal=B:USR2@60; USR1 is NCCL's).\n"
        "# Pass it on to the step (scancel without --batch signals the steps, not this shell);\n"
        "# hpsweep-launch forwards it to the training program, which checkpoints within\n"
        "# HPSWEEP_STOP_GRACE_SECONDS. Then only this array task is requeued (--requeue).\n"
        "preempted=0\n"
        "interrupted=0\n"
        "on_preemption() {{\n"
        "    preempted=1\n"
        "    interrupted=1\n"
        "    scancel --signal=USR2 \"$SLURM_JOB_ID\" || kill -USR2 \"${{step:-}}\" || true\n"
        "}}\n"
        "trap on_preemption USR2\n"
        "srun {launcher} --experiment {exp} --trial \"$TRIAL_ID\" &\n"
        "step=$!\n"
        "# A trapped signal interrupts `wait`: wait again until the step has really ended.\n"
        "while :; do\n"
        "    interrupted=0\n"
        "    status=0\n"
        "    wait \"$step\" || status=$?\n"
        "    [[ $interrupted == 1 ]] || break\n"
        "done\n"
        "if [[ $preempted == 1 ]]; then\n"
        "    echo \"hpsweep: trial $TRIAL_ID preempted; requeueing\" \\\n"
        "        \"${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}\" >&2\n"
        "    scontrol requeue \"${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}\"\n"
        "fi\n"
        "exit \"$status\"\n",
        fmt::arg("name", config.name), fmt::arg("exp", exp),
        fmt::arg("launcher", shell_quote(launcher.string())));
}

std::vector<std::string> sbatch_arguments(const ExperimentConfig& config,
                                          const std::filesystem::path& experiment_dir,
                                          const ArrayChunk& chunk,
                                          const std::filesystem::path& script, bool hold) {
    const auto& r = config.resources;
    int throttle = r.max_concurrent;
    if (throttle == 0 && config.searcher.max_concurrent_trials) {
        throttle = static_cast<int>(*config.searcher.max_concurrent_trials);
    }
    std::vector<std::string> args = {"sbatch", "--parsable"};
    if (hold)
        args.push_back("--hold");
    args.push_back("--array=" + chunk.array_spec(throttle));
    args.push_back("--job-name=" + config.name);
    args.push_back("--output=" + (experiment_dir / "slurm" / "%A_%a.out").string());
    args.push_back(fmt::format("--export=ALL,HPSWEEP_TRIAL_OFFSET={}", chunk.offset));
    // Preemptible: a notice 60 s before the end (to the batch shell, which passes it on as
    // submit.sh shows), a requeueable job, and an output file a requeued run appends to.
    args.push_back("--signal=B:USR2@60");
    args.push_back("--requeue");
    args.push_back("--open-mode=append");
    args.push_back(fmt::format("--nodes={}", r.nodes));
    const int gpus = r.gpus_per_node();
    args.push_back(fmt::format("--ntasks-per-node={}", gpus > 0 ? gpus : 1));
    if (gpus > 0)
        args.push_back(fmt::format("--gres=gpu:{}", gpus));
    if (r.cpus_per_gpu > 0)
        args.push_back(fmt::format("--cpus-per-task={}", r.cpus_per_gpu));
    if (!r.mem.empty())
        args.push_back("--mem=" + r.mem);
    if (!r.time.empty())
        args.push_back("--time=" + r.time);
    if (!r.partition.empty())
        args.push_back("--partition=" + r.partition);
    if (!r.account.empty())
        args.push_back("--account=" + r.account);
    args.push_back(script.string());
    return args;
}

nlohmann::ordered_json to_json(const SearcherConfig& s) {
    nlohmann::ordered_json j;
    j["name"] = s.name;
    j["metric"] = s.metric;
    j["smaller_is_better"] = s.smaller_is_better;
    j["max_trials"] = s.max_trials ? nlohmann::ordered_json(*s.max_trials) : nullptr;
    j["max_length"] = s.max_length ? nlohmann::ordered_json{{"unit", s.max_length->unit},
                                                            {"value", s.max_length->value}}
                                   : nlohmann::ordered_json(nullptr);
    j["seed"] = s.seed ? nlohmann::ordered_json(*s.seed) : nullptr;
    j["divisor"] = s.divisor;
    j["max_rungs"] = s.max_rungs;
    j["mode"] = s.mode;
    j["max_concurrent_trials"] =
        s.max_concurrent_trials ? nlohmann::ordered_json(*s.max_concurrent_trials) : nullptr;
    return j;
}

nlohmann::ordered_json to_json(const Resources& r) {
    return nlohmann::ordered_json{{"slots_per_trial", r.slots_per_trial},
                                  {"nodes", r.nodes},
                                  {"gpus_per_node", r.gpus_per_node()},
                                  {"cpus_per_gpu", r.cpus_per_gpu},
                                  {"mem", r.mem},
                                  {"time", r.time},
                                  {"partition", r.partition},
                                  {"account", r.account},
                                  {"max_concurrent", r.max_concurrent}};
}

}  // namespace hpsweep::searcher
