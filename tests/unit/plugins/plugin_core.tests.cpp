// The Slurm-free half of the SPANK plugin: option values and the trial environment.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "plugin_core.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;
using namespace hpsweep::plugin;

namespace {

fs::path fresh_dir(const std::string& name) {
    auto dir =
        fs::temp_directory_path() / ("hpsweep-plugin-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

template <typename F>
std::string usage_error(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::usage);
        return e.what();
    }
    FAIL("expected an Error(usage)");
    return {};
}

TrialRecord make_trial(long id, nlohmann::ordered_json hyperparameters,
                       std::vector<std::string> argv) {
    TrialRecord trial;
    trial.id = id;
    trial.hyperparameters = std::move(hyperparameters);
    trial.argv = std::move(argv);
    return trial;
}

}  // namespace

TEST_CASE("option --gpu-affinity takes closest, none or verbose", "[plugin][options]") {
    CHECK(parse_affinity_option("closest") == GpuAffinity::closest);
    CHECK(parse_affinity_option("none") == GpuAffinity::none);
    CHECK(parse_affinity_option("verbose") == GpuAffinity::verbose);
    CHECK_THAT(
        usage_error([] { parse_affinity_option("nearest"); }),
        Catch::Contains("--gpu-affinity=nearest") && Catch::Contains("closest, none or verbose"));
    CHECK_THROWS_AS(parse_affinity_option(""), Error);
}

#ifdef HPSWEEP_PLUGIN_HAVE_DATASTORE
TEST_CASE("option --datastore takes a list of references", "[plugin][options]") {
    CHECK(parse_datastore_option("cifar10") == std::vector<std::string>{"cifar10"});
    CHECK(parse_datastore_option("cifar10:3,imagenet:latest, coco:v2") ==
          std::vector<std::string>{"cifar10:3", "imagenet:latest", "coco:v2"});
    CHECK_THAT(usage_error([] { parse_datastore_option("a,,b"); }), Catch::Contains("empty item"));
    CHECK_THAT(usage_error([] { parse_datastore_option(""); }), Catch::Contains("empty item"));
    CHECK_THAT(usage_error([] { parse_datastore_option("a:1,a:2"); }),
               Catch::Contains("'a' is named twice"));
    CHECK_THAT(usage_error([] { parse_datastore_option("my-data,MY_DATA"); }),
               Catch::Contains("HPSWEEP_DATASTORE_MY_DATA is already taken"));
    CHECK_THAT(usage_error([] { parse_datastore_option("../etc"); }), Catch::Contains("'../etc'"));
    CHECK_THAT(usage_error([] { parse_datastore_option("ok,bad/name"); }),
               Catch::Contains("'bad/name'"));
}
#endif

TEST_CASE("datastore variables are upper-case shell names", "[plugin][options]") {
    CHECK(datastore_name("cifar10:3") == "cifar10");
    CHECK(datastore_name("cifar10") == "cifar10");
    CHECK(datastore_variable("cifar10") == "HPSWEEP_DATASTORE_CIFAR10");
    CHECK(datastore_variable("my-data.v2") == "HPSWEEP_DATASTORE_MY_DATA_V2");
}

TEST_CASE("option --hpsweep-trial names an experiment directory", "[plugin][trial]") {
    const auto dir = fresh_dir("trial-option");
    const auto experiment = dir / "exp";
    fs::create_directories(experiment);
    CHECK_THAT(usage_error([&] { parse_trial_option("exp", dir); }),
               Catch::Contains("trials.jsonl") && Catch::Contains("not an experiment directory"));
    ExperimentDir(experiment).write_trials({make_trial(0, {{"lr", 0.1}}, {})});
    CHECK(parse_trial_option("exp", dir) == experiment);
    CHECK(parse_trial_option("./exp/", dir) == experiment / "");
    CHECK(parse_trial_option(experiment.string(), "/elsewhere") == experiment);
    CHECK_THAT(usage_error([&] { parse_trial_option("missing", dir); }),
               Catch::Contains("is not a directory"));
    CHECK_THAT(usage_error([&] { parse_trial_option("", dir); }),
               Catch::Contains("needs an experiment directory"));
    fs::remove_all(dir);
}

TEST_CASE("an array task's trial is HPSWEEP_TRIAL_OFFSET + SLURM_ARRAY_TASK_ID",
          "[plugin][trial]") {
    CHECK(trial_id_for({{"SLURM_ARRAY_TASK_ID", "3"}}) == 3);
    CHECK(trial_id_for({{"SLURM_ARRAY_TASK_ID", "3"}, {"HPSWEEP_TRIAL_OFFSET", "1000"}}) == 1003);
    CHECK(trial_id_for({{"SLURM_ARRAY_TASK_ID", "0"}, {"HPSWEEP_TRIAL_OFFSET", ""}}) == 0);
    CHECK_THAT(usage_error([] { trial_id_for({}); }), Catch::Contains("job array"));
    CHECK_THAT(usage_error([] {
                   trial_id_for({{"SLURM_ARRAY_TASK_ID", "1"}, {"HPSWEEP_TRIAL_OFFSET", "x"}});
               }),
               Catch::Contains("HPSWEEP_TRIAL_OFFSET='x'"));
    CHECK_THAT(usage_error([] {
                   trial_id_for({{"SLURM_ARRAY_TASK_ID", "-2"}});
               }),
               Catch::Contains("SLURM_ARRAY_TASK_ID"));
}

TEST_CASE("trial arguments keep the searcher's text and quote only what needs it",
          "[plugin][trial]") {
    // argv ends in the searcher's `--name value` pairs: those words are used as written.
    const auto from_argv =
        make_trial(4, {{"lr", 1e-05}, {"backbone", "resnet18"}},
                   {"python3", "train.py", "--lr", "1e-5", "--backbone", "resnet18"});
    CHECK(trial_arguments(from_argv) == "--lr 1e-5 --backbone resnet18");

    // No matching argv: formatted from the values; words with spaces/quotes are quoted.
    const auto formatted = make_trial(
        5, {{"layers", 3}, {"name", "it's big"}, {"dropout", true}, {"sizes", {1, 2}}}, {});
    CHECK(trial_arguments(formatted) ==
          "--layers 3 --name 'it'\\''s big' --dropout true --sizes '[1,2]'");

    const auto no_hyperparameters = make_trial(0, nlohmann::ordered_json::object(), {"x"});
    CHECK(trial_arguments(no_hyperparameters).empty());
}

TEST_CASE("the trial environment names the trial's directories and values", "[plugin][trial]") {
    const auto dir = fresh_dir("trial-env");
    const ExperimentDir experiment(dir);
    const auto trial = make_trial(7, {{"lr", 0.01}, {"batch-size", 32}},
                                  {"python3", "t.py", "--lr", "0.01", "--batch-size", "32"});
    const auto env = trial_environment(experiment, trial);
    CHECK(env.at("HPSWEEP_EXPERIMENT_DIR") == dir.string());
    CHECK(env.at("HPSWEEP_TRIAL_ID") == "7");
    CHECK(env.at("HPSWEEP_TRIAL_DIR") == (dir / "trials" / "7").string());
    CHECK(env.at("HPSWEEP_CHECKPOINT_DIR") == (dir / "trials" / "7" / "checkpoints").string());
    CHECK(env.at("HPSWEEP_TRIAL_ARGS") == "--lr 0.01 --batch-size 32");
    CHECK(env.at("HPSWEEP_HP_LR") == "0.01");
    CHECK(env.at("HPSWEEP_HP_BATCH_SIZE") == "32");
    CHECK(env.size() == 7);

    prepare_trial_directories(experiment, 7);
    prepare_trial_directories(experiment, 7);  // idempotent
    CHECK(fs::is_directory(dir / "trials" / "7" / "checkpoints"));
    fs::remove_all(dir);
}

TEST_CASE("the job environment comes from an envp array", "[plugin][env]") {
    const char* envp[] = {"A=1", "B=x=y", "EMPTY=", "NOEQUALS", "A=2", nullptr};
    const auto env = environment_from_envp(envp);
    CHECK(lookup(env, "A") == "2");
    CHECK(lookup(env, "B") == "x=y");
    CHECK(lookup(env, "EMPTY") == "");
    CHECK_FALSE(lookup(env, "NOEQUALS").has_value());
    CHECK(environment_from_envp(nullptr).empty());
}

TEST_CASE("option --hpsweep-container is checked where the user submits", "[plugin][container]") {
    const auto dir = fresh_dir("container-option");
    { std::ofstream(dir / "torch.tar.gz") << "not really a tarball"; }
    { std::ofstream(dir / "torch.bin") << "x"; }
    fs::create_directories(dir / "unpacked");
    REQUIRE(::mkfifo((dir / "pipe.tar").c_str(), 0600) == 0);

    CHECK(check_container_option("torch.tar.gz", dir, "auto") == (dir / "torch.tar.gz").string());
    CHECK(check_container_option((dir / "unpacked").string(), "/", "auto") ==
          (dir / "unpacked").string());
    CHECK(check_container_option("docker://ubuntu:22.04", dir, "auto") == "docker://ubuntu:22.04");
    // The site names the runtime: the image's form need not say it.
    CHECK(check_container_option("torch.bin", dir, "apptainer") == (dir / "torch.bin").string());

    CHECK_THAT(usage_error([&] { check_container_option("nope.sif", dir, "auto"); }),
               Catch::Contains("--hpsweep-container=nope.sif: " + (dir / "nope.sif").string() +
                               " does not exist or is not readable"));
    CHECK_THAT(usage_error([&] { check_container_option("pipe.tar", dir, "auto"); }),
               Catch::Contains("is not a regular file or a directory"));
    CHECK_THAT(usage_error([&] { check_container_option("-x.sif", dir, "auto"); }),
               Catch::Contains("cannot start with '-'"));
#ifdef HPSWEEP_PLUGIN_HAVE_LAUNCHER
    CHECK_THAT(usage_error([&] { check_container_option("torch.bin", dir, "auto"); }),
               Catch::Contains("cannot tell which container runtime runs image"));
#endif
    fs::remove_all(dir);
}
