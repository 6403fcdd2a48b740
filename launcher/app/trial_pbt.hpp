#pragma once
// Population-based training in hpsweep-launch (searcher: {name: pbt}). At each ready point
// (the first record of the searcher's metric at or past k * perturb_every) the trial
// publishes its checkpoint and metric to the population (searcher/pbt.hpp) and learns its
// decision. On an exploit the child is stopped, the donor's checkpoint replaces the trial's
// HPSWEEP_CHECKPOINT_DIR, the perturbed configuration replaces trials/<id>/trial.json, the
// exploit is appended to EXP/pbt/lineage.jsonl, and the child starts again with the new flags
// and resumes from the copied checkpoint.
//
// Requeue and preemption: a restarted launcher runs the configuration trial.json holds (the
// latest exploit's), resumes from the checkpoint directory as it was, and does not apply an
// exploit of a ready point it already applied (trial.json's "pbt.ready_point").

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hpsweep/launcher/supervisor.hpp"
#include "hpsweep/launcher/trial_run.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/pbt.hpp"

namespace hpsweep::launcher {

class PbtTrial {
public:
    PbtTrial(const searcher::ExperimentConfig& config, const TrialRun& trial);

    // A record the metrics recorder accepted. At a ready point of the searcher's metric it
    // publishes (the child `child` is paused meanwhile, so the checkpoint is the one of this
    // step) and reports; true when the trial is to exploit: the caller stops the child.
    bool at_record(std::string_view metric, long long step, double value, pid_t child);

    // After the child ended: the restart that applies the decided exploit, given the command
    // the child ran; nullopt when nothing is pending or the child was told to stop by Slurm.
    std::optional<ChildRestart> restart_after(const ChildStatus& status,
                                              const std::vector<std::string>& command);

private:
    std::string publish_checkpoint(pid_t child) const;
    void record_configuration(long ready_point, const searcher::PbtExploit& exploit) const;

    searcher::ExperimentConfig config_;
    std::filesystem::path experiment_;
    std::filesystem::path checkpoint_dir_;
    std::filesystem::path hparams_file_;
    long trial_id_ = 0;
    nlohmann::ordered_json hyperparameters_;
    std::vector<std::string> trial_argv_;
    searcher::PbtStore store_;
    long last_ready_point_ = 0;  // the last one judged (or, on a restart, exploited)
    std::optional<std::pair<long, searcher::PbtExploit>> pending_;
};

}  // namespace hpsweep::launcher
