#include "hpsweep/searcher/pbt.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "hpsweep/error.hpp"
#include "hpsweep/fs.hpp"

namespace hpsweep::searcher {

namespace fs = std::filesystem;

long pbt_quantile_count(const PbtSettings& settings, long members) {
    const auto n = static_cast<long>(std::floor(settings.quantile * static_cast<double>(members)));
    return std::max(1L, n);
}

namespace {

std::optional<size_t> index_of(const Domain& domain, const nlohmann::ordered_json& typed) {
    for (size_t i = 0; i < domain.values.size(); ++i) {
        if (domain.values[i].typed == typed)
            return i;
    }
    return std::nullopt;
}

// A continuous value times `factor`, clamped to the domain (in the domain's own units).
std::optional<Value> scaled(const Domain& d, const nlohmann::ordered_json& typed, double factor) {
    if (!typed.is_number())
        return std::nullopt;
    const double v = typed.get<double>() * factor;
    switch (d.kind) {
        case Domain::Kind::int_range: {
            const double lo = std::ceil(d.minval), hi = std::floor(d.maxval);
            const double current = typed.get<double>();
            double next = std::clamp(std::round(v), lo, hi);
            if (next == current && factor != 1.0)  // small integers must still move
                next = std::clamp(current + (factor > 1 ? 1 : -1), lo, hi);
            return make_value(static_cast<long long>(next));
        }
        case Domain::Kind::double_range:
            return make_value(std::clamp(v, d.minval, d.maxval));
        case Domain::Kind::sampled:
            return make_value(std::clamp(v, d.minval, d.maxval));
        case Domain::Kind::log_range:
            return make_value(
                std::clamp(v, std::pow(d.base, d.minval), std::pow(d.base, d.maxval)));
        default:
            return std::nullopt;
    }
}

}  // namespace

nlohmann::ordered_json pbt_perturb(const std::vector<Hyperparameter>& space,
                                   const PbtSettings& settings,
                                   const nlohmann::ordered_json& hyperparameters,
                                   std::uint64_t seed) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& hp : space) {
        Random rng(derive_seed(seed, hp.name + "#pbt"));
        const Domain& d = hp.domain;
        const auto found = hyperparameters.find(hp.name);
        const bool resample = rng.uniform01() < settings.resample_probability;
        const size_t which = settings.factors.empty() ? 0 : rng.below(settings.factors.size());
        if (found == hyperparameters.end() || resample || d.kind == Domain::Kind::constant) {
            out[hp.name] = d.sample(rng).typed;
            continue;
        }
        if (d.kind == Domain::Kind::categorical) {
            const auto i = index_of(d, *found);
            if (!i) {
                out[hp.name] = d.sample(rng).typed;
                continue;
            }
            // Lists are often ordered (batch sizes, widths): move to a neighbour.
            const bool up = rng.below(2) == 1;
            size_t next = *i;
            if (up && *i + 1 < d.values.size())
                next = *i + 1;
            else if (!up && *i > 0)
                next = *i - 1;
            else if (d.values.size() > 1)
                next = up ? *i - 1 : *i + 1;
            out[hp.name] = d.values[next].typed;
            continue;
        }
        const double factor = settings.factors.empty() ? 1.0 : settings.factors[which];
        const auto v = scaled(d, *found, factor);
        out[hp.name] = v ? v->typed : d.sample(rng).typed;
    }
    return out;
}

std::optional<PbtExploit> pbt_decide(const std::vector<Hyperparameter>& space,
                                     const PbtSettings& settings,
                                     const std::vector<PbtMember>& members, long trial,
                                     std::uint64_t seed) {
    if (members.size() < 2)
        return std::nullopt;
    std::vector<const PbtMember*> ranked;
    for (const auto& m : members) ranked.push_back(&m);
    // Best first; a diverged member (nan) ranks last; ties go to the earlier arrival.
    std::stable_sort(ranked.begin(), ranked.end(), [&](const auto* a, const auto* b) {
        const bool a_ok = std::isfinite(a->value), b_ok = std::isfinite(b->value);
        if (a_ok != b_ok)
            return a_ok;
        if (!a_ok)
            return false;
        return settings.smaller_is_better ? a->value < b->value : a->value > b->value;
    });
    const long n = static_cast<long>(ranked.size());
    const long k = pbt_quantile_count(settings, n);
    const auto mine = std::find_if(ranked.begin(), ranked.end(),
                                   [&](const auto* m) { return m->trial_id == trial; });
    if (mine == ranked.end() || (mine - ranked.begin()) < n - k)
        return std::nullopt;
    std::vector<const PbtMember*> donors;
    for (long i = 0; i < k && i < n - k; ++i) {
        if (!ranked[i]->checkpoint.empty() && ranked[i]->trial_id != trial)
            donors.push_back(ranked[i]);
    }
    if (donors.empty())
        return std::nullopt;
    Random rng(derive_seed(seed, "#pbt-donor"));
    const PbtMember* donor = donors[rng.below(donors.size())];
    PbtExploit exploit;
    exploit.source_trial = donor->trial_id;
    exploit.checkpoint = donor->checkpoint;
    exploit.hyperparameters = pbt_perturb(space, settings, donor->hyperparameters, seed);
    return exploit;
}

// ---- content-addressed checkpoints ----

namespace {

constexpr std::uint64_t fnv_offset = 1469598103934665603ULL;
constexpr std::uint64_t fnv_prime = 1099511628211ULL;

void fnv(std::uint64_t& h, const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= fnv_prime;
    }
}

// The regular files under dir, relative, sorted. Refuses links, FIFOs and devices: a
// checkpoint is data, and a FIFO would block the copy forever.
std::vector<fs::path> checkpoint_files(const fs::path& dir) {
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
        const auto status = it->symlink_status();
        if (fs::is_directory(status))
            continue;
        if (!fs::is_regular_file(status)) {
            throw Error(ErrorKind::data, it->path().string() +
                                             ": a checkpoint may hold only regular files and "
                                             "directories");
        }
        files.push_back(fs::relative(it->path(), dir));
    }
    std::sort(files.begin(), files.end());
    return files;
}

UniqueFd open_regular(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        throw Error(ErrorKind::data, path.string() + ": not a regular file");
    return fd;
}

// Copies src to dst (both opened here) while hashing; returns the bytes copied.
void copy_and_hash(const fs::path& src, const fs::path* dst, std::uint64_t& h) {
    const UniqueFd in = open_regular(src);
    UniqueFd out;
    if (dst) {
        fs::create_directories(dst->parent_path());
        out.reset(::open(dst->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (!out)
            throw Error(ErrorKind::io, dst->string() + ": " + std::strerror(errno));
    }
    char buffer[1 << 16];
    for (;;) {
        const ssize_t got = ::read(in.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw Error(ErrorKind::io, src.string() + ": " + std::strerror(errno));
        if (got == 0)
            break;
        fnv(h, buffer, static_cast<size_t>(got));
        for (ssize_t done = 0; out && done < got;) {
            const ssize_t put = ::write(out.get(), buffer + done, static_cast<size_t>(got - done));
            if (put < 0 && errno == EINTR)
                continue;
            if (put < 0)
                throw Error(ErrorKind::io, dst->string() + ": " + std::strerror(errno));
            done += put;
        }
    }
    if (out && ::fsync(out.get()) != 0)
        throw Error(ErrorKind::io, dst->string() + ": " + std::strerror(errno));
}

std::string hash_tree(const fs::path& src, const fs::path* copy_to) {
    std::uint64_t h = fnv_offset;
    for (const auto& rel : checkpoint_files(src)) {
        const std::string name = rel.generic_string();
        fnv(h, name.data(), name.size() + 1);  // with its NUL: names cannot run into data
        const fs::path out = copy_to ? *copy_to / rel : fs::path();
        std::uint64_t content = fnv_offset;
        copy_and_hash(src / rel, copy_to ? &out : nullptr, content);
        fnv(h, &content, sizeof content);
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
    return text;
}

std::string unique_suffix() {
    static long counter = 0;
    return std::to_string(::getpid()) + "." + std::to_string(++counter);
}

}  // namespace

std::string checkpoint_digest(const fs::path& dir) {
    return hash_tree(dir, nullptr);
}

PbtCheckpointStore::PbtCheckpointStore(fs::path experiment_dir)
    : root_(std::move(experiment_dir) / "pbt" / "checkpoints") {}

fs::path PbtCheckpointStore::path_of(const std::string& digest) const {
    return root_ / digest;
}

std::string PbtCheckpointStore::publish(const fs::path& checkpoint_dir) const {
    fs::create_directories(root_);
    const fs::path temp = root_ / (".incoming." + unique_suffix());
    fs::create_directories(temp);
    try {
        const std::string digest = hash_tree(checkpoint_dir, &temp);
        // The copy has its digest's name only once every byte is in it.
        if (::rename(temp.c_str(), path_of(digest).c_str()) == 0) {
            fsync_directory(root_);
            return digest;
        }
        if (errno != EEXIST && errno != ENOTEMPTY)
            throw Error(ErrorKind::io,
                        "cannot store checkpoint " + digest + ": " + std::strerror(errno));
        fs::remove_all(temp);  // the same content is already stored
        return digest;
    } catch (...) {
        std::error_code ignored;
        fs::remove_all(temp, ignored);
        throw;
    }
}

bool PbtCheckpointStore::restore(const std::string& digest, const fs::path& checkpoint_dir) const {
    if (digest.size() != 16 || digest.find_first_not_of("0123456789abcdef") != std::string::npos)
        return false;
    const fs::path source = path_of(digest);
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(source, ec)))
        return false;
    const fs::path parent = checkpoint_dir.parent_path();
    const std::string name = checkpoint_dir.filename().string();
    const fs::path incoming = parent / ("." + name + ".incoming." + unique_suffix());
    fs::create_directories(incoming);
    try {
        if (hash_tree(source, &incoming) != digest) {
            fs::remove_all(incoming);
            return false;  // damaged or not what its name says: never restore it
        }
    } catch (const Error&) {
        fs::remove_all(incoming, ec);
        return false;
    }
    const fs::path old = parent / ("." + name + ".old." + unique_suffix());
    if (fs::exists(fs::symlink_status(checkpoint_dir, ec)))
        fs::rename(checkpoint_dir, old);
    fs::rename(incoming, checkpoint_dir);
    fsync_directory(parent);
    fs::remove_all(old, ec);
    return true;
}

}  // namespace hpsweep::searcher
