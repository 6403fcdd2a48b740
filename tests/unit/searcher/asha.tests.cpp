#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <queue>
#include <random>
#include <set>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/asha.hpp"

namespace fs = std::filesystem;
using namespace hpsweep::searcher;

namespace {

fs::path fresh_experiment(const std::string& name) {
    auto dir =
        fs::temp_directory_path() / ("hpsweep-asha-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

AshaSettings loss_settings(long max_length, int divisor, int max_rungs, AshaMode mode) {
    AshaSettings s;
    s.metric = "val_loss";
    s.smaller_is_better = true;
    s.max_length = max_length;
    s.divisor = divisor;
    s.max_rungs = max_rungs;
    s.mode = mode;
    return s;
}

// A family of learning curves with a known best configuration: trial i converges to
// floor_i with speed_i; trial `best` has the lowest loss at every step.
struct CurveFamily {
    std::vector<double> floors, speeds;
    long best = 0;
    double loss(long trial, long step) const {
        const auto i = static_cast<size_t>(trial);
        return floors[i] + (1.0 - floors[i]) * std::exp(-speeds[i] * static_cast<double>(step));
    }
};

CurveFamily make_family(long trials, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> floor_dist(0.2, 0.8), speed_dist(0.05, 0.5);
    CurveFamily family;
    for (long i = 0; i < trials; ++i) {
        family.floors.push_back(floor_dist(rng));
        family.speeds.push_back(speed_dist(rng));
    }
    family.best = std::uniform_int_distribution<long>(0, trials - 1)(rng);
    family.floors[static_cast<size_t>(family.best)] = 0.05;  // lowest floor...
    family.speeds[static_cast<size_t>(family.best)] = 0.6;   // ...and fastest: best at every step
    return family;
}

bool recorded_at(const AshaStore& store, int rung, long trial) {
    const auto results = store.results_at(rung);
    return std::any_of(results.begin(), results.end(),
                       [&](const RungResult& r) { return r.trial_id == trial; });
}

struct Arrival {
    double time;
    long trial;
    int rung;
    bool operator>(const Arrival& other) const { return time > other.time; }
};

// Runs a sweep asynchronously: `workers` slots, each trial trains rung by rung with its own
// speed; reports hit the file store in simulated-time order. Returns reports and decisions.
std::pair<std::vector<AshaReport>, std::vector<AshaDecision>> run_async_sweep(
    AshaStore& store, const CurveFamily& family, long trials, int workers, unsigned seed) {
    const auto& rungs = store.schedule().rung_lengths();
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> pace(0.5, 1.5);
    std::priority_queue<Arrival, std::vector<Arrival>, std::greater<>> events;
    long next_trial = 0;
    auto start_trial = [&](double now) {
        if (next_trial >= trials)
            return;
        const long id = next_trial++;
        const int first = store.schedule().first_rung_of(id);
        events.push(
            {now + pace(rng) * static_cast<double>(rungs[static_cast<size_t>(first)]), id, first});
    };
    for (int w = 0; w < workers; ++w) start_trial(0.0);
    std::vector<AshaReport> reports;
    std::vector<AshaDecision> decisions;
    while (!events.empty()) {
        const Arrival a = events.top();
        events.pop();
        const double value = family.loss(a.trial, rungs[static_cast<size_t>(a.rung)]);
        reports.push_back({a.trial, a.rung, value});
        const auto decision = store.report(a.trial, a.rung, value);
        decisions.push_back(decision);
        const bool last_rung = static_cast<size_t>(a.rung) + 1 == rungs.size();
        if (decision == AshaDecision::continue_training && !last_rung) {
            const long more =
                rungs[static_cast<size_t>(a.rung) + 1] - rungs[static_cast<size_t>(a.rung)];
            events.push({a.time + pace(rng) * static_cast<double>(more), a.trial, a.rung + 1});
        } else {
            start_trial(a.time);  // the array slot goes to the next trial
        }
    }
    return {reports, decisions};
}

}  // namespace

TEST_CASE("rungs sit at max_length / divisor^k and the last is max_length", "[searcher][asha]") {
    CHECK(AshaSchedule(loss_settings(16, 4, 5, AshaMode::aggressive)).rung_lengths() ==
          std::vector<long>{1, 4, 16});
    CHECK(AshaSchedule(loss_settings(100, 4, 3, AshaMode::aggressive)).rung_lengths() ==
          std::vector<long>{6, 25, 100});
    CHECK(AshaSchedule(loss_settings(3, 4, 5, AshaMode::aggressive)).rung_lengths() ==
          std::vector<long>{3});
    const AshaSchedule schedule(loss_settings(64, 4, 4, AshaMode::aggressive));
    CHECK_FALSE(schedule.rung_reached(0).has_value());
    CHECK(schedule.rung_reached(1) == 0);
    CHECK(schedule.rung_reached(15) == 1);
    CHECK(schedule.rung_reached(64) == 3);
    CHECK(schedule.survivors(1) == 1);
    CHECK(schedule.survivors(4) == 1);
    CHECK(schedule.survivors(5) == 2);
    CHECK(schedule.survivors(16) == 4);
}

TEST_CASE("modes give Hyperband brackets: 1, about half the rungs, every rung",
          "[searcher][asha]") {
    CHECK(AshaSchedule(loss_settings(64, 4, 4, AshaMode::aggressive)).bracket_count() == 1);
    CHECK(AshaSchedule(loss_settings(64, 4, 4, AshaMode::standard)).bracket_count() == 2);
    const AshaSchedule conservative(loss_settings(64, 4, 4, AshaMode::conservative));
    CHECK(conservative.bracket_count() == 4);
    CHECK(conservative.first_rung_of(6) == 2);
    CHECK(parse_asha_mode("standard") == AshaMode::standard);
    CHECK_THROWS_AS(parse_asha_mode("reckless"), hpsweep::Error);
    CHECK_THROWS_AS(AshaSchedule(loss_settings(0, 4, 4, AshaMode::standard)), hpsweep::Error);
    CHECK_THROWS_AS(AshaSchedule(loss_settings(10, 1, 4, AshaMode::standard)), hpsweep::Error);
}

TEST_CASE("the file-based rule decides exactly as a sequential ASHA for the same arrivals",
          "[searcher][asha]") {
    const auto mode = GENERATE(AshaMode::aggressive, AshaMode::standard, AshaMode::conservative);
    const unsigned seed = GENERATE(1u, 2u, 3u);
    const long trials = 64;
    const auto dir = fresh_experiment("reference");
    AshaStore store(dir, AshaSchedule(loss_settings(64, 4, 4, mode)));
    const auto family = make_family(trials, seed);
    const auto [reports, decisions] = run_async_sweep(store, family, trials, 8, seed);

    CHECK(decisions == simulate_asha(store.schedule(), reports));
    // The best configuration is never stopped early, and reaches the last rung.
    const int last = static_cast<int>(store.schedule().rung_lengths().size()) - 1;
    for (size_t i = 0; i < reports.size(); ++i) {
        if (reports[i].trial_id == family.best) {
            CHECK(decisions[i] == AshaDecision::continue_training);
        }
    }
    CHECK(recorded_at(store, last, family.best));
    fs::remove_all(dir);
}

TEST_CASE("in steady state 75% of trials stop at a rung with divisor 4", "[searcher][asha]") {
    const auto dir = fresh_experiment("steady");
    AshaStore store(dir, AshaSchedule(loss_settings(16, 4, 3, AshaMode::aggressive)));
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> loss(0.0, 1.0);
    long stopped_late = 0, late = 0;
    for (long trial = 0; trial < 1000; ++trial) {
        const auto decision = store.report(trial, 0, loss(rng));
        if (trial >= 200) {
            ++late;
            stopped_late += decision == AshaDecision::stop ? 1 : 0;
        }
    }
    const double fraction = static_cast<double>(stopped_late) / static_cast<double>(late);
    CHECK(fraction > 0.70);
    CHECK(fraction < 0.80);
    fs::remove_all(dir);
}

TEST_CASE("a requeued trial reporting the same rung again gets the same decision, once recorded",
          "[searcher][asha]") {
    const auto dir = fresh_experiment("requeue");
    AshaStore store(dir, AshaSchedule(loss_settings(16, 4, 3, AshaMode::aggressive)));
    CHECK(store.report(0, 0, 0.5) == AshaDecision::continue_training);
    CHECK(store.report(1, 0, 0.9) == AshaDecision::stop);
    CHECK(store.report(1, 0, 0.1) == AshaDecision::stop);  // first record stands
    CHECK(store.results_at(0).size() == 2);
}

TEST_CASE("greater-is-better metrics, ties and diverged values", "[searcher][asha]") {
    auto settings = loss_settings(16, 2, 3, AshaMode::aggressive);
    settings.metric = "val_acc";
    settings.smaller_is_better = false;
    const auto dir = fresh_experiment("accuracy");
    AshaStore store(dir, AshaSchedule(settings));
    CHECK(store.report(0, 0, 0.5) == AshaDecision::continue_training);
    CHECK(store.report(1, 0, 0.9) == AshaDecision::continue_training);  // best of 2
    CHECK(store.report(2, 0, 0.2) == AshaDecision::stop);               // 3rd of 3, 2 survive
    CHECK(store.report(3, 0, 0.9) == AshaDecision::continue_training);  // tie: 2nd of 4
    CHECK(store.report(4, 0, std::nan("")) == AshaDecision::stop);      // diverged ranks last
    fs::remove_all(dir);
}

TEST_CASE("concurrent writers on one rung each get a distinct slot, and nothing is lost",
          "[searcher][asha]") {
    const auto dir = fresh_experiment("concurrent");
    const AshaSchedule schedule(loss_settings(16, 4, 3, AshaMode::aggressive));
    constexpr int writers = 12;
    std::vector<pid_t> children;
    for (int w = 0; w < writers; ++w) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            try {
                AshaStore store(dir, schedule);
                store.report(w, 0, 1.0 / (w + 1));
                ::_exit(0);
            } catch (...) {
                ::_exit(1);
            }
        }
        children.push_back(pid);
    }
    for (const pid_t pid : children) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    AshaStore store(dir, schedule);
    const auto results = store.results_at(0);
    REQUIRE(results.size() == writers);
    std::set<long> trials, sequences;
    std::vector<AshaReport> replay;
    for (const auto& r : results) {
        trials.insert(r.trial_id);
        sequences.insert(r.sequence);
        replay.push_back({r.trial_id, 0, r.value});
    }
    CHECK(trials.size() == writers);
    CHECK(*sequences.rbegin() == writers - 1);
    // Replaying the slot order through the reference gives what each writer would now decide.
    const auto reference = simulate_asha(schedule, replay);
    for (size_t i = 0; i < results.size(); ++i) {
        CHECK(store.report(results[i].trial_id, 0, results[i].value) == reference[i]);
    }
    CHECK(fs::directory_iterator(dir / "asha" / "rung0") != fs::directory_iterator{});
    fs::remove_all(dir);
}

namespace {

// The promotion form's reference, the rule as stated and nothing cleverer: after every
// arrival the best floor(n / divisor) results so far, ranked by value and then arrival, are
// added to the promoted set. Returns, per arrival, the trials that arrival added.
std::vector<std::set<long>> promoted_by_each_arrival(const std::vector<double>& values,
                                                     int divisor) {
    std::set<long> promoted;
    std::vector<std::set<long>> added;
    for (size_t n = 1; n <= values.size(); ++n) {
        std::vector<long> order(n);
        for (size_t i = 0; i < n; ++i) order[i] = static_cast<long>(i);
        std::stable_sort(order.begin(), order.end(), [&](long a, long b) {
            return values[static_cast<size_t>(a)] < values[static_cast<size_t>(b)];
        });
        std::set<long> now;
        for (size_t k = 0; k < n / static_cast<size_t>(divisor); ++k) {
            if (promoted.insert(order[k]).second)
                now.insert(order[k]);
        }
        added.push_back(now);
    }
    return added;
}

}  // namespace

TEST_CASE("the promotion form promotes what the rule as stated promotes, each trial once",
          "[searcher][asha]") {
    std::mt19937_64 rng(20261205);
    for (int divisor = 2; divisor <= 5; ++divisor) {
        for (int sequence = 0; sequence < 40; ++sequence) {
            // Few distinct values, so that ties are common.
            std::uniform_int_distribution<int> level(0, sequence % 2 == 0 ? 6 : 1000);
            std::vector<double> values(120);
            for (auto& v : values) v = level(rng) / 10.0;
            const auto expected = promoted_by_each_arrival(values, divisor);
            AshaPromotionRung rung(
                AshaSchedule(loss_settings(81, divisor, 5, AshaMode::aggressive)));
            for (size_t i = 0; i < values.size(); ++i) {
                const AshaPromotion got = rung.report(static_cast<long>(i), values[i]);
                std::set<long> added;
                if (got.reporting_trial)
                    added.insert(static_cast<long>(i));
                if (got.paused_trial)
                    added.insert(*got.paused_trial);
                INFO("divisor " << divisor << ", sequence " << sequence << ", arrival " << i);
                CHECK(added == expected[i]);
                CHECK_FALSE((got.reporting_trial && got.paused_trial));
            }
        }
    }
}

TEST_CASE("the promotion form: a rung that closes promotes its best ceil(n / divisor)",
          "[searcher][asha]") {
    std::mt19937_64 rng(20261206);
    for (int divisor = 2; divisor <= 5; ++divisor) {
        for (const size_t n : {size_t{1}, size_t{7}, size_t{50}, size_t{120}}) {
            std::uniform_int_distribution<int> level(0, 6);
            std::vector<double> values(n);
            for (auto& v : values) v = level(rng) / 10.0;
            std::set<long> promoted;
            for (const auto& added : promoted_by_each_arrival(values, divisor))
                promoted.insert(added.begin(), added.end());
            std::vector<long> order(n);
            for (size_t i = 0; i < n; ++i) order[i] = static_cast<long>(i);
            std::stable_sort(order.begin(), order.end(), [&](long a, long b) {
                return values[static_cast<size_t>(a)] < values[static_cast<size_t>(b)];
            });
            std::optional<long> missing;
            const size_t best =
                (n + static_cast<size_t>(divisor) - 1) / static_cast<size_t>(divisor);
            for (size_t k = 0; k < best; ++k) {
                if (!promoted.count(order[k])) {
                    REQUIRE_FALSE(missing.has_value());  // never more than one
                    missing = order[k];
                }
            }
            AshaPromotionRung rung(
                AshaSchedule(loss_settings(81, divisor, 5, AshaMode::aggressive)));
            for (size_t i = 0; i < n; ++i) rung.report(static_cast<long>(i), values[i]);
            INFO("divisor " << divisor << ", " << n << " results");
            CHECK(rung.promoted_count() == static_cast<long>(promoted.size()));
            CHECK(rung.close() == missing);
            CHECK(rung.promoted_count() == static_cast<long>(promoted.size() + (missing ? 1 : 0)));
            CHECK_FALSE(rung.close().has_value());  // closing twice promotes nobody more
        }
    }
}

TEST_CASE("the promotion form: a paused trial goes on once enough worse results arrive",
          "[searcher][asha]") {
    AshaPromotionRung rung(AshaSchedule(loss_settings(81, 3, 5, AshaMode::aggressive)));
    // Two results: floor(2 / 3) = 0 promoted, both trials pause (the stop-once form would
    // have let the first go on).
    CHECK_FALSE(rung.report(10, 0.5).reporting_trial);
    CHECK_FALSE(rung.report(11, 0.4).paused_trial.has_value());
    // The third result is worse: the best of three, trial 11, paused, is promoted now.
    const AshaPromotion third = rung.report(12, 0.9);
    CHECK_FALSE(third.reporting_trial);
    REQUIRE(third.paused_trial.has_value());
    CHECK(*third.paused_trial == 11);
    // A new best among four goes on at once and promotes nobody else.
    const AshaPromotion fourth = rung.report(13, 0.1);
    CHECK(fourth.reporting_trial);
    CHECK_FALSE(fourth.paused_trial.has_value());
    CHECK(rung.size() == 4);
}

TEST_CASE("the promotion form: greater-is-better metrics and diverged values", "[searcher][asha]") {
    AshaSettings accuracy_settings = loss_settings(81, 2, 5, AshaMode::aggressive);
    accuracy_settings.smaller_is_better = false;
    AshaPromotionRung accuracy{AshaSchedule(accuracy_settings)};
    CHECK_FALSE(accuracy.report(0, 0.7).reporting_trial);
    CHECK(accuracy.report(1, 0.9).reporting_trial);  // the better of two
    AshaPromotionRung loss{AshaSchedule(loss_settings(81, 2, 5, AshaMode::aggressive))};
    CHECK_FALSE(loss.report(0, std::nan("")).reporting_trial);
    // A finite loss ranks before a nan, however large.
    CHECK(loss.report(1, 1e300).reporting_trial);
    CHECK_FALSE(loss.report(2, -INFINITY).reporting_trial);
    // Its divisor comes from a schedule, which refuses a divisor below 2.
    CHECK_THROWS_AS(AshaPromotionRung(AshaSchedule(loss_settings(81, 1, 5, AshaMode::aggressive))),
                    hpsweep::Error);
}

TEST_CASE("the file store's promotion form promotes as the in-memory rule, and again on requeue",
          "[searcher][asha]") {
    const int divisor = GENERATE(2, 3, 4);
    const auto dir = fresh_experiment("promotion-files");
    const AshaSchedule schedule(loss_settings(81, divisor, 5, AshaMode::aggressive));
    AshaStore store(dir, schedule);
    AshaPromotionRung reference(schedule);
    std::mt19937 rng(static_cast<unsigned>(divisor));
    std::uniform_int_distribution<int> level(0, 9);  // ties are common
    const long trials = 60;
    std::vector<AshaStore::Arrival> arrivals;
    for (long trial = 0; trial < trials; ++trial) {
        const double value = level(rng) / 10.0;
        const AshaPromotion expected = reference.report(trial, value);
        // The 60th result closes rung 0: the in-memory rung closes too.
        std::optional<long> closing;
        if (trial + 1 == trials && !expected.reporting_trial && !expected.paused_trial)
            closing = reference.close();
        const auto got = store.arrive_promotion(trial, 0, value, trials);
        INFO("divisor " << divisor << ", trial " << trial);
        CHECK(got.goes_on == (expected.reporting_trial || closing == trial));
        const auto hosted = got.host ? std::optional<long>(got.host->trial) : std::nullopt;
        CHECK(hosted == (expected.paused_trial ? expected.paused_trial
                         : closing != trial    ? closing
                                               : std::nullopt));
        if (got.host) {
            CHECK(got.host->rung == 0);
            CHECK(got.host->by == trial);
            CHECK(store.promotion_of(got.host->trial, 0)->by == trial);
        }
        arrivals.push_back(got);
    }
    // A requeued trial reports its rung again, with another value: its first record stands,
    // and so does what its arrival promoted, still claimed for it.
    for (long trial : {0L, 17L, 59L}) {
        const auto again = store.arrive_promotion(trial, 0, 0.0, trials);
        const auto& first = arrivals[static_cast<size_t>(trial)];
        CHECK(again.goes_on == first.goes_on);
        CHECK(again.host.has_value() == first.host.has_value());
        if (again.host && first.host)
            CHECK(again.host->trial == first.host->trial);
    }
    CHECK(store.results_at(0).size() == static_cast<size_t>(trials));
    fs::remove_all(dir);
}

TEST_CASE("a promotion-form sweep resumes each promotion once, and the best reaches the top",
          "[searcher][asha]") {
    const unsigned seed = GENERATE(1u, 2u, 3u);
    const int workers = GENERATE(1, 4);
    const long trials = 24;
    const auto dir = fresh_experiment("promotion-sweep");
    AshaStore store(dir, AshaSchedule(loss_settings(16, 4, 3, AshaMode::aggressive)));
    const auto& rungs = store.schedule().rung_lengths();
    const auto family = make_family(trials, seed);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> pace(0.5, 1.5);
    std::priority_queue<Arrival, std::vector<Arrival>, std::greater<>> events;
    long next_trial = 0;
    std::map<std::pair<long, int>, int> resumed;  // (trial, rung) -> times a task resumed it
    auto run_next = [&](double now, int from_rung, long trial) {
        const long epochs = rungs[static_cast<size_t>(from_rung + 1)] -
                            (from_rung < 0 ? 0 : rungs[static_cast<size_t>(from_rung)]);
        events.push({now + pace(rng) * static_cast<double>(epochs), trial, from_rung + 1});
    };
    for (int w = 0; w < workers && next_trial < trials; ++w) run_next(0.0, -1, next_trial++);
    while (!events.empty()) {
        const Arrival a = events.top();
        events.pop();
        const auto arrival = store.arrive_promotion(
            a.trial, a.rung, family.loss(a.trial, rungs[static_cast<size_t>(a.rung)]), trials);
        const bool last = static_cast<size_t>(a.rung) + 1 == rungs.size();
        if (arrival.goes_on) {
            REQUIRE_FALSE(last);
            run_next(a.time, a.rung, a.trial);
        } else if (arrival.host) {  // the worker resumes the paused trial it was handed
            ++resumed[{arrival.host->trial, arrival.host->rung}];
            run_next(a.time, arrival.host->rung, arrival.host->trial);
        } else if (next_trial < trials) {
            run_next(a.time, -1, next_trial++);
        }
    }
    INFO("seed " << seed << ", " << workers << " workers");
    for (const auto& [promotion, times] : resumed) CHECK(times == 1);
    CHECK_FALSE(resumed.empty());
    // Each rung closed: the trials at the rung above are exactly those the rule promotes out
    // of it, the best ceil(n / divisor) among them.
    for (size_t k = 0; k + 1 < rungs.size(); ++k) {
        AshaPromotionRung replay(store.schedule());
        std::set<long> promoted;
        for (const auto& r : store.results_at(static_cast<int>(k))) {
            const auto p = replay.report(r.trial_id, r.value);
            if (p.reporting_trial)
                promoted.insert(r.trial_id);
            if (p.paused_trial)
                promoted.insert(*p.paused_trial);
        }
        if (const auto closing = replay.close())
            promoted.insert(*closing);
        std::set<long> above;
        for (const auto& r : store.results_at(static_cast<int>(k) + 1)) above.insert(r.trial_id);
        CHECK(above == promoted);
    }
    // The best configuration is never left paused below the top.
    CHECK(recorded_at(store, static_cast<int>(rungs.size()) - 1, family.best));
    fs::remove_all(dir);
}

TEST_CASE("a promotion is recorded once, by the first result that claims it", "[searcher][asha]") {
    const auto dir = fresh_experiment("promotion-record");
    AshaStore store(dir, AshaSchedule(loss_settings(81, 3, 5, AshaMode::aggressive)));
    store.arrive_promotion(4, 2, 0.5, 10);
    CHECK_FALSE(store.promotion_of(4, 2).has_value());
    CHECK_FALSE(store.highest_promotion(4).has_value());
    CHECK(store.record_promotion({4, 2, 9, 2}));
    CHECK_FALSE(store.record_promotion({4, 2, 11, 2}));  // a second claim changes nothing
    const auto recorded = store.promotion_of(4, 2);
    REQUIRE(recorded.has_value());
    CHECK(recorded->trial == 4);
    CHECK(recorded->rung == 2);
    CHECK(recorded->by == 9);
    CHECK(recorded->by_rung == 2);
    CHECK(store.record_promotion({4, 0, 7, 1}));
    CHECK(store.highest_promotion(4) == 2);
    CHECK_FALSE(store.highest_promotion(9).has_value());
    // The promotion records sit beside the rung's slots and are not read as results.
    CHECK(store.results_at(2).size() == 1);
    // Nothing but the record is left behind: no temporaries.
    long entries = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir / "asha/rung2/promoted"))
        ++entries;
    CHECK(entries == 1);
    fs::remove_all(dir);
}
