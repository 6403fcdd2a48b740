#include "hpsweep/container_image.hpp"

#include <cstdio>

#include "hpsweep/error.hpp"

namespace hpsweep {
namespace {

bool allowed_character(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
        case '.':
        case '_':
        case '+':
        case '@':
        case ':':
        case '/':
        case '#':
        case '-':
            return true;
        default:
            return false;
    }
}

// The value as it can be shown in one line of an error message: at most 80 bytes, every
// byte outside printable ASCII as \xNN.
std::string quoted(std::string_view text) {
    std::string out = "'";
    const std::size_t shown = std::min<std::size_t>(text.size(), 80);
    for (std::size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += "'";
    if (shown < text.size())
        out += "... (" + std::to_string(text.size()) + " bytes)";
    return out;
}

}  // namespace

void check_container_image_name(std::string_view text, std::string_view origin) {
    const std::string where = std::string(origin) + "=" + quoted(text) + ": ";
    if (text.empty())
        throw Error(ErrorKind::usage, std::string(origin) + ": the container image is empty");
    if (text.size() > kContainerImageMaxLength) {
        throw Error(ErrorKind::usage,
                    where + "longer than " + std::to_string(kContainerImageMaxLength) + " bytes");
    }
    if (text.front() == '-') {
        throw Error(ErrorKind::usage,
                    where + "an image name cannot start with '-' (it would be read as an option)");
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (!allowed_character(text[i])) {
            throw Error(ErrorKind::usage,
                        where + "character " + quoted(text.substr(i, 1)) + " at byte " +
                            std::to_string(i + 1) +
                            " is not allowed in an image name (letters, digits and ._+@:/#- only)");
        }
    }
}

bool is_container_image_reference(std::string_view image) noexcept {
    return image.find("://") != std::string_view::npos || image.find('#') != std::string_view::npos;
}

std::string container_image_for_node(std::string_view image, const std::filesystem::path& base) {
    if (is_container_image_reference(image))
        return std::string(image);
    std::filesystem::path path(image);
    if (path.is_relative())
        path = base / path;
    return path.lexically_normal().string();
}

}  // namespace hpsweep
