#include "plugin_core.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <set>

#include "hpsweep/container_image.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

#ifdef HPSWEEP_PLUGIN_HAVE_DATASTORE
#include "hpsweep/datastore/paths.hpp"
#endif
#ifdef HPSWEEP_PLUGIN_HAVE_LAUNCHER
#include "hpsweep/launcher/container.hpp"
#endif

namespace hpsweep::plugin {
namespace {

// Upper case, [A-Z0-9_] only: a valid shell variable name suffix.
std::string variable_suffix(std::string_view name) {
    std::string out;
    for (const char c : name) {
        const auto u = static_cast<unsigned char>(c);
        out += std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_';
    }
    return out;
}

std::optional<long> parse_long(std::string_view text) {
    long value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
        return std::nullopt;
    return value;
}

long required_long(const JobEnvironment& env, std::string_view name) {
    const auto text = lookup(env, name);
    const auto value = text ? parse_long(*text) : std::nullopt;
    if (!value || *value < 0) {
        throw Error(ErrorKind::usage, std::string(name) + "='" + text.value_or("") +
                                          "' is not a trial id (a number >= 0)");
    }
    return *value;
}

// The text a hyper-parameter value has on a command line.
std::string value_text(const nlohmann::ordered_json& value) {
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_null())
        return "";
    return value.dump();
}

}  // namespace

JobEnvironment environment_from_envp(const char* const* envp) {
    JobEnvironment env;
    for (; envp != nullptr && *envp != nullptr; ++envp) {
        const std::string_view entry(*envp);
        const auto equals = entry.find('=');
        if (equals == std::string_view::npos)
            continue;
        env.insert_or_assign(std::string(entry.substr(0, equals)),
                             std::string(entry.substr(equals + 1)));
    }
    return env;
}

std::optional<std::string> lookup(const JobEnvironment& env, std::string_view name) {
    const auto it = env.find(name);
    if (it == env.end())
        return std::nullopt;
    return it->second;
}

GpuAffinity parse_affinity_option(std::string_view text) {
    try {
        return parse_gpu_affinity(text);
    } catch (const Error&) {
        throw Error(ErrorKind::usage,
                    "--gpu-affinity=" + std::string(text) + ": expected closest, none or verbose");
    }
}

std::vector<std::string> parse_datastore_option(std::string_view text) {
    std::vector<std::string> references;
    std::set<std::string, std::less<>> names;
    for (const std::string& item : split(text, ',')) {
        const std::string reference(trim(item));
        if (reference.empty()) {
            throw Error(ErrorKind::usage, "--datastore=" + std::string(text) +
                                              ": empty item (expected NAME[:VERSION][,NAME...])");
        }
        try {
#ifdef HPSWEEP_PLUGIN_HAVE_DATASTORE
            (void)datastore::Ref::parse(reference);
#else
            throw Error(ErrorKind::usage, "this hpsweep was built without datastore support");
#endif
        } catch (const Error& e) {
            throw Error(ErrorKind::usage,
                        "--datastore=" + std::string(text) + ": '" + reference + "': " + e.what());
        }
        // Two datasets must never map to one variable (a and A, my-data and my_data).
        if (!names.insert(datastore_variable(datastore_name(reference))).second) {
            throw Error(ErrorKind::usage,
                        "--datastore=" + std::string(text) + ": dataset '" +
                            datastore_name(reference) + "' is named twice (its variable " +
                            datastore_variable(datastore_name(reference)) + " is already taken)");
        }
        references.push_back(reference);
    }
    return references;
}

std::string datastore_name(std::string_view reference) {
    return std::string(reference.substr(0, reference.find(':')));
}

std::string datastore_variable(std::string_view dataset_name) {
    return datastore::environment_variable(dataset_name);
}

std::filesystem::path parse_trial_option(std::string_view text, const std::filesystem::path& base) {
    if (text.empty()) {
        throw Error(ErrorKind::usage, "--hpsweep-trial needs an experiment directory");
    }
    std::filesystem::path dir(text);
    if (dir.is_relative())
        dir = base / dir;
    dir = dir.lexically_normal();
    const ExperimentDir experiment(dir);
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        throw Error(ErrorKind::usage, "--hpsweep-trial=" + std::string(text) + ": " + dir.string() +
                                          " is not a directory");
    }
    if (!std::filesystem::is_regular_file(experiment.trial_table_path(), ec)) {
        throw Error(ErrorKind::usage, "--hpsweep-trial=" + std::string(text) + ": " +
                                          experiment.trial_table_path().string() +
                                          " does not exist (not an experiment directory)");
    }
    return dir;
}

std::string check_container_option(std::string_view text, const std::filesystem::path& cwd,
                                   std::string_view site_runtime) {
    const std::string option = "--hpsweep-container";
    check_container_image_name(text, option);
    const std::string image = container_image_for_node(text, cwd);
    if (!is_container_image_reference(image)) {
        struct stat st {};
        if (::stat(image.c_str(), &st) != 0 || ::access(image.c_str(), R_OK) != 0) {
            throw Error(ErrorKind::usage, option + "=" + std::string(text) + ": " + image +
                                              " does not exist or is not readable");
        }
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            throw Error(ErrorKind::usage, option + "=" + std::string(text) + ": " + image +
                                              " is not a regular file or a directory");
        }
    }
#ifdef HPSWEEP_PLUGIN_HAVE_LAUNCHER
    try {
        (void)launcher::choose_container_runtime(image, std::nullopt, site_runtime);
    } catch (const Error& e) {
        throw Error(ErrorKind::usage, option + "=" + std::string(text) + ": " + e.what());
    }
#else
    (void)site_runtime;
#endif
    return image;
}

long trial_id_for(const JobEnvironment& env) {
    const auto task = lookup(env, "SLURM_ARRAY_TASK_ID");
    if (!task || task->empty()) {
        throw Error(ErrorKind::usage,
                    "--hpsweep-trial needs a job array (sbatch --array=...): SLURM_ARRAY_TASK_ID "
                    "picks the trial");
    }
    long offset = 0;
    if (const auto text = lookup(env, "HPSWEEP_TRIAL_OFFSET"); text && !text->empty()) {
        offset = required_long(env, "HPSWEEP_TRIAL_OFFSET");
    }
    return offset + required_long(env, "SLURM_ARRAY_TASK_ID");
}

std::vector<std::pair<std::string, std::string>> trial_flags(const TrialRecord& trial) {
    const auto& hyperparameters = trial.hyperparameters;
    std::vector<std::pair<std::string, std::string>> flags;
    const size_t pair_words = 2 * hyperparameters.size();
    if (trial.argv.size() >= pair_words) {
        // The searcher's own text, when the argv ends in exactly these `--name value` pairs.
        size_t word = trial.argv.size() - pair_words;
        for (const auto& [name, value] : hyperparameters.items()) {
            if (trial.argv[word] != "--" + name)
                break;
            flags.emplace_back(name, trial.argv[word + 1]);
            word += 2;
        }
        if (flags.size() == hyperparameters.size())
            return flags;
        flags.clear();
    }
    for (const auto& [name, value] : hyperparameters.items()) {
        flags.emplace_back(name, value_text(value));
    }
    return flags;
}

std::string trial_arguments(const TrialRecord& trial) {
    std::vector<std::string> words;
    for (const auto& [name, text] : trial_flags(trial)) {
        words.push_back(shell_quote("--" + name));
        words.push_back(shell_quote(text));
    }
    return join(words, " ");
}

void prepare_trial_directories(const ExperimentDir& experiment, long trial_id) {
    std::error_code ec;
    std::filesystem::create_directories(experiment.trial_checkpoints(trial_id), ec);
    if (ec) {
        throw Error(ErrorKind::io, "cannot create " +
                                       experiment.trial_checkpoints(trial_id).string() + ": " +
                                       ec.message());
    }
}

std::map<std::string, std::string> trial_environment(const ExperimentDir& experiment,
                                                     const TrialRecord& trial) {
    std::map<std::string, std::string> env = {
        {"HPSWEEP_EXPERIMENT_DIR", experiment.root().string()},
        {"HPSWEEP_TRIAL_ID", std::to_string(trial.id)},
        {"HPSWEEP_TRIAL_DIR", experiment.trial_dir(trial.id).string()},
        {"HPSWEEP_CHECKPOINT_DIR", experiment.trial_checkpoints(trial.id).string()},
        {"HPSWEEP_TRIAL_ARGS", trial_arguments(trial)},
    };
    for (const auto& [name, text] : trial_flags(trial)) {
        env["HPSWEEP_HP_" + variable_suffix(name)] = text;
    }
    return env;
}

}  // namespace hpsweep::plugin
