// The plugin refuses an option that one source (the #SBATCH lines, the command line) gives
// two different values; a later source overriding an earlier one is not a conflict.
#include <catch2/catch.hpp>

#include "hpsweep/error.hpp"
#include "option_sources.hpp"

using namespace hpsweep;
using namespace hpsweep::plugin;

namespace {
using Values = std::vector<std::string>;

std::string refusal(const Values& delivered, const std::optional<std::string>& inherited,
                    const Values& command_line) {
    try {
        check_option_given_once("gpu-affinity", delivered, inherited, command_line);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::usage);
        return e.what();
    }
    return {};
}
}  // namespace

TEST_CASE("command_line_values finds every spelling of an option", "[plugin][options]") {
    const Values args{"-J",
                      "x",
                      "--gpu-affinity=none",
                      "--gpu-affinity",
                      "closest",
                      "--gpu-aff=verbose",
                      "--gpus=2",
                      "--datastore=a",
                      "--",
                      "--gpu-affinity=y"};
    CHECK(command_line_values(args, "gpu-affinity") == Values{"none", "closest", "verbose"});
    CHECK(command_line_values(args, "datastore") == Values{"a"});
    CHECK(command_line_values(args, "hpsweep-trial").empty());
}

TEST_CASE("the variable a job hands its option value down in", "[plugin][options]") {
    CHECK(inherited_option_variable("hpsweep", "gpu-affinity") ==
          "SLURM_SPANK__SLURM_SPANK_OPTION_hpsweep_gpu_affinity");
}

TEST_CASE("two different values on one command line are refused, naming both",
          "[plugin][options]") {
    CHECK(refusal({"closest", "none"}, std::nullopt, {"closest", "none"}) ==
          "--gpu-affinity is given twice with different values ('closest' and 'none') on the "
          "command line: give it once");
    // Inside a job (srun in an sbatch script): the job's value, then the command line's two.
    CHECK(refusal({"verbose", "none", "verbose"}, "verbose", {"none", "verbose"}) ==
          "--gpu-affinity is given twice with different values ('none' and 'verbose') on the "
          "command line: give it once");
}

TEST_CASE("two different values in the #SBATCH lines are refused", "[plugin][options]") {
    CHECK(refusal({"verbose", "closest"}, std::nullopt, {}) ==
          "--gpu-affinity is given twice with different values ('verbose' and 'closest') in the "
          "batch script's #SBATCH lines: give it once");
    CHECK(refusal({"verbose", "closest", "none"}, std::nullopt, {"none"}).find("#SBATCH") !=
          std::string::npos);
}

TEST_CASE("a later source overrides an earlier one", "[plugin][options]") {
    // srun --gpu-affinity=none inside a job submitted with --gpu-affinity=verbose.
    CHECK(refusal({"verbose", "none"}, "verbose", {"none"}).empty());
    // #SBATCH --gpu-affinity=verbose, sbatch --gpu-affinity=none.
    CHECK(refusal({"verbose", "none"}, std::nullopt, {"none"}).empty());
    // All three sources at once.
    CHECK(refusal({"closest", "verbose", "none"}, "closest", {"none"}).empty());
}

TEST_CASE("the same value twice is taken", "[plugin][options]") {
    CHECK(refusal({"none", "none"}, std::nullopt, {"none", "none"}).empty());
    CHECK(refusal({"none", "none"}, "none", {"none"}).empty());
    CHECK(refusal({"verbose", "verbose"}, std::nullopt, {}).empty());
}

TEST_CASE("words after the program are not the command line's values", "[plugin][options]") {
    // srun --gpu-affinity=none python train.py --gpu-affinity=closest: Slurm delivered one.
    CHECK(refusal({"none"}, std::nullopt, {"none", "closest"}).empty());
    // srun --gpu-affinity=none --gpu-affinity=verbose prog --gpu-affinity=closest
    CHECK(!refusal({"none", "verbose"}, std::nullopt, {"none", "verbose", "closest"}).empty());
}
