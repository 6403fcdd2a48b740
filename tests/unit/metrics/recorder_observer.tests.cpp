// RecorderOptions::on_record: every record the recorder accepts reaches the observer exactly
// once, whatever source carried it; dropped duplicates, resumed files and replayed journals
// do not. Adaptive search (hpsweep-launch's ASHA hook) relies on this.

// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> (std::function in _State); the code it points at is the standard library's.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "hpsweep/metrics/recorder.hpp"
#include "temp_dir.hpp"

using namespace hpsweep::metrics;
using hpsweep::test::TempDir;

namespace {

using Observed = std::tuple<std::string, std::int64_t, double>;

// Options whose on_record appends to `seen`; flushes only when asked.
RecorderOptions observing(std::vector<Observed>& seen) {
    RecorderOptions options;
    options.flush_interval = std::chrono::hours(1);
    options.on_record = [&seen](const RecordedValue& r) {
        seen.emplace_back(std::string(r.metric), r.step, r.value);
    };
    return options;
}

TrialAttributes attributes() {
    TrialAttributes a;
    a.experiment = "exp-observer";
    a.trial_id = 3;
    return a;
}

// Every record of the file, in series order, as the observer would have seen it.
std::vector<Observed> records_in_file(const std::filesystem::path& path) {
    std::vector<Observed> out;
    for (const auto& series : read_trial_file(path).metrics) {
        for (const auto& r : series.records) out.emplace_back(series.name, r.step, r.value);
    }
    return out;
}

}  // namespace

TEST_CASE("HPSWEEP_METRIC lines reach the observer once per record", "[metrics][observer]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    std::vector<Observed> seen;
    TrialRecorder recorder(path, attributes(), observing(seen));
    // key=value form on stdout, and the JSON form hpsweep.report() writes on the metrics fd
    // (the launcher hands both to consume_line).
    CHECK(recorder.consume_line("HPSWEEP_METRIC step=1 val_loss=0.9 val_acc=0.5"));
    CHECK(recorder.consume_line(R"(HPSWEEP_METRIC {"step":2,"val_loss":0.7,"val_acc":0.6})"));
    CHECK_FALSE(recorder.consume_line("epoch 2 done"));  // a plain line carries nothing
    CHECK(recorder.consume_line("HPSWEEP_METRIC step=2 val_loss=0.1"));  // duplicate step
    CHECK(recorder.consume_line("HPSWEEP_METRIC lr=0.5"));               // no step: numbered from 0
    CHECK(recorder.consume_line("HPSWEEP_METRIC lr=0.25"));
    CHECK_FALSE(recorder.consume_line("HPSWEEP_METRIC step=x val_loss=1"));  // malformed
    CHECK(seen == std::vector<Observed>{{"val_loss", 1, 0.9},
                                        {"val_acc", 1, 0.5},
                                        {"val_loss", 2, 0.7},
                                        {"val_acc", 2, 0.6},
                                        {"lr", 0, 0.5},
                                        {"lr", 1, 0.25}});
    CHECK(recorder.duplicate_record_count() == 1);
    recorder.finish("completed", 0);
    CHECK(seen.size() == records_in_file(path).size());
}

TEST_CASE("regex metrics reach the observer once per match", "[metrics][observer]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    std::vector<Observed> seen;
    auto options = observing(seen);
    options.regex_metrics.emplace_back("val_loss", R"(epoch (\d+): val_loss=([0-9.]+))", 2, 1);
    options.regex_metrics.emplace_back("val_acc", R"(val_acc=([0-9.]+))", 1, 0);
    TrialRecorder recorder(path, attributes(), options);
    // Two metrics on one line share the step the line gave.
    CHECK(recorder.consume_line("epoch 1: val_loss=0.75 val_acc=0.5"));
    CHECK(recorder.consume_line("epoch 2: val_loss=0.5"));
    CHECK_FALSE(recorder.consume_line("loading data"));
    CHECK(recorder.consume_line("epoch 2: val_loss=0.25"));  // duplicate step of val_loss
    // A line with the marker is parsed as a metric line only, never by the regexes too.
    CHECK(recorder.consume_line("HPSWEEP_METRIC step=3 val_loss=0.125"));
    CHECK(seen == std::vector<Observed>{{"val_loss", 1, 0.75},
                                        {"val_acc", 1, 0.5},
                                        {"val_loss", 2, 0.5},
                                        {"val_loss", 3, 0.125}});
    recorder.finish("completed", 0);
    CHECK(seen.size() == records_in_file(path).size());
}

TEST_CASE("Lightning CSV rows reach the observer once, rewrites included",
          "[metrics][observer][csv]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    const auto csv = dir.path() / "metrics.csv";
    std::vector<Observed> seen;
    auto options = observing(seen);
    options.lightning_csv = csv;
    TrialRecorder recorder(path, attributes(), options);
    std::ofstream(csv) << "epoch,step,train_loss\n0,0,1.5\n0,1,1.";  // last row incomplete
    recorder.tick();
    CHECK(seen == std::vector<Observed>{{"epoch", 0, 0}, {"train_loss", 0, 1.5}});
    std::ofstream(csv, std::ios::app) << "25\n";
    recorder.tick();
    CHECK(seen.size() == 4);
    // Lightning rewrites the whole file when a column appears: the rows already seen are
    // dropped as duplicates and reach the observer no second time.
    std::ofstream(csv) << "epoch,step,train_loss,val_loss\n0,0,1.5,\n0,1,1.25,\n0,1,,0.75\n";
    recorder.finish("completed", 0);
    CHECK(seen == std::vector<Observed>{{"epoch", 0, 0},
                                        {"train_loss", 0, 1.5},
                                        {"epoch", 1, 0},
                                        {"train_loss", 1, 1.25},
                                        {"val_loss", 1, 0.75}});
    CHECK(seen.size() == records_in_file(path).size());
}

TEST_CASE("record() reaches the observer; an invalid one does not", "[metrics][observer]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    std::vector<Observed> seen;
    TrialRecorder recorder(path, attributes(), observing(seen));
    CHECK(recorder.record(4, "val_loss", 0.5));
    CHECK_FALSE(recorder.record(4, "val_loss", 0.25));
    CHECK_THROWS(recorder.record(5, "bad name", 1.0));
    CHECK(seen == std::vector<Observed>{{"val_loss", 4, 0.5}});
}

TEST_CASE("a resumed trial's earlier records do not reach the observer again",
          "[metrics][observer]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    const bool killed = GENERATE(false, true);
    if (killed) {
        // A launcher killed before any flush: its records exist only in the journal.
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            RecorderOptions options;
            options.flush_interval = std::chrono::hours(1);
            auto* recorder = new TrialRecorder(path, attributes(), options);  // never freed
            recorder->consume_line("HPSWEEP_METRIC step=1 val_loss=0.5");
            recorder->consume_line("HPSWEEP_METRIC step=2 val_loss=0.4");
            recorder->sync_journal();
            ::_exit(0);
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
    } else {
        TrialRecorder first(path, attributes());
        first.consume_line("HPSWEEP_METRIC step=1 val_loss=0.5");
        first.consume_line("HPSWEEP_METRIC step=2 val_loss=0.4");
        first.finish("preempted", 0);
    }
    std::vector<Observed> seen;
    TrialRecorder resumed(path, attributes(), observing(seen));
    CHECK(seen.empty());
    // The program restarts from an older checkpoint and reports step 2 again.
    resumed.consume_line("HPSWEEP_METRIC step=2 val_loss=0.45");
    resumed.consume_line("HPSWEEP_METRIC step=3 val_loss=0.3");
    CHECK(seen == std::vector<Observed>{{"val_loss", 3, 0.3}});
    resumed.finish("completed", 0);
}
