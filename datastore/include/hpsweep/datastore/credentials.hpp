#pragma once
// Who is asking. The SPANK plugin stages as root on behalf of a job's user, so every
// access decision takes the requesting user's credentials explicitly instead of relying
// on the process's own (root can read everything).

#include <sys/stat.h>
#include <sys/types.h>

#include <vector>

namespace hpsweep::datastore {

struct Credentials {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups (gid included)

    // The calling process (effective ids).
    static Credentials current();
    // A user by uid/gid, with supplementary groups from the group database
    // (getgrouplist), as slurmstepd knows them for the job's user.
    static Credentials for_user(uid_t uid, gid_t gid);

    bool is_root() const noexcept { return uid == 0; }
    bool in_group(gid_t g) const noexcept;
    // POSIX permission check on a stat result: `want` is a mask of 4 (read), 2 (write),
    // 1 (execute/search). The owner, group, other class is picked the way the kernel does.
    // ACLs are not consulted. Root may do anything except execute a file with no x bit.
    bool may(const struct stat& st, unsigned want) const noexcept;
};

}  // namespace hpsweep::datastore
