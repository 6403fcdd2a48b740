// The image-name grammar root applies to --hpsweep-container, and how a relative name is
// turned into the path a node sees (lexically: root never opens the image).
#include <catch2/catch.hpp>

#include <string>

#include "hpsweep/container_image.hpp"
#include "hpsweep/error.hpp"

using namespace hpsweep;

namespace {

std::string refusal(const std::string& text) {
    try {
        check_container_image_name(text, "--hpsweep-container");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::usage);
        return e.what();
    }
    FAIL("'" << text << "' was accepted");
    return {};
}

}  // namespace

TEST_CASE("image names of every form the runtimes take are accepted") {
    for (const char* name :
         {"/images/torch.sif", "images/torch.tar.gz", "../shared/torch.sqsh", "torch-dir",
          "docker://nvcr.io/nvidia/pytorch:24.01-py3", "podman://localhost/torch:latest",
          "nvcr.io#nvidia/pytorch:24.01-py3", "oras://ghcr.io/me/img@sha256:0a1b", "a_b+c.sif"}) {
        CHECK_NOTHROW(check_container_image_name(name, "--hpsweep-container"));
    }
}

TEST_CASE("image names outside the grammar are refused, quoting the value and the rule") {
    CHECK_THAT(refusal(""), Catch::Contains("--hpsweep-container: the container image is empty"));
    CHECK_THAT(refusal("--bind=/etc:/x"), Catch::Contains("cannot start with '-'"));
    CHECK_THAT(refusal("img.sif\nSLURM_X=1"),
               Catch::Contains("--hpsweep-container='img.sif\\x0aSLURM_X=1': character '\\x0a' at "
                               "byte 8 is not allowed"));
    CHECK_THAT(refusal("my image.sif"), Catch::Contains("character ' ' at byte 3"));
    CHECK_THAT(refusal("$(id).sif"), Catch::Contains("character '$' at byte 1"));
    CHECK_THAT(refusal("a;b"), Catch::Contains("character ';'"));
    CHECK_THAT(refusal("a\\b"), Catch::Contains("character '\\x5c'"));
    CHECK_THAT(refusal("caf\xc3\xa9.sif"), Catch::Contains("character '\\xc3' at byte 4"));
    const std::string huge(kContainerImageMaxLength + 1, 'a');
    const std::string message = refusal(huge);
    CHECK_THAT(message, Catch::Contains("longer than 1024 bytes"));
    CHECK_THAT(message, Catch::Contains("... (1025 bytes)"));
    CHECK(message.size() < 300);
    CHECK_NOTHROW(check_container_image_name(std::string(kContainerImageMaxLength, 'a'), "x"));
}

TEST_CASE("a relative image is resolved against the submit directory, references are kept") {
    CHECK(container_image_for_node("img.sif", "/home/a/exp") == "/home/a/exp/img.sif");
    CHECK(container_image_for_node("../img/./t.tar", "/home/a/exp") == "/home/a/img/t.tar");
    CHECK(container_image_for_node("/srv/t.sqsh", "/home/a") == "/srv/t.sqsh");
    CHECK(container_image_for_node("docker://ubuntu:22.04", "/home/a") == "docker://ubuntu:22.04");
    CHECK(container_image_for_node("nvcr.io#nvidia/pytorch:24.01", "/home/a") ==
          "nvcr.io#nvidia/pytorch:24.01");
    CHECK(is_container_image_reference("podman://x"));
    CHECK_FALSE(is_container_image_reference("/x/y.sif"));
}
