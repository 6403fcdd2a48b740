#include "trial_hooks.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/trial_run.hpp"
#include "hpsweep/metrics/recorder.hpp"
#include "hpsweep/searcher/asha.hpp"
#include "hpsweep/searcher/pbt_config.hpp"
#include "trial_pbt.hpp"
#include "trial_search.hpp"

namespace hpsweep::launcher {

namespace {

// Everything the hooks share for one trial; owned by the hooks through a shared_ptr.
struct TrialObserver {
    std::unique_ptr<metrics::TrialRecorder> recorder;
    // Early stopping at ASHA's rungs (adaptive_asha and bohb experiments).
    std::optional<searcher::AshaStore> asha;
    std::string asha_metric;
    bool promotion_form = false;  // searcher.stop_once: false (trial_promotion.hpp)
    long sweep_trials = 0;        // how many trials the experiment has (when a rung closes)
    std::optional<TpeResultPublisher> tpe;  // tpe and bohb experiments
    std::optional<PbtTrial> pbt;            // pbt experiments
    pid_t child = -1;
    long trial_id = 0;
    int last_judged_rung = -1;
    // Told to stop or pause: what it still reports in its grace time reaches no rung.
    bool leaving = false;
    std::chrono::milliseconds stop_grace{10000};
    Supervisor* supervisor = nullptr;
    TrialRun* run = nullptr;

    // Every record the recorder accepted, from any metric source (RecorderOptions::on_record).
    // A rung is judged once, at the first record of the searcher's metric at or past it.
    void on_record(const metrics::RecordedValue& record) {
        if (tpe)
            tpe->observe(record.metric, record.value);
        if (asha)
            judge(record);
        if (pbt && pbt->at_record(record.metric, record.step, record.value, child))
            supervisor->stop_child(stop_grace, "pbt_exploit");
    }

    void judge(const metrics::RecordedValue& record) {
        if (record.metric != asha_metric || leaving)
            return;
        const auto rung = asha->schedule().rung_reached(record.step);
        if (!rung || *rung <= last_judged_rung || *rung < asha->schedule().first_rung_of(trial_id))
            return;
        last_judged_rung = *rung;
        const bool last_rung =
            static_cast<size_t>(*rung) + 1 == asha->schedule().rung_lengths().size();
        if (promotion_form) {
            judge_promotion(record, *rung, last_rung);
            return;
        }
        const auto decision = asha->report(trial_id, *rung, record.value);
        if (decision == searcher::AshaDecision::stop && !last_rung) {
            std::fprintf(stderr,
                         "hpsweep-launch: trial %ld stopped early at rung %d (%s=%g at step "
                         "%lld is not in the top 1/%d)\n",
                         trial_id, *rung, asha_metric.c_str(), record.value,
                         static_cast<long long>(record.step), asha->schedule().settings().divisor);
            leaving = true;
            supervisor->stop_child(stop_grace, "stopped_early");
        }
    }

    // The promotion form: a trial outside the rung's best pauses. Its task may then resume a
    // paused trial that this arrival (or a rung's closing) promoted: submit.sh reads the id
    // from resume-next. At the last rung the trial completes, and its task may do the same.
    void judge_promotion(const metrics::RecordedValue& record, int rung, bool last_rung) {
        const auto arrival = asha->arrive_promotion(trial_id, rung, record.value, sweep_trials);
        if (arrival.goes_on)
            return;
        std::string hosting;
        if (arrival.host) {
            write_file_atomic(run->experiment().trial_resume_next(trial_id),
                              std::to_string(arrival.host->trial) + "\n");
            hosting = "; this task resumes paused trial " + std::to_string(arrival.host->trial) +
                      " next (promoted at rung " + std::to_string(arrival.host->rung) + ")";
        }
        if (last_rung) {
            if (arrival.host)
                std::fprintf(stderr, "hpsweep-launch: trial %ld reached the last rung%s\n",
                             trial_id, hosting.c_str());
            return;
        }
        std::fprintf(stderr,
                     "hpsweep-launch: trial %ld paused at rung %d (%s=%g at step %lld is not in "
                     "the best 1/%d so far)%s\n",
                     trial_id, rung, asha_metric.c_str(), record.value,
                     static_cast<long long>(record.step), asha->schedule().settings().divisor,
                     hosting.c_str());
        run->record_pause(rung);
        leaving = true;
        // The preemption notice: a program that handles it checkpoints (and reports) the step
        // it is in and exits, so that it resumes from there; one that does not dies of it.
        supervisor->stop_child(stop_grace, "paused", SIGUSR2);
    }
};

}  // namespace

std::chrono::milliseconds stop_grace_from_environment() {
    if (const char* text = std::getenv("HPSWEEP_STOP_GRACE_SECONDS"); text && *text) {
        char* end = nullptr;
        const double seconds = std::strtod(text, &end);
        if (*end == '\0' && seconds >= 0) {
            return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
        }
        std::fprintf(stderr, "hpsweep-launch: warning: ignoring HPSWEEP_STOP_GRACE_SECONDS='%s'\n",
                     text);
    }
    return std::chrono::seconds(10);
}

std::optional<searcher::ExperimentConfig> load_trial_config(
    const std::filesystem::path& experiment) {
    const ExperimentDir dir(experiment);
    if (!std::filesystem::exists(dir.config_path())) {
        return std::nullopt;
    }
    return searcher::load_experiment_config(dir.config_path());
}

void export_config_environment(const searcher::ExperimentConfig& config) {
    if (const auto& max_length = config.searcher.max_length) {
        ::setenv("HPSWEEP_MAX_LENGTH", std::to_string(max_length->value).c_str(), 1);
        ::setenv("HPSWEEP_MAX_LENGTH_UNIT", max_length->unit.c_str(), 1);
    }
}

std::string trial_git_commit() {
    const char* snapshot_commit = std::getenv("HPSWEEP_SNAPSHOT_COMMIT");
    return snapshot_commit != nullptr && *snapshot_commit != '\0'
               ? std::string(snapshot_commit)
               : metrics::git_commit_of(std::filesystem::current_path());
}

LaunchHooks trial_hooks(std::optional<searcher::ExperimentConfig> config,
                        std::optional<std::string> git_commit) {
    LaunchHooks hooks;
    hooks.for_trial = [config = std::move(config), git_commit = std::move(git_commit)](
                          TrialRun& trial, const DdpEnv& ddp,
                          Supervisor& supervisor) -> SupervisorHooks {
        if (!trial.writes_result()) {
            return {};  // one writer per trial file: global rank 0
        }
        auto observer = std::make_shared<TrialObserver>();
        observer->supervisor = &supervisor;
        observer->run = &trial;
        observer->trial_id = trial.record().id;

        metrics::TrialAttributes attributes;
        attributes.experiment =
            config ? config->name : trial.experiment().root().filename().string();
        attributes.trial_id = trial.record().id;
        attributes.hyperparameters = trial.record().hyperparameters;
        attributes.command = trial.record().argv;
        attributes.fill_from_slurm_environment();
        attributes.git_commit = git_commit ? *git_commit : trial_git_commit();
        attributes.plan = nlohmann::ordered_json{{"world_size", ddp.world_size},
                                                 {"master_addr", ddp.master_addr},
                                                 {"master_port", ddp.master_port}};
        metrics::RecorderOptions options;
        options.on_warning = [](const std::string& message) {
            std::fprintf(stderr, "hpsweep-launch: warning: %s\n", message.c_str());
        };
        if (config) {  // metrics: in experiment.yaml (validated when it was loaded)
            for (const auto& m : config->metrics.regex) {
                options.regex_metrics.emplace_back(m.name, m.ecmascript, m.value_group,
                                                   m.step_group);
            }
            if (!config->metrics.lightning_csv.empty()) {
                // Relative to the trial's directory ($HPSWEEP_TRIAL_DIR), not the job's cwd,
                // so that every trial tails its own logger file.
                options.lightning_csv =
                    std::filesystem::absolute(trial.experiment().trial_dir(trial.record().id) /
                                              config->metrics.lightning_csv);
            }
        }
        // bohb does both: its trials are judged at the rungs and publish their final value.
        if (config && stops_early(config->searcher.strategy)) {
            const auto settings = searcher::asha_settings(*config);
            observer->asha.emplace(trial.experiment().root(), searcher::AshaSchedule(settings));
            observer->asha_metric = settings.metric;
            observer->promotion_form = !config->searcher.stop_once;
            if (observer->promotion_form) {
                // A resumed trial's rungs up to its promotion are judged already.
                observer->last_judged_rung =
                    observer->asha->highest_promotion(trial.record().id).value_or(-1);
                // The trial table: what `extend` appends to, also in a hand-made experiment.
                observer->sweep_trials = static_cast<long>(trial.experiment().read_trials().size());
                std::error_code ec;
                std::filesystem::remove(trial.experiment().trial_resume_next(trial.record().id),
                                        ec);
            }
        }
        if (config && chooses_at_start(config->searcher.strategy))
            observer->tpe.emplace(*config, trial.experiment().root(), trial.record());
        if (config && searcher::is_pbt(config->searcher))
            observer->pbt.emplace(*config, trial);
        if (observer->asha || observer->tpe || observer->pbt) {
            // The observer owns the recorder, so the recorder never outlives it.
            options.on_record = [observer = observer.get()](const metrics::RecordedValue& r) {
                observer->on_record(r);
            };
        }
        observer->recorder = std::make_unique<metrics::TrialRecorder>(
            trial.experiment().trial_metrics(trial.record().id), std::move(attributes),
            std::move(options));
        observer->stop_grace = stop_grace_from_environment();

        SupervisorHooks child_hooks;
        child_hooks.on_start = [observer](pid_t child) { observer->child = child; };
        child_hooks.restart = [observer](const ChildStatus& status) -> std::optional<ChildRestart> {
            if (!observer->pbt)
                return std::nullopt;
            return observer->pbt->restart_after(status, observer->supervisor->argv());
        };
        child_hooks.on_stdout_line = [observer](std::string_view line) {
            observer->recorder->consume_line(line);
        };
        // Python's logging writes to stderr: a metric logged there counts like one printed.
        child_hooks.on_stderr_line = [observer](std::string_view line) {
            observer->recorder->consume_line(line);
        };
        child_hooks.on_metrics_line = [observer](std::string_view line) {
            observer->recorder->consume_line(line);
        };
        child_hooks.on_tick = [observer] { observer->recorder->tick(); };
        child_hooks.on_lines_done = [observer] { observer->recorder->sync_journal(); };
        // Preemption notice (sbatch --signal=B:USR2@60, passed on by submit.sh to this step;
        // USR1 is NCCL's): the supervisor has already forwarded SIGUSR2 to the child, which
        // now gets HPSWEEP_STOP_GRACE_SECONDS to checkpoint into HPSWEEP_CHECKPOINT_DIR and
        // exit; then SIGKILL. The trial ends "preempted" and submit.sh requeues its task.
        child_hooks.on_signal = [observer](int signo) {
            if (signo == SIGUSR2)
                observer->supervisor->expect_exit(observer->stop_grace, "preempted");
        };
        child_hooks.on_exit = [observer](const ChildStatus& status) {
            observer->recorder->finish(final_status(status), status.exit_code);
            if (observer->tpe)
                observer->tpe->trial_ended(final_status(status));
        };
        return child_hooks;
    };
    return hooks;
}

}  // namespace hpsweep::launcher
