#include "hpsweep/launcher/launch.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "hpsweep/error.hpp"
#include "hpsweep/launcher/trial_run.hpp"

namespace hpsweep::launcher {

Policy parse_policy(std::string_view text) {
    if (text == "closest")
        return Policy::closest;
    if (text == "none")
        return Policy::none;
    if (text == "verbose")
        return Policy::verbose;
    throw Error(ErrorKind::usage,
                "--policy '" + std::string(text) + "': expected closest, none or verbose");
}

const char* to_string(Policy policy) noexcept {
    switch (policy) {
        case Policy::closest:
            return "closest";
        case Policy::none:
            return "none";
        case Policy::verbose:
            return "verbose";
    }
    return "closest";
}

namespace {

std::vector<std::string> to_environ(const Environment& env) {
    std::vector<std::string> out;
    out.reserve(env.size());
    for (const auto& [name, value] : env) out.push_back(name + "=" + value);
    return out;
}

}  // namespace

int launch(const LaunchOptions& options, LaunchHooks hooks) {
    Environment env = current_environment();
    const DdpEnv ddp = ddp_from_environment(env, options.ddp);
    for (const auto& [name, value] : ddp.variables()) env[name] = value;

    std::optional<TrialRun> trial;
    std::vector<std::string> command = options.command;
    if (options.experiment) {
        trial.emplace(*options.experiment, *options.trial, ddp.rank);
        command = trial->record().argv;
        if (command.empty()) {
            throw Error(ErrorKind::data, "trial " + std::to_string(*options.trial) + " in " +
                                             trial->experiment().trial_table_path().string() +
                                             " has an empty argv");
        }
        trial->prepare();
        for (const auto& [name, value] : trial->environment()) env[name] = value;
    }

    SupervisorOptions supervised;
    supervised.argv = command;
    supervised.environment = to_environ(env);
    supervised.echo = options.echo;
    if (trial) {
        supervised.stdout_log = trial->stdout_log();
        supervised.stderr_log = trial->stderr_log();
        trial->record_start();
    }
    Supervisor supervisor(std::move(supervised), std::move(hooks.supervisor));
    const ChildStatus status = supervisor.run();
    if (trial)
        trial->record_end(status);
    return status.exit_code;
}

}  // namespace hpsweep::launcher
