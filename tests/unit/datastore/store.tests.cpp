#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ds_test_util.hpp"
#include "hpsweep/datastore/manifest.hpp"
#include "hpsweep/datastore/store.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"

using namespace hpsweep;
using namespace hpsweep::datastore;
using dstest::TempDir;
namespace fs = std::filesystem;

namespace {

// Archives are made by the system's own tools (and Python's tarfile/zipfile for entries
// no honest tool writes), never by the code under test.
void python(const std::string& script) {
    const auto r = run_process({"/usr/bin/python3", "-c", script});
    INFO(r.err);
    REQUIRE(r.ok());
}

void check_tree_matches(const fs::path& expected_root, const fs::path& actual_root) {
    std::size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(expected_root)) {
        const auto rel = e.path().lexically_relative(expected_root);
        const auto other = actual_root / rel;
        INFO(rel.string());
        if (e.is_symlink()) {
            REQUIRE(fs::is_symlink(other));
            CHECK(fs::read_symlink(other) == fs::read_symlink(e.path()));
        } else if (e.is_directory()) {
            CHECK(fs::is_directory(other));
        } else {
            REQUIRE(fs::is_regular_file(other));
            CHECK(dstest::slurp(other) == dstest::slurp(e.path()));
            const bool exec =
                (fs::status(e.path()).permissions() & fs::perms::owner_exec) != fs::perms::none;
            CHECK(((fs::status(other).permissions() & fs::perms::owner_exec) != fs::perms::none) ==
                  exec);
            ++files;
        }
    }
    CHECK(files > 0);
}

std::size_t count_entries(const fs::path& dir) {
    if (!fs::exists(dir)) {
        return 0;
    }
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}

}  // namespace

TEST_CASE("create from a directory keeps contents, exec bits, modes and inside symlinks",
          "[datastore][store]") {
    TempDir tmp("store-dir");
    dstest::make_tree(tmp / "src", 40, 1000);
    dstest::write_file(tmp / "src" / "secret.key", "k", 0600);
    Store store(tmp / "root");
    const auto r = store.create("mnist", tmp / "src", {});
    CHECK(r.version == 1);
    CHECK(r.files == 42);
    CHECK(r.new_bytes == r.bytes);

    const auto v = store.resolve(Ref::parse("mnist"), Credentials::current());
    CHECK(v.version == 1);
    check_tree_matches(tmp / "src", v.data_dir);
    CHECK(fs::is_directory(v.data_dir / "empty"));
    const auto manifest = store.manifest(v);
    const auto key = std::find_if(manifest.entries.begin(), manifest.entries.end(),
                                  [](const ManifestEntry& e) { return e.path == "secret.key"; });
    REQUIRE(key != manifest.entries.end());
    CHECK(key->mode == 0600);  // recorded exactly; materialised copies are read-only
    CHECK(manifest.creator_uid == ::geteuid());

    // Versions are immutable: the published tree is read-only.
    struct stat st {};
    REQUIRE(::stat((v.data_dir / "d0" / "f0.bin").c_str(), &st) == 0);
    CHECK((st.st_mode & 0222) == 0);
}

TEST_CASE("create from .tar, .tar.gz, .tgz and .zip", "[datastore][store]") {
    TempDir tmp("store-archives");
    dstest::make_tree(tmp / "src", 25, 3000);
    const auto src = (tmp / "src").string();
    REQUIRE(run_process({"tar", "-cf", (tmp / "a.tar").string(), "-C", src, "."}).ok());
    REQUIRE(run_process({"tar", "-czf", (tmp / "a.tar.gz").string(), "-C", src, "."}).ok());
    REQUIRE(run_process({"tar", "-czf", (tmp / "a.tgz").string(), "-C", src, "."}).ok());
    python(
        "import os, zipfile, stat\n"
        "src = '" +
        src +
        "'\n"
        "with zipfile.ZipFile('" +
        (tmp / "a.zip").string() +
        "', 'w', zipfile.ZIP_DEFLATED) as z:\n"
        "    for d, dirs, files in os.walk(src):\n"
        "        for n in sorted(dirs + files):\n"
        "            p = os.path.join(d, n); rel = os.path.relpath(p, src)\n"
        "            st = os.lstat(p)\n"
        "            if stat.S_ISLNK(st.st_mode):\n"
        "                i = zipfile.ZipInfo(rel); i.create_system = 3\n"
        "                i.external_attr = (stat.S_IFLNK | 0o777) << 16\n"
        "                z.writestr(i, os.readlink(p))\n"
        "            elif stat.S_ISDIR(st.st_mode):\n"
        "                z.write(p, rel + '/')\n"
        "            else:\n"
        "                z.write(p, rel)\n");
    Store store(tmp / "root");
    for (const char* archive : {"a.tar", "a.tar.gz", "a.tgz", "a.zip"}) {
        INFO(archive);
        const std::string name = std::string("ds-") + std::string(archive).substr(2, 3);
        const auto r = store.create(name, tmp / archive, {});
        CHECK(r.version == 1);
        CHECK(r.files == 26);
        check_tree_matches(tmp / "src",
                           store.resolve(Ref::parse(name), Credentials::current()).data_dir);
    }
}

TEST_CASE("a new version with 1% of files changed stores at most 2% new bytes",
          "[datastore][store]") {
    TempDir tmp("store-dedup");
    const std::size_t files = 500;
    dstest::make_tree(tmp / "src", files, 4096);
    Store store(tmp / "root");
    const auto first = store.create("imagenet-mini", tmp / "src", {});
    REQUIRE(first.version == 1);
    for (std::size_t i = 0; i < files / 100; ++i) {
        const std::size_t index = i * 97 % files;
        dstest::write_file(tmp / "src" / ("d" + std::to_string(index % 10)) /
                               ("f" + std::to_string(index) + ".bin"),
                           dstest::content_for(index, 4096, 1));
    }
    const auto second = store.create("imagenet-mini", tmp / "src", {});
    CHECK(second.version == 2);
    CHECK_FALSE(second.unchanged);
    CHECK(second.new_objects == files / 100);
    CHECK(static_cast<double>(second.new_bytes) <= 0.02 * static_cast<double>(second.bytes));
    // Old version untouched, new one has the change.
    const auto v1 = store.resolve(Ref::parse("imagenet-mini:1"), Credentials::current());
    const auto v2 = store.resolve(Ref::parse("imagenet-mini:2"), Credentials::current());
    CHECK(dstest::slurp(v1.data_dir / "d0" / "f0.bin") == dstest::content_for(0, 4096));
    CHECK(dstest::slurp(v2.data_dir / "d0" / "f0.bin") == dstest::content_for(0, 4096, 1));
    // Same content again: no new version.
    const auto third = store.create("imagenet-mini", tmp / "src", {});
    CHECK(third.unchanged);
    CHECK(third.version == 2);
}

TEST_CASE("tags, list, info and delete", "[datastore][store]") {
    TempDir tmp("store-tags");
    dstest::make_tree(tmp / "src", 5, 100);
    Store store(tmp / "root");
    CreateOptions tagged;
    tagged.tag = "baseline";
    store.create("ds", tmp / "src", tagged);
    dstest::write_file(tmp / "src" / "new.txt", "new");
    store.create("ds", tmp / "src", {});
    CHECK(store.resolve(Ref::parse("ds:baseline"), Credentials::current()).version == 1);
    CHECK(store.resolve(Ref::parse("ds"), Credentials::current()).version == 2);
    store.tag(Ref::parse("ds:2"), "baseline");
    CHECK(store.resolve(Ref::parse("ds:baseline"), Credentials::current()).version == 2);

    const auto all = store.list(Credentials::current());
    REQUIRE(all.size() == 1);
    CHECK(all[0].versions.size() == 2);
    CHECK(all[0].versions[1].tags == std::vector<std::string>{"baseline"});
    CHECK(all[0].versions[1].files == 7);

    store.remove(Ref::parse("ds:1"), false);
    CHECK_THROWS_AS(store.resolve(Ref::parse("ds:1"), Credentials::current()), Error);
    CHECK(store.resolve(Ref::parse("ds:2"), Credentials::current()).version == 2);
    store.remove(Ref::parse("ds"), true);
    CHECK(store.list(Credentials::current()).empty());
    CHECK_THROWS_WITH(store.resolve(Ref::parse("ds"), Credentials::current()),
                      Catch::Contains("does not exist"));
}

TEST_CASE("traversal, absolute paths and escaping symlinks are rejected, naming the entry",
          "[datastore][store]") {
    TempDir tmp("store-evil");
    Store store(tmp / "root");
    const std::string t = (tmp / "").string();
    python(
        "import tarfile, io\n"
        "def add(tf, name, data=b'x', link=None):\n"
        "    i = tarfile.TarInfo(name)\n"
        "    if link is not None:\n"
        "        i.type = tarfile.SYMTYPE; i.linkname = link; tf.addfile(i)\n"
        "    else:\n"
        "        i.size = len(data); tf.addfile(i, io.BytesIO(data))\n"
        "for fname, entries in [('dotdot.tar', [('ok.txt', None), ('../../evil.txt', None)]),\n"
        "                       ('abs.tar', [('/etc/evil', None)]),\n"
        "                       ('esc.tar', [('ok.txt', None), ('data/link', '../../outside')]),\n"
        "                       ('absl.tar', [('link', '/etc/shadow')]),\n"
        "                       ('through.tar', [('dir', '/tmp'), ('dir/file', None)])]:\n"
        "    with tarfile.open('" +
        t +
        "' + fname, 'w') as tf:\n"
        "        for name, link in entries: add(tf, name, link=link)\n");
    CHECK_THROWS_WITH(store.create("evil", tmp / "dotdot.tar", {}),
                      Catch::Contains("../../evil.txt") && Catch::Contains("'..'"));
    CHECK_THROWS_WITH(store.create("evil", tmp / "abs.tar", {}),
                      Catch::Contains("/etc/evil") && Catch::Contains("absolute"));
    CHECK_THROWS_WITH(store.create("evil", tmp / "esc.tar", {}),
                      Catch::Contains("data/link") && Catch::Contains("above"));
    CHECK_THROWS_WITH(store.create("evil", tmp / "absl.tar", {}), Catch::Contains("'link'"));
    CHECK_THROWS_WITH(store.create("evil", tmp / "through.tar", {}),
                      Catch::Contains("dir/file") && Catch::Contains("symlink"));
    CHECK_FALSE(fs::exists("/etc/evil"));
    CHECK_FALSE(fs::exists(tmp / "evil.txt"));

    // Directories: a link that leaves the source tree.
    dstest::write_file(tmp / "src" / "a.txt", "a");
    fs::create_symlink("../../../etc/passwd", tmp / "src" / "passwd");
    CHECK_THROWS_WITH(store.create("evil", tmp / "src", {}), Catch::Contains("passwd"));

    // None of the failures published anything, and the name is not claimed by an empty
    // dataset: every create failed on its first version.
    CHECK_FALSE(fs::exists(tmp / "root" / "datasets" / "evil"));
    CHECK(count_entries(tmp / "root" / "datasets") == 0);

    // A refused new version of an existing dataset keeps the dataset and its versions; gc
    // clears what the failure left.
    fs::remove_all(tmp / "src");
    dstest::write_file(tmp / "good" / "a.txt", "a");
    REQUIRE(store.create("evil", tmp / "good", {}).version == 1);
    CHECK_THROWS(store.create("evil", tmp / "esc.tar", {}));
    CHECK(count_entries(tmp / "root" / "datasets" / "evil" / "versions") == 1);
    GcOptions now;
    now.grace = std::chrono::seconds(0);
    store.gc(now);
    CHECK(count_entries(tmp / "root" / "datasets" / "evil" / "tmp") == 0);
    std::size_t objects = 0;
    for (const auto& e :
         fs::recursive_directory_iterator(tmp / "root" / "datasets" / "evil" / "objects")) {
        objects += e.is_regular_file() ? 1 : 0;
    }
    CHECK(objects == 1);  // a.txt of version 1 only
}

TEST_CASE("a source that cannot be read fails cleanly", "[datastore][store]") {
    TempDir tmp("store-unreadable");
    Store store(tmp / "root");
    CHECK_THROWS_WITH(store.create("ds", tmp / "missing", {}), Catch::Contains("missing"));
    dstest::write_file(tmp / "notes.txt", "not an archive");
    CHECK_THROWS_WITH(store.create("ds", tmp / "notes.txt", {}),
                      Catch::Contains("neither a directory"));
    dstest::write_file(tmp / "broken.tar.gz", "this is not gzip data at all, not at all");
    CHECK_THROWS_AS(store.create("ds", tmp / "broken.tar.gz", {}), Error);
    CHECK_FALSE(fs::exists(tmp / "root" / "datasets" / "ds"));  // the name stays free
    if (::geteuid() == 0) {
        // Root reads everything; the unreadable-file case is covered in security.tests.cpp
        // as an unprivileged user.
        return;
    }
    dstest::write_file(tmp / "src" / "a.txt", "a");
    dstest::write_file(tmp / "src" / "locked.txt", "b", 0000);
    CHECK_THROWS_WITH(store.create("ds", tmp / "src", {}), Catch::Contains("locked.txt"));
    CHECK_FALSE(fs::exists(tmp / "root" / "datasets" / "ds"));
}

// Found by the archive_import fuzzer: for this damaged zip libarchive reports a failure
// without a message (archive_error_string() is NULL), and building the Error message from it
// crashed `hpsweep datastore create` with a NULL dereference.
TEST_CASE("a damaged archive without a libarchive message is a data error", "[datastore][store]") {
    TempDir tmp("store-fuzz-zip");
    Store store(tmp / "root");
    const fs::path reproducer = fs::path(HPSWEEP_TEST_DATA_DIR) / ".." / "fuzz" / "corpus" /
                                "archive_import" / "finding-zip-no-error-string.zip";
    REQUIRE(fs::exists(reproducer));
    fs::copy_file(reproducer, tmp / "damaged.zip");
    try {
        (void)store.create("ds", tmp / "damaged.zip", {});
        FAIL("a damaged archive was accepted");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::data);
        CHECK_THAT(e.what(), Catch::Contains("damaged.zip"));
    }
    CHECK(count_entries(tmp / "root" / "datasets" / "ds" / "versions") == 0);
}

// Found by the archive_import fuzzer (tests/fuzz/corpus/archive_import/finding-name-not-utf8.zip):
// a name that is not UTF-8 made the manifest's JSON writer throw, and the create ended with
// an internal error instead of naming the entry.
TEST_CASE("names and link targets that are not UTF-8 are rejected, naming the entry",
          "[datastore][store]") {
    TempDir tmp("store-utf8");
    Store store(tmp / "root");
    const std::string t = (tmp / "").string();
    python(
        "import tarfile, io\n"
        "with tarfile.open('" +
        t +
        "latin1.tar', 'w', format=tarfile.GNU_FORMAT, encoding='latin-1') as tf:\n"
        "    i = tarfile.TarInfo('caf\\xe9.txt'); i.size = 1; tf.addfile(i, io.BytesIO(b'x'))\n"
        "with tarfile.open('" +
        t +
        "target.tar', 'w', format=tarfile.GNU_FORMAT, encoding='latin-1') as tf:\n"
        "    i = tarfile.TarInfo('link'); i.type = tarfile.SYMTYPE; i.linkname = 'caf\\xe9'\n"
        "    tf.addfile(i)\n");
    CHECK_THROWS_WITH(store.create("ds", tmp / "latin1.tar", {}),
                      Catch::Contains("rejected: its name is not valid UTF-8"));
    CHECK_THROWS_WITH(store.create("ds", tmp / "target.tar", {}),
                      Catch::Contains("'link' rejected: its link target is not valid UTF-8"));
    dstest::write_file(tmp / "src" / "caf\xe9.txt", "x");
    CHECK_THROWS_WITH(store.create("ds", tmp / "src", {}), Catch::Contains("not valid UTF-8"));
    CHECK(count_entries(tmp / "root" / "datasets" / "ds" / "versions") == 0);
    // UTF-8 names are fine.
    dstest::write_file(tmp / "good" / "caf\xc3\xa9.txt", "x");
    CHECK(store.create("ds", tmp / "good", {}).version == 1);
}

// Found while fuzzing the import (checking what the archive_import target accepts): in the C
// locale, libarchive gives no name at all for a zip entry whose UTF-8 name is not ASCII, and
// such entries were taken for "./" and silently left out of the version.
TEST_CASE("zip and pax entries with UTF-8 names are all imported", "[datastore][store]") {
    TempDir tmp("store-utf8-names");
    Store store(tmp / "root");
    const std::string t = (tmp / "").string();
    python(
        "import tarfile, zipfile, io\n"
        "names = ['a.txt', 'caf\\u00e9.txt', '\\u65e5\\u672c/\\u00fc.txt']\n"
        "with zipfile.ZipFile('" +
        t +
        "names.zip', 'w') as z:\n"
        "    for n in names: z.writestr(n, n.encode())\n"
        "with tarfile.open('" +
        t +
        "names.tar', 'w', format=tarfile.PAX_FORMAT) as tf:\n"
        "    for n in names:\n"
        "        i = tarfile.TarInfo(n); d = n.encode(); i.size = len(d)\n"
        "        tf.addfile(i, io.BytesIO(d))\n");
    for (const auto& [archive, name] : {std::pair{"names.zip", "z"}, std::pair{"names.tar", "t"}}) {
        INFO(archive);
        CHECK(store.create(name, tmp / archive, {}).files == 3);
        const auto data = tmp / "root" / "datasets" / name / "versions" / "1" / "data";
        CHECK(dstest::slurp(data / "caf\xc3\xa9.txt") == "caf\xc3\xa9.txt");
        CHECK(dstest::slurp(data / "\xe6\x97\xa5\xe6\x9c\xac" / "\xc3\xbc.txt") ==
              "\xe6\x97\xa5\xe6\x9c\xac/\xc3\xbc.txt");
    }
}

TEST_CASE("gc removes abandoned temporaries and unreferenced objects only", "[datastore][store]") {
    TempDir tmp("store-gc");
    dstest::make_tree(tmp / "src", 10, 500);
    Store store(tmp / "root");
    store.create("ds", tmp / "src", {});
    // What a create killed half-way leaves: a temporary version and a lone object.
    const auto dir = tmp / "root" / "datasets" / "ds";
    fs::create_directories(dir / "tmp" / "v-killed" / "data");
    dstest::write_file(dir / "objects" / "ff" / "ffffffffffffffffffffffffffffffff", "orphan");
    GcOptions keep_recent;  // default grace: a create may still be running
    CHECK(store.gc(keep_recent).objects_removed == 0);
    GcOptions now;
    now.grace = std::chrono::seconds(0);
    const auto r = store.gc(now);
    CHECK(r.temporaries_removed == 1);
    CHECK(r.objects_removed == 1);
    CHECK(r.bytes_removed == 6);
    // The version still reads fine.
    check_tree_matches(tmp / "src",
                       store.resolve(Ref::parse("ds"), Credentials::current()).data_dir);
}

TEST_CASE("manifest_text writes what to_json(...).dump() writes, for every entry type",
          "[datastore][store]") {
    Manifest m;
    m.dataset = "ds";
    m.dataset_id = "0123456789abcdef";
    m.created = "2026-01-01T00:00:00Z";
    m.creator = "ada";
    m.creator_uid = 1000;
    m.source = "/home/ada/\"quoted\" dir\\with\tcontrols\x01\x1f";
    m.entries.push_back({"a dir", EntryType::directory, 0755, 0, {}, {}});
    m.entries.push_back({"a dir/caf\xc3\xa9 \xe2\x82\xac.py",
                         EntryType::file,
                         0644,
                         12345,
                         Digest{0x0123456789abcdefULL, 0xfedcba9876543210ULL},
                         {}});
    m.entries.push_back({"a dir/run.sh", EntryType::file, 0755, 0, Digest{1, 2}, {}});
    m.entries.push_back({"link\nname", EntryType::symlink, 0777, 0, {}, "a dir/run.sh"});
    const std::string text = manifest_text(m);
    CHECK(text == to_json(m).dump() + "\n");
    CHECK(manifest_from_json(nlohmann::json::parse(text), "test").entries == m.entries);

    m.entries.push_back({"bad\xff", EntryType::file, 0644, 0, {}, {}});
    CHECK_THROWS_AS(manifest_text(m), Error);
}
