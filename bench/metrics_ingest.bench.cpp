// Metrics benchmarks (ratios against baselines measured in the same run; no pass/fail):
//  0. end to end through the launcher: hpsweep-launch runs `cat LINES` as a trial; its
//     stdout pipe -> line splitter -> TrialRecorder -> metrics.h5 (and stdout.log), timed
//     from start to exit, records counted in the file (the issue's goal: >= 1,000,000/s);
//  1. ingest: HPSWEEP_METRIC lines -> TrialRecorder -> metrics.h5 (records/s), against
//     appending the same records to a CSV file, and against h5py appending one record at a
//     time (the obvious Python way), run as a /usr/bin/python3 child on a sample;
//  2. flush (snapshot rewrite) cost against the trial's record count;
//  3. summarising 1,000 trial files (collect_results + summary.h5).
//
//   build-metrics/bench/bench_metrics_ingest [lines=500000] [trials=1000]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/metrics/line_parser.hpp"
#include "hpsweep/metrics/recorder.hpp"
#include "hpsweep/metrics/summary.hpp"
#include "hpsweep/process.hpp"

#include <unistd.h>

namespace fs = std::filesystem;
using namespace hpsweep::metrics;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr int metrics_per_line = 4;

std::vector<std::string> make_lines(long count) {
    std::vector<std::string> lines;
    lines.reserve(static_cast<std::size_t>(count));
    char buffer[256];
    for (long step = 0; step < count; ++step) {
        std::snprintf(
            buffer, sizeof buffer,
            "HPSWEEP_METRIC step=%ld train_loss=%.6g lr=%.6g grad_norm=%.6g throughput=%.6g", step,
            2.0 / static_cast<double>(step + 1),
            1e-3 * (1.0 - static_cast<double>(step) / static_cast<double>(count)),
            0.5 + static_cast<double>(step % 97) / 100.0, 1000.0 + static_cast<double>(step % 13));
        lines.emplace_back(buffer);
    }
    return lines;
}

// Returns the end-to-end time (open, every line, timed flushes, final flush); `consume`
// gets the time of the line loop alone (timed flushes included, final flush excluded).
double ingest_hdf5(const std::vector<std::string>& lines, const fs::path& path, long& records,
                   double& consume) {
    const auto start = Clock::now();
    TrialAttributes attributes;
    attributes.experiment = "bench";
    attributes.trial_id = 0;
    TrialRecorder recorder(path, attributes);
    const auto loop_start = Clock::now();
    for (const auto& line : lines) recorder.consume_line(line);
    consume = seconds_since(loop_start);
    recorder.finish("completed", 0);
    records = recorder.record_count();
    return seconds_since(start);
}

// The baseline a hand-written logger would use: parse the same lines, fprintf each record.
double ingest_csv(const std::vector<std::string>& lines, const fs::path& path) {
    const auto start = Clock::now();
    FILE* out = std::fopen(path.c_str(), "w");
    if (out == nullptr)
        return -1;
    std::fputs("metric,step,wall_time,value\n", out);
    ParsedLine parsed;
    std::string error;
    for (const auto& line : lines) {
        if (parse_metric_line(line, parsed, error) != LineKind::metric)
            continue;
        const double now =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        for (const auto& value : parsed.values) {
            std::fprintf(out, "%.*s,%lld,%.6f,%.17g\n", static_cast<int>(value.name.size()),
                         value.name.data(), static_cast<long long>(parsed.step.value_or(0)), now,
                         value.value);
        }
    }
    std::fflush(out);
    ::fsync(fileno(out));
    std::fclose(out);
    return seconds_since(start);
}

// h5py appending one record at a time (resize + write per record), on `records` records.
double h5py_rate(const fs::path& path, long records) {
    const std::string script = R"(
import sys, time, h5py, numpy as np
path, n = sys.argv[1], int(sys.argv[2])
dt = np.dtype([("step", "<i8"), ("wall_time", "<f8"), ("value", "<f8")])
t = time.perf_counter()
with h5py.File(path, "w") as f:
    names = ["train_loss", "lr", "grad_norm", "throughput"]
    ds = {m: f.create_dataset("metrics/" + m, shape=(0,), maxshape=(None,), dtype=dt, chunks=(1024,)) for m in names}
    for i in range(n):
        d = ds[names[i % 4]]
        k = d.shape[0]
        d.resize((k + 1,))
        d[k] = (i // 4, time.time(), 1.0 / (i + 1))
print(n / (time.perf_counter() - t))
)";
    const auto result = hpsweep::run_process(
        {"/usr/bin/python3", "-c", script, path.string(), std::to_string(records)});
    if (!result.ok()) {
        std::fprintf(stderr, "h5py baseline failed: %s\n", result.err.c_str());
        return -1;
    }
    return std::stod(result.out);
}

// Returns records/s of hpsweep-launch supervising `cat lines_file` as trial 0, or -1 when
// hpsweep-launch is not built next to this benchmark.
double launcher_rate(const std::vector<std::string>& lines, const fs::path& dir, long& records,
                     double& seconds) {
    const fs::path launch =
        fs::read_symlink("/proc/self/exe").parent_path() / ".." / "bin" / "hpsweep-launch";
    if (!fs::exists(launch))
        return -1;
    const fs::path lines_file = dir / "lines.txt";
    {
        std::ofstream out(lines_file, std::ios::binary);
        for (const auto& line : lines) out << line << '\n';
    }
    const fs::path root = dir / "launch-exp";
    const hpsweep::ExperimentDir experiment(root);
    fs::create_directories(root);
    hpsweep::TrialRecord record;
    record.id = 0;
    record.hyperparameters = nlohmann::ordered_json::object();
    record.argv = {"/bin/cat", lines_file.string()};
    experiment.write_trials({record});
    const auto start = Clock::now();
    const auto result =
        hpsweep::run_process({launch.string(), "--experiment", root.string(), "--trial", "0",
                              "--policy", "none", "--gpus-per-task", "0", "--quiet"});
    seconds = seconds_since(start);
    if (!result.ok()) {
        std::fprintf(stderr, "hpsweep-launch failed: %s\n", result.err.c_str());
        return -1;
    }
    records = 0;
    for (const auto& series : read_trial_file(experiment.trial_metrics(0)).metrics)
        records += static_cast<long>(series.records.size());
    return static_cast<double>(records) / seconds;
}

void bench_flush_cost(const fs::path& dir) {
    std::printf("\nflush (atomic snapshot rewrite) cost by trial size:\n");
    for (const long records : {1000L, 10000L, 100000L, 1000000L}) {
        TrialFileContent content;
        content.attributes.experiment = "bench";
        for (int m = 0; m < metrics_per_line; ++m) {
            MetricSeries series{"metric" + std::to_string(m), {}};
            for (long i = 0; i < records / metrics_per_line; ++i) {
                series.records.push_back(
                    {i, 1.7e9 + static_cast<double>(i), 1.0 / static_cast<double>(i + 1)});
            }
            content.metrics.push_back(std::move(series));
        }
        const int repeats = records >= 1000000 ? 3 : 10;
        const auto start = Clock::now();
        for (int r = 0; r < repeats; ++r) write_trial_file(dir / "flush.h5", content);
        const double each = seconds_since(start) / repeats;
        std::printf(
            "  %8ld records: %8.2f ms per flush (%5.1f%% of a 5 s flush interval), %.1f MB\n",
            records, each * 1e3, each / 5.0 * 100,
            static_cast<double>(fs::file_size(dir / "flush.h5")) / 1e6);
    }
}

void bench_summary(const fs::path& dir, long trials) {
    const fs::path root = dir / "exp";
    const hpsweep::ExperimentDir experiment(root);
    fs::create_directories(root);
    std::vector<hpsweep::TrialRecord> table;
    for (long id = 0; id < trials; ++id) {
        hpsweep::TrialRecord record;
        record.id = id;
        record.hyperparameters = {
            {"lr", 1e-3 * static_cast<double>(id + 1)}, {"batch", 32}, {"opt", "adam"}};
        record.argv = {"train.py"};
        table.push_back(record);
        TrialFileContent content;
        content.status = "completed";
        content.exit_code = 0;
        content.attributes.trial_id = id;
        content.attributes.hyperparameters = record.hyperparameters;
        for (const char* name : {"val_loss", "val_acc", "train_loss"}) {
            MetricSeries series{name, {}};
            for (long step = 0; step < 100; ++step) {
                series.records.push_back({step, 1.7e9, 1.0 / static_cast<double>(step + id + 1)});
            }
            content.metrics.push_back(std::move(series));
        }
        fs::create_directories(experiment.trial_dir(id));
        write_trial_file(experiment.trial_metrics(id), content);
    }
    experiment.write_trials(table);
    // First pass warms the page cache (the files were just written; shared storage is the
    // thing this cannot measure), then the timed passes.
    rebuild_summary(root);
    const int repeats = 3;
    double collect_total = 0, write_total = 0;
    for (int r = 0; r < repeats; ++r) {
        const auto start = Clock::now();
        const ExperimentResults results = collect_results(root);
        collect_total += seconds_since(start);
        const auto write_start = Clock::now();
        write_summary_file(results, summary_path(root));
        write_total += seconds_since(write_start);
    }
    const double collect = collect_total / repeats, write = write_total / repeats;
    std::printf(
        "\nsummary of %ld trial files (3 metrics x 100 steps each): read %.3f s + write summary.h5 "
        "%.3f s"
        " = %.3f s (goal < 1 s: %.1fx under)\n",
        trials, collect, write, collect + write, 1.0 / (collect + write));
}
}  // namespace

int main(int argc, char** argv) {
    {
        std::ifstream load("/proc/loadavg");
        std::string one, five, fifteen;
        load >> one >> five >> fifteen;
        std::printf("load average at start: %s %s %s\n", one.c_str(), five.c_str(),
                    fifteen.c_str());
    }
    const long line_count = argc > 1 ? std::atol(argv[1]) : 500000;
    const long trials = argc > 2 ? std::atol(argv[2]) : 1000;
    const fs::path dir =
        fs::temp_directory_path() / ("hpsweep-bench-metrics-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);

    const auto lines = make_lines(line_count);
    long launch_records = 0;
    double launch_seconds = 0;
    const double launch_rate = launcher_rate(lines, dir, launch_records, launch_seconds);
    long records = 0;
    double consume_seconds = 0;
    ingest_hdf5(lines, dir / "warmup.h5", records, consume_seconds);  // page cache, allocator
    const double hdf5_seconds = ingest_hdf5(lines, dir / "metrics.h5", records, consume_seconds);
    const double csv_seconds = ingest_csv(lines, dir / "metrics.csv");
    const double hdf5_rate = static_cast<double>(records) / hdf5_seconds;
    const double csv_rate = static_cast<double>(records) / csv_seconds;
    const long h5py_records = std::min<long>(records, 40000);
    const double h5py = h5py_rate(dir / "h5py.h5", h5py_records);

    std::printf("ingest of %ld lines (%ld records, %d metrics per line):\n", line_count, records,
                metrics_per_line);
    if (launch_rate > 0) {
        std::printf(
            "  hpsweep-launch end to end         %11.0f records/s  (goal 1,000,000: %.2fx; %ld "
            "records in %.2f s, child start to final flush)\n",
            launch_rate, launch_rate / 1e6, launch_records, launch_seconds);
    }
    std::printf("  TrialRecorder -> metrics.h5      %12.0f records/s  (in-process: %.2fx 1 M/s)\n",
                hdf5_rate, hdf5_rate / 1e6);
    std::printf(
        "    of which the line loop alone    %11.0f records/s  (final flush of all records: %.2f "
        "s)\n",
        static_cast<double>(records) / consume_seconds, hdf5_seconds - consume_seconds);
    std::printf("  parse + fprintf -> CSV (baseline) %11.0f records/s  hpsweep/CSV = %.2f\n",
                csv_rate, hdf5_rate / csv_rate);
    if (h5py > 0) {
        std::printf(
            "  h5py, one record at a time        %11.0f records/s  hpsweep/h5py = %.0f (h5py on "
            "%ld records)\n",
            h5py, hdf5_rate / h5py, h5py_records);
    }
    bench_flush_cost(dir);
    bench_summary(dir, trials);
    fs::remove_all(dir);
    return 0;
}
