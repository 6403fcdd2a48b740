#include <catch2/catch.hpp>

#include <string>

#include "hpsweep/datastore/snapshot_stage.hpp"
#include "hpsweep/error.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;

namespace {

// experiment.json with a snapshot record; `extra` is spliced into it.
std::string experiment(const std::string& extra = "") {
    return R"({"name": "e", "snapshot": {"enabled": true, "dataset": "snapshots.u1000",
        "dataset_id": "abcdef0123456789", "version": 3, "datastore_root": "/srv/store",
        "git": {"commit": "0123456789abcdef0123456789abcdef01234567"})" +
           extra + "}}";
}

}  // namespace

TEST_CASE("a recorded snapshot is read to its grammar", "[datastore][snapshot]") {
    const auto snapshot =
        parse_recorded_snapshot(experiment(R"(, "workdir": "src/app")"), "e.json");
    REQUIRE(snapshot);
    CHECK(snapshot->dataset == "snapshots.u1000");
    CHECK(snapshot->dataset_id == "abcdef0123456789");
    CHECK(snapshot->version == 3);
    CHECK(snapshot->datastore_root == "/srv/store");
    CHECK(snapshot->workdir == "src/app");
    CHECK(snapshot->commit.size() == 40);
    CHECK(parse_recorded_snapshot(experiment(R"(, "workdir": ".")"), "e.json")->workdir.empty());

    CHECK_FALSE(parse_recorded_snapshot(R"({"name": "e"})", "e.json"));
    CHECK_FALSE(
        parse_recorded_snapshot(R"({"snapshot": {"enabled": false, "reason": "x"}})", "e.json"));
}

TEST_CASE("a recorded snapshot with a value out of its grammar is refused by name",
          "[datastore][snapshot]") {
    const auto refused = [](const std::string& text, const std::string& key) {
        CHECK_THROWS_WITH(parse_recorded_snapshot(text, "e.json"),
                          Catch::Contains("e.json") && Catch::Contains(key));
    };
    refused(experiment(R"(, "workdir": "../../etc")"), "snapshot.workdir");
    refused(experiment(R"(, "workdir": "/etc")"), "snapshot.workdir");
    refused(experiment(R"(, "workdir": "a/../../b")"), "snapshot.workdir");
    refused(R"({"snapshot": {"enabled": true, "dataset": "../x", "dataset_id": "abcdef0123456789",
        "version": 1, "datastore_root": "/s"}})",
            "snapshot.dataset");
    refused(R"({"snapshot": {"enabled": true, "dataset": "snapshots.u1", "dataset_id": "../../x",
        "version": 1, "datastore_root": "/s"}})",
            "snapshot.dataset_id");
    refused(
        R"({"snapshot": {"enabled": true, "dataset": "snapshots.u1", "dataset_id": "abcdef0123456789",
        "version": 0, "datastore_root": "/s"}})",
        "snapshot.version");
    refused(
        R"({"snapshot": {"enabled": true, "dataset": "snapshots.u1", "dataset_id": "abcdef0123456789",
        "version": 1, "datastore_root": "relative"}})",
        "snapshot.datastore_root");
    refused(
        R"({"snapshot": {"enabled": true, "dataset": "snapshots.u1", "dataset_id": "abcdef0123456789",
        "version": 1, "datastore_root": "/s", "git": {"commit": "`id` not hex"}}})",
        "snapshot.git.commit");
    refused("not json", "not valid JSON");
}
