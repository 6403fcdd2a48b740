#include "trial_costs.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <string>

#include "artifacts.hpp"
#include "experiment_arrays.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/site_config.hpp"
#include "hpsweep/strings.hpp"
#include "slurm_usage.hpp"

namespace hpsweep::cli {

namespace {

namespace fs = std::filesystem;

// "job_task" -> usage of every task of the experiment's arrays; empty when sacct fails.
std::map<std::string, slurm::TaskUsage> accounted_usage(const ExperimentRecord& experiment) {
    std::vector<std::string> job_ids;
    for (const auto& array : experiment.arrays) job_ids.push_back(array.job_id);
    if (job_ids.empty())
        return {};
    try {
        const auto sacct = run_process(
            {"sacct", "-n", "-P", "-X", "-j", join(job_ids, ","), "-o", slurm::sacct_usage_fields});
        if (sacct.ok())
            return slurm::parse_sacct_usage(sacct.out);
    } catch (const Error&) {
        // no sacct on this host: the launcher's times stand in
    }
    return {};
}

// null for what is not known (NaN), the number otherwise.
nlohmann::ordered_json number_or_null(double value) {
    return std::isnan(value) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(value);
}

}  // namespace

void add_time_and_cost(const fs::path& root, metrics::ExperimentResults& results) {
    const ExperimentDir dir(root);
    const SiteConfig site = load_site_config();
    const metrics::CostRates rates{site.gpu_hour_cost, site.cpu_hour_cost};

    // A directory made for the launcher by hand has no experiment.json and no arrays: nothing
    // to ask Slurm about.
    const ExperimentRecord experiment =
        fs::exists(dir.metadata_path()) ? dir.read_record() : ExperimentRecord{};
    const bool submitted = !experiment.arrays.empty();
    const double gpus_per_trial = experiment.resources.slots_per_trial;
    const double trials_per_gpu = std::max(1, experiment.resources.trials_per_gpu);
    const double packed_task_gpus = experiment.resources.gpus_per_task;
    const bool adaptive = stops_early(experiment.searcher.strategy);

    const long num_trials = submitted ? experiment.num_trials : 0L;
    const auto jobs =
        submitted ? sweep::trial_jobs(experiment) : std::vector<std::optional<sweep::TrialJob>>{};
    const auto usage_by_task =
        submitted ? accounted_usage(experiment) : std::map<std::string, slurm::TaskUsage>{};
    const auto now = static_cast<std::int64_t>(std::time(nullptr));

    for (auto& trial : results.trials) {
        trial.artifacts.clear();
        for (const auto& artifact : list_artifacts(dir.trial_artifacts(trial.id)))
            trial.artifacts.push_back(artifact.path);

        metrics::TrialUsage usage;
        const sweep::TrialJob* job = nullptr;
        if (trial.id >= 0 && trial.id < num_trials && jobs[static_cast<std::size_t>(trial.id)])
            job = &*jobs[static_cast<std::size_t>(trial.id)];
        const double requested_gpus = job && job->packed ? packed_task_gpus : gpus_per_trial;
        const auto accounted = job ? usage_by_task.find(job->job_task()) : usage_by_task.end();
        if (accounted != usage_by_task.end()) {
            const auto& task = accounted->second;
            usage.from_accounting = true;
            usage.submit = task.submit_seconds;
            usage.start = task.start_seconds;
            if (task.start_seconds)
                usage.elapsed_seconds = static_cast<double>(task.elapsed_seconds);
            // A cluster that does not account GPUs: what the experiment asked for.
            usage.gpus = task.gpus.value_or(requested_gpus);
            usage.cpus = task.cpus;
        } else {
            usage.gpus = requested_gpus;
        }
        if (job && job->packed) {
            // Slots of a packed task: K per GPU, or K in all for CPU-only trials.
            const double slots = std::max(1.0, usage.gpus) * trials_per_gpu;
            usage.share = 1.0 / slots;
        }
        trial.cost = metrics::trial_cost(trial, usage, rates, now);
    }
    results.cost_totals = metrics::cost_totals(results, rates, adaptive);
}

nlohmann::ordered_json time_and_cost_json(const metrics::TrialCost& cost) {
    return {{"queue_wait_seconds", number_or_null(cost.queue_wait_seconds)},
            {"run_seconds", number_or_null(cost.run_seconds)},
            {"gpus", number_or_null(cost.gpus)},
            {"gpu_hours", number_or_null(cost.gpu_hours)},
            {"cpu_hours", number_or_null(cost.cpu_hours)},
            {"cost", number_or_null(cost.cost)},
            {"source", cost.source}};
}

nlohmann::ordered_json time_and_cost_json(const metrics::CostTotals& totals) {
    nlohmann::ordered_json out = {{"trials_counted", totals.trials_counted},
                                  {"queue_wait_seconds", totals.queue_wait_seconds},
                                  {"run_seconds", totals.run_seconds},
                                  {"gpu_hours", totals.gpu_hours},
                                  {"cpu_hours", totals.cpu_hours},
                                  {"cost", number_or_null(totals.cost)}};
    if (!std::isnan(totals.early_stopping_saved_gpu_hours)) {
        out["early_stopping_saved_gpu_hours"] = totals.early_stopping_saved_gpu_hours;
        out["early_stopping_estimate"] =
            "each stopped trial's GPU-hours per step x the steps it did not run, to the " +
            std::to_string(totals.full_length_steps) + " steps of the longest completed trial";
    }
    return out;
}

}  // namespace hpsweep::cli
