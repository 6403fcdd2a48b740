#pragma once
// Real Unix users for the datastore's security tests: created on first use, switched to in
// a forked child (needs root).

#include <catch2/catch.hpp>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "ds_test_util.hpp"
#include "hpsweep/process.hpp"

// Ends the calling test case with a warning unless it runs as root (Catch2 2 has no SKIP):
// creating users and switching to them needs root.
#define DSTEST_SKIP_UNLESS_ROOT()                        \
    do {                                                 \
        if (::geteuid() != 0) {                          \
            WARN("skipped: needs root to create users"); \
            return;                                      \
        }                                                \
    } while (false)

namespace dstest {

struct TestUser {
    uid_t uid = 0;
    gid_t gid = 0;
};

inline TestUser ensure_user(const std::string& name) {
    if (::getpwnam(name.c_str()) == nullptr) {
        const auto r = hpsweep::run_process({"useradd", "--system", "--no-create-home",
                                             "--user-group", "--shell", "/usr/sbin/nologin", name});
        INFO(r.err);
        REQUIRE(r.ok());
    }
    const passwd* pw = ::getpwnam(name.c_str());
    REQUIRE(pw != nullptr);
    return {pw->pw_uid, pw->pw_gid};
}

// Runs fn as `user` in a child process; fn returns 0 when everything it checked held,
// otherwise the number of the first check that failed.
inline int as_user(const TestUser& user, const std::function<int()>& fn) {
    return in_child([&] {
        if (::setgroups(0, nullptr) != 0 || ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0) {
            return 98;
        }
        ::umask(022);
        return fn();
    });
}

}  // namespace dstest
