#include "hpsweep/launcher/node_checks.hpp"

#include <dlfcn.h>
#include <glob.h>
#include <link.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "hpsweep/strings.hpp"

namespace hpsweep::launcher {

SharedLibrary::SharedLibrary(const std::string& name) {
    handle_ = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
        const char* e = ::dlerror();
        error_ = e ? e : "dlopen failed";
    }
}
SharedLibrary::SharedLibrary(SharedLibrary&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), error_(std::move(other.error_)) {}
SharedLibrary& SharedLibrary::operator=(SharedLibrary&& other) noexcept {
    std::swap(handle_, other.handle_);
    std::swap(error_, other.error_);
    return *this;
}
SharedLibrary::~SharedLibrary() {
    if (handle_)
        ::dlclose(handle_);
}

void* SharedLibrary::symbol(const char* name) const noexcept {
    return handle_ ? ::dlsym(handle_, name) : nullptr;
}

std::string SharedLibrary::path() const {
    if (!handle_)
        return "";
    link_map* map = nullptr;
    if (::dlinfo(handle_, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_name)
        return "";
    return map->l_name;
}

std::string nccl_version_text(int code) {
    // NCCL_VERSION(X,Y,Z) is X*10000+Y*100+Z since 2.9, X*1000+Y*100+Z before.
    int major = 0, minor = 0, patch = 0;
    if (code >= 20900) {
        major = code / 10000;
        minor = (code % 10000) / 100;
        patch = code % 100;
    } else {
        major = code / 1000;
        minor = (code % 1000) / 100;
        patch = code % 100;
    }
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

NcclProbe probe_nccl(const std::string& library) {
    NcclProbe probe;
    probe.library = library;
    const SharedLibrary lib(library);
    if (!lib.loaded()) {
        probe.error = lib.error();
        return probe;
    }
    probe.found = true;
    probe.path = lib.path();
    using GetVersion = int (*)(int*);  // ncclResult_t ncclGetVersion(int* version)
    void* sym = lib.symbol("ncclGetVersion");
    if (!sym) {
        probe.error = "no ncclGetVersion in " + (probe.path.empty() ? library : probe.path);
        return probe;
    }
    GetVersion get_version = nullptr;
    static_assert(sizeof get_version == sizeof sym);
    std::memcpy(&get_version, &sym, sizeof sym);  // dlsym returns data pointers by type
    int code = 0;
    if (get_version(&code) != 0) {
        probe.error = "ncclGetVersion failed";
        return probe;
    }
    probe.version = nccl_version_text(code);
    return probe;
}

namespace {

void scan_plugstack(const std::filesystem::path& file, PlugstackCheck& check, int depth) {
    std::ifstream in(file);
    if (!in)
        return;
    check.files.push_back(file.string());
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::string text(trim(line));
        if (const auto hash = text.find('#'); hash != std::string::npos)
            text = std::string(trim(text.substr(0, hash)));
        if (text.empty())
            continue;
        std::istringstream words(text);
        std::string first, second;
        words >> first >> second;
        if (first == "include" && depth < 8) {
            glob_t matches{};
            if (::glob(second.c_str(), 0, nullptr, &matches) == 0) {
                for (size_t i = 0; i < matches.gl_pathc; ++i)
                    scan_plugstack(matches.gl_pathv[i], check, depth + 1);
            }
            ::globfree(&matches);
            continue;
        }
        if ((first == "required" || first == "optional") &&
            std::filesystem::path(second).filename() == "hpsweep.so") {
            check.hpsweep_lines.push_back(file.string() + ":" + std::to_string(number) + ": " +
                                          text);
        }
    }
}

}  // namespace

PlugstackCheck check_plugstack(const std::filesystem::path& plugstack) {
    PlugstackCheck check;
    check.config = plugstack;
    check.readable = static_cast<bool>(std::ifstream(plugstack));
    if (check.readable)
        scan_plugstack(plugstack, check, 0);
    return check;
}

std::optional<std::string> plugstack_from_scontrol(const std::string& output) {
    std::istringstream in(output);
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq == std::string::npos)
            continue;
        if (trim(line.substr(0, eq)) == "PlugStackConfig") {
            const std::string value(trim(line.substr(eq + 1)));
            if (value.empty() || value == "(null)")
                return std::nullopt;
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace hpsweep::launcher
