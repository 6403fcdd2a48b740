#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "../metrics/temp_dir.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/pack_supervisor.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;
using namespace hpsweep::launcher;

namespace {

std::string status_of(const ExperimentDir& exp, long trial) {
    return nlohmann::json::parse(read_file(exp.trial_result(trial))).value("status", "");
}

}  // namespace

TEST_CASE("a packed task runs each trial's launch in a forked child in its slot",
          "[launcher][pack]") {
    const test::TempDir dir;
    ExperimentDir exp(dir.path());
    std::vector<TrialRecord> trials;
    for (long id = 0; id < 6; ++id) {
        TrialRecord t;
        t.id = id;
        t.argv = {"/bin/sh", "-c", id == 3 ? "exit 4" : "exit 0"};
        trials.push_back(t);
    }
    exp.write_trials(trials);
    fs::create_directories(exp.trial_dir(5));
    write_file_atomic(exp.trial_cancel_request(5), "");  // hpsweep cancel EXP 5, before its turn

    PackOptions pack;
    pack.experiment = dir.path();
    pack.first_trial = 0;
    pack.count = 6;
    pack.trials_per_gpu = 2;
    pack.policy = GpuAffinity::none;
    pack.topology_file = std::string(HPSWEEP_TOPOLOGY_DIR) + "/pcie-4gpu.xml";
    pack.gpus = "0";
    const pid_t supervisor = ::getpid();
    pack.run_trial = [&](const LaunchOptions& trial) {
        // In the child: what the slot gave this trial, then the single-trial launch.
        const char* gpu = std::getenv("CUDA_VISIBLE_DEVICES");
        fs::create_directories(exp.trial_dir(*trial.trial));
        write_file_atomic(exp.trial_dir(*trial.trial) / "seen",
                          nlohmann::json{{"pid", ::getpid()},
                                         {"port", trial.ddp.master_port.value_or(-1)},
                                         {"cpuset", trial.cpuset.value_or("")},
                                         {"gpu", gpu ? gpu : ""},
                                         {"topology_loaded", trial.topology != nullptr}}
                              .dump());
        return launch(trial);
    };
    CHECK(run_pack(pack) == 1);  // trial 3 failed, trial 5 was cancelled

    std::set<int> ports;
    for (long id : {0, 1, 2, 3, 4}) {
        const auto seen = nlohmann::json::parse(read_file(exp.trial_dir(id) / "seen"));
        CHECK(seen["pid"].get<int>() != supervisor);
        CHECK(seen["topology_loaded"] == true);
        CHECK(seen["gpu"] != "");
        CHECK(seen["cpuset"] != "");
        ports.insert(seen["port"].get<int>());
        CHECK(status_of(exp, id) == (id == 3 ? "failed" : "completed"));
    }
    CHECK(ports.size() == 2);  // one DDP port per slot
    CHECK_FALSE(fs::exists(exp.trial_dir(5) / "seen"));
    CHECK(status_of(exp, 5) == "cancelled");
}

TEST_CASE("a packed task needs a share and a way to run a trial", "[launcher][pack]") {
    PackOptions pack;
    pack.experiment = "/nonexistent";
    pack.count = 0;
    CHECK_THROWS_AS(run_pack(pack), Error);
    pack.count = 1;
    CHECK_THROWS_AS(run_pack(pack), Error);  // no run_trial
}
