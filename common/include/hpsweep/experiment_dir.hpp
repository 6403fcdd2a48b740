#pragma once
// The experiment directory on shared storage: the one contract between `hpsweep submit`
// (writes it), hpsweep-launch and the SPANK plugin (read a trial from it, write results
// into it) and the read commands (status, results, report). Layout (docs/user-guide.md):
//
//   EXP/experiment.yaml     resolved config, as the user wrote it plus defaults
//   EXP/experiment.json     metadata: name, created, submitted arrays (job ids, offsets)
//   EXP/trials.jsonl        trial table, line i = {"id": i, "hyperparameters": {...}, "argv":
//   [...]} EXP/submit.sh           the generated batch script EXP/slurm/              Slurm's own
//   stdout/stderr of each array task EXP/trials/<id>/        created by the launcher: stdout.log,
//   stderr.log, metrics.h5,
//                           checkpoints/, artifacts/, result.json (status, exit code, times, node),
//                           trial.json (a configuration chosen when the trial started)
//
// Trial directories are created lazily by the launcher so that submitting 10^4 trials
// writes three files, not 10^4 directories.

#include <filesystem>
#include <string>
#include <vector>

#include "hpsweep/contracts/experiment_record.hpp"
#include "hpsweep/contracts/trial_record.hpp"

namespace hpsweep {

class ExperimentDir {
public:
    explicit ExperimentDir(std::filesystem::path root) : root_(std::move(root)) {}

    const std::filesystem::path& root() const noexcept { return root_; }
    std::filesystem::path config_path() const { return root_ / "experiment.yaml"; }
    std::filesystem::path metadata_path() const { return root_ / "experiment.json"; }
    std::filesystem::path trial_table_path() const { return root_ / "trials.jsonl"; }
    std::filesystem::path batch_script_path() const { return root_ / "submit.sh"; }
    std::filesystem::path slurm_log_dir() const { return root_ / "slurm"; }
    std::filesystem::path trial_dir(long id) const { return root_ / "trials" / std::to_string(id); }
    std::filesystem::path trial_stdout(long id) const { return trial_dir(id) / "stdout.log"; }
    std::filesystem::path trial_stderr(long id) const { return trial_dir(id) / "stderr.log"; }
    std::filesystem::path trial_metrics(long id) const { return trial_dir(id) / "metrics.h5"; }
    std::filesystem::path trial_checkpoints(long id) const { return trial_dir(id) / "checkpoints"; }
    std::filesystem::path trial_result(long id) const { return trial_dir(id) / "result.json"; }
    std::filesystem::path trial_config(long id) const { return trial_dir(id) / "trial.json"; }
    // $HPSWEEP_ARTIFACTS_DIR: what the trial keeps (models), listed by `hpsweep artifacts`.
    std::filesystem::path trial_artifacts(long id) const { return trial_dir(id) / "artifacts"; }
    // ASHA's promotion form: the paused trial whose promotion this trial's result made, which
    // submit.sh runs next in this trial's task (its id and a newline). Written by the launcher
    // when the trial pauses; removed when the trial starts a run.
    std::filesystem::path trial_resume_next(long id) const { return trial_dir(id) / "resume-next"; }
    // Created by `hpsweep cancel EXP ID` for a trial of a packed task (docs/packing.md).
    std::filesystem::path trial_cancel_request(long id) const {
        return trial_dir(id) / "cancel-requested";
    }

    // experiment.json (contracts/experiment_record.hpp): throws Error(io/data) naming the field.
    ExperimentRecord read_record() const { return read_experiment_record(metadata_path()); }
    void write_record(const ExperimentRecord& record) const {
        write_experiment_record(metadata_path(), record);
    }

    // Whole table, in id order, with the configuration of each chosen_at_start trial that
    // has started. Throws Error(data) naming file:line on a bad line.
    std::vector<TrialRecord> read_trials() const;
    // One trial; throws Error(data) when the id is not in the table.
    TrialRecord read_trial(long id) const;
    // Atomic replace of the table (readers never see half of it).
    void write_trials(const std::vector<TrialRecord>& trials) const;
    // Adds rows after the last one (`hpsweep extend`): the rows already there are kept byte
    // for byte, and the table is replaced atomically like write_trials, so a reader (a
    // trial's read_trial, `status`) sees the old table or the new one, never a half line.
    // The new ids must continue the table (the row count, since ids are dense): Error(data)
    // otherwise, and Error(data) when the table does not end in a newline.
    void append_trials(const std::vector<TrialRecord>& trials) const;

private:
    // Replaces a chosen_at_start row's placeholder with trials/<id>/trial.json, if written.
    void show_chosen_config(TrialRecord& placeholder) const;

    std::filesystem::path root_;
};

}  // namespace hpsweep
