#include "hpsweep/datastore/paths.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "hpsweep/error.hpp"

namespace hpsweep::datastore {

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}
bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void check_word(std::string_view word, const char* what) {
    if (word.empty() || word.size() > 128 || !is_alnum(word.front()) ||
        !std::all_of(word.begin(), word.end(), is_name_char)) {
        throw Error(ErrorKind::usage,
                    std::string("invalid ") + what + " '" + std::string(word) +
                        "': use 1-128 letters, digits, '.', '_' or '-', starting with a "
                        "letter or digit");
    }
}

std::vector<std::string> components(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        parts.emplace_back(path.substr(start, end - start));
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    return parts;
}

std::string joined(const std::vector<std::string>& parts, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        if (i != 0) {
            out += '/';
        }
        out += parts[i];
    }
    return out;
}

}  // namespace

std::string environment_variable(std::string_view dataset_name) {
    std::string out = "HPSWEEP_DATASTORE_";
    for (const char c : dataset_name) {
        const auto u = static_cast<unsigned char>(c);
        out += std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_';
    }
    return out;
}

void validate_dataset_name(std::string_view name) {
    check_word(name, "dataset name");
    // A staged dataset's path is exported as HPSWEEP_DATASTORE_<NAME upper-cased>. For
    // "root" that is HPSWEEP_DATASTORE_ROOT, the CLI's store setting: a job that staged
    // another user's dataset "root" would take that user's files for its datastore.
    if (name.size() == 4 && std::equal(name.begin(), name.end(), "root", [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
        throw Error(ErrorKind::usage,
                    "invalid dataset name '" + std::string(name) +
                        "': its variable would be HPSWEEP_DATASTORE_ROOT, the store setting");
    }
}

void validate_tag_name(std::string_view tag) {
    check_word(tag, "tag");
    if (all_digits(tag) || tag == "latest") {
        throw Error(ErrorKind::usage,
                    "invalid tag '" + std::string(tag) + "': numbers and 'latest' name versions");
    }
}

Ref Ref::parse(std::string_view text) {
    Ref ref;
    const auto colon = text.find(':');
    ref.name = std::string(text.substr(0, colon));
    validate_dataset_name(ref.name);
    if (colon == std::string_view::npos) {
        return ref;
    }
    const std::string_view rest = text.substr(colon + 1);
    if (rest == "latest") {
        return ref;
    }
    if (all_digits(rest)) {
        if (rest.size() > 9 || std::stol(std::string(rest)) < 1) {
            throw Error(ErrorKind::usage, "invalid version in '" + std::string(text) +
                                              "': versions are numbered from 1");
        }
        ref.version = std::stoi(std::string(rest));
        return ref;
    }
    validate_tag_name(rest);
    ref.tag = std::string(rest);
    return ref;
}

std::string Ref::str() const {
    if (version) {
        return name + ":" + std::to_string(*version);
    }
    if (tag) {
        return name + ":" + *tag;
    }
    return name;
}

std::string normalize_entry_path(std::string_view raw, std::string_view where) {
    auto reject = [&](const std::string& why) -> Error {
        return Error(ErrorKind::data,
                     std::string(where) + ": entry '" + std::string(raw) + "' rejected: " + why);
    };
    if (raw.find('\0') != std::string_view::npos) {
        throw reject("the name contains a NUL byte");
    }
    if (!raw.empty() && raw.front() == '/') {
        throw reject("absolute paths are not allowed in a dataset");
    }
    std::vector<std::string> kept;
    for (const auto& part : components(raw)) {
        if (part.empty() || part == ".") {
            continue;
        }
        if (part == "..") {
            throw reject("'..' components are not allowed in a dataset");
        }
        kept.push_back(part);
    }
    if (kept.empty()) {
        return {};  // the dataset root itself
    }
    return joined(kept, kept.size());
}

std::optional<std::string> resolve_link_lexically(std::string_view link_path,
                                                  std::string_view target) {
    if (target.empty() || target.front() == '/') {
        return std::nullopt;
    }
    std::vector<std::string> stack = components(link_path);
    stack.pop_back();  // the link's own name: targets are relative to its directory
    for (const auto& part : components(target)) {
        if (part.empty() || part == ".") {
            continue;
        }
        if (part == "..") {
            if (stack.empty()) {
                return std::nullopt;
            }
            stack.pop_back();
            continue;
        }
        stack.push_back(part);
    }
    return joined(stack, stack.size());
}

void check_symlinks(const std::vector<LinkEntry>& links, std::string_view where) {
    std::unordered_map<std::string, std::string> targets;
    for (const auto& link : links) {
        targets.emplace(link.path, link.target);
    }
    for (const auto& link : links) {
        auto escape = [&](const std::string& why) -> Error {
            return Error(ErrorKind::data, std::string(where) + ": symlink '" + link.path +
                                              "' -> '" + link.target + "' rejected: " + why);
        };
        if (link.target.empty()) {
            throw escape("empty target");
        }
        if (link.target.front() == '/') {
            throw escape("absolute targets leave the dataset");
        }
        // Walk the target component by component the way the kernel does: a component
        // that is itself a link in the dataset is replaced by its target (relative to
        // where that link sits) before ".." is applied.
        std::vector<std::string> resolved = components(link.path);
        resolved.pop_back();
        std::vector<std::string> pending = components(link.target);
        std::reverse(pending.begin(), pending.end());
        int hops = 0;
        while (!pending.empty()) {
            std::string part = std::move(pending.back());
            pending.pop_back();
            if (part.empty() || part == ".") {
                continue;
            }
            if (part == "..") {
                if (resolved.empty()) {
                    throw escape("it climbs above the dataset root");
                }
                resolved.pop_back();
                continue;
            }
            resolved.push_back(part);
            const auto it = targets.find(joined(resolved, resolved.size()));
            if (it == targets.end()) {
                continue;
            }
            if (++hops > 40) {
                throw escape("too many levels of symbolic links");
            }
            if (it->second.empty() || it->second.front() == '/') {
                throw escape("it goes through a link with an absolute target");
            }
            resolved.pop_back();
            auto more = components(it->second);
            std::reverse(more.begin(), more.end());
            pending.insert(pending.end(), more.begin(), more.end());
        }
    }
}

}  // namespace hpsweep::datastore
