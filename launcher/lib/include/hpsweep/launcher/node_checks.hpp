#pragma once
// What `hpsweep doctor` checks on a node besides the topology: whether NCCL can be loaded
// (never a build dependency: dlopen at run time) and whether Slurm's plugstack enables
// the hpsweep SPANK plugin.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hpsweep::launcher {

// Move-only owner of a dlopen() handle.
class SharedLibrary {
public:
    // dlopen(name, RTLD_NOW | RTLD_LOCAL); check loaded() and error().
    explicit SharedLibrary(const std::string& name);
    SharedLibrary(SharedLibrary&& other) noexcept;
    SharedLibrary& operator=(SharedLibrary&& other) noexcept;
    SharedLibrary(const SharedLibrary&) = delete;
    SharedLibrary& operator=(const SharedLibrary&) = delete;
    ~SharedLibrary();

    bool loaded() const noexcept { return handle_ != nullptr; }
    const std::string& error() const noexcept { return error_; }
    void* symbol(const char* name) const noexcept;
    std::string path() const;  // the file the loader picked, "" when unknown

private:
    void* handle_ = nullptr;
    std::string error_;
};

struct NcclProbe {
    bool found = false;
    std::string library;                 // name asked for
    std::string path;                    // file loaded
    std::optional<std::string> version;  // "2.18.3"
    std::string error;                   // why not found / no version
};
// Loads `library` (default libnccl.so.2) and asks ncclGetVersion.
NcclProbe probe_nccl(const std::string& library = "libnccl.so.2");
// NCCL's version code to text: 21803 -> "2.18.3" (>= 2.9), 2708 -> "2.7.8" (older).
std::string nccl_version_text(int code);

struct PlugstackCheck {
    std::filesystem::path config;  // the PlugStackConfig file
    bool readable = false;
    std::vector<std::string> files;          // files read (config + includes)
    std::vector<std::string> hpsweep_lines;  // "file:line: text" of active hpsweep.so lines
    bool enabled() const noexcept { return !hpsweep_lines.empty(); }
};
// Reads a plugstack.conf (following `include` globs) and finds the active lines (not
// comments) that load hpsweep.so, as "required"/"optional".
PlugstackCheck check_plugstack(const std::filesystem::path& plugstack);
// The PlugStackConfig value in `scontrol show config` output; nullopt when absent.
std::optional<std::string> plugstack_from_scontrol(const std::string& show_config_output);

}  // namespace hpsweep::launcher
