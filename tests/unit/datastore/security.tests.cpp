// Two real Unix users and root on one node: private data stays private through the store
// and the cache, cache entries cannot be altered or poisoned by another user.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ds_test_util.hpp"
#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"
#include "two_users.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;
using dstest::as_user;
using dstest::ensure_user;
using dstest::TempDir;
using dstest::TestUser;
namespace fs = std::filesystem;

namespace {

bool can_open(const fs::path& p, int flags) {
    const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
    if (fd >= 0) {
        ::close(fd);
        return true;
    }
    return false;
}

template <typename F>
bool throws_error(F&& f) {
    try {
        f();
    } catch (const Error&) {
        return true;
    }
    return false;
}

}  // namespace

TEST_CASE("two users cannot read or alter each other's private data through the cache",
          "[datastore][security]") {
    if (::geteuid() != 0) {
        WARN("skipped: this test creates Unix users and switches to them, which needs root");
        return;
    }
    const TestUser alice = ensure_user("hpsw-ds-alice");
    const TestUser bob = ensure_user("hpsw-ds-bob");
    TempDir tmp("security");
    Store store(tmp / "store");
    store.initialize();
    CacheConfig cache{tmp / "cache", 0};
    for (const auto& [dir, user] : {std::pair{"src-alice", alice}, std::pair{"src-bob", bob}}) {
        dstest::write_file(tmp / dir / "secret.txt", std::string("secret of ") + dir);
        dstest::write_file(tmp / dir / "sub" / "data.bin", dstest::content_for(user.uid, 5000));
        REQUIRE(
            run_process({"chown", "-R", std::to_string(user.uid) + ":" + std::to_string(user.gid),
                         (tmp / dir).string()})
                .ok());
    }

    // Alice makes a private and a public dataset; a source she cannot read fails cleanly.
    REQUIRE(as_user(alice, [&] {
                CreateOptions priv;
                priv.private_dataset = true;
                if (store.create("alice-private", tmp / "src-alice", priv).version != 1)
                    return 1;
                CreateOptions pub;
                pub.private_dataset = false;
                if (store.create("alice-public", tmp / "src-alice", pub).version != 1)
                    return 2;
                if (!throws_error(
                        [&] { store.create("alice-other", tmp / "src-bob" / "missing", {}); }))
                    return 3;
                return 0;
            }) == 0);
    dstest::write_file(tmp / "src-locked" / "ok.txt", "ok");
    dstest::write_file(tmp / "src-locked" / "locked.txt", "no", 0600);  // root's, unreadable
    REQUIRE(as_user(alice, [&] {
                try {
                    store.create("alice-locked", tmp / "src-locked", {});
                    return 1;
                } catch (const Error& e) {
                    return std::string(e.what()).find("locked.txt") != std::string::npos ? 0 : 2;
                }
            }) == 0);
    CHECK_THROWS(store.resolve(Ref::parse("alice-locked"), Credentials::current()));

    const auto alice_creds = Credentials::for_user(alice.uid, alice.gid);
    const auto bob_creds = Credentials::for_user(bob.uid, bob.gid);

    // Bob can neither see, resolve, stage, delete nor take over Alice's private dataset.
    CHECK(as_user(bob, [&] {
              if (!throws_error(
                      [&] { store.resolve(Ref::parse("alice-private"), Credentials::current()); }))
                  return 1;
              if (!throws_error([&] {
                      stage(store, cache, Ref::parse("alice-private"), Credentials::current());
                  }))
                  return 2;
              if (!throws_error([&] { store.remove(Ref::parse("alice-private"), true); }))
                  return 3;
              if (!throws_error([&] { store.create("alice-private", tmp / "src-bob", {}); }))
                  return 4;
              if (!throws_error([&] { store.remove(Ref::parse("alice-public"), true); }))
                  return 5;
              if (can_open(store.datasets_dir() / "alice-private" / "dataset.json", O_RDONLY))
                  return 6;
              for (const auto& d : store.list(Credentials::current())) {
                  if (d.name == "alice-private")
                      return 7;
              }
              return 0;
          }) == 0);

    // Root (the SPANK plugin) stages only what the requesting user may read.
    CHECK_THROWS_WITH(stage(store, cache, Ref::parse("alice-private"), bob_creds),
                      Catch::Contains("permission denied"));
    auto staged = stage(store, cache, Ref::parse("alice-private"), alice_creds);
    REQUIRE(staged.cached);
    struct stat top {};
    REQUIRE(::stat(staged.path.c_str(), &top) == 0);
    CHECK(top.st_uid == alice.uid);
    CHECK((top.st_mode & 07777) == 0500);
    struct stat file {};
    REQUIRE(::stat((staged.path / "secret.txt").c_str(), &file) == 0);
    CHECK(file.st_uid == 0);
    CHECK((file.st_mode & 07777) == 0444);
    const fs::path private_copy = staged.path;

    // Bob cannot read, list, alter, replace or remove Alice's cached copy, nor root's
    // cache bookkeeping.
    CHECK(as_user(bob, [&] {
              if (can_open(private_copy / "secret.txt", O_RDONLY))
                  return 1;
              if (can_open(private_copy, O_RDONLY | O_DIRECTORY))
                  return 2;
              if (::rename(private_copy.c_str(), (tmp / "stolen").c_str()) == 0)
                  return 3;
              const fs::path meta = private_copy.parent_path().parent_path() / "meta";
              for (const auto& e : fs::directory_iterator(meta)) {
                  if (can_open(e.path(), O_WRONLY))
                      return 4;
              }
              if (::mkdir((private_copy.parent_path() / "fake").c_str(), 0755) == 0)
                  return 5;
              return 0;
          }) == 0);

    // Alice reads her copy but cannot change it.
    CHECK(as_user(alice, [&] {
              if (dstest::slurp(private_copy / "secret.txt") != "secret of src-alice")
                  return 1;
              if (can_open(private_copy / "secret.txt", O_WRONLY))
                  return 2;
              if (can_open(private_copy / "sub" / "new.txt", O_WRONLY | O_CREAT))
                  return 3;
              // Staging it herself finds root's copy (one copy per node).
              const auto r =
                  stage(store, cache, Ref::parse("alice-private"), Credentials::current());
              if (r.path != private_copy || r.filled)
                  return 4;
              return 0;
          }) == 0);

    // Poisoning: Bob squats the directory Alice's own cache area would use. Alice's stage
    // must not trust it: she is told and reads the shared store instead.
    CHECK(as_user(bob, [&] {
              const fs::path squat = cache.dir / ("uid-" + std::to_string(alice.uid));
              if (::mkdir(squat.c_str(), 0777) != 0)
                  return 1;
              ::chmod(squat.c_str(), 0777);
              fs::create_directories(squat / "entries");
              return 0;
          }) == 0);
    CHECK(as_user(alice, [&] {
              const auto r =
                  stage(store, cache, Ref::parse("alice-public"), Credentials::current());
              if (r.cached)
                  return 1;
              if (r.warning.find("not by") == std::string::npos)
                  return 2;
              if (dstest::slurp(r.path / "secret.txt") != "secret of src-alice")
                  return 3;
              return 0;
          }) == 0);

    // Bob's public dataset staged by root: Alice reads it; Bob (its owner) still cannot
    // alter the cached copy other users read.
    REQUIRE(as_user(bob, [&] {
                CreateOptions pub;
                pub.private_dataset = false;
                return store.create("bob-public", tmp / "src-bob", pub).version == 1 ? 0 : 1;
            }) == 0);
    // Bob stages as himself (no root copy yet): his own area, read-only, filled once, and
    // he can evict it again.
    CHECK(as_user(bob, [&] {
              auto r = stage(store, cache, Ref::parse("bob-public"), Credentials::current());
              if (!r.cached || !r.filled)
                  return 1;
              if (r.path.string().find("uid-" + std::to_string(bob.uid)) == std::string::npos)
                  return 2;
              if (dstest::slurp(r.path / "secret.txt") != "secret of src-bob")
                  return 3;
              if (can_open(r.path / "secret.txt", O_WRONLY))
                  return 4;
              auto again = stage(store, cache, Ref::parse("bob-public"), Credentials::current());
              if (again.filled || again.path != r.path)
                  return 5;
              r.lease.release();
              again.lease.release();
              if (cache_gc(cache, true).entries_evicted != 1)
                  return 6;
              if (fs::exists(r.path))
                  return 7;
              return 0;
          }) == 0);
    auto bob_copy = stage(store, cache, Ref::parse("bob-public"), alice_creds);
    REQUIRE(bob_copy.cached);
    const fs::path bob_path = bob_copy.path;
    CHECK(as_user(alice, [&] {
              return dstest::slurp(bob_path / "secret.txt") == "secret of src-bob" ? 0 : 1;
          }) == 0);
    CHECK(as_user(bob, [&] {
              if (can_open(bob_path / "secret.txt", O_WRONLY))
                  return 1;
              if (::chmod(bob_path.c_str(), 0777) == 0)
                  return 2;
              if (::unlink((bob_path / "secret.txt").c_str()) == 0)
                  return 3;
              return 0;
          }) == 0);
}
