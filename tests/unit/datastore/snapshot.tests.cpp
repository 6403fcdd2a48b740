#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "ds_test_util.hpp"
#include "hpsweep/datastore/snapshot.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;
using dstest::TempDir;
using dstest::write_file;
namespace fs = std::filesystem;

namespace {

void git(const fs::path& repo, std::vector<std::string> args) {
    args.insert(args.begin(),
                {"git", "-C", repo.string(), "-c", "user.name=t", "-c", "user.email=t@localhost"});
    const auto r = run_process(args);
    INFO(r.err);
    REQUIRE(r.ok());
}

std::vector<std::string> paths_of(const SnapshotSource& source) {
    std::vector<std::string> out;
    for (const auto& f : source.files) out.push_back(f.path);
    return out;
}

// The index trusts only files older than a second (see store_snapshot).
void let_files_settle() {
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
}

}  // namespace

TEST_CASE("a snapshot of a work tree holds tracked and unignored files only",
          "[datastore][snapshot]") {
    TempDir tmp("snap-git");
    const auto repo = tmp / "repo";
    write_file(repo / "train.py", "print(1)\n");
    write_file(repo / "lib" / "helper.py", "X = 1\n");
    write_file(repo / ".gitignore", "*.log\n/outputs/\n");
    write_file(repo / "data" / "big.bin", std::string(5000, 'x'));
    git(repo, {"init", "-q"});
    git(repo, {"add", "."});
    git(repo, {"commit", "-qm", "one"});
    write_file(repo / "notes.py", "untracked\n");  // untracked, not ignored: in
    write_file(repo / "run.log", "ignored\n");
    write_file(repo / "outputs" / "model.pt", "ignored\n");
    write_file(repo / "runs" / "exp" / "experiment.json", "{}\n");  // the experiments home
    fs::remove(repo / "lib" / "helper.py");                         // deleted in the work tree: out

    auto source = list_snapshot_source(repo, {repo / "runs"});
    CHECK(source.git);
    CHECK(paths_of(source) ==
          std::vector<std::string>{".gitignore", "data/big.bin", "notes.py", "train.py"});

    write_file(repo / ".hpsweepignore", "data/\n");
    source = list_snapshot_source(repo, {repo / "runs"});
    CHECK(paths_of(source) ==
          std::vector<std::string>{".gitignore", ".hpsweepignore", "notes.py", "train.py"});

    CHECK(default_snapshot_context(repo / "train.py") == fs::canonical(repo));
    // A script git ignores belongs to no work tree: its own directory is the context.
    write_file(repo / "outputs" / "scratch.py", "print(2)\n");
    CHECK(default_snapshot_context(repo / "outputs" / "scratch.py") ==
          fs::canonical(repo / "outputs"));
    CHECK_THROWS_WITH(default_snapshot_context(repo / "missing.py"),
                      Catch::Contains("missing.py does not exist"));

    git(repo, {"checkout", "-qb", "work"});
    const auto state = git_state(list_snapshot_source(repo, {repo / "runs"}));
    REQUIRE(state);
    CHECK(state->commit.size() == 40);
    CHECK(state->branch == "work");
    // Untracked: what the snapshot holds and git does not track, .hpsweepignore included.
    CHECK(state->untracked == std::vector<std::string>{".hpsweepignore", "notes.py"});
    write_file(repo / "train.py", "print(2)\n");
    CHECK(git_state(list_snapshot_source(repo))->diff.find("+print(2)") != std::string::npos);
}

TEST_CASE("a script's snapshot is the listing of its default context", "[datastore][snapshot]") {
    TempDir tmp("snap-script");
    const auto repo = tmp / "repo";
    write_file(repo / "train.py", "print(1)\n");
    write_file(repo / "lib" / "helper.py", "X = 1\n");
    write_file(repo / ".gitignore", "/outputs/\n/lib/local.py\n");
    git(repo, {"init", "-q"});
    git(repo, {"add", "."});
    git(repo, {"commit", "-qm", "one"});
    write_file(repo / "notes.py", "untracked\n");                // untracked, not ignored
    write_file(repo / "outputs" / "scratch.py", "print(2)\n");   // in an ignored directory
    write_file(repo / "outputs" / "runs" / "log.txt", "log\n");  // the experiments home
    write_file(repo / "lib" / "local.py", "ignored\n");          // ignored itself
    write_file(tmp / "plain" / "job.py", "print(3)\n");          // outside git
    write_file(tmp / "plain" / "more.py", "print(4)\n");

    const auto same = [&](const fs::path& script, const fs::path& context) {
        INFO(script.string());
        const auto excluded = std::vector<fs::path>{repo / "outputs" / "runs"};
        const auto by_script = list_script_snapshot_source(script, excluded);
        const auto by_context = list_snapshot_source(default_snapshot_context(script), excluded);
        CHECK(by_script.context == fs::canonical(context));
        CHECK(by_script.context == by_context.context);
        CHECK(by_script.git == by_context.git);
        CHECK(by_script.work_tree == by_context.work_tree);
        CHECK(paths_of(by_script) == paths_of(by_context));
        CHECK(by_script.untracked == by_context.untracked);
        CHECK(by_script.total_bytes == by_context.total_bytes);
    };
    same(repo / "train.py", repo);
    same(repo / "lib" / "helper.py", repo);
    same(repo / "notes.py", repo);
    same(repo / "outputs" / "scratch.py", repo / "outputs");
    // Ignored by name beside tracked files: the directory is listed as outside git, so the
    // script is in its own snapshot (the work tree's rules would have left it out).
    const auto ignored = list_script_snapshot_source(repo / "lib" / "local.py");
    CHECK(ignored.context == fs::canonical(repo / "lib"));
    CHECK_FALSE(ignored.git);
    CHECK(paths_of(ignored) == std::vector<std::string>{"helper.py", "local.py"});
    same(tmp / "plain" / "job.py", tmp / "plain");
    CHECK(paths_of(list_script_snapshot_source(repo / "outputs" / "scratch.py",
                                               {repo / "outputs" / "runs"})) ==
          std::vector<std::string>{"scratch.py"});
    CHECK_THROWS_WITH(list_script_snapshot_source(repo / "missing.py"),
                      Catch::Contains("missing.py does not exist"));
}

TEST_CASE("a plain directory is listed with .hpsweepignore applied", "[datastore][snapshot]") {
    TempDir tmp("snap-plain");
    const auto dir = tmp / "code";
    write_file(dir / "train.py", "print(1)\n");
    write_file(dir / "data" / "a.npy", "aaaa");
    write_file(dir / "sub" / "b.py", "b\n");
    write_file(dir / ".hpsweepignore", "*.npy\n");
    const auto source = list_snapshot_source(dir);
    CHECK_FALSE(source.git);
    CHECK(paths_of(source) == std::vector<std::string>{".hpsweepignore", "sub/b.py", "train.py"});
    CHECK_FALSE(git_state(source));
    CHECK_THROWS_WITH(list_snapshot_source(tmp / "nowhere"), Catch::Contains("is not a directory"));
}

TEST_CASE("the size limit names the biggest files", "[datastore][snapshot]") {
    TempDir tmp("snap-limit");
    const auto dir = tmp / "code";
    write_file(dir / "train.py", "print(1)\n");
    write_file(dir / "weights.bin", std::string(3000, 'w'));
    write_file(dir / "small.bin", std::string(1000, 's'));
    const auto source = list_snapshot_source(dir);
    CHECK(source.total_bytes == 4009);
    CHECK_NOTHROW(check_snapshot_size(source, 4009));
    try {
        check_snapshot_size(source, 2000);
        FAIL("no error past the limit");
    } catch (const Error& e) {
        const std::string text = e.what();
        CHECK(e.kind() == ErrorKind::usage);
        CHECK(text.find("weights.bin") < text.find("small.bin"));
        CHECK(text.find("datastore") != std::string::npos);
    }
}

TEST_CASE("an unchanged snapshot reuses its version without reading, a change stores only it",
          "[datastore][snapshot]") {
    TempDir tmp("snap-store");
    const auto dir = tmp / "code";
    for (int i = 0; i < 20; ++i)
        write_file(dir / ("m" + std::to_string(i) + ".py"), dstest::content_for(i, 1000));
    const Store store(tmp / "store");
    const auto index = tmp / "index" / "code.index";
    let_files_settle();

    const auto first = store_snapshot(store, list_snapshot_source(dir), index);
    CHECK(first.version == 1);
    CHECK(first.new_bytes == 20000);
    CHECK(first.dataset == snapshot_dataset_name(::geteuid()));
    const auto again = store_snapshot(store, list_snapshot_source(dir), index);
    CHECK(again.reused_index);
    CHECK(again.version == 1);
    CHECK(again.new_bytes == 0);
    // Without an index the content decides: still the same version, nothing new.
    const auto no_index = store_snapshot(store, list_snapshot_source(dir), fs::path());
    CHECK(no_index.unchanged);
    CHECK(no_index.new_bytes == 0);

    write_file(dir / "m3.py", dstest::content_for(99, 1000));
    const auto changed = store_snapshot(store, list_snapshot_source(dir), index);
    CHECK_FALSE(changed.reused_index);
    CHECK(changed.version == 2);
    CHECK(changed.new_bytes == 1000);
    // m3.py changed less than a second ago: the index may not vouch for it yet.
    CHECK_FALSE(store_snapshot(store, list_snapshot_source(dir), index).reused_index);

    const auto resolved =
        store.resolve(Ref{changed.dataset, 2, std::nullopt}, Credentials::current());
    CHECK(resolved.private_dataset);
    CHECK(dstest::slurp(resolved.data_dir / "m3.py") == dstest::content_for(99, 1000));
}

TEST_CASE("a snapshot stores files of every size, shares equal content, skips deleted files",
          "[datastore][snapshot]") {
    TempDir tmp("snap-sizes");
    const auto dir = tmp / "code";
    // Past the 1 MiB the reader reads ahead, and past the 8 MiB a create hashes in memory.
    const std::string medium = dstest::content_for(1, 3u << 20);
    const std::string large = dstest::content_for(2, 9u << 20);
    write_file(dir / "a" / "b" / "medium.bin", medium);
    write_file(dir / "a" / "b.py", "same\n");  // sorts between a/b/ and a/c/: a directory again
    write_file(dir / "a" / "c" / "copy.py", "same\n");
    write_file(dir / "a" / "c" / "large.bin", large);
    write_file(dir / "empty.py", "");
    write_file(dir / "run.sh", "#!/bin/sh\n", 0755);
    write_file(dir / "gone.py", "deleted after listing\n");
    fs::create_symlink("a/b.py", dir / "link.py");
    const auto source = list_snapshot_source(dir);
    REQUIRE(source.files.size() == 8);
    fs::remove(dir / "gone.py");

    const Store store(tmp / "store");
    const auto result = store_snapshot(store, source, fs::path());
    CHECK(result.version == 1);
    // "same\n" twice is one object; the deleted file is not in the version.
    CHECK(result.new_bytes == medium.size() + large.size() + 5 + 10);
    const auto version =
        store.resolve(Ref{result.dataset, 1, std::nullopt}, Credentials::current());
    const auto& data = version.data_dir;
    CHECK(dstest::slurp(data / "a" / "b" / "medium.bin") == medium);
    CHECK(dstest::slurp(data / "a" / "c" / "large.bin") == large);
    CHECK(dstest::slurp(data / "a" / "b.py") == "same\n");
    CHECK(fs::equivalent(data / "a" / "b.py", data / "a" / "c" / "copy.py"));
    CHECK(dstest::slurp(data / "empty.py").empty());
    CHECK((fs::status(data / "run.sh").permissions() & fs::perms::owner_exec) != fs::perms::none);
    CHECK(fs::read_symlink(data / "link.py") == "a/b.py");
    CHECK_FALSE(fs::exists(fs::symlink_status(data / "gone.py")));

    // The same code from another directory: every object is shared, nothing new is stored.
    fs::copy(dir, tmp / "again", fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    const auto again = store_snapshot(store, list_snapshot_source(tmp / "again"), fs::path());
    CHECK(again.new_bytes == 0);
    const auto second =
        store.resolve(Ref{again.dataset, again.version, std::nullopt}, Credentials::current());
    CHECK(
        fs::equivalent(data / "a" / "c" / "large.bin", second.data_dir / "a" / "c" / "large.bin"));
}

TEST_CASE(
    "a snapshot stores every file of many directories and of one directory too long for "
    "one storing thread",
    "[datastore][snapshot]") {
    // The storing threads take whole directories, and a directory of more than 256 files in
    // pieces: every file must still land in its place, once, with its own content.
    TempDir tmp("snap-lanes");
    const auto dir = tmp / "code";
    std::vector<std::pair<std::string, std::string>> files;
    const auto add = [&](const std::string& path, int seed, std::size_t size) {
        files.emplace_back(path, dstest::content_for(seed, size));
        write_file(dir / path, files.back().second);
    };
    int seed = 0;
    for (int i = 0; i < 600; ++i) add("flat/f" + std::to_string(i) + ".py", seed++, 64 + i);
    for (int d = 0; d < 12; ++d)
        for (int i = 0; i < 7; ++i)
            add("pkg" + std::to_string(d) + "/sub/m" + std::to_string(i) + ".py", seed++, 300);
    add("top.py", seed++, 10);
    const auto source = list_snapshot_source(dir);
    REQUIRE(source.files.size() == files.size());

    const Store store(tmp / "store");
    const auto result = store_snapshot(store, source, fs::path());
    const auto version =
        store.resolve(Ref{result.dataset, result.version, std::nullopt}, Credentials::current());
    std::size_t stored = 0;
    for (const auto& entry : fs::recursive_directory_iterator(version.data_dir))
        stored += entry.is_regular_file() ? 1 : 0;
    CHECK(stored == files.size());
    for (const auto& [path, content] : files) {
        INFO(path);
        CHECK(dstest::slurp(version.data_dir / path) == content);
    }
}

TEST_CASE("a snapshot refuses a directory swapped for a link after listing, and stores nothing",
          "[datastore][snapshot]") {
    TempDir tmp("snap-swap");
    const auto dir = tmp / "code";
    for (int i = 0; i < 50; ++i)
        write_file(dir / "a" / ("m" + std::to_string(i) + ".py"), dstest::content_for(i, 100));
    write_file(dir / "z" / "secret.py", "not listed\n");
    write_file(dir / "z" / "other.py", "listed\n");
    const auto source = list_snapshot_source(dir);
    fs::remove_all(dir / "z");
    write_file(tmp / "elsewhere" / "other.py", "outside the context\n");
    fs::create_directory_symlink(tmp / "elsewhere", dir / "z");

    const Store store(tmp / "store");
    CHECK_THROWS_WITH(store_snapshot(store, source, fs::path()),
                      Catch::Contains("z/other.py: a directory on the way is a symbolic link"));
    CHECK_THROWS(store.resolve(Ref{snapshot_dataset_name(::geteuid()), 1, std::nullopt},
                               Credentials::current()));
}
