#pragma once
// Where a user's experiments live and how `status EXP`, `results EXP`, ... find one from any
// directory.
//
// New experiments go to $HPSWEEP_HOME when it is set, else the site config's experiments_dir
// (default ~/hpsweep-runs; one per user, so that `cd /tmp; hpsweep status NAME` finds what
// was submitted elsewhere). Lookups search, in order: $HPSWEEP_HOME, experiments_dir,
// ~/hpsweep-runs, and ./hpsweep-runs (where earlier releases put them, still found). EXP may
// be:
//   - a directory path (holding experiment.json or trials.jsonl);
//   - an experiment id ("logreg-grid-20261204-231500") or name (the newest "<name>-*");
//   - a Slurm job id of one of its arrays, or a job_task ("4242_3") of one of its trials.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hpsweep::cli {

std::filesystem::path default_experiments_home();

// The directories searched, in order, without duplicates (those that do not exist included).
std::vector<std::filesystem::path> experiment_homes();

// Throws Error(usage) naming every place that was searched.
std::filesystem::path find_experiment(const std::string& exp);

// The experiment directory one of whose arrays is JOB_ID ("4242" or "4242_3").
std::optional<std::filesystem::path> find_experiment_by_job(const std::string& job_id);

// Every experiment directory (with experiment.json) under experiment_homes().
std::vector<std::filesystem::path> all_experiments();

// Error(state) "permission denied: ... only its owner can ACTION" unless this user may write
// into the experiment ROOT. Checked before anything is submitted: new arrays are recorded in
// experiment.json and their trials write into the experiment, so someone who may only read it
// (a colleague's sweep) is told so instead of having jobs submitted and cancelled again.
void check_experiment_writable(const std::filesystem::path& root, const std::string& action);

// When other experiments already have NAME, a line saying that the bare name now means
// NEW_ID; "" otherwise.
std::string name_reuse_note(const std::string& name, const std::string& new_id);

}  // namespace hpsweep::cli
