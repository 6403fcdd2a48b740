#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/array_plan.hpp"
#include "hpsweep/searcher/slurm_submission.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

TEST_CASE("MaxArraySize is read from scontrol show config", "[searcher][slurm_submission]") {
    const std::string text =
        "Configuration data as of 2026-11-22T02:00:00\n"
        "MailProg                = /bin/mail\n"
        "MaxArraySize            = 1001\n"
        "MaxJobCount             = 10000\n";
    CHECK(parse_max_array_size(text) == 1001);
    CHECK(parse_slurm_config_number(text, "MaxJobCount") == 10000);
    CHECK_FALSE(parse_slurm_config_number(text, "MailProg").has_value());
    CHECK_FALSE(parse_max_array_size("MaxJobCount = 5\n").has_value());
}

TEST_CASE("resources map to sbatch options; the script runs the launcher per trial",
          "[searcher][slurm_submission]") {
    ExperimentConfig c;
    c.name = "exp";
    c.entrypoint = {"train"};
    c.resources.slots_per_trial = 4;
    c.resources.nodes = 2;
    c.resources.cpus_per_gpu = 3;
    c.resources.mem = "16G";
    c.resources.time = "1:00:00";
    c.resources.partition = "gpu";
    c.resources.account = "lab";
    c.resources.max_concurrent = 8;
    const auto chunks = plan_arrays(2500, 1001);
    const auto args =
        sbatch_arguments(c, "/shared/runs/exp-1", chunks[2], "/tmp/x/submit.sh", true);
    CHECK(args == std::vector<std::string>{
                      "sbatch", "--parsable", "--hold", "--array=0-497%8", "--job-name=exp",
                      "--output=/shared/runs/exp-1/slurm/%A_%a.out", "--signal=B:USR2@60",
                      "--requeue", "--open-mode=append", "--nodes=2", "--ntasks-per-node=2",
                      "--gres=gpu:2", "--cpus-per-task=3", "--mem=16G", "--time=1:00:00",
                      "--partition=gpu", "--account=lab", "/tmp/x/submit.sh", "2002"});
    // No --export=ALL,VAR=...: 25.05's sbatch would fetch the user's login environment.
    CHECK(std::none_of(args.begin(), args.end(),
                       [](const std::string& a) { return a.starts_with("--export"); }));
    ExperimentConfig cpu;
    cpu.name = "cpu";
    cpu.searcher.max_concurrent_trials = 2;  // Determined's throttle when resources has none
    const auto cpu_args = sbatch_arguments(cpu, "/r/cpu", chunks[0], "/r/s.sh", false);
    CHECK(cpu_args[2] == "--array=0-1000%2");
    CHECK(std::find(cpu_args.begin(), cpu_args.end(), "--ntasks-per-node=1") != cpu_args.end());
    CHECK(std::none_of(cpu_args.begin(), cpu_args.end(),
                       [](const std::string& a) { return a.starts_with("--gres"); }));
    const std::string script =
        render_batch_script(c, "/shared/runs/exp-1", "/opt/bin/hpsweep-launch");
    CHECK_THAT(script, Catch::StartsWith("#!/bin/bash\n"));
    CHECK_THAT(script,
               Catch::Contains("TRIAL_ID=$((HPSWEEP_TRIAL_OFFSET + SLURM_ARRAY_TASK_ID))\n"));
    CHECK_THAT(script, Catch::Contains("\nexport HPSWEEP_TRIAL_OFFSET=\"$1\"\n"));
    CHECK_THAT(script,
               Catch::Contains(
                   "\n        srun /opt/bin/hpsweep-launch --experiment /shared/runs/exp-1 --trial "
                   "\"$RUN_TRIAL\" &\n"));
    // ASHA's promotion form: the task goes on with the paused trial its trial promoted, named
    // by the launcher in resume-next (digits only), unless the step failed or was preempted.
    CHECK_THAT(script, Catch::Contains("RUN_TRIAL=\"$TRIAL_ID\"\n"));
    CHECK_THAT(script, Catch::Contains("NEXT_FILE=/shared/runs/exp-1/trials/\"$RUN_TRIAL\"/"
                                       "resume-next\n"));
    CHECK_THAT(script, Catch::Contains("((PACK == 1 && status == 0 && preempted == 0))"));
    CHECK_THAT(script, Catch::Contains("[[ $NEXT =~ ^[0-9]{1,18}$ && $NEXT != \"$RUN_TRIAL\" ]]"));
    // The promoted trial's launcher learns which trial's task runs it.
    CHECK_THAT(script, Catch::Contains("    export HPSWEEP_RESUMED_BY=\"$RUN_TRIAL\"\n"
                                       "    RUN_TRIAL=\"$NEXT\"\n"));
    // Preemption: the batch shell traps USR2, passes it to the step, requeues only its task.
    CHECK_THAT(script, Catch::Contains("\ntrap on_preemption USR2\n"));
    CHECK_THAT(script, Catch::Contains("scancel --signal=USR2 \"$SLURM_JOB_ID\""));
    CHECK_THAT(script, Catch::Contains(
                           "scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n"));
    CHECK_THAT(script, Catch::EndsWith("exit \"$status\"\n"));
}

TEST_CASE("a trial keeps its time limit, and a short one gets a shorter preemption notice",
          "[searcher][slurm_submission]") {
    // A partition's MaxTime is often exactly what users ask for: the limit is not padded.
    Resources hour;
    hour.time = "1:00:00";
    CHECK(trial_resource_request(hour).time == "1:00:00");
    CHECK(preemption_notice_lead("1:00:00") == 60);
    CHECK(preemption_notice_lead("4") == 60);
    // A limit of a minute or two must not get the notice (60 s before the end) at start.
    CHECK(preemption_notice_lead("1") == 15);
    CHECK(preemption_notice_lead("0:30") == 7);
    CHECK(preemption_notice_lead("0:02") == 1);
    CHECK(preemption_notice_lead("UNLIMITED") == 60);
    CHECK(preemption_notice_lead("") == 60);
    // Packed tasks: their trials' time plus the notice's lead.
    CHECK(task_time_limit(60) == "00:02:00");
}

TEST_CASE("sbatch and salloc ask for resources with the same flags",
          "[searcher][slurm_submission]") {
    ResourceRequest session;
    session.nodes = 2;
    session.tasks_per_node = 3;
    session.time = "30";
    CHECK(resource_flags(session) ==
          std::vector<std::string>{"--nodes=2", "--ntasks-per-node=3", "--time=30"});
    Resources trial;
    trial.slots_per_trial = 8;
    trial.nodes = 2;
    trial.cpus_per_gpu = 4;
    trial.mem = "8G";
    CHECK(resource_flags(trial_resource_request(trial)) ==
          std::vector<std::string>{"--nodes=2", "--ntasks-per-node=4", "--gres=gpu:4",
                                   "--cpus-per-task=4", "--mem=8G"});
}

TEST_CASE("the array throttle is max_concurrent, else the searcher's max_concurrent_trials",
          "[searcher][slurm_submission]") {
    ExperimentConfig c;
    CHECK(array_throttle(c) == 0);
    c.searcher.max_concurrent_trials = 3;
    CHECK(array_throttle(c) == 3);
    c.resources.max_concurrent = 5;
    CHECK(array_throttle(c) == 5);
}

TEST_CASE("the cluster limits from a recorded scontrol show config (Slurm 22.05)",
          "[searcher][slurm_submission]") {
    const std::string text = read_file(std::filesystem::path(HPSWEEP_TEST_DATA_DIR) / "slurm" /
                                       "22.05.8" / "scontrol_show_config.txt");
    CHECK(parse_max_array_size(text) == 1001);
    CHECK(parse_slurm_config_number(text, "MaxJobCount") == 100000);
    CHECK_FALSE(parse_slurm_config_number(text, "SlurmctldHost[0]").has_value());
}

TEST_CASE("the batch script is valid bash, unpacked and packed", "[searcher][slurm_submission]") {
    // A quote in the script's text (an apostrophe inside "${1:?...}") breaks every array task
    // in the queue; bash -n finds it here.
    ExperimentConfig c;
    c.name = "it's \"quoted\"";
    c.entrypoint = {"train"};
    for (long pack : {1L, 16L}) {
        c.resources.trials_per_task = pack;
        const auto dir = std::filesystem::temp_directory_path() /
                         ("hpsweep-script-test-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        const auto script = dir / "submit.sh";
        write_file_atomic(script, render_batch_script(c, "/runs/it's here", "/opt/bin/launch"));
        const int status = std::system(("bash -n '" + script.string() + "'").c_str());
        std::filesystem::remove_all(dir);
        CHECK(status == 0);
    }
}
