#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "data_error.hpp"
#include "hpsweep/contracts/experiment_record.hpp"
#include "hpsweep/fs.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;
using nlohmann::ordered_json;

namespace {

ExperimentRecord sample_record() {
    ExperimentRecord r;
    r.name = "digits";
    r.id = "digits-20261204-192607";
    r.created = "2026-12-04T19:26:07Z";
    r.origin = "run";
    r.command_line = {"train.py", "--lr", "[0.1, 0.01]"};
    r.cwd = "/home/a";
    r.num_trials = 2;
    r.seed = 42;
    r.searcher.strategy = Strategy::adaptive_asha;
    r.searcher.metric = "val_loss";
    r.searcher.max_trials = 2;
    r.searcher.max_length = MaxLength{"epochs", 8};
    r.searcher.seed = 42;
    r.resources.slots_per_trial = 4;
    r.resources.nodes = 2;
    r.resources.time = "1:00:00";
    r.datastores = {"imagenet:3"};
    r.metrics.regex = {{"acc", "acc=(?P<value>\\S+)"}};
    r.max_array_size = 1001;
    r.max_concurrent = 2;
    r.launcher = "/opt/hpsweep/bin/hpsweep-launch";
    r.arrays.push_back(ArrayRecord{"17", 0, "0-1%2", 2, "submit", "2026-12-04T19:26:08Z"});
    r.cancellations.push_back(CancellationRecord{"2026-12-04T19:30:00Z", false, {1}});
    return r;
}

// The bytes `hpsweep run` wrote before the record had a type: kept so that tests and users
// reading experiment.json (h5py scripts, the tutorial, jq) see the same file.
constexpr const char* sample_text = R"json({
  "format": 1,
  "name": "digits",
  "id": "digits-20261204-192607",
  "created": "2026-12-04T19:26:07Z",
  "origin": "run",
  "command_line": [
    "train.py",
    "--lr",
    "[0.1, 0.01]"
  ],
  "cwd": "/home/a",
  "num_trials": 2,
  "seed": 42,
  "searcher": {
    "name": "adaptive_asha",
    "metric": "val_loss",
    "smaller_is_better": true,
    "max_trials": 2,
    "max_length": {
      "unit": "epochs",
      "value": 8
    },
    "seed": 42,
    "divisor": 4,
    "max_rungs": 5,
    "mode": "standard",
    "max_concurrent_trials": null
  },
  "resources": {
    "slots_per_trial": 4,
    "nodes": 2,
    "gpus_per_node": 2,
    "cpus_per_gpu": 0,
    "mem": "",
    "time": "1:00:00",
    "partition": "",
    "account": "",
    "max_concurrent": 0,
    "trials_per_task": 1,
    "trials_per_gpu": 1,
    "gpus_per_task": 1
  },
  "datastores": [
    "imagenet:3"
  ],
  "metrics": {
    "regex": {
      "acc": "acc=(?P<value>\\S+)"
    },
    "lightning_csv": ""
  },
  "max_array_size": 1001,
  "max_concurrent": 2,
  "launcher": "/opt/hpsweep/bin/hpsweep-launch",
  "arrays": [
    {
      "job_id": "17",
      "offset": 0,
      "array": "0-1%2",
      "trials": 2,
      "kind": "submit",
      "submitted": "2026-12-04T19:26:08Z"
    }
  ],
  "cancellations": [
    {
      "time": "2026-12-04T19:30:00Z",
      "trials": [
        1
      ]
    }
  ]
})json";

ExperimentRecord read_text(const std::string& text) {
    return experiment_record_from_json(ordered_json::parse(text), "EXP/experiment.json");
}

// sample_text with one field of the top level (or of `block`) replaced.
std::string with_field(const std::string& block, const std::string& key, ordered_json value) {
    auto j = ordered_json::parse(sample_text);
    if (block.empty())
        j[key] = std::move(value);
    else
        j[block][key] = std::move(value);
    return j.dump();
}

}  // namespace

TEST_CASE("experiment.json is written byte for byte as before and reads back the same",
          "[common][contracts]") {
    const auto record = sample_record();
    CHECK(to_json(record).dump(2) == sample_text);
    const auto back = read_text(sample_text);
    CHECK(to_json(back).dump(2) == sample_text);
    CHECK(back.searcher.strategy == Strategy::adaptive_asha);
    CHECK(back.searcher.max_length->value == 8);
    CHECK(back.resources.gpus_per_node() == 2);
    CHECK(back.arrays.at(0).job_id == "17");
    CHECK(back.cancellations.at(0).trials == std::vector<long>{1});
    CHECK_FALSE(back.cancellations.at(0).all);
}

TEST_CASE("experiment.json records the lengths as written when step_unit converted them",
          "[common][contracts]") {
    auto record = sample_record();
    record.searcher.step_unit = "epochs";
    record.searcher.max_length = MaxLength{"epochs", 16};
    record.searcher.as_written =
        LengthsAsWritten{MaxLength{"records", 960000}, std::nullopt, 60000, std::nullopt};
    const auto j = to_json(record);
    CHECK(j["searcher"]["max_length"] == ordered_json{{"unit", "epochs"}, {"value", 16}});
    CHECK(j["searcher"]["step_unit"] == "epochs");
    CHECK(j["searcher"]["as_written"] ==
          ordered_json{{"max_length", {{"unit", "records"}, {"value", 960000}}},
                       {"records_per_epoch", 60000}});
    const auto back = experiment_record_from_json(j, "EXP/experiment.json");
    CHECK(back.searcher.step_unit == "epochs");
    REQUIRE(back.searcher.as_written);
    CHECK(back.searcher.as_written->max_length == MaxLength{"records", 960000});
    CHECK(back.searcher.as_written->records_per_epoch == 60000);
    CHECK_FALSE(back.searcher.as_written->global_batch_size);
    CHECK(to_json(back) == j);
    // A file from before step_unit: nothing converted.
    const auto old = read_text(sample_text);
    CHECK(old.searcher.step_unit.empty());
    CHECK_FALSE(old.searcher.as_written);
    check_data_error([] { read_text(with_field("searcher", "step_unit", "epoch")); },
                     {"field 'searcher.step_unit'", "epochs, batches, records or steps"});
}

TEST_CASE("experiment.json keeps keys it does not know when rewritten", "[common][contracts]") {
    auto j = ordered_json::parse(sample_text);
    j["written_by_a_newer_hpsweep"] = {{"x", 1}};
    auto record = experiment_record_from_json(j, "EXP/experiment.json");
    record.cancellations.push_back(CancellationRecord{"t", true, {}});
    const auto out = to_json(record);
    CHECK(out["written_by_a_newer_hpsweep"]["x"] == 1);
    CHECK(out["cancellations"].back() == ordered_json{{"time", "t"}, {"all", true}});
}

TEST_CASE("a hand-written experiment.json needs only a name", "[common][contracts]") {
    const auto record = read_text(R"({"name":"sweep-7","searcher":{"metric":"val_loss"}})");
    CHECK(record.name == "sweep-7");
    CHECK(record.searcher.metric == "val_loss");
    CHECK(record.searcher.smaller_is_better);
    CHECK(record.searcher.strategy == Strategy::grid);
    CHECK(record.num_trials == 0);
    CHECK(record.arrays.empty());
}

TEST_CASE("experiment.json errors name the file and the field", "[common][contracts]") {
    check_data_error([] { read_text(R"({"num_trials": 3})"); },
                     {"EXP/experiment.json", "field 'name'", "missing"});
    check_data_error(
        [] { read_text(with_field("", "num_trials", "three")); },
        {"EXP/experiment.json: field 'num_trials'", "expected an integer >= 0", "got string"});
    check_data_error([] { read_text(with_field("", "num_trials", -1)); },
                     {"field 'num_trials'", "got -1"});
    check_data_error([] { read_text(with_field("searcher", "name", "bayes")); },
                     {"field 'searcher.name'",
                      "single, grid, random, adaptive_asha, tpe, pbt or bohb", "'bayes'"});
    check_data_error([] { read_text(with_field("searcher", "divisor", 1)); },
                     {"field 'searcher.divisor'", ">= 2", "got 1"});
    check_data_error([] { read_text(with_field("searcher", "smaller_is_better", "yes")); },
                     {"field 'searcher.smaller_is_better'", "true or false"});
    check_data_error([] { read_text(with_field("resources", "nodes", 0)); },
                     {"field 'resources.nodes'", "got 0"});
    check_data_error([] { read_text(with_field("", "resources", ordered_json::array())); },
                     {"field 'resources'", "expected an object, got array"});
    check_data_error([] { read_text(with_field("", "seed", -5)); },
                     {"field 'seed'", "expected an integer >= 0"});
    check_data_error([] { read_text(with_field("", "datastores", ordered_json::array({1}))); },
                     {"field 'datastores'", "expected strings"});
    auto j = ordered_json::parse(sample_text);
    j["arrays"][0].erase("job_id");
    check_data_error([&] { experiment_record_from_json(j, "EXP/experiment.json"); },
                     {"field 'arrays[0].job_id'", "missing"});
    j = ordered_json::parse(sample_text);
    j["arrays"][0]["kind"] = "again";
    check_data_error([&] { experiment_record_from_json(j, "EXP/experiment.json"); },
                     {"field 'arrays[0].kind'", "expected submit, resubmit or extend"});
    check_data_error([] { read_text("[]"); }, {"EXP/experiment.json", "expected a JSON object"});
}

TEST_CASE("experiment.json on disk: atomic write, invalid JSON named with its path",
          "[common][contracts]") {
    const auto root = fs::temp_directory_path() / ("hpsweep-record-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    const auto path = root / "experiment.json";
    write_experiment_record(path, sample_record());
    CHECK(read_file(path) == std::string(sample_text) + "\n");
    CHECK(read_experiment_record(path).id == "digits-20261204-192607");
    std::ofstream(path) << "{\"name\": ";
    check_data_error([&] { read_experiment_record(path); }, {path.string(), "invalid JSON"});
    fs::remove_all(root);
}
