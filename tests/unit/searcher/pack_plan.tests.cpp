#include <catch2/catch.hpp>

#include <algorithm>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/pack_plan.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {

std::string config_error(const std::string& yaml) {
    try {
        (void)parse_experiment_config(yaml, "exp.yaml");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("Slurm times are read as seconds", "[searcher][pack_plan]") {
    CHECK(slurm_time_seconds("30") == 1800);  // minutes
    CHECK(slurm_time_seconds("1:30") == 90);  // minutes:seconds
    CHECK(slurm_time_seconds("1:00:00") == 3600);
    CHECK(slurm_time_seconds("2-00") == 2 * 86400);
    CHECK(slurm_time_seconds("1-02:03:04") == 86400 + 2 * 3600 + 3 * 60 + 4);
    CHECK_FALSE(slurm_time_seconds("UNLIMITED").has_value());
    CHECK_FALSE(slurm_time_seconds("1:2:3:4").has_value());
    CHECK_FALSE(slurm_time_seconds("").has_value());
    CHECK(format_slurm_time(90) == "00:01:30");
    CHECK(format_slurm_time(86400 + 3661) == "1-01:01:01");
}

TEST_CASE("a packed array gives task i the trials [offset + i*N, offset + (i+1)*N)",
          "[searcher][pack_plan]") {
    const auto chunks = plan_packed_arrays(10, 4, 1001);
    REQUIRE(chunks.size() == 1);
    CHECK(chunks[0].array_spec(0) == "0-2");
    CHECK(chunks[0].pack == 4);
    CHECK(chunks[0].trial_count() == 10);
    CHECK(chunks[0].first_trial() == 0);
    CHECK(chunks[0].last_trial() == 9);
    CHECK(pack_share(0, 1, 4, 10).first == 4);
    CHECK(pack_share(0, 1, 4, 10).end == 8);
    CHECK(pack_share(0, 2, 4, 10).count() == 2);  // the last task runs what is left
    CHECK(packed_task_of(9, 0, 4) == 2);

    // Chunks split at MaxArraySize in tasks; their offsets are trial ids.
    const auto split = plan_packed_arrays(10, 2, 3);
    REQUIRE(split.size() == 2);
    CHECK(split[1].offset == 6);
    CHECK(split[1].array_spec(0) == "0-1");
    CHECK(split[1].first_trial() == 6);
    CHECK(split[1].last_trial() == 9);
    for (long trial = 0; trial < 10; ++trial) {
        const auto& chunk = trial < 6 ? split[0] : split[1];
        const long task = packed_task_of(trial, chunk.offset, 2);
        const auto share = pack_share(chunk.offset, task, 2, 10);
        CHECK(share.first <= trial);
        CHECK(trial < share.end);
    }
    CHECK(array_task_count(Resources{}, 10) == 10);
}

TEST_CASE("--pack auto sizes tasks to last min_job_seconds", "[searcher][pack_plan]") {
    Resources r;
    r.slots_per_trial = 1;
    r.trials_per_task_auto = true;
    r.trials_per_gpu = 4;
    r.gpus_per_task = 2;
    r.time = "2";  // two minutes per trial
    CHECK(pack_slots(r) == 8);
    // ceil(600 / 120) = 5 rounds of 8 slots
    CHECK(auto_trials_per_task(r, 600) == 40);
    CHECK(auto_trials_per_task(r, 1) == 8);
    resolve_trials_per_task(r, 600);
    CHECK_FALSE(r.trials_per_task_auto);
    CHECK(r.trials_per_task == 40);
    const auto request = packed_task_request(r);
    CHECK(request.gpus_per_node == 2);
    CHECK(request.time == "00:11:00");  // 40 trials / 8 slots * 2 minutes + the notice
}

TEST_CASE("packing keys are read from experiment.yaml and checked", "[searcher][pack_plan]") {
    const auto c = parse_experiment_config(R"Y(
entrypoint: ./train
hyperparameters: {lr: "[1, 2]"}
resources: {slots_per_trial: 1, trials_per_task: auto, trials_per_gpu: 4, gpus_per_task: 4,
            time: "1"}
)Y",
                                           "exp.yaml");
    CHECK(c.resources.trials_per_task_auto);
    CHECK(c.resources.trials_per_gpu == 4);
    CHECK(c.resources.gpus_per_task == 4);
    const auto back = parse_experiment_config(to_yaml(c), "resolved.yaml");
    CHECK(back.resources.trials_per_task_auto);
    CHECK(back.resources.trials_per_gpu == 4);

    CHECK_THAT(config_error("entrypoint: x\nhyperparameters: {a: 1}\n"
                            "resources: {slots_per_trial: 2, trials_per_task: 8}\n"),
               Catch::Contains("exp.yaml:3:") && Catch::Contains("at most one GPU on one node"));
    CHECK_THAT(config_error("entrypoint: x\nhyperparameters: {a: 1}\n"
                            "resources: {trials_per_task: auto}\n"),
               Catch::Contains("exp.yaml:") && Catch::Contains("needs a finite trial time limit"));
    CHECK_THAT(config_error("entrypoint: x\nhyperparameters: {a: 1}\n"
                            "resources: {trials_per_gpu: 0}\n"),
               Catch::Contains("trials_per_gpu"));
    CHECK_THAT(config_error("entrypoint: x\nhyperparameters: {a: 1}\n"
                            "resources: {trials_per_task: lots}\n"),
               Catch::Contains("trials_per_task"));
}

TEST_CASE("a packed chunk's sbatch call and script hand the task its share",
          "[searcher][pack_plan]") {
    ExperimentConfig c;
    c.name = "exp";
    c.entrypoint = {"train"};
    c.resources.slots_per_trial = 1;
    c.resources.trials_per_task = 16;
    c.resources.trials_per_gpu = 4;
    c.resources.gpus_per_task = 4;
    c.resources.cpus_per_gpu = 2;
    c.resources.time = "1";
    const auto chunks = plan_packed_arrays(100, 16, 1001);
    const auto args = sbatch_arguments(c, "/runs/exp-1", chunks[0], "/runs/exp-1/submit.sh", false);
    auto has = [&](const std::string& word) {
        return std::find(args.begin(), args.end(), word) != args.end();
    };
    CHECK(has("--array=0-6"));  // ceil(100 / 16) tasks
    const std::string script = render_batch_script(c, "/runs/exp-1", "/usr/bin/hpsweep-launch");
    CHECK_THAT(script, Catch::Contains("--pack-first") && Catch::Contains("HPSWEEP_TRIAL_END"));
    // The script's arguments: the array's offset, trials per task, the first trial past it.
    REQUIRE(args.size() >= 3);
    CHECK(std::vector<std::string>(args.end() - 3, args.end()) ==
          std::vector<std::string>{"0", "16", "100"});
    CHECK(has("--gres=gpu:4"));
    CHECK(has("--cpus-per-task=8"));
    CHECK(has("--time=00:02:00"));     // one round of the trial limit, and the notice's minute
    CHECK(has("--signal=B:USR2@60"));  // the whole minute the limit was padded with
}
