// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> (std::function in _State); the code it points at is the standard library's.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "hpsweep/error.hpp"
#include "hpsweep/metrics/recorder.hpp"
#include "temp_dir.hpp"

using namespace hpsweep::metrics;
using hpsweep::test::TempDir;

namespace {
TrialAttributes sample_attributes() {
    TrialAttributes attributes;
    attributes.experiment = "exp-a";
    attributes.trial_id = 7;
    attributes.hyperparameters = {{"lr", 0.01}, {"batch", 32}, {"opt", "adam"}, {"warm", true}};
    attributes.command = {"python", "train.py", "--lr", "0.01"};
    attributes.plan = {{"gpus", {0, 1}}};
    return attributes;
}

const MetricSeries& series(const TrialFileContent& content, const std::string& name) {
    for (const auto& s : content.metrics) {
        if (s.name == name)
            return s;
    }
    FAIL("no metric " << name);
    throw std::logic_error("unreachable");
}

std::vector<std::int64_t> steps_of(const MetricSeries& s) {
    std::vector<std::int64_t> steps;
    for (const auto& r : s.records) steps.push_back(r.step);
    return steps;
}
}  // namespace

TEST_CASE("a recorder writes every reported value with its attributes", "[metrics][recorder]") {
    TempDir dir;
    const auto path = dir.path() / "trials" / "7" / "metrics.h5";
    {
        TrialRecorder recorder(path, sample_attributes());
        CHECK(recorder.consume_line("HPSWEEP_METRIC step=1 loss=0.5 acc=0.25"));
        CHECK_FALSE(recorder.consume_line("epoch 1 done"));
        CHECK(
            recorder.consume_line(R"(HPSWEEP_METRIC {"step": 2, "loss": 0.25, "val/acc": 0.75})"));
        CHECK(recorder.record(3, "loss", 0.125));
        recorder.finish("completed", 0);
        CHECK(recorder.record_count() == 5);
    }
    const TrialFileContent content = read_trial_file(path);
    CHECK(content.status == "completed");
    CHECK(content.exit_code == 0);
    CHECK(content.attempts == 1);
    CHECK(content.end_unix >= content.start_unix);
    CHECK(content.attributes.experiment == "exp-a");
    CHECK(content.attributes.trial_id == 7);
    CHECK(content.attributes.hyperparameters["batch"] == 32);
    const auto& loss = series(content, "loss");
    CHECK(steps_of(loss) == std::vector<std::int64_t>{1, 2, 3});
    CHECK(loss.records[2].value == 0.125);
    CHECK(loss.records[0].wall_time > 1.6e9);
    CHECK(series(content, "val/acc").records.at(0).value == 0.75);

    const TrialFileSummary summary = read_trial_file_summary(path);
    REQUIRE(summary.metrics.size() == 3);
    CHECK(summary.metrics[1].name == "loss");
    CHECK(summary.metrics[1].min_value == 0.125);
    CHECK(summary.metrics[1].min_step == 3);
    CHECK(summary.metrics[1].max_step == 1);
    CHECK(summary.metrics[1].last_step == 3);
}

TEST_CASE("malformed lines are counted, never thrown", "[metrics][recorder]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    TrialRecorder recorder(path, sample_attributes());
    CHECK_FALSE(recorder.consume_line("HPSWEEP_METRIC step=1 loss=oops"));
    CHECK_FALSE(recorder.consume_line("HPSWEEP_METRIC {"));
    CHECK(recorder.consume_line("HPSWEEP_METRIC step=1 loss=1"));
    CHECK(recorder.malformed_line_count() == 2);
    REQUIRE(recorder.warnings().size() == 2);
    CHECK_THAT(recorder.warnings()[0],
               Catch::Contains("output line 1") && Catch::Contains("'oops'"));
    recorder.flush();
    CHECK(read_trial_file(path).malformed_lines == 2);
    CHECK_THROWS_AS(recorder.record(1, "bad name", 1.0), hpsweep::Error);
}

TEST_CASE("lines without a step are numbered after the last step", "[metrics][recorder]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    TrialRecorder recorder(path, sample_attributes());
    recorder.consume_line("HPSWEEP_METRIC loss=3");
    recorder.consume_line("HPSWEEP_METRIC loss=2");
    recorder.consume_line("HPSWEEP_METRIC step=10 loss=1");
    recorder.consume_line("HPSWEEP_METRIC loss=0.5");
    recorder.flush();
    CHECK(steps_of(series(read_trial_file(path), "loss")) ==
          std::vector<std::int64_t>{0, 1, 10, 11});
}

TEST_CASE("a requeued trial resumes with no duplicated or lost step", "[metrics][recorder]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    double first_start = 0;
    {
        TrialRecorder recorder(path, sample_attributes());
        for (int step = 0; step < 50; ++step) {
            recorder.consume_line("HPSWEEP_METRIC step=" + std::to_string(step) +
                                  " loss=" + std::to_string(step));
        }
        recorder.flush();
        first_start = read_trial_file(path).start_unix;
        // Killed here: no finish(). The destructor's flush is what a clean exit would do.
    }
    // A writer killed between creating and renaming a snapshot leaves a temporary behind.
    std::ofstream(dir.path() / "metrics.h5.tmp.999.0") << "half a file";
    {
        auto attributes = sample_attributes();
        attributes.slurm_job_id = "1234";
        TrialRecorder recorder(path, attributes);
        CHECK(recorder.attempts() == 2);
        CHECK_FALSE(std::filesystem::exists(dir.path() / "metrics.h5.tmp.999.0"));
        // Restarted from the checkpoint of step 40: steps 40..49 come again.
        for (int step = 40; step < 80; ++step) {
            recorder.consume_line("HPSWEEP_METRIC step=" + std::to_string(step) +
                                  " loss=" + std::to_string(-step));
        }
        CHECK(recorder.duplicate_record_count() == 10);
        recorder.finish("completed", 0);
    }
    const TrialFileContent content = read_trial_file(path);
    const auto steps = steps_of(series(content, "loss"));
    REQUIRE(steps.size() == 80);
    for (std::int64_t i = 0; i < 80; ++i) CHECK(steps[static_cast<std::size_t>(i)] == i);
    // The first writer's values stay for the steps it had.
    CHECK(series(content, "loss").records[45].value == 45);
    CHECK(series(content, "loss").records[60].value == -60);
    CHECK(content.attempts == 2);
    CHECK(content.start_unix == first_start);
    CHECK(content.duplicate_records == 10);
}

namespace {
// A launcher killed with kill -9: a child process records, syncs its journal and ends with
// _exit, so no destructor and no flush runs. `steps` are reported as loss=step*10.
void record_then_die(const std::filesystem::path& path, int first, int last, bool flush_first) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        RecorderOptions options;
        options.flush_interval = std::chrono::hours(1);
        auto* recorder = new TrialRecorder(path, sample_attributes(), options);  // never freed
        for (int step = first; step <= last; ++step) {
            recorder->consume_line("HPSWEEP_METRIC step=" + std::to_string(step) +
                                   " loss=" + std::to_string(step * 10));
            if (step == (first + last) / 2 && flush_first)
                recorder->flush();
            if (step % 7 == 0)
                recorder->sync_journal();  // several writes, like rounds of reads
        }
        recorder->sync_journal();
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
}
}  // namespace

TEST_CASE("records a killed recorder had taken are replayed from its journal",
          "[metrics][recorder]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    const auto journal = dir.path() / "metrics.h5.journal";
    const bool flushed_half = GENERATE(false, true);
    record_then_die(path, 1, 40, flushed_half);
    REQUIRE(std::filesystem::exists(journal));
    // Only the snapshot flushed before the "kill" is in the file itself.
    std::size_t in_file = 0;
    for (const auto& m : read_trial_file(path).metrics) in_file += m.records.size();
    CHECK(in_file == (flushed_half ? 20u : 0u));
    {
        TrialRecorder recorder(path, sample_attributes());
        CHECK(recorder.duplicate_record_count() == 0);
        const auto warnings = recorder.warnings();
        REQUIRE_FALSE(warnings.empty());
        CHECK_THAT(warnings.back(),
                   Catch::Contains(flushed_half ? "recovered 20" : "recovered 40"));
        // The replayed records are in the file before the new run adds anything.
        CHECK(steps_of(series(read_trial_file(path), "loss")).size() == 40);
        CHECK(std::filesystem::file_size(journal) == 0);
        recorder.consume_line("HPSWEEP_METRIC step=41 loss=410");
        recorder.finish("completed", 0);
    }
    CHECK_FALSE(std::filesystem::exists(journal));  // finish() removes it
    const auto content = read_trial_file(path);
    const auto& loss = series(content, "loss");
    REQUIRE(loss.records.size() == 41);
    for (std::size_t i = 0; i < loss.records.size(); ++i) {
        CHECK(loss.records[i].step == static_cast<std::int64_t>(i + 1));
        CHECK(loss.records[i].value == static_cast<double>((i + 1) * 10));
    }
    CHECK(content.duplicate_records == 0);
}

TEST_CASE("a journal cut in the middle of an entry keeps the entries before the cut",
          "[metrics][recorder]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    const auto journal = dir.path() / "metrics.h5.journal";
    record_then_die(path, 1, 10, false);
    // Each record entry is 29 bytes; cut the last one short (a write interrupted by the kill).
    const auto size = std::filesystem::file_size(journal);
    std::filesystem::resize_file(journal, size - 5);
    TrialRecorder recorder(path, sample_attributes());
    CHECK(steps_of(series(read_trial_file(path), "loss")).size() == 9);
    for (const auto& w : recorder.warnings()) CHECK_THAT(w, !Catch::Contains("damaged"));

    // Garbage well before the end is reported, and what came before it is still kept.
    TempDir other;
    const auto path2 = other.path() / "metrics.h5";
    record_then_die(path2, 1, 10, false);
    {
        std::fstream f(other.path() / "metrics.h5.journal",
                       std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(
            std::filesystem::file_size(other.path() / "metrics.h5.journal") - 29 * 4));
        f.put('X');
    }
    TrialRecorder recorder2(path2, sample_attributes());
    CHECK(steps_of(series(read_trial_file(path2), "loss")).size() == 6);
    bool reported = false;
    for (const auto& w : recorder2.warnings())
        reported = reported || w.find("damaged") != std::string::npos;
    CHECK(reported);
}

TEST_CASE("flush_interval bounds how long a record stays in memory", "[metrics][recorder]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    RecorderOptions options;
    options.flush_interval = std::chrono::milliseconds(0);
    TrialRecorder recorder(path, sample_attributes(), options);
    recorder.consume_line("HPSWEEP_METRIC step=1 loss=1");
    // No explicit flush: the interval (0) already wrote it.
    CHECK(series(read_trial_file(path), "loss").records.size() == 1);
    CHECK(recorder.flush_count() >= 2);
}

TEST_CASE("an unreadable file is kept aside, not overwritten", "[metrics][recorder]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    std::ofstream(path) << "not hdf5";
    TrialRecorder recorder(path, sample_attributes());
    REQUIRE(recorder.warnings().size() == 1);
    CHECK_THAT(recorder.warnings()[0], Catch::Contains("not a readable HDF5 file"));
    bool kept = false;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        kept = kept || entry.path().filename().string().starts_with("metrics.h5.unreadable.");
    }
    CHECK(kept);
    CHECK(read_trial_file(path).status == "running");
}

TEST_CASE("a recorder tails Lightning's metrics.csv, rewrites included",
          "[metrics][recorder][csv]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    const auto csv = dir.path() / "lightning" / "metrics.csv";
    std::filesystem::create_directories(csv.parent_path());
    RecorderOptions options;
    options.lightning_csv = csv;
    options.flush_interval = std::chrono::hours(1);
    TrialRecorder recorder(path, sample_attributes(), options);
    recorder.tick();  // no file yet: nothing, no error
    std::ofstream(csv)
        << "epoch,step,train_loss\n0,0,1.5\n0,1,1.25\n0,2,1.";  // last row incomplete
    recorder.tick();
    std::ofstream(csv, std::ios::app) << "0\n";
    recorder.tick();
    // Lightning rewrites the file with a new column when validation starts.
    std::ofstream(csv)
        << "epoch,step,train_loss,val_loss\n0,0,1.5,\n0,1,1.25,\n0,2,1.0,\n0,2,,0.75\n1,3,0.5,\n";
    recorder.finish("completed", 0);
    const TrialFileContent content = read_trial_file(path);
    CHECK(steps_of(series(content, "train_loss")) == std::vector<std::int64_t>{0, 1, 2, 3});
    CHECK(series(content, "train_loss").records[2].value == 1.0);
    CHECK(steps_of(series(content, "val_loss")) == std::vector<std::int64_t>{2});
    CHECK(steps_of(series(content, "epoch")) == std::vector<std::int64_t>{0, 1, 2, 3});
    CHECK(content.malformed_lines == 0);
}

TEST_CASE("regex metrics from the config are recorded", "[metrics][recorder]") {
    TempDir dir;
    const auto path = dir.path() / "metrics.h5";
    RecorderOptions options;
    options.regex_metrics.emplace_back("val_loss", R"(it (\d+): val_loss=([0-9.]+))", 2, 1);
    TrialRecorder recorder(path, sample_attributes(), options);
    CHECK(recorder.consume_line("it 5: val_loss=0.5"));
    CHECK_FALSE(recorder.consume_line("unrelated"));
    recorder.finish("completed", 0);
    const TrialFileContent content = read_trial_file(path);
    const auto& s = series(content, "val_loss");
    REQUIRE(s.records.size() == 1);
    CHECK(s.records[0].step == 5);
    CHECK(s.records[0].value == 0.5);
}
