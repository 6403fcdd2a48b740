// hpsweep-metrics-ingest: feeds stdin, line by line, into a TrialRecorder, exactly as
// hpsweep-launch does with a trial's output. Used by the Python fault test (which kills it
// with SIGKILL at random points) and by the ingest benchmark.
//
//   hpsweep-metrics-ingest METRICS_H5 [--flush-every-lines N] [--flush-interval-ms MS]
//                          [--experiment NAME] [--trial-id N] [--hp NAME=JSON]...
//                          [--lightning-csv PATH] [--regex NAME=PATTERN]...
//                          [--status STATUS] [--exit-code N] [--no-finish]
//
// After each flush it prints "flushed lines=L records=R" on stdout (and fflushes), so a test
// knows which input lines are durably in the file. At the end it prints one JSON object with
// the counters.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "hpsweep/error.hpp"
#include "hpsweep/metrics/recorder.hpp"

namespace {

[[noreturn]] void usage(const std::string& message) {
    std::fprintf(stderr, "hpsweep-metrics-ingest: error: %s\n", message.c_str());
    std::exit(2);
}

struct IngestOptions {
    std::string path;
    long flush_every_lines = 0;
    hpsweep::metrics::TrialAttributes attributes;
    hpsweep::metrics::RecorderOptions recorder;
    std::string status = "completed";
    int exit_code = 0;
    bool finish = true;
};

IngestOptions parse_arguments(int argc, char** argv) {
    if (argc < 2)
        usage("usage: hpsweep-metrics-ingest METRICS_H5 [options]");
    IngestOptions o;
    o.path = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--flush-every-lines") {
            o.flush_every_lines = std::stol(value());
        } else if (arg == "--flush-interval-ms") {
            o.recorder.flush_interval = std::chrono::milliseconds(std::stol(value()));
        } else if (arg == "--experiment") {
            o.attributes.experiment = value();
        } else if (arg == "--trial-id") {
            o.attributes.trial_id = std::stol(value());
        } else if (arg == "--hp") {
            const std::string pair = value();
            const auto eq = pair.find('=');
            if (eq == std::string::npos)
                usage("--hp wants NAME=JSON");
            o.attributes.hyperparameters[pair.substr(0, eq)] =
                nlohmann::ordered_json::parse(pair.substr(eq + 1));
        } else if (arg == "--lightning-csv") {
            o.recorder.lightning_csv = value();
        } else if (arg == "--regex") {
            const std::string pair = value();
            const auto eq = pair.find('=');
            if (eq == std::string::npos)
                usage("--regex wants NAME=PATTERN");
            o.recorder.regex_metrics.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
        } else if (arg == "--status") {
            o.status = value();
        } else if (arg == "--exit-code") {
            o.exit_code = std::stoi(value());
        } else if (arg == "--no-finish") {
            o.finish = false;
        } else {
            usage("unknown option " + arg);
        }
    }
    return o;
}

// Feeds stdin to RECORDER line by line, flushing every FLUSH_EVERY_LINES lines (0: never) and
// saying so on stdout. Returns the number of lines.
long ingest_stdin(hpsweep::metrics::TrialRecorder& recorder, long flush_every_lines) {
    // Big reads split by hand: getline per line would dominate the ingest benchmark.
    std::vector<char> buffer(1 << 20);
    std::string carry;
    long lines = 0;
    auto handle_line = [&](std::string_view line) {
        recorder.consume_line(line);
        ++lines;
        if (flush_every_lines > 0 && lines % flush_every_lines == 0) {
            recorder.flush();
            std::printf("flushed lines=%ld records=%lld\n", lines,
                        static_cast<long long>(recorder.record_count()));
            std::fflush(stdout);
        }
    };
    while (true) {
        // read(2), not fread: a pipe delivers what is there now, as the launcher sees it.
        const ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            hpsweep::throw_errno("cannot read stdin");
        if (n == 0)
            break;
        std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
        while (true) {
            const auto newline = chunk.find('\n');
            if (newline == std::string_view::npos) {
                carry.append(chunk);
                break;
            }
            if (!carry.empty()) {
                carry.append(chunk.substr(0, newline));
                handle_line(carry);
                carry.clear();
            } else {
                handle_line(chunk.substr(0, newline));
            }
            chunk.remove_prefix(newline + 1);
        }
    }
    if (!carry.empty())
        handle_line(carry);
    return lines;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace hpsweep;
    using namespace hpsweep::metrics;
    try {
        IngestOptions o = parse_arguments(argc, argv);
        o.attributes.command = {"hpsweep-metrics-ingest", o.path};
        o.attributes.fill_from_slurm_environment();
        TrialRecorder recorder(o.path, o.attributes, std::move(o.recorder));
        const long lines = ingest_stdin(recorder, o.flush_every_lines);
        if (o.finish) {
            recorder.finish(o.status, o.exit_code);
        } else {
            recorder.flush();
        }
        const nlohmann::json counters = {{"lines", lines},
                                         {"records", recorder.record_count()},
                                         {"malformed_lines", recorder.malformed_line_count()},
                                         {"duplicate_records", recorder.duplicate_record_count()},
                                         {"flushes", recorder.flush_count()},
                                         {"attempts", recorder.attempts()},
                                         {"warnings", recorder.warnings()}};
        std::printf("%s\n", counters.dump().c_str());
        return 0;
    } catch (const Error& e) {
        std::fprintf(stderr, "hpsweep-metrics-ingest: error: %s\n", e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hpsweep-metrics-ingest: error: %s\n", e.what());
        return 2;
    }
}
