#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;

TEST_CASE("the trial table round-trips and finds one trial by id", "[common][experiment]") {
    const auto root = fs::temp_directory_path() / ("hpsweep-expdir-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    ExperimentDir exp(root);
    std::vector<TrialRecord> trials;
    for (long i = 0; i < 3; ++i) {
        TrialRecord t;
        t.id = i;
        t.hyperparameters["lr"] = 0.1 * static_cast<double>(i + 1);
        t.hyperparameters["backbone"] = "resnet" + std::to_string(18 + i);
        t.argv = {"python3", "train.py", "--lr", std::to_string(i)};
        trials.push_back(t);
    }
    exp.write_trials(trials);
    const auto back = exp.read_trials();
    REQUIRE(back.size() == 3);
    CHECK(back[2].hyperparameters["backbone"] == "resnet20");
    CHECK(exp.read_trial(1).argv == trials[1].argv);
    CHECK_THROWS_AS(exp.read_trial(7), Error);
    CHECK(exp.trial_metrics(4) == root / "trials" / "4" / "metrics.h5");
    fs::remove_all(root);
}

TEST_CASE("a corrupt trial table line is reported with file and line", "[common][experiment]") {
    const auto root = fs::temp_directory_path() / ("hpsweep-expdir-bad-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    std::ofstream(root / "trials.jsonl") << R"({"id":0,"hyperparameters":{},"argv":["x"]})" << "\n{broken\n";
    try {
        (void)ExperimentDir(root).read_trials();
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::data);
        CHECK_THAT(e.what(), Catch::Contains("trials.jsonl:2"));
    }
    fs::remove_all(root);
}

TEST_CASE("read_trial finds a trial whose line is out of place, and names a bad line",
          "[common][experiment]") {
    const auto root =
        fs::temp_directory_path() / ("hpsweep-expdir-order-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    // Line 1 is trial 2: the line-per-id shortcut must not be trusted.
    std::ofstream(root / "trials.jsonl") << R"({"id":0,"hyperparameters":{},"argv":["a"]})"
                                         << "\n"
                                         << R"({"id":2,"hyperparameters":{},"argv":["c"]})"
                                         << "\n"
                                         << R"({"id":1,"hyperparameters":{},"argv":["b"]})"
                                         << "\n";
    const ExperimentDir exp(root);
    CHECK(exp.read_trial(0).argv == std::vector<std::string>{"a"});
    CHECK(exp.read_trial(1).argv == std::vector<std::string>{"b"});
    CHECK(exp.read_trial(2).argv == std::vector<std::string>{"c"});
    CHECK_THROWS_AS(exp.read_trial(3), Error);
    CHECK_THROWS_AS(exp.read_trial(-1), Error);
    std::ofstream(root / "trials.jsonl") << R"({"id":0,"hyperparameters":{},"argv":["a"]})"
                                         << "\n{broken\n";
    CHECK(exp.read_trial(0).argv == std::vector<std::string>{"a"});
    try {
        (void)exp.read_trial(1);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("trials.jsonl:2"));
    }
    fs::remove_all(root);
}
