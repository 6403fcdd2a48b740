#include "hpsweep/datastore/user_reader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "hpsweep/datastore/metadata.hpp"
#include "hpsweep/datastore/safe_fs.hpp"
#include "hpsweep/error.hpp"

namespace hpsweep::datastore::detail {
namespace {

int latest_version(int dataset_fd, const std::string& shown) {
    const UniqueFd versions = open_dir_beneath(dataset_fd, "versions", shown + "/versions");
    DIR* dir = ::fdopendir(::dup(versions.get()));
    if (dir == nullptr) {
        throw_errno("cannot read " + shown + "/versions");
    }
    int latest = 0;
    while (const dirent* e = ::readdir(dir)) {
        const std::string_view name = e->d_name;
        if (!name.empty() && name.size() <= 9 && name.front() != '0' &&
            std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            latest = std::max(latest, std::stoi(std::string(name)));
        }
    }
    ::closedir(dir);
    if (latest == 0) {
        throw Error(ErrorKind::state, shown + " has no versions yet");
    }
    return latest;
}

void fstat_or_throw(int fd, struct stat& st, const std::string& shown) {
    if (::fstat(fd, &st) != 0) {
        throw_errno("cannot inspect " + shown);
    }
}

void check_received(OpenedVersion& v, const std::string& shown) {
    struct stat st {};
    fstat_or_throw(v.dataset_dir.get(), v.dataset_st, shown);
    fstat_or_throw(v.version_dir.get(), v.version_st, shown);
    fstat_or_throw(v.manifest.get(), v.manifest_st, shown);
    fstat_or_throw(v.objects_dir.get(), st, shown);
    const bool dirs =
        S_ISDIR(v.dataset_st.st_mode) && S_ISDIR(v.version_st.st_mode) && S_ISDIR(st.st_mode);
    fstat_or_throw(v.dataset_file.get(), st, shown);
    if (!dirs || !S_ISREG(st.st_mode) || !S_ISREG(v.manifest_st.st_mode) || v.version < 1) {
        throw Error(ErrorKind::data, shown + ": the store's layout is damaged");
    }
}

}  // namespace

OpenedVersion open_version(const std::filesystem::path& datasets_dir, const Ref& ref) {
    validate_dataset_name(ref.name);
    const std::string shown = "dataset '" + ref.name + "'";
    // The store's location comes from the site configuration: the one path looked up whole.
    const UniqueFd datasets(::open(datasets_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!datasets) {
        throw Error(ErrorKind::state, "cannot open the datastore " + datasets_dir.string() + ": " +
                                          std::strerror(errno));
    }
    OpenedVersion v;
    v.dataset_dir =
        open_dir_beneath(datasets.get(), ref.name, shown + " in " + datasets_dir.string());
    v.dataset_file =
        open_regular_beneath(v.dataset_dir.get(), "dataset.json", shown + ": dataset.json");
    v.objects_dir = open_dir_beneath(v.dataset_dir.get(), "objects", shown + ": objects");
    if (ref.version) {
        v.version = *ref.version;
    } else if (ref.tag) {
        validate_tag_name(*ref.tag);
        try {
            v.version = parse_tag_file(
                read_regular_beneath(v.dataset_dir.get(), "tags/" + *ref.tag, tag_file_max_bytes,
                                     shown + ": tag '" + *ref.tag + "'"),
                shown + ": tag '" + *ref.tag + "'");
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::state) {
                throw Error(ErrorKind::state, shown + " has no tag '" + *ref.tag + "'");
            }
            throw;
        }
    } else {
        v.version = latest_version(v.dataset_dir.get(), shown);
    }
    const std::string version_shown = "version " + std::to_string(v.version) + " of " + shown;
    v.version_dir = open_dir_beneath(v.dataset_dir.get(), "versions/" + std::to_string(v.version),
                                     version_shown);
    v.manifest = open_regular_beneath(v.version_dir.get(), "manifest.json", version_shown);
    check_received(v, shown);
    return v;
}

ThreadFsIdentity::ThreadFsIdentity(const Credentials& who) {
    const long count = ::syscall(SYS_getgroups, 0, nullptr);
    saved_groups_.resize(count > 0 ? static_cast<std::size_t>(count) : 0);
    if (count < 0 ||
        ::syscall(SYS_getgroups, saved_groups_.size(), saved_groups_.data()) != count) {
        throw Error(ErrorKind::internal, "cannot read this thread's groups");
    }
    // setfsuid/setfsgid return the previous value; -1 is never valid, so it only asks.
    saved_fsgid_ = ::syscall(SYS_setfsgid, -1);
    saved_fsuid_ = ::syscall(SYS_setfsuid, -1);
    const long groups = ::syscall(SYS_setgroups, who.groups.size(), who.groups.data());
    ::syscall(SYS_setfsgid, who.gid);
    ::syscall(SYS_setfsuid, who.uid);
    if (groups != 0 || ::syscall(SYS_setfsgid, -1) != static_cast<long>(who.gid) ||
        ::syscall(SYS_setfsuid, -1) != static_cast<long>(who.uid)) {
        restore();
        throw Error(ErrorKind::internal,
                    "cannot take the job user's credentials to read the store");
    }
}

ThreadFsIdentity::~ThreadFsIdentity() {
    restore();
}

void ThreadFsIdentity::restore() noexcept {
    // The caller reads errno of the open it made as the user after this ran.
    const int open_errno = errno;
    // fsuid first: root's file capabilities come back with it; setgroups needs CAP_SETGID,
    // which a non-zero fsuid never took away.
    ::syscall(SYS_setfsuid, saved_fsuid_);
    ::syscall(SYS_setfsgid, saved_fsgid_);
    ::syscall(SYS_setgroups, saved_groups_.size(), saved_groups_.data());
    errno = open_errno;
}

OpenedVersion open_version_as(const Credentials& who, const std::filesystem::path& datasets_dir,
                              const Ref& ref) {
    validate_dataset_name(ref.name);
    OpenedVersion v;
    std::exception_ptr error;
    // Raw system calls: glibc's wrappers would change every thread of the process (slurmstepd
    // included); the kernel's change only the calling thread, and this thread ends after the
    // opens. Its descriptors belong to the process and stay open.
    // A thread of its own, so that nothing else this process does runs with the user's ids.
    std::thread reader([&] {
        try {
            const ThreadFsIdentity as_user(who);
            v = open_version(datasets_dir, ref);
        } catch (...) {
            error = std::current_exception();
        }
    });
    reader.join();
    if (error) {
        std::rethrow_exception(error);
    }
    return v;
}

}  // namespace hpsweep::datastore::detail
