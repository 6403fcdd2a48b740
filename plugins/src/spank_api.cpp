#include "spank_api.hpp"

#include <unistd.h>

#include <cerrno>

#include "hpsweep/error.hpp"

namespace hpsweep::plugin {
namespace {

[[noreturn]] void spank_failed(const char* what, spank_err_t rc) {
    throw Error(ErrorKind::internal, std::string(what) + ": " + spank_strerror(rc));
}

}  // namespace

void log_error(std::string_view message) noexcept {
    try {
        slurm_error("hpsweep: %s", std::string(message).c_str());
    } catch (...) {
        // Out of memory while logging: nothing better to do.
    }
}

void log_verbose(std::string_view message) noexcept {
    try {
        slurm_verbose("hpsweep: %s", std::string(message).c_str());
    } catch (...) {
    }
}

void tell_user(std::string_view message) noexcept {
    try {
        std::string line = "hpsweep: " + std::string(message) + "\n";
        const char* data = line.data();
        size_t left = line.size();
        while (left > 0) {
            const ssize_t written = ::write(STDERR_FILENO, data, left);
            if (written < 0 && errno == EINTR)
                continue;
            if (written <= 0)
                break;
            data += written;
            left -= static_cast<size_t>(written);
        }
    } catch (...) {
    }
}

uid_t job_uid(spank_t sp) {
    uid_t uid = 0;
    if (const spank_err_t rc = spank_get_item(sp, S_JOB_UID, &uid); rc != ESPANK_SUCCESS) {
        spank_failed("S_JOB_UID", rc);
    }
    return uid;
}

gid_t job_gid(spank_t sp) {
    gid_t gid = 0;
    if (const spank_err_t rc = spank_get_item(sp, S_JOB_GID, &gid); rc != ESPANK_SUCCESS) {
        spank_failed("S_JOB_GID", rc);
    }
    return gid;
}

std::vector<gid_t> job_supplementary_gids(spank_t sp) {
    gid_t* gids = nullptr;
    int count = 0;
    if (const spank_err_t rc = spank_get_item(sp, S_JOB_SUPPLEMENTARY_GIDS, &gids, &count);
        rc != ESPANK_SUCCESS) {
        spank_failed("S_JOB_SUPPLEMENTARY_GIDS", rc);
    }
    if (gids == nullptr || count <= 0)
        return {};
    return std::vector<gid_t>(gids, gids + count);
}

std::uint32_t job_step_id(spank_t sp) {
    std::uint32_t step = 0;
    if (const spank_err_t rc = spank_get_item(sp, S_JOB_STEPID, &step); rc != ESPANK_SUCCESS) {
        spank_failed("S_JOB_STEPID", rc);
    }
    return step;
}

JobEnvironment job_environment(spank_t sp) {
    char** envp = nullptr;
    if (const spank_err_t rc = spank_get_item(sp, S_JOB_ENV, &envp); rc != ESPANK_SUCCESS) {
        spank_failed("S_JOB_ENV", rc);
    }
    return environment_from_envp(envp);
}

std::optional<std::string> job_getenv(spank_t sp, const char* name) {
    std::string buffer(256, '\0');
    for (;;) {
        const spank_err_t rc =
            spank_getenv(sp, name, buffer.data(), static_cast<int>(buffer.size()));
        if (rc == ESPANK_SUCCESS) {
            buffer.resize(buffer.find('\0'));
            return buffer;
        }
        if (rc == ESPANK_ENV_NOEXIST)
            return std::nullopt;
        if (rc != ESPANK_NOSPACE || buffer.size() > (1U << 24)) {
            spank_failed(name, rc);
        }
        buffer.assign(buffer.size() * 4, '\0');
    }
}

void job_setenv(spank_t sp, const std::string& name, const std::string& value) {
    if (const spank_err_t rc = spank_setenv(sp, name.c_str(), value.c_str(), 1);
        rc != ESPANK_SUCCESS) {
        throw Error(ErrorKind::internal,
                    "cannot set " + name + " in the job's environment: " + spank_strerror(rc));
    }
}

}  // namespace hpsweep::plugin
