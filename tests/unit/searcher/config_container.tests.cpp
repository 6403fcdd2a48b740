// Determined's `environment: {image: ...}` and hpsweep's `container:` section.
#include <catch2/catch.hpp>

#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {

const std::string head = "name: c\nentrypoint: python3 train.py\n";

std::string config_error(const std::string& yaml) {
    try {
        (void)parse_experiment_config(head + yaml, "exp.yaml");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        return e.what();
    }
    FAIL("no error for:\n" << yaml);
    return {};
}

}  // namespace

TEST_CASE("environment.image as Determined writes it", "[searcher][config][container]") {
    const auto plain = parse_experiment_config(
        head + "environment:\n  image: /images/torch\n  environment_variables: [A=1]\n",
        "exp.yaml");
    CHECK(plain.container.image_for(0) == "/images/torch");
    CHECK(plain.container.image_for(2) == "/images/torch");
    REQUIRE(plain.warnings.size() == 1);
    CHECK_THAT(plain.warnings[0],
               Catch::Contains("exp.yaml:5:3: warning: 'environment.environment_variables' is a "
                               "Determined setting that hpsweep ignores"));

    const auto split = parse_experiment_config(
        head + "environment:\n  image:\n    cpu: /images/cpu\n    cuda: docker://nvcr.io/torch\n",
        "exp.yaml");
    CHECK(split.container.image_for(0) == "/images/cpu");
    CHECK(split.container.image_for(1) == "docker://nvcr.io/torch");
}

TEST_CASE("the container section: runtime, mounts, args", "[searcher][config][container]") {
    const auto config = parse_experiment_config(
        head +
            "container:\n  image: /img.sif\n  runtime: apptainer\n  mounts: [/data:ro, "
            "/scratch:/s]\n  args: [--cleanenv]\n",
        "exp.yaml");
    CHECK(config.container.image_for(0) == "/img.sif");
    CHECK(config.container.runtime == "apptainer");
    CHECK(config.container.mounts == std::vector<std::string>{"/data:ro", "/scratch:/s"});
    CHECK(config.container.args == std::vector<std::string>{"--cleanenv"});

    // experiment.yaml keeps it, and reads back the same.
    const auto again = parse_experiment_config(to_yaml(config), "experiment.yaml");
    CHECK(again.container.image_for(0) == "/img.sif");
    CHECK(again.container.runtime == "apptainer");
    CHECK(again.container.mounts == config.container.mounts);
    CHECK(again.container.args == config.container.args);
}

TEST_CASE("bad container settings name the place", "[searcher][config][container]") {
    CHECK_THAT(config_error("container:\n  image: /i\n  runtime: docker\n"),
               Catch::StartsWith("exp.yaml:5:12: unknown container runtime 'docker'"));
    CHECK_THAT(config_error("container:\n  imag: /i\n"),
               Catch::StartsWith("exp.yaml:4:3: unknown key 'container.imag'"));
    CHECK_THAT(config_error("container:\n  image: /i\n  mounts: [data]\n"),
               Catch::Contains("exp.yaml:5:12: container mounts are SRC[:DST][:ro]"));
    CHECK_THAT(config_error("environment:\n  image: {rocm: /r}\n"),
               Catch::Contains("names no image"));
    CHECK_THAT(config_error("environment:\n  image: ''\n"),
               Catch::Contains("'environment.image' must be a non-empty string"));
    CHECK_THAT(config_error("container:\n  runtime: podman\n"), Catch::Contains("no image"));
}
