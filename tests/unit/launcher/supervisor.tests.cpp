#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "hpsweep/error.hpp"
#include "hpsweep/experiment_dir.hpp"
#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/supervisor.hpp"
#include "hpsweep/launcher/trial_run.hpp"

namespace fs = std::filesystem;
using namespace hpsweep;
using namespace hpsweep::launcher;

namespace {

struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name)
        : path(fs::temp_directory_path() / ("hpsweep-" + name + "-" + std::to_string(::getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

SupervisorOptions shell(const std::string& script) {
    SupervisorOptions o;
    o.argv = {"/bin/sh", "-c", script};
    o.echo = false;
    return o;
}

}  // namespace

TEST_CASE("the child's exit code and death by signal come back", "[launcher][supervisor]") {
    CHECK(Supervisor(shell("exit 0")).run().exit_code == 0);
    CHECK(Supervisor(shell("exit 7")).run().exit_code == 7);
    const ChildStatus killed = Supervisor(shell("kill -KILL $$")).run();
    CHECK(killed.signal == SIGKILL);
    CHECK(killed.exit_code == 128 + SIGKILL);
    SupervisorOptions missing;
    missing.argv = {"/nonexistent/program"};
    missing.echo = false;
    CHECK(Supervisor(missing).run().exit_code == 127);
}

TEST_CASE("lines reach the hooks and the logs and metric lines go to their own hook only",
          "[launcher][supervisor]") {
    TempDir dir("supervisor-lines");
    auto options = shell(
        "echo one; printf 'two\\nthr'; printf 'ee\\n'; echo err >&2; "
        "echo '{\"loss\": 0.5}' >&$HPSWEEP_METRICS_FD; printf 'tail'");
    options.stdout_log = dir.path / "stdout.log";
    options.stderr_log = dir.path / "stderr.log";
    std::vector<std::string> out, err, metrics;
    int starts = 0, ends = 0;
    SupervisorHooks hooks;
    hooks.on_start = [&](pid_t pid) {
        CHECK(pid > 0);
        ++starts;
    };
    hooks.on_stdout_line = [&](std::string_view line) { out.emplace_back(line); };
    hooks.on_stderr_line = [&](std::string_view line) { err.emplace_back(line); };
    hooks.on_metrics_line = [&](std::string_view line) { metrics.emplace_back(line); };
    hooks.on_exit = [&](const ChildStatus& s) {
        CHECK(s.exit_code == 0);
        ++ends;
    };
    CHECK(Supervisor(options, hooks).run().exit_code == 0);
    CHECK(out == std::vector<std::string>{"one", "two", "three", "tail"});
    CHECK(err == std::vector<std::string>{"err"});
    CHECK(metrics == std::vector<std::string>{"{\"loss\": 0.5}"});
    CHECK(starts == 1);
    CHECK(ends == 1);
    CHECK(read_file(dir.path / "stdout.log") == "one\ntwo\nthree\ntail");
    CHECK(read_file(dir.path / "stderr.log") == "err\n");
    // A second run (a requeued trial) appends rather than truncates.
    CHECK(Supervisor(shell("echo again"), {}).run().exit_code == 0);
    auto again = shell("echo again");
    again.stdout_log = dir.path / "stdout.log";
    Supervisor(again).run();
    CHECK(read_file(dir.path / "stdout.log") == "one\ntwo\nthree\ntailagain\n");
}

TEST_CASE("SIGTERM and SIGUSR1 sent to the launcher reach the child", "[launcher][supervisor]") {
    TempDir dir("supervisor-signals");
    const auto marker = dir.path / "marker";
    auto options = shell("trap 'echo usr1 >> " + marker.string() +
                         "' USR1; "
                         "trap 'echo term >> " +
                         marker.string() +
                         "; exit 42' TERM; "
                         "echo ready; while :; do sleep 0.05; done");
    std::vector<int> seen;
    SupervisorHooks hooks;
    hooks.on_stdout_line = [&](std::string_view line) {
        if (line == "ready") {
            // The child is up with its traps set: signal ourselves as Slurm would.
            ::kill(::getpid(), SIGUSR1);
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            ::kill(::getpid(), SIGTERM);
        }
    };
    hooks.on_signal = [&](int signo) { seen.push_back(signo); };
    const ChildStatus status = Supervisor(options, hooks).run();
    CHECK(status.exit_code == 42);
    CHECK(seen == std::vector<int>{SIGUSR1, SIGTERM});
    CHECK(status.forwarded_signals == seen);
    CHECK(read_file(marker) == "usr1\nterm\n");
    CHECK(final_status(status) == "cancelled");
}

TEST_CASE("a preemption notice (SIGUSR2) gives the child its grace time, then SIGKILL",
          "[launcher][supervisor]") {
    // The trial hooks call expect_exit() on SIGUSR2: nothing more is sent to the child, which
    // checkpoints and exits on its own; one that ignores the notice is killed after the grace.
    for (const bool obeys : {true, false}) {
        auto options =
            shell(std::string(obeys ? "trap 'sleep 0.3; exit 0' USR2; " : "trap '' USR2; ") +
                  "echo ready; while :; do sleep 0.05; done");
        Supervisor supervisor(options);
        SupervisorHooks hooks;
        hooks.on_stdout_line = [](std::string_view line) {
            if (line == "ready")
                ::kill(::getpid(), SIGUSR2);
        };
        hooks.on_signal = [&supervisor, obeys](int signo) {
            if (signo == SIGUSR2)
                supervisor.expect_exit(std::chrono::milliseconds(obeys ? 5000 : 300), "preempted");
        };
        supervisor.set_hooks(std::move(hooks));
        const auto started = std::chrono::steady_clock::now();
        const ChildStatus status = supervisor.run();
        const auto took = std::chrono::steady_clock::now() - started;
        CHECK(status.stop_reason == "preempted");
        CHECK(final_status(status) == "preempted");
        CHECK(status.forwarded_signals == std::vector<int>{SIGUSR2});
        if (obeys) {
            CHECK(status.exit_code == 0);  // exited on its own within the grace time
            CHECK(took < std::chrono::seconds(4));
        } else {
            CHECK(status.signal == SIGKILL);
            CHECK(took < std::chrono::seconds(3));
        }
    }
}

TEST_CASE("a throwing hook kills the child and propagates", "[launcher][supervisor]") {
    SupervisorHooks hooks;
    hooks.on_stdout_line = [](std::string_view) {
        throw Error(ErrorKind::data, "metrics writer failed");
    };
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(Supervisor(shell("echo x; sleep 30"), hooks).run(), "metrics writer failed");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}

TEST_CASE("a trial run writes result.json and the HPSWEEP variables", "[launcher][trial]") {
    TempDir dir("trial-run");
    ExperimentDir exp(dir.path);
    TrialRecord t0;
    t0.id = 0;
    t0.argv = {"/bin/sh", "-c", "exit 3"};
    exp.write_trials({t0});
    TrialRun run(dir.path, 0, 0);
    run.prepare();
    CHECK(fs::is_directory(exp.trial_checkpoints(0)));
    const auto env = run.environment();
    CHECK(env.at("HPSWEEP_TRIAL_ID") == "0");
    CHECK(env.at("HPSWEEP_CHECKPOINT_DIR") == fs::absolute(exp.trial_checkpoints(0)).string());
    CHECK(env.at("HPSWEEP_ARTIFACTS_DIR") == fs::absolute(exp.trial_dir(0) / "artifacts").string());
    run.record_start();
    auto running = nlohmann::json::parse(read_file(exp.trial_result(0)));
    CHECK(running["status"] == "running");
    CHECK(running["end"].is_null());
    ChildStatus failed;
    failed.exit_code = 3;
    run.record_end(failed);
    auto done = nlohmann::json::parse(read_file(exp.trial_result(0)));
    CHECK(done["status"] == "failed");
    CHECK(done["exit_code"] == 3);
    CHECK(done["signal"].is_null());
    CHECK(done["rank"] == 0);
    for (const char* key :
         {"trial", "start", "end", "node", "job_id", "array_job_id", "array_task_id", "step_id"}) {
        CHECK(done.contains(key));
    }

    // Other ranks log to their own files and never write result.json.
    TrialRun rank3(dir.path, 0, 3);
    CHECK(rank3.stdout_log().filename() == "stdout.rank3.log");
    CHECK_FALSE(rank3.writes_result());
    CHECK_THROWS_AS(TrialRun(dir.path, 9, 0), Error);
}

TEST_CASE("final status words", "[launcher][trial]") {
    ChildStatus s;
    CHECK(final_status(s) == "completed");
    s.exit_code = 1;
    CHECK(final_status(s) == "failed");
    s.forwarded_signals = {SIGTERM};
    CHECK(final_status(s) == "cancelled");
    // SIGKILL out of the blue (kill -9, the OOM killer) is a failure; after a forwarded
    // SIGTERM (scancel: TERM, then KILL after KillWait) it is a cancellation.
    ChildStatus k;
    k.signal = SIGKILL;
    k.exit_code = 137;
    CHECK(final_status(k) == "failed");
    k.forwarded_signals = {SIGTERM};
    CHECK(final_status(k) == "cancelled");
    ChildStatus segv;
    segv.signal = SIGSEGV;
    segv.exit_code = 139;
    CHECK(final_status(segv) == "failed");
}
