// Root's staging with two real users: names and ids from dataset.json never steer root,
// another user's bytes never land in an entry a victim uses, locks cannot be held against
// others, and gc never follows what a dataset owner planted.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ds_test_util.hpp"
#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/error.hpp"
#include "two_users.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;
using dstest::as_user;
using dstest::ensure_user;
using dstest::TempDir;
using dstest::TestUser;
namespace fs = std::filesystem;

namespace {

struct TwoUsers {
    TestUser alice = ensure_user("hpsw-ds-alice");
    TestUser bob = ensure_user("hpsw-ds-bob");
    TempDir tmp{"staging-security"};
    Store store{tmp / "store"};
    CacheConfig cache{tmp / "cache", 0};

    TwoUsers() {
        store.initialize();
        ::chmod(tmp.path().c_str(), 0755);
    }
    // A public dataset NAME of `user` holding one file with `content`.
    void create(const TestUser& user, const std::string& name, const std::string& content) {
        const fs::path src = tmp / ("src-" + name);
        dstest::write_file(src / "data.txt", content);
        REQUIRE(
            run_process({"chown", "-R", std::to_string(user.uid) + ":" + std::to_string(user.gid),
                         src.string()})
                .ok());
        REQUIRE(as_user(user, [&] {
                    CreateOptions options;
                    options.private_dataset = false;
                    return store.create(name, src, options).version == 1 ? 0 : 1;
                }) == 0);
    }
    // Rewrites a file of a dataset as its owner could.
    void forge(const fs::path& file, const std::string& text) {
        ::chmod(file.parent_path().c_str(), 0755);
        fs::remove(file);
        dstest::write_file(file, text);
    }
    Credentials creds(const TestUser& u) const { return Credentials::for_user(u.uid, u.gid); }
};

std::size_t files_under(const fs::path& dir) {
    std::size_t n = 0;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("a dataset.json naming another dataset or a path is refused before root acts",
          "[datastore][security]") {
    DSTEST_SKIP_UNLESS_ROOT();
    TwoUsers t;
    t.create(t.bob, "bob-ds", "bob's bytes");
    const fs::path meta = t.store.datasets_dir() / "bob-ds" / "dataset.json";
    auto j = nlohmann::json::parse(dstest::slurp(meta));
    j["name"] = "../../../../tmp/hpsw-escape";
    t.forge(meta, j.dump());
    CHECK_THROWS_WITH(stage(t.store, t.cache, Ref::parse("bob-ds"), t.creds(t.bob)),
                      Catch::Contains("another dataset"));
    j["name"] = "bob-ds";
    j["id"] = "../../x";
    t.forge(meta, j.dump());
    CHECK_THROWS_WITH(stage(t.store, t.cache, Ref::parse("bob-ds"), t.creds(t.bob)),
                      Catch::Contains("dataset id"));
    CHECK_FALSE(fs::exists("/tmp/hpsw-escape"));
    if (fs::exists(t.cache.dir / "uid-0" / "entries")) {
        CHECK(files_under(t.cache.dir / "uid-0" / "entries") == 0);
    }
}

TEST_CASE("copying another user's id and manifest never fills the entry their jobs use",
          "[datastore][security]") {
    DSTEST_SKIP_UNLESS_ROOT();
    TwoUsers t;
    t.create(t.alice, "alice-ds", "alice's bytes");
    t.create(t.bob, "bob-ds", "bob's bytes!!");
    const fs::path a = t.store.datasets_dir() / "alice-ds";
    const fs::path b = t.store.datasets_dir() / "bob-ds";
    // Bob takes Alice's id and manifest; his object keeps his own bytes.
    auto bob_meta = nlohmann::json::parse(dstest::slurp(b / "dataset.json"));
    bob_meta["id"] = nlohmann::json::parse(dstest::slurp(a / "dataset.json"))["id"];
    t.forge(b / "dataset.json", bob_meta.dump());
    t.forge(b / "versions" / "1" / "manifest.json",
            dstest::slurp(a / "versions" / "1" / "manifest.json"));
    const auto bob_stage = [&] {
        return stage(t.store, t.cache, Ref::parse("bob-ds"), t.creds(t.bob));
    };
    // His own object does not match Alice's digest: the fill fails, nothing is published.
    CHECK_THROWS(bob_stage());
    const auto alice = stage(t.store, t.cache, Ref::parse("alice-ds"), t.creds(t.alice));
    REQUIRE(alice.cached);
    CHECK(dstest::slurp(alice.path / "data.txt") == "alice's bytes");
    // Even with Alice's exact objects, Bob's entry is keyed with his uid: never Alice's.
    fs::remove_all(b / "objects");
    REQUIRE(run_process({"cp", "-a", (a / "objects").string(), (b / "objects").string()}).ok());
    const auto bob = bob_stage();
    CHECK(bob.path != alice.path);
}

TEST_CASE("a user cannot hold an exclusive lock on root's cache locks", "[datastore][security]") {
    DSTEST_SKIP_UNLESS_ROOT();
    TwoUsers t;
    t.create(t.alice, "alice-ds", "alice's bytes");
    auto staged = stage(t.store, t.cache, Ref::parse("alice-ds"), t.creds(t.alice));
    REQUIRE(staged.cached);
    const fs::path locks = t.cache.dir / "uid-0" / "locks";
    CHECK(as_user(t.bob, [&] {
              for (const auto& e : fs::directory_iterator(locks)) {
                  const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
                  if (fd < 0) {
                      continue;
                  }
                  struct flock lock {};
                  lock.l_type = F_WRLCK;
                  lock.l_whence = SEEK_SET;
                  const int r = ::fcntl(fd, F_OFD_SETLK, &lock);
                  ::close(fd);
                  if (r == 0) {
                      return 1;
                  }
              }
              return 0;
          }) == 0);
    // With Bob's attempt over, the entry is still handed out at once.
    staged.lease.release();
    StageOptions quick;
    quick.lock_timeout = std::chrono::milliseconds(100);
    CHECK(stage(t.store, t.cache, Ref::parse("alice-ds"), t.creds(t.alice), quick).cached);
}

TEST_CASE("gc skips and reports links a dataset owner planted and goes on with the rest",
          "[datastore][security]") {
    DSTEST_SKIP_UNLESS_ROOT();
    TwoUsers t;
    t.create(t.bob, "bob-ds", "bob's bytes");
    t.create(t.alice, "alice-ds", "alice's bytes");
    const fs::path victim = t.tmp / "victim";
    dstest::write_file(victim / "old" / "precious.txt", "keep me");
    dstest::write_file(victim / "ab" / "object", "keep me too");
    REQUIRE(run_process({"touch", "-d", "2000-01-01", (victim / "old").string(),
                         (victim / "ab" / "object").string()})
                .ok());
    const fs::path bob = t.store.datasets_dir() / "bob-ds";
    fs::remove_all(bob / "tmp");
    fs::create_symlink(victim, bob / "tmp");
    fs::remove_all(bob / "objects");
    fs::create_symlink(victim, bob / "objects");
    // Alice has an abandoned temporary gc should still collect.
    const fs::path leftover = t.store.datasets_dir() / "alice-ds" / "tmp" / "v-abandoned";
    fs::create_directories(leftover);
    REQUIRE(run_process({"touch", "-d", "2000-01-01", leftover.string()}).ok());

    GcOptions options;
    options.grace = std::chrono::seconds(60);
    const GcResult r = t.store.gc(options);
    CHECK(fs::exists(victim / "old" / "precious.txt"));
    CHECK(fs::exists(victim / "ab" / "object"));
    CHECK_FALSE(fs::exists(leftover));
    REQUIRE_FALSE(r.problems.empty());
    CHECK_THAT(r.problems.front(), Catch::Contains("bob-ds/tmp") && Catch::Contains("skipped"));
    // Deleting the dataset removes the links themselves, never what they point at.
    t.store.remove(Ref::parse("bob-ds"), true);
    CHECK(fs::exists(victim / "old" / "precious.txt"));
    CHECK_FALSE(fs::exists(bob));
}

TEST_CASE("a FIFO or device in place of a dataset's metadata fails the stage at once",
          "[datastore][security]") {
    DSTEST_SKIP_UNLESS_ROOT();
    TwoUsers t;
    t.create(t.bob, "bob-ds", "bob's bytes");
    const fs::path version = t.store.datasets_dir() / "bob-ds" / "versions" / "1";
    ::chmod(version.c_str(), 0755);
    fs::remove(version / "manifest.json");
    REQUIRE(::mkfifo((version / "manifest.json").c_str(), 0644) == 0);
    CHECK_THROWS_WITH(stage(t.store, t.cache, Ref::parse("bob-ds"), t.creds(t.bob)),
                      Catch::Contains("not a regular file"));
    fs::remove(version / "manifest.json");
    fs::create_symlink("/dev/zero", version / "manifest.json");
    CHECK_THROWS_WITH(stage(t.store, t.cache, Ref::parse("bob-ds"), t.creds(t.bob)),
                      Catch::Contains("symbolic link"));
}

TEST_CASE(
    "root opens each object with the job user's credentials: the kernel refuses an "
    "object that user may not read",
    "[datastore][security]") {
    DSTEST_SKIP_UNLESS_ROOT();
    TwoUsers t;
    t.create(t.alice, "alice-ds", "alice's bytes");
    // Alice's public dataset, but one object she made readable by herself alone: the
    // directories say "public", the object says "private", and only the kernel's check on
    // Bob's open of the object tells.
    const fs::path objects = t.store.datasets_dir() / "alice-ds" / "objects";
    for (const auto& entry : fs::recursive_directory_iterator(objects)) {
        if (entry.is_regular_file()) {
            REQUIRE(::chmod(entry.path().c_str(), 0600) == 0);
        }
    }
    CHECK_THROWS_WITH(stage(t.store, t.cache, Ref::parse("alice-ds"), t.creds(t.bob)),
                      Catch::Contains("permission denied"));
    if (fs::exists(t.cache.dir / "uid-0" / "entries")) {
        CHECK(files_under(t.cache.dir / "uid-0" / "entries") == 0);
    }
    // Alice herself may read it, so her stage through root fills the entry.
    const auto alice = stage(t.store, t.cache, Ref::parse("alice-ds"), t.creds(t.alice));
    CHECK(dstest::slurp(alice.path / "data.txt") == "alice's bytes");
}
