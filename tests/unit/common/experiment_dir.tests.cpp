#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"

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
    const auto root =
        fs::temp_directory_path() / ("hpsweep-expdir-bad-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    std::ofstream(root / "trials.jsonl") << R"({"id":0,"hyperparameters":{},"argv":["x"]})"
                                         << "\n{broken\n";
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

TEST_CASE("append_trials keeps the rows there byte for byte and continues the ids",
          "[common][experiment][extend]") {
    const auto root =
        fs::temp_directory_path() / ("hpsweep-expdir-append-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    ExperimentDir exp(root);
    // Written by hand: the rows already there need not be in to_json's own spelling.
    const std::string before =
        "{\"id\":0,\"hyperparameters\":{\"lr\":0.10},\"argv\":[\"x\"]}\n"
        "{\"id\":1,\"hyperparameters\":{\"lr\":0.01},\"argv\":[\"x\"]}\n";
    std::ofstream(root / "trials.jsonl") << before;
    std::vector<TrialRecord> more;
    for (long id = 2; id < 4; ++id) {
        TrialRecord t;
        t.id = id;
        t.hyperparameters["lr"] = 0.001 * static_cast<double>(id);
        t.argv = {"x", "--lr", std::to_string(id)};
        t.hp_hash = hyperparameter_hash(t.hyperparameters);
        more.push_back(t);
    }
    exp.append_trials(more);
    const std::string after = read_file(root / "trials.jsonl");
    CHECK(after.substr(0, before.size()) == before);
    const auto back = exp.read_trials();
    REQUIRE(back.size() == 4);
    CHECK(back[3].argv == more[1].argv);
    CHECK(back[3].hp_hash == more[1].hp_hash);
    CHECK(exp.read_trial(2).hyperparameters == more[0].hyperparameters);
    CHECK(exp.read_trial(0).hp_hash.empty());

    // An id that does not continue the table is refused and the table stays as it was.
    more[0].id = 7;
    more.resize(1);
    try {
        exp.append_trials(more);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::data);
        CHECK_THAT(e.what(), Catch::Contains("must be trial 4, got trial 7"));
    }
    CHECK(read_file(root / "trials.jsonl") == after);

    // A table whose last line is cut short is not appended to.
    std::ofstream(root / "trials.jsonl") << before << "{\"id\":2,";
    more[0].id = 3;
    CHECK_THROWS_AS(exp.append_trials(more), Error);
    fs::remove_all(root);
}
