// What goes into a code snapshot: listing the context with git (gitignore semantics for
// free, also outside a repository), the size limit, and the git state recorded with it.

#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>
#include <set>

#include "fsutil.hpp"
#include "hpsweep/byte_sizes.hpp"
#include "hpsweep/datastore/snapshot.hpp"
#include "hpsweep/error.hpp"
#include "hpsweep/process.hpp"
#include "hpsweep/strings.hpp"

namespace fs = std::filesystem;

namespace hpsweep::datastore {

namespace {

// A diff past this is cut (and says so): the snapshot itself holds the code.
constexpr std::size_t max_recorded_diff = 16u << 20;

std::vector<std::string> split_nul(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find('\0', start);
        if (end == std::string::npos) {
            out.push_back(text.substr(start));
            break;
        }
        if (end > start)
            out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string trim_newline(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
}

ProcessResult git(const fs::path& dir, std::vector<std::string> args,
                  const std::optional<std::string>& input = std::nullopt) {
    args.insert(args.begin(), {"git", "-C", dir.string()});
    return run_process(args, input);
}

// The top of the work tree holding `dir`, or nullopt outside git (or without git).
std::optional<fs::path> work_tree_top(const fs::path& dir) {
    ProcessResult r;
    try {
        r = git(dir, {"rev-parse", "--show-toplevel"});
    } catch (const Error&) {
        return std::nullopt;  // no git on this machine: every context is a plain directory
    }
    if (!r.ok())
        return std::nullopt;
    const std::string top = trim_newline(r.out);
    if (top.empty())
        return std::nullopt;
    return fs::path(top);
}

// The top of the work tree whose files `dir` holds: nullopt outside git, and also when git
// ignores `dir` there (a scratch directory in a build tree belongs to no repository's code).
std::optional<fs::path> tracking_work_tree(const fs::path& dir) {
    const auto top = work_tree_top(dir);
    if (!top)
        return std::nullopt;
    std::error_code ec;
    const auto rel = fs::canonical(dir, ec).lexically_relative(*top);
    if (ec || rel.empty() || rel == ".")
        return top;
    const auto r = git(*top, {"check-ignore", "-q", "--no-index", "--", rel.string() + "/"});
    if (r.exit_code == 0)
        return std::nullopt;
    return top;
}

// A throwaway, empty repository whose work tree is `context`: git applies gitignore files
// (and core.excludesFile) to a plain directory through it. Removed with the object.
class ScratchRepository {
public:
    explicit ScratchRepository(const fs::path& context) : context_(context) {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern =
            std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/hpsweep-snapshot-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr)
            throw_errno("cannot create a temporary directory for git");
        dir_ = pattern;
        const auto r = run_process({"git", "init", "-q", "--bare", dir_.string()});
        if (!r.ok()) {
            throw Error(ErrorKind::io, "git init " + dir_.string() + " failed: " + r.err);
        }
    }
    ScratchRepository(const ScratchRepository&) = delete;
    ScratchRepository& operator=(const ScratchRepository&) = delete;
    ~ScratchRepository() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    ProcessResult run(std::vector<std::string> args,
                      const std::optional<std::string>& input = std::nullopt) const {
        args.insert(args.begin(), {"git", "--git-dir=" + dir_.string(),
                                   "--work-tree=" + context_.string(), "-C", context_.string()});
        return run_process(args, input);
    }

private:
    fs::path context_;
    fs::path dir_;
};

Error git_failed(const fs::path& context, const std::string& what, const ProcessResult& r) {
    return Error(ErrorKind::io, fmt::format("cannot list the snapshot of {}: {} failed: {}",
                                            context.string(), what, trim_newline(r.err)));
}

// `paths` minus those .hpsweepignore (and the .gitignore files) ignore.
std::vector<std::string> drop_ignored(const ScratchRepository& scratch, const fs::path& context,
                                      const fs::path& ignore_file, std::vector<std::string> paths) {
    std::string input;
    for (const auto& p : paths) {
        input += p;
        input.push_back('\0');
    }
    const auto r = scratch.run({"-c", "core.excludesFile=" + ignore_file.string(), "check-ignore",
                                "--no-index", "--stdin", "-z"},
                               input);
    if (r.exit_code != 0 && r.exit_code != 1)  // 1: nothing ignored
        throw git_failed(context, "git check-ignore", r);
    const auto ignored_list = split_nul(r.out);
    const std::set<std::string> ignored(ignored_list.begin(), ignored_list.end());
    std::erase_if(paths, [&](const std::string& p) { return ignored.count(p) != 0; });
    return paths;
}

std::int64_t nanoseconds(const struct timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// The real path of a script, which must be a file.
fs::path script_file(const fs::path& script) {
    std::error_code ec;
    const fs::path real = fs::canonical(script, ec);
    if (ec || !fs::is_regular_file(real, ec)) {
        throw Error(ErrorKind::usage, fmt::format("script {} does not exist{}", script.string(),
                                                  ec ? ": " + ec.message() : " as a file"));
    }
    return real;
}

std::int64_t now_ns() {
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return nanoseconds(now);
}

// A source for the directory `context` (made canonical), stamped with the time before any
// of its files is examined.
SnapshotSource begin_source(const fs::path& context) {
    std::error_code ec;
    SnapshotSource source;
    source.context = fs::canonical(context, ec);
    if (ec || !fs::is_directory(source.context, ec)) {
        throw Error(ErrorKind::usage, fmt::format("snapshot context {} is not a directory{}",
                                                  context.string(), ec ? ": " + ec.message() : ""));
    }
    source.listed_at_ns = now_ns();
    return source;
}

struct GitListing {
    std::vector<std::string> paths;   // relative to the listed directory
    std::set<std::string> untracked;  // those of `paths` git does not track
};

// `git ls-files` of what a work tree's snapshot holds: the files git tracks or would add
// (not ignored). -t tags each path: "? " for untracked files, another letter for tracked.
std::vector<std::string> ls_files_args(std::vector<std::string> more = {}) {
    std::vector<std::string> args{
        "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard", "--deduplicate"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

GitListing parse_git_listing(const fs::path& dir, const ProcessResult& r) {
    if (!r.ok())
        throw git_failed(dir, "git ls-files", r);
    GitListing listing;
    for (auto& tagged : split_nul(r.out)) {
        const auto space = tagged.find(' ');
        if (space == std::string::npos || space + 1 == tagged.size())
            throw git_failed(dir, "git ls-files -t (a line without a tag)", r);
        std::string path = tagged.substr(space + 1);
        if (tagged.compare(0, space, "?") == 0)
            listing.untracked.insert(path);
        listing.paths.push_back(std::move(path));
    }
    return listing;
}

// Adds the listed files to `source`, minus those .hpsweepignore ignores, those below the
// `excluded` directories, and those gone since git listed them; with the metadata the
// index compares.
void add_listed_files(SnapshotSource& source, GitListing listing,
                      std::optional<ScratchRepository>& scratch,
                      const std::vector<fs::path>& excluded) {
    std::error_code ec;
    auto& paths = listing.paths;
    const fs::path ignore_file = source.context / snapshot_ignore_file;
    if (!paths.empty() && fs::is_regular_file(ignore_file, ec)) {
        if (!scratch)
            scratch.emplace(source.context);
        paths = drop_ignored(*scratch, source.context, ignore_file, std::move(paths));
    }
    std::vector<std::string> excluded_prefixes;
    for (const auto& dir : excluded) {
        const fs::path real = fs::weakly_canonical(dir, ec);
        if (ec)
            continue;
        const fs::path rel = real.lexically_relative(source.context);
        if (rel.empty() || *rel.begin() == "..")
            continue;
        if (rel == ".")
            throw Error(ErrorKind::usage,
                        fmt::format("snapshot context {} is the experiments or datastore "
                                    "directory {}; choose another with --context",
                                    source.context.string(), dir.string()));
        excluded_prefixes.push_back(rel.string() + "/");
    }

    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    for (auto& p : paths) {
        if (std::any_of(excluded_prefixes.begin(), excluded_prefixes.end(),
                        [&](const std::string& prefix) { return p.rfind(prefix, 0) == 0; }))
            continue;
        struct stat st {};
        if (::lstat((source.context / p).c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;  // a tracked file deleted in the work tree
            throw_errno("cannot read " + (source.context / p).string());
        }
        if (S_ISDIR(st.st_mode))
            continue;  // a submodule: its files are not listed by its parent
        SnapshotFile f;
        f.path = std::move(p);
        f.size = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
        f.mtime_ns = nanoseconds(st.st_mtim);
        f.ctime_ns = nanoseconds(st.st_ctim);
        f.inode = st.st_ino;
        f.mode = st.st_mode;
        source.total_bytes += f.size;
        if (listing.untracked.count(f.path) != 0)
            source.untracked.push_back(f.path);
        source.files.push_back(std::move(f));
    }
}

// Every file below the context minus what the .gitignore files below it ignore, listed
// through a scratch repository: what a directory outside git holds.
GitListing list_outside_git(const SnapshotSource& source,
                            std::optional<ScratchRepository>& scratch) {
    scratch.emplace(source.context);
    const auto r = scratch->run({"ls-files", "-z", "--others", "--exclude-standard"});
    if (!r.ok())
        throw git_failed(source.context, "git ls-files", r);
    GitListing listing;
    listing.paths = split_nul(r.out);
    return listing;
}

}  // namespace

std::vector<SnapshotFile> SnapshotSource::biggest(std::size_t n) const {
    std::vector<SnapshotFile> out = files;
    std::stable_sort(out.begin(), out.end(),
                     [](const SnapshotFile& a, const SnapshotFile& b) { return a.size > b.size; });
    if (out.size() > n)
        out.resize(n);
    return out;
}

fs::path default_snapshot_context(const fs::path& script) {
    const fs::path real = script_file(script);
    const fs::path dir = real.parent_path();
    if (const auto top = work_tree_top(dir)) {
        // A script git ignores (a scratch file in a build directory) is not part of that
        // work tree's code: its own directory is the context then.
        const auto r = git(*top, {"check-ignore", "-q", "--", real.lexically_relative(*top)});
        if (r.exit_code == 1)
            return *top;
    }
    return dir;
}

SnapshotSource list_snapshot_source(const fs::path& context,
                                    const std::vector<fs::path>& excluded) {
    SnapshotSource source = begin_source(context);
    std::optional<ScratchRepository> scratch;
    GitListing listing;
    if (const auto top = tracking_work_tree(source.context)) {
        source.git = true;
        source.work_tree = *top;
        listing = parse_git_listing(source.context, git(source.context, ls_files_args()));
    } else {
        listing = list_outside_git(source, scratch);
    }
    add_listed_files(source, std::move(listing), scratch, excluded);
    return source;
}

SnapshotSource list_script_snapshot_source(const fs::path& script,
                                           const std::vector<fs::path>& excluded) {
    const fs::path real = script_file(script);
    const fs::path dir = real.parent_path();
    const std::int64_t listed_at_ns = now_ns();
    // Naming the work tree's top and listing it are two processes that need not wait for
    // each other: the listing runs from the script's directory over the whole work tree
    // (":/", paths from its top) while rev-parse names the top beside it.
    auto top_found = std::async(std::launch::async, [&dir] { return work_tree_top(dir); });
    std::optional<ProcessResult> listed;
    try {
        listed = git(dir, ls_files_args({"--full-name", "--", ":/"}));
    } catch (const Error&) {
        // No git on this machine: work_tree_top finds none either.
    }
    if (const auto top = top_found.get(); top && listed) {
        SnapshotSource source = begin_source(*top);
        source.listed_at_ns = listed_at_ns;
        GitListing listing = parse_git_listing(source.context, *listed);
        // The listing holds the script exactly when git does not ignore it (tracked, or
        // untracked and not ignored): what `git check-ignore` would answer, without a
        // process of its own. The top of a work tree is never ignored in it either.
        const std::string rel = real.lexically_relative(source.context).string();
        if (std::find(listing.paths.begin(), listing.paths.end(), rel) != listing.paths.end()) {
            source.git = true;
            source.work_tree = *top;
            std::optional<ScratchRepository> no_scratch;
            add_listed_files(source, std::move(listing), no_scratch, excluded);
            return source;
        }
    }
    // A script git ignores, or one outside git: its own directory is the context, and it is
    // not the work tree's code, so the work tree's rules do not list it (they would leave out
    // the script itself, ignored by name beside tracked files). The script is always in its
    // own snapshot; only .hpsweepignore, which the user writes for the snapshot, can drop it.
    SnapshotSource source = begin_source(dir);
    source.listed_at_ns = listed_at_ns;
    std::optional<ScratchRepository> scratch;
    GitListing listing = list_outside_git(source, scratch);
    const std::string name = real.filename().string();
    if (std::find(listing.paths.begin(), listing.paths.end(), name) == listing.paths.end())
        listing.paths.push_back(name);
    add_listed_files(source, std::move(listing), scratch, excluded);
    return source;
}

void check_snapshot_size(const SnapshotSource& source, std::uint64_t limit) {
    if (source.total_bytes <= limit)
        return;
    std::string biggest;
    for (const auto& f : source.biggest(5))
        biggest += fmt::format("\n  {:>10}  {}", human_bytes(static_cast<double>(f.size)), f.path);
    throw Error(
        ErrorKind::usage,
        fmt::format("the code snapshot of {} is {} in {} files, over the limit of {}. "
                    "The biggest files:{}\nData does not belong in a snapshot: put it "
                    "in a datastore (hpsweep datastore create), list it in {}, or raise "
                    "the limit with --snapshot-limit",
                    source.context.string(), human_bytes(static_cast<double>(source.total_bytes)),
                    source.files.size(), human_bytes(static_cast<double>(limit)), biggest,
                    (source.context / snapshot_ignore_file).string()));
}

std::optional<GitState> git_state(const SnapshotSource& source) {
    if (!source.git)
        return std::nullopt;
    const fs::path& top = source.work_tree;
    GitState state;
    // The commit, then the branch's full name ("HEAD" when detached), in one process; it
    // fails in a repository without commits, where only the branch exists.
    if (const auto r = git(top, {"rev-parse", "HEAD", "--symbolic-full-name", "HEAD"}); r.ok()) {
        const auto lines = split(trim_newline(r.out), '\n');
        if (lines.size() == 2) {
            state.commit = lines[0];
            if (lines[1].rfind("refs/heads/", 0) == 0)
                state.branch = lines[1].substr(std::string_view("refs/heads/").size());
        }
    } else if (const auto b = git(top, {"symbolic-ref", "--short", "-q", "HEAD"}); b.ok()) {
        state.branch = trim_newline(b.out);
    }
    if (!state.commit.empty()) {
        const auto r = git(top, {"diff", "--no-color", "--no-ext-diff", "HEAD", "--"});
        if (!r.ok())
            throw git_failed(source.context, "git diff", r);
        state.diff = r.out;
        if (state.diff.size() > max_recorded_diff) {
            state.diff.resize(max_recorded_diff);
            state.diff_truncated = true;
        }
    }
    state.untracked = source.untracked;
    return state;
}

}  // namespace hpsweep::datastore
