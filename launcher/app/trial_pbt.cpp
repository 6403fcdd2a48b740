#include "trial_pbt.hpp"

#include <signal.h>

#include <cstdio>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/trial_hparams.hpp"
#include "hpsweep/searcher/pbt_config.hpp"
#include "hpsweep/searcher/strategy.hpp"

namespace hpsweep::launcher {

namespace {

namespace fs = std::filesystem;

searcher::Value value_of(const nlohmann::ordered_json& typed) {
    if (typed.is_number_integer())
        return searcher::make_value(typed.get<long long>());
    if (typed.is_number())
        return searcher::make_value(typed.get<double>());
    if (typed.is_string())
        return searcher::make_string_value(typed.get<std::string>());
    return searcher::infer_value(typed.dump());
}

std::vector<std::string> argv_of(const searcher::ExperimentConfig& config,
                                 const nlohmann::ordered_json& hyperparameters) {
    std::vector<searcher::Value> values;
    for (const auto& hp : config.hyperparameters) {
        const auto found = hyperparameters.find(hp.name);
        if (found == hyperparameters.end())
            throw Error(ErrorKind::data,
                        "pbt: the perturbed configuration has no '" + hp.name + "'");
        values.push_back(value_of(*found));
    }
    return searcher::trial_argv(config, values);
}

bool has_files(const fs::path& dir) {
    std::error_code ec;
    return fs::is_directory(dir, ec) && fs::directory_iterator(dir, ec) != fs::directory_iterator();
}

// The ready point of the last exploit this trial applied ("pbt" in trials/<id>/trial.json).
long applied_ready_point(const fs::path& trial_config) {
    std::error_code ec;
    if (!fs::is_regular_file(trial_config, ec))
        return 0;
    const auto j = nlohmann::ordered_json::parse(read_file(trial_config), nullptr, false);
    if (!j.is_object() || !j.contains("pbt") || !j["pbt"].is_object())
        return 0;
    return j["pbt"].value("ready_point", 0L);
}

// SIGSTOP for the time of the copy: the checkpoint cannot move on under it.
class PausedChild {
public:
    explicit PausedChild(pid_t pid) : pid_(pid) {
        if (pid_ > 0)
            ::kill(pid_, SIGSTOP);
    }
    ~PausedChild() {
        if (pid_ > 0)
            ::kill(pid_, SIGCONT);
    }
    PausedChild(const PausedChild&) = delete;
    PausedChild& operator=(const PausedChild&) = delete;

private:
    pid_t pid_;
};

}  // namespace

PbtTrial::PbtTrial(const searcher::ExperimentConfig& config, const TrialRun& trial)
    : config_(config),
      experiment_(fs::absolute(trial.experiment().root())),
      checkpoint_dir_(fs::absolute(trial.experiment().trial_checkpoints(trial.record().id))),
      hparams_file_(fs::absolute(trial.hyperparameters_file())),
      trial_id_(trial.record().id),
      hyperparameters_(trial.record().hyperparameters),
      trial_argv_(trial.record().argv),
      store_(experiment_, config.hyperparameters, searcher::pbt_settings(config),
             config.searcher.seed.value_or(0)),
      last_ready_point_(applied_ready_point(trial.experiment().trial_config(trial_id_))) {}

std::string PbtTrial::publish_checkpoint(pid_t child) const {
    const PausedChild paused(child);
    if (!has_files(checkpoint_dir_))
        return "";  // nothing to copy: others never exploit this member
    try {
        return searcher::PbtCheckpointStore(experiment_).publish(checkpoint_dir_);
    } catch (const Error& e) {
        std::fprintf(stderr, "hpsweep-launch: warning: pbt: checkpoint not published: %s\n",
                     e.what());
        return "";
    }
}

bool PbtTrial::at_record(std::string_view metric, long long step, double value, pid_t child) {
    if (metric != config_.searcher.metric || pending_)
        return false;
    const auto ready_point = searcher::pbt_ready_point(config_, step);
    if (!ready_point || *ready_point <= last_ready_point_)
        return false;
    last_ready_point_ = *ready_point;
    searcher::PbtMember member;
    member.trial_id = trial_id_;
    member.value = value;
    member.hyperparameters = hyperparameters_;
    member.checkpoint = publish_checkpoint(child);
    auto exploit = store_.report(*ready_point, member);
    if (!exploit)
        return false;
    std::fprintf(stderr,
                 "hpsweep-launch: pbt: trial %ld at ready point %ld (%s=%g at step %lld) "
                 "exploits trial %ld and explores %s\n",
                 trial_id_, *ready_point, config_.searcher.metric.c_str(), value, step,
                 exploit->source_trial, exploit->hyperparameters.dump().c_str());
    pending_.emplace(*ready_point, std::move(*exploit));
    return true;
}

void PbtTrial::record_configuration(long ready_point, const searcher::PbtExploit& exploit) const {
    TrialRecord record;
    record.id = trial_id_;
    record.hyperparameters = exploit.hyperparameters;
    record.argv = argv_of(config_, exploit.hyperparameters);
    auto j = to_json(record);
    j["pbt"] = {{"ready_point", ready_point},
                {"copied_from", exploit.source_trial},
                {"checkpoint", exploit.checkpoint}};
    const ExperimentDir dir(experiment_);
    write_file_atomic(dir.trial_config(trial_id_), j.dump() + "\n");
    write_file_atomic(hparams_file_, nested_hyperparameters(record.hyperparameters).dump(2) + "\n");
}

std::optional<ChildRestart> PbtTrial::restart_after(const ChildStatus& status,
                                                    const std::vector<std::string>& command) {
    if (!pending_)
        return std::nullopt;
    const auto [ready_point, exploit] = std::move(*pending_);
    pending_.reset();
    if (status.stop_reason != "pbt_exploit" || !status.forwarded_signals.empty())
        return std::nullopt;  // Slurm's signal (cancel, preemption) came first: end as told
    if (!searcher::PbtCheckpointStore(experiment_).restore(exploit.checkpoint, checkpoint_dir_)) {
        std::fprintf(stderr,
                     "hpsweep-launch: warning: pbt: checkpoint %s of trial %ld cannot be "
                     "restored; trial %ld goes on from its own with its own configuration\n",
                     exploit.checkpoint.c_str(), exploit.source_trial, trial_id_);
        return ChildRestart{command, {}};
    }
    store_.record_lineage(ready_point, trial_id_, exploit);
    record_configuration(ready_point, exploit);

    // The trial's flags are the tail of the command (after the snapshot's or container's words).
    const std::vector<std::string> next_trial_argv = argv_of(config_, exploit.hyperparameters);
    const size_t entry = config_.entrypoint.size();
    const size_t old_tail = trial_argv_.size() - entry;
    if (command.size() < old_tail ||
        !std::equal(trial_argv_.begin() + static_cast<long>(entry), trial_argv_.end(),
                    command.end() - static_cast<long>(old_tail))) {
        throw Error(ErrorKind::internal,
                    "pbt: the command does not end with the trial's flags; cannot restart it");
    }
    ChildRestart restart;
    restart.argv.assign(command.begin(), command.end() - static_cast<long>(old_tail));
    restart.argv.insert(restart.argv.end(), next_trial_argv.begin() + static_cast<long>(entry),
                        next_trial_argv.end());
    restart.environment = hyperparameter_variables(exploit.hyperparameters);
    hyperparameters_ = exploit.hyperparameters;
    trial_argv_ = next_trial_argv;
    return restart;
}

}  // namespace hpsweep::launcher
