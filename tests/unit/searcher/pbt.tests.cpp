#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/pbt.hpp"

namespace fs = std::filesystem;
using namespace hpsweep::searcher;

namespace {

fs::path fresh_dir(const std::string& name) {
    auto dir =
        fs::temp_directory_path() / ("hpsweep-pbt-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::vector<Hyperparameter> space() {
    return parse_experiment_config(R"(
entrypoint: train
hyperparameters:
  lr: {type: log, minval: -4, maxval: -1}
  layers: {type: int, minval: 1, maxval: 6}
  batch: [32, 64, 128, 256]
searcher: {name: random, max_trials: 4}
)",
                                   "pbt.yaml")
        .hyperparameters;
}

PbtMember member(long id, double value, double lr, std::string checkpoint = "") {
    if (checkpoint.empty())
        checkpoint = "ckpt" + std::to_string(id);
    return {id, value, {{"lr", lr}, {"layers", 3}, {"batch", 64}}, checkpoint};
}

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

std::string slurp(const fs::path& path) {
    return hpsweep::read_file(path);
}

}  // namespace

TEST_CASE("the top and bottom quantile hold floor(q n) members, at least one", "[searcher][pbt]") {
    PbtSettings s;
    CHECK(pbt_quantile_count(s, 2) == 1);
    CHECK(pbt_quantile_count(s, 8) == 2);
    CHECK(pbt_quantile_count(s, 11) == 2);
    s.quantile = 0.5;
    CHECK(pbt_quantile_count(s, 8) == 4);
}

TEST_CASE("only bottom-quantile members exploit, and only top-quantile members are copied",
          "[searcher][pbt]") {
    const auto hp = space();
    PbtSettings s;  // quantile 0.25: of 8 members, 2 at the top, 2 at the bottom
    std::vector<PbtMember> members;
    for (long id = 0; id < 8; ++id) members.push_back(member(id, 0.1 * (id + 1), 1e-3));
    for (long id = 0; id < 6; ++id) CHECK_FALSE(pbt_decide(hp, s, members, id, 1));
    for (long id : {6L, 7L}) {
        for (std::uint64_t seed = 0; seed < 20; ++seed) {
            const auto e = pbt_decide(hp, s, members, id, seed);
            REQUIRE(e);
            CHECK((e->source_trial == 0 || e->source_trial == 1));
            CHECK(e->checkpoint == "ckpt" + std::to_string(e->source_trial));
        }
    }
    // Alone at a ready point nobody exploits; larger_is_better flips the ranking.
    CHECK_FALSE(pbt_decide(hp, s, {members[7]}, 7, 1));
    s.smaller_is_better = false;
    CHECK_FALSE(pbt_decide(hp, s, members, 7, 1));
    CHECK(pbt_decide(hp, s, members, 0, 1));
}

TEST_CASE("a member without a published checkpoint is never copied; nan ranks last",
          "[searcher][pbt]") {
    const auto hp = space();
    PbtSettings s;
    std::vector<PbtMember> members;
    for (long id = 0; id < 8; ++id) members.push_back(member(id, 0.1 * (id + 1), 1e-3));
    members[0].checkpoint.clear();
    for (std::uint64_t seed = 0; seed < 10; ++seed)
        CHECK(pbt_decide(hp, s, members, 7, seed)->source_trial == 1);
    members[1].checkpoint.clear();
    CHECK_FALSE(pbt_decide(hp, s, members, 7, 1));
    members[2].value = std::nan("");
    CHECK(pbt_decide(hp, s, members, 2, 1).has_value() == false);  // no donor left
    members[0].checkpoint = "ckpt0";
    CHECK(pbt_decide(hp, s, members, 2, 1)->source_trial == 0);  // nan: bottom
}

TEST_CASE(
    "explore multiplies continuous values by a factor inside the space, moves list "
    "values to a neighbour, and resamples with resample_probability",
    "[searcher][pbt]") {
    const auto hp = space();
    PbtSettings s;
    s.resample_probability = 0;
    const nlohmann::ordered_json start{{"lr", 1e-2}, {"layers", 3}, {"batch", 64}};
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
        const auto p = pbt_perturb(hp, s, start, seed);
        const double lr = p["lr"].get<double>();
        CHECK((std::abs(lr - 0.8e-2) < 1e-12 || std::abs(lr - 1.2e-2) < 1e-12));
        CHECK((p["layers"] == 2 || p["layers"] == 4));
        CHECK((p["batch"] == 32 || p["batch"] == 128));
    }
    // Clamped at the edges of the space.
    const auto high = pbt_perturb(hp, s, {{"lr", 0.1}, {"layers", 6}, {"batch", 256}}, 3);
    CHECK(high["lr"].get<double>() <= 0.1 + 1e-15);
    CHECK(high["layers"].get<long>() <= 6);
    s.resample_probability = 1;
    int changed = 0;
    for (std::uint64_t seed = 0; seed < 50; ++seed)
        changed += pbt_perturb(hp, s, start, seed)["lr"].get<double>() != 0.8e-2 &&
                   pbt_perturb(hp, s, start, seed)["lr"].get<double>() != 1.2e-2;
    CHECK(changed == 50);
}

TEST_CASE(
    "the file-based ready points decide exactly as the sequential rule for the same "
    "arrivals, and a requeued report gets the same decision",
    "[searcher][pbt]") {
    const auto dir = fresh_dir("store");
    const auto hp = space();
    PbtSettings s;
    PbtStore store(dir, hp, s, 42);
    hpsweep::searcher::Random rng(9);
    for (long ready = 1; ready <= 3; ++ready) {
        std::vector<PbtMember> arrived;
        for (long i = 0; i < 12; ++i) {
            const long id = (i * 5 + ready) % 12;  // a different arrival order each time
            const auto m = member(id, rng.uniform01(), 1e-3 * (1 + id));
            arrived.push_back(m);
            const auto reference = pbt_decide(hp, s, arrived, id, pbt_decision_seed(42, id, ready));
            const auto decided = store.report(ready, m);
            REQUIRE(decided.has_value() == reference.has_value());
            if (decided) {
                CHECK(decided->source_trial == reference->source_trial);
                CHECK(decided->hyperparameters == reference->hyperparameters);
            }
            const auto again = store.report(ready, m);  // requeued: same record, same answer
            CHECK(again.has_value() == decided.has_value());
        }
        CHECK(store.members_at(ready).size() == 12);
    }
    fs::remove_all(dir);
}

TEST_CASE(
    "checkpoints are stored by content, restored whole, and a checkpoint that is not "
    "complete is never copied",
    "[searcher][pbt]") {
    const auto dir = fresh_dir("ckpt");
    const PbtCheckpointStore store(dir / "exp");
    write(dir / "a" / "model.pt", std::string(200000, 'w'));
    write(dir / "a" / "opt" / "state.pt", "optimizer");
    const auto digest = store.publish(dir / "a");
    CHECK(digest.size() == 16);
    CHECK(digest == checkpoint_digest(dir / "a"));
    CHECK(store.publish(dir / "a") == digest);  // same content, stored once
    write(dir / "b" / "model.pt", "other");
    CHECK(store.publish(dir / "b") != digest);

    write(dir / "trial" / "checkpoints" / "stale.pt", "mine");
    REQUIRE(store.restore(digest, dir / "trial" / "checkpoints"));
    CHECK(slurp(dir / "trial" / "checkpoints" / "model.pt").size() == 200000);
    CHECK(slurp(dir / "trial" / "checkpoints" / "opt" / "state.pt") == "optimizer");
    CHECK_FALSE(fs::exists(dir / "trial" / "checkpoints" / "stale.pt"));
    CHECK(checkpoint_digest(dir / "trial" / "checkpoints") == digest);

    // A copy cut short (a crash mid-publish leaves only a temporary name) has no digest to
    // name it by; a stored copy whose content no longer matches its name (truncated) is
    // refused, and the trial's own checkpoint stays as it was.
    write(dir / "exp" / "pbt" / "checkpoints" / ".incoming.999.1" / "model.pt", "half");
    write(dir / "trial2" / "checkpoints" / "own.pt", "own");
    fs::resize_file(store.path_of(digest) / "model.pt", 1000);
    CHECK_FALSE(store.restore(digest, dir / "trial2" / "checkpoints"));
    CHECK(slurp(dir / "trial2" / "checkpoints" / "own.pt") == "own");
    CHECK_FALSE(fs::exists(dir / "trial2" / "checkpoints" / "model.pt"));
    for (const auto& e : fs::directory_iterator(dir / "trial2"))
        CHECK(e.path().filename() == "checkpoints");  // no temporary left behind
    // Digests are names the store made, never paths.
    CHECK_FALSE(store.restore("../../a", dir / "trial2" / "checkpoints"));
    CHECK_FALSE(store.restore("0123456789abcdef", dir / "trial2" / "checkpoints"));
    fs::remove_all(dir);
}

TEST_CASE("a checkpoint holding a FIFO or a link is refused", "[searcher][pbt]") {
    const auto dir = fresh_dir("fifo");
    const PbtCheckpointStore store(dir / "exp");
    fs::create_directories(dir / "c");
    REQUIRE(::mkfifo((dir / "c" / "pipe").c_str(), 0600) == 0);
    CHECK_THROWS_AS(store.publish(dir / "c"), hpsweep::Error);
    fs::remove(dir / "c" / "pipe");
    fs::create_symlink("/etc/passwd", dir / "c" / "link");
    CHECK_THROWS_AS(store.publish(dir / "c"), hpsweep::Error);
    // Nothing half-published remains.
    for (const auto& e : fs::directory_iterator(dir / "exp" / "pbt" / "checkpoints"))
        FAIL("left behind: " << e.path());
    fs::remove_all(dir);
}
