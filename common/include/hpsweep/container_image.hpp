#pragma once
// The name of a container image as a user writes it where it crosses a trust boundary: the
// SPANK plugin's --hpsweep-container (checked by root in slurmstepd, which only passes the
// text on) and HPSWEEP_CONTAINER_IMAGE, through which the plugin hands it to hpsweep-launch,
// the user-side process that opens the image with the user's own rights.

#include <filesystem>
#include <string>
#include <string_view>

namespace hpsweep {

// The variable the plugin sets in the job's environment; hpsweep-launch runs its command in
// this image when it is not given --container itself.
inline constexpr const char* kContainerImageVariable = "HPSWEEP_CONTAINER_IMAGE";

// Longest accepted image name, in bytes.
inline constexpr std::size_t kContainerImageMaxLength = 1024;

// Checks `text` against the image grammar: 1..1024 bytes of [A-Za-z0-9._+@:/#-], not starting
// with '-' (it would be read as a runtime's option). This covers paths, "docker://REPO:TAG",
// "podman://NAME" and enroot's "REGISTRY#IMAGE:TAG". Throws Error(usage) that quotes the
// value (unprintable bytes escaped) and says which rule it broke; `origin` names the setting.
void check_container_image_name(std::string_view text, std::string_view origin);

// Whether `image` names a registry reference ("SCHEME://..." or enroot's "REGISTRY#IMAGE")
// rather than a file or directory.
bool is_container_image_reference(std::string_view image) noexcept;

// The image as a node should see it: a relative path is joined to `base` (the directory the
// user submitted from) and normalised lexically; references and absolute paths are unchanged.
// Never touches the file system.
std::string container_image_for_node(std::string_view image, const std::filesystem::path& base);

}  // namespace hpsweep
