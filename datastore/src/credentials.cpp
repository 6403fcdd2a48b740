#include "hpsweep/datastore/credentials.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace hpsweep::datastore {

Credentials Credentials::current() {
    Credentials c;
    c.uid = ::geteuid();
    c.gid = ::getegid();
    const int n = ::getgroups(0, nullptr);
    if (n > 0) {
        c.groups.resize(static_cast<std::size_t>(n));
        const int got = ::getgroups(n, c.groups.data());
        c.groups.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    }
    c.groups.push_back(c.gid);
    return c;
}

Credentials Credentials::for_user(uid_t uid, gid_t gid) {
    Credentials c;
    c.uid = uid;
    c.gid = gid;
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* result = nullptr;
    if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &result) == 0 && result != nullptr) {
        int count = 64;
        std::vector<gid_t> groups(static_cast<std::size_t>(count));
        if (::getgrouplist(pw.pw_name, gid, groups.data(), &count) < 0) {
            groups.resize(static_cast<std::size_t>(count));
            ::getgrouplist(pw.pw_name, gid, groups.data(), &count);
        }
        groups.resize(static_cast<std::size_t>(std::max(count, 0)));
        c.groups = std::move(groups);
    }
    c.groups.push_back(gid);
    return c;
}

bool Credentials::in_group(gid_t g) const noexcept {
    return g == gid || std::find(groups.begin(), groups.end(), g) != groups.end();
}

bool Credentials::may(const struct stat& st, unsigned want) const noexcept {
    if (uid == 0) {
        // Root bypasses read/write checks; execute needs some x bit (directories: always).
        return (want & 1) == 0 || S_ISDIR(st.st_mode) || (st.st_mode & 0111) != 0;
    }
    unsigned bits = 0;
    if (st.st_uid == uid) {
        bits = (st.st_mode >> 6) & 7;
    } else if (in_group(st.st_gid)) {
        bits = (st.st_mode >> 3) & 7;
    } else {
        bits = st.st_mode & 7;
    }
    return (bits & want) == want;
}

}  // namespace hpsweep::datastore
