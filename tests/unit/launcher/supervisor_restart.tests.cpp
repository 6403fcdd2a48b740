#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "hpsweep/fs.hpp"
#include "hpsweep/launcher/supervisor.hpp"

namespace fs = std::filesystem;
using namespace hpsweep::launcher;

TEST_CASE("a restart hook runs the program again with a new command and variables",
          "[launcher][supervisor]") {
    const fs::path log =
        fs::temp_directory_path() / ("hpsweep-restart-" + std::to_string(::getpid()) + ".log");
    fs::remove(log);
    SupervisorOptions options;
    // The first child waits to be stopped; the second says what it was given and ends.
    options.argv = {"/bin/sh", "-c", "echo first $PBT_VALUE; exec sleep 30", "sh"};
    options.environment = std::vector<std::string>{"PBT_VALUE=1", "PATH=/usr/bin:/bin"};
    options.stdout_log = log;
    options.echo = false;
    Supervisor supervisor(options);
    std::vector<std::string> lines;
    std::vector<ChildStatus> restarted_after;
    int exits = 0;
    ChildStatus last;
    SupervisorHooks hooks;
    hooks.on_stdout_line = [&](std::string_view line) {
        lines.emplace_back(line);
        if (line.rfind("first", 0) == 0)
            supervisor.stop_child(std::chrono::seconds(5), "swap");
    };
    hooks.restart = [&](const ChildStatus& status) -> std::optional<ChildRestart> {
        restarted_after.push_back(status);
        if (status.stop_reason != "swap")
            return std::nullopt;
        return ChildRestart{{"/bin/sh", "-c", "echo second $PBT_VALUE; exit 3", "sh"},
                            {{"PBT_VALUE", "2"}}};
    };
    hooks.on_exit = [&](const ChildStatus& status) {
        ++exits;
        last = status;
    };
    supervisor.set_hooks(hooks);
    const ChildStatus status = supervisor.run();
    CHECK(lines == std::vector<std::string>{"first 1", "second 2"});
    REQUIRE(restarted_after.size() == 2);
    CHECK(restarted_after[0].stop_reason == "swap");
    CHECK(restarted_after[1].stop_reason.empty());  // the stop was the first child's
    CHECK(status.exit_code == 3);
    CHECK(exits == 1);  // once, for the last child
    CHECK(last.exit_code == 3);
    CHECK(supervisor.argv()[2] == "echo second $PBT_VALUE; exit 3");
    CHECK(hpsweep::read_file(log) == "first 1\nsecond 2\n");
    fs::remove(log);
}
