// trials.jsonl rows, result.json and the ASHA rung records.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>

#include "data_error.hpp"
#include "hpsweep/contracts/rung_record.hpp"
#include "hpsweep/contracts/strategy.hpp"
#include "hpsweep/contracts/trial_record.hpp"
#include "hpsweep/contracts/trial_result.hpp"
#include "hpsweep/fs.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;
using nlohmann::ordered_json;

TEST_CASE("a trial table row round-trips and names a bad field", "[common][contracts]") {
    TrialRecord t;
    t.id = 3;
    t.hyperparameters["lr"] = 0.01;
    t.argv = {"python3", "train.py", "--lr", "0.01"};
    const auto j = to_json(t);
    CHECK(j.dump() ==
          R"({"id":3,"hyperparameters":{"lr":0.01},"argv":["python3","train.py","--lr","0.01"]})");
    const auto back = trial_from_json(j, "trials.jsonl:4");
    CHECK(back.id == 3);
    CHECK(back.argv == t.argv);
    CHECK(back.hyperparameters["lr"] == 0.01);

    auto bad = j;
    bad["id"] = "3";
    check_data_error([&] { trial_from_json(bad, "trials.jsonl:4"); },
                     {"trials.jsonl:4: field 'id'", "got string"});
    bad = j;
    bad["id"] = -1;
    check_data_error([&] { trial_from_json(bad, "trials.jsonl:4"); }, {"field 'id'", "got -1"});
    bad = j;
    bad.erase("argv");
    check_data_error([&] { trial_from_json(bad, "trials.jsonl:4"); }, {"field 'argv'", "missing"});
    bad = j;
    bad["argv"] = ordered_json::array();
    check_data_error([&] { trial_from_json(bad, "trials.jsonl:4"); }, {"field 'argv'", "empty"});
    bad = j;
    bad["hyperparameters"] = 1;
    check_data_error([&] { trial_from_json(bad, "trials.jsonl:4"); },
                     {"field 'hyperparameters'", "expected an object"});
    bad = j;
    bad["added_later"] = true;
    CHECK(trial_from_json(bad, "trials.jsonl:4").id == 3);
}

TEST_CASE("result.json round-trips, keeps the launcher's layout and names a bad field",
          "[common][contracts]") {
    TrialResultRecord r;
    r.trial = 5;
    r.status = "failed";
    r.exit_code = 3;
    r.start = "2026-11-22T00:00:00Z";
    r.end = "2026-11-22T00:10:00Z";
    r.node = "n1";
    r.job_id = "41";
    r.array_job_id = "40";
    r.array_task_id = "5";
    r.restart_count = 1;
    const auto j = to_json(r);
    CHECK(j.dump() == R"({"trial":5,"status":"failed","exit_code":3,"signal":null,)"
                      R"("start":"2026-11-22T00:00:00Z","end":"2026-11-22T00:10:00Z","node":"n1",)"
                      R"("job_id":"41","array_job_id":"40","array_task_id":"5","step_id":null,)"
                      R"("rank":0,"restart_count":1})");
    const auto back = trial_result_from_json(j, "result.json");
    CHECK(back.exit_code == 3);
    CHECK_FALSE(back.signal);
    CHECK(back.array_job_id == std::optional<std::string>("40"));
    CHECK_FALSE(back.step_id);

    // Running: no end, no exit code.
    TrialResultRecord running;
    running.start = "2026-11-22T00:00:00Z";
    const auto rj = to_json(running);
    CHECK(rj["end"].is_null());
    CHECK(rj["exit_code"].is_null());

    // Files written by hand need only the trial and its status.
    const auto minimal =
        trial_result_from_json(ordered_json{{"trial", 0}, {"status", "completed"}}, "r.json");
    CHECK(minimal.status == "completed");
    CHECK_FALSE(minimal.exit_code);

    check_data_error(
        [] {
            trial_result_from_json(ordered_json{{"trial", 0}}, "EXP/trials/0/result.json");
        },
        {"EXP/trials/0/result.json: field 'status'", "missing"});
    check_data_error(
        [] {
            trial_result_from_json(
                ordered_json{{"trial", 0}, {"status", "failed"}, {"exit_code", "3"}}, "r.json");
        },
        {"field 'exit_code'", "got string"});
    check_data_error(
        [] {
            trial_result_from_json(
                ordered_json{{"trial", 0}, {"status", "failed"}, {"exit_code", 1LL << 40}},
                "r.json");
        },
        {"field 'exit_code'", "from -2147483648 to 2147483647"});
}

TEST_CASE("result.json on disk is written atomically and read back", "[common][contracts]") {
    const auto root = fs::temp_directory_path() / ("hpsweep-result-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    TrialResultRecord r;
    r.trial = 1;
    r.status = "completed";
    r.exit_code = 0;
    write_trial_result(root / "result.json", r);
    CHECK(read_file(root / "result.json").back() == '\n');
    CHECK(read_trial_result(root / "result.json").exit_code == 0);
    fs::remove_all(root);
}

TEST_CASE("an ASHA rung record round-trips and names a bad field", "[common][contracts]") {
    const auto j = to_json(RungRecord{7, 0.25, 1});
    CHECK(j.dump() == R"({"trial":7,"value":0.25,"rung":1})");
    const auto back = rung_record_from_json(j, "asha/rung1/0");
    CHECK(back.trial == 7);
    CHECK(back.value == 0.25);
    CHECK(back.rung == 1);
    check_data_error(
        [] {
            rung_record_from_json(ordered_json{{"trial", 7}, {"value", "x"}, {"rung", 1}},
                                  "asha/rung1/0");
        },
        {"asha/rung1/0: field 'value'", "expected a number, got string"});
    check_data_error(
        [] {
            rung_record_from_json(ordered_json{{"trial", 7}, {"value", 1.0}}, "asha/rung1/0");
        },
        {"field 'rung'", "missing"});
    check_data_error(
        [] {
            rung_record_from_json(ordered_json{{"trial", -2}, {"value", 1.0}, {"rung", 0}},
                                  "asha/rung0/3");
        },
        {"field 'trial'", "got -2"});
}

TEST_CASE("ASHA's promotion form: a paused result and a promotion record round-trip",
          "[common][contracts]") {
    TrialResultRecord paused;
    paused.trial = 3;
    paused.status = "paused";
    paused.paused_at_rung = 1;
    const auto pj = to_json(paused);
    CHECK(pj["paused_at_rung"] == 1);
    CHECK(trial_result_from_json(pj, "result.json").paused_at_rung == 1);
    // Written only when set: every other result.json keeps its layout.
    CHECK_FALSE(to_json(TrialResultRecord{}).contains("paused_at_rung"));
    check_data_error(
        [] {
            trial_result_from_json(
                ordered_json{{"trial", 0}, {"status", "paused"}, {"paused_at_rung", -1}}, "r.json");
        },
        {"field 'paused_at_rung'", "got -1"});

    const auto j = to_json(PromotionRecord{4, 1, 9, 2});
    CHECK(j.dump() == R"({"trial":4,"rung":1,"by":9,"by_rung":2})");
    const auto back = promotion_record_from_json(j, "asha/rung1/promoted/4");
    CHECK(back.trial == 4);
    CHECK(back.rung == 1);
    CHECK(back.by == 9);
    CHECK(back.by_rung == 2);
    check_data_error(
        [] {
            promotion_record_from_json(ordered_json{{"trial", 4}, {"rung", 1}, {"by", 9}},
                                       "asha/rung1/promoted/4");
        },
        {"asha/rung1/promoted/4: field 'by_rung'", "missing"});
}

TEST_CASE("strategy names parse once, both ways", "[common][contracts]") {
    for (const auto s : {Strategy::single, Strategy::grid, Strategy::random,
                         Strategy::adaptive_asha, Strategy::tpe, Strategy::pbt, Strategy::bohb}) {
        CHECK(parse_strategy(strategy_name(s)) == s);
    }
    CHECK_FALSE(parse_strategy("grid_search"));
    CHECK(strategy_names() == "single, grid, random, adaptive_asha, tpe, pbt or bohb");
}

TEST_CASE("each capability has one predicate: bohb both chooses at start and stops early",
          "[common][contracts]") {
    CHECK(chooses_at_start(Strategy::tpe));
    CHECK(chooses_at_start(Strategy::bohb));
    CHECK_FALSE(chooses_at_start(Strategy::adaptive_asha));
    CHECK_FALSE(chooses_at_start(Strategy::pbt));
    CHECK_FALSE(chooses_at_start(Strategy::random));
    CHECK(stops_early(Strategy::adaptive_asha));
    CHECK(stops_early(Strategy::bohb));
    CHECK_FALSE(stops_early(Strategy::tpe));
    CHECK_FALSE(stops_early(Strategy::grid));
}

TEST_CASE("the hyper-parameter hash: keys sorted, numbers by value, strings apart",
          "[common][contracts][extend]") {
    const auto a = ordered_json::parse(R"({"lr":0.1,"bs":32,"opt":{"name":"sgd","m":0.9}})");
    const auto b = ordered_json::parse(R"({"opt":{"m":0.90,"name":"sgd"},"bs":32.0,"lr":0.10})");
    CHECK(canonical_json(a) == R"({"bs":32,"lr":0.1,"opt":{"m":0.9,"name":"sgd"}})");
    CHECK(canonical_json(b) == canonical_json(a));
    CHECK(hyperparameter_hash(a) == hyperparameter_hash(b));
    CHECK(canonical_json(ordered_json::parse("1e-1")) == "0.1");
    CHECK(canonical_json(ordered_json::parse("-0.0")) == "0");
    CHECK(canonical_json(ordered_json::parse("1e300")) == "1e+300");
    CHECK(canonical_json(ordered_json::parse(R"(["b", true, null])")) == R"(["b",true,null])");

    // The string "0.1" is not the number 0.1, and any value that differs changes the hash.
    CHECK(hyperparameter_hash(ordered_json::parse(R"({"lr":"0.1"})")) !=
          hyperparameter_hash(ordered_json::parse(R"({"lr":0.1})")));
    CHECK(hyperparameter_hash(ordered_json::parse(R"({"lr":0.1,"bs":64})")) !=
          hyperparameter_hash(a));

    // The form recorded in trials.jsonl ("hp_hash"): XXH3-64 of the canonical text, which
    // must not change between versions (rows written by one are compared by the next).
    const std::string h = hyperparameter_hash(ordered_json::object());
    CHECK(h.rfind("xxh3-64:", 0) == 0);
    CHECK(h.size() == 8 + 16);
    CHECK(h == "xxh3-64:1349cde127705c16");  // XXH3_64bits("{}"), from xxhash's own C API
}
