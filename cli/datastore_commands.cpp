// `hpsweep datastore create|list|show|delete|gc|stage|tag`: a thin front end over the
// datastore library (docs/datastores.md). Paths come from load_settings(): the site
// config, overridden by HPSWEEP_DATASTORE_ROOT / HPSWEEP_CACHE_DIR / HPSWEEP_CACHE_MAX.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include <fmt/format.h>

#include "command_registry.hpp"
#include "hpsweep/byte_sizes.hpp"
#include "hpsweep/datastore/cache.hpp"
#include "hpsweep/datastore/settings.hpp"
#include "hpsweep/datastore/store.hpp"
#include "hpsweep/error.hpp"
#include "option_values.hpp"

namespace hpsweep::cli {
namespace {

namespace ds = hpsweep::datastore;

// A one-line progress bar with rate and ETA on stderr, only when stderr is a terminal and
// the output is not JSON; silent otherwise (logs and pipes stay clean).
class ProgressBar {
public:
    explicit ProgressBar(std::string label)
        : label_(std::move(label)),
          enabled_(::isatty(STDERR_FILENO) == 1 && !global_options().json),
          start_(std::chrono::steady_clock::now()) {}
    ~ProgressBar() {
        if (drawn_) {
            std::fputs("\r\033[K", stderr);
        }
    }
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    ds::ProgressFn callback() {
        if (!enabled_) {
            return {};
        }
        return [this](std::uint64_t done, std::uint64_t total) { update(done, total); };
    }

private:
    void update(std::uint64_t done, std::uint64_t total) {
        const auto now = std::chrono::steady_clock::now();
        if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total) {
            return;
        }
        if (!drawn_ && now - start_ < std::chrono::milliseconds(300)) {
            return;  // short operations show nothing
        }
        last_ = now;
        drawn_ = true;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
        std::string line = "\r\033[K" + label_ + " ";
        if (total > 0) {
            const double fraction =
                std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
            const int width = 30;
            const int filled = static_cast<int>(fraction * width);
            line += "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(width - filled), '.') + "] ";
            line += fmt::format("{:3.0f}% ", fraction * 100);
            line += human_bytes(static_cast<double>(done)) + "/" +
                    human_bytes(static_cast<double>(total));
            if (rate > 0 && done < total) {
                const auto eta = static_cast<long>(static_cast<double>(total - done) / rate);
                line += fmt::format("  {}/s  ETA {}:{:02d}", human_bytes(rate), eta / 60, eta % 60);
            } else {
                line += fmt::format("  {}/s", human_bytes(rate));
            }
        } else {
            line +=
                human_bytes(static_cast<double>(done)) + fmt::format("  {}/s", human_bytes(rate));
        }
        std::fputs(line.c_str(), stderr);
        std::fflush(stderr);
    }

    std::string label_;
    bool enabled_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_;
};

bool json_output(bool local) {
    return local || global_options().json;
}

void print_json(const nlohmann::json& j) {
    std::printf("%s\n", j.dump(2).c_str());
}

nlohmann::json to_json(const ds::DatasetInfo& info) {
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& v : info.versions) {
        versions.push_back({{"version", v.version},
                            {"created", v.created},
                            {"creator", v.creator},
                            {"files", v.files},
                            {"bytes", v.bytes},
                            {"tags", v.tags}});
    }
    return {{"name", info.name},
            {"id", info.id},
            {"owner", info.owner},
            {"owner_uid", info.owner_uid},
            {"private", info.private_dataset},
            {"created", info.created},
            {"versions", versions}};
}

struct CommonFlags {
    bool json = false;
};

void add_create_command(CLI::App* datastore) {
    struct CreateArgs {
        std::string name, source, tag;
        bool private_dataset = false, public_dataset = false, json = false;
    };
    auto create_args = std::make_shared<CreateArgs>();
    auto* create = datastore->add_subcommand(
        "create", "New version of NAME from a directory, .zip, .tar, .tar.gz or .tgz");
    create->add_option("name", create_args->name, "Dataset name")->required();
    create->add_option("source", create_args->source, "Directory or archive")->required();
    auto* priv =
        create->add_flag("--private", create_args->private_dataset,
                         "Only you can read it (default when your umask hides files from others)");
    create->add_flag("--public", create_args->public_dataset, "Everyone can read it")
        ->excludes(priv);
    create->add_option("--tag", create_args->tag, "Tag the new version");
    create->add_flag("--json", create_args->json, "JSON output");
    create->callback([create_args] {
        const auto settings = ds::load_settings();
        ds::CreateOptions options;
        if (create_args->private_dataset || create_args->public_dataset) {
            options.private_dataset = create_args->private_dataset;
        }
        if (!create_args->tag.empty()) {
            options.tag = create_args->tag;
        }
        ProgressBar bar("create " + create_args->name);
        options.progress = bar.callback();
        const auto result =
            settings.store().create(create_args->name, create_args->source, options);
        if (json_output(create_args->json)) {
            print_json({{"name", result.name},
                        {"version", result.version},
                        {"unchanged", result.unchanged},
                        {"files", result.files},
                        {"bytes", result.bytes},
                        {"new_bytes", result.new_bytes},
                        {"new_objects", result.new_objects}});
        } else if (result.unchanged) {
            std::printf("%s:%d unchanged (%llu files, %s)\n", result.name.c_str(), result.version,
                        static_cast<unsigned long long>(result.files),
                        human_bytes(static_cast<double>(result.bytes)).c_str());
        } else {
            std::printf("%s:%d created (%llu files, %s, %s new)\n", result.name.c_str(),
                        result.version, static_cast<unsigned long long>(result.files),
                        human_bytes(static_cast<double>(result.bytes)).c_str(),
                        human_bytes(static_cast<double>(result.new_bytes)).c_str());
        }
    });
}

void add_list_command(CLI::App* datastore) {
    auto list_flags = std::make_shared<CommonFlags>();
    auto* list = datastore->add_subcommand("list", "Datasets you can read");
    list->add_flag("--json", list_flags->json, "JSON output");
    list->callback([list_flags] {
        const auto settings = ds::load_settings();
        const auto datasets = settings.store().list(ds::Credentials::current());
        if (json_output(list_flags->json)) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& d : datasets) {
                out.push_back(to_json(d));
            }
            print_json(out);
            return;
        }
        std::printf("%-24s %-12s %-8s %8s %8s %12s\n", "NAME", "OWNER", "ACCESS", "VERSIONS",
                    "LATEST", "SIZE");
        for (const auto& d : datasets) {
            const auto latest = d.versions.empty() ? 0 : d.versions.back().version;
            const auto bytes = d.versions.empty() ? 0 : d.versions.back().bytes;
            std::printf("%-24s %-12s %-8s %8zu %8d %12s\n", d.name.c_str(), d.owner.c_str(),
                        d.private_dataset ? "private" : "public", d.versions.size(), latest,
                        human_bytes(static_cast<double>(bytes)).c_str());
        }
    });
}

void add_show_command(CLI::App* datastore) {
    struct ShowArgs {
        std::string ref;
        bool json = false;
        bool files = false;
    };
    auto show_args = std::make_shared<ShowArgs>();
    auto* show = datastore->add_subcommand("show", "Versions of NAME, or the files of NAME:VER");
    show->add_option("ref", show_args->ref, "NAME or NAME:VERSION or NAME:TAG")->required();
    show->add_flag("--json", show_args->json, "JSON output");
    show->add_flag("--files", show_args->files, "List files (default when a version is given)");
    show->callback([show_args] {
        const auto settings = ds::load_settings();
        const auto store = settings.store();
        const auto ref = ds::Ref::parse(show_args->ref);
        const auto who = ds::Credentials::current();
        const auto info = store.info(ref.name, who);
        const bool with_files = show_args->files || ref.version || ref.tag;
        std::optional<ds::Manifest> manifest;
        std::optional<ds::ResolvedVersion> resolved;
        if (with_files && !info.versions.empty()) {
            resolved = store.resolve(ref, who);
            manifest = store.manifest(*resolved);
        }
        if (json_output(show_args->json)) {
            auto j = to_json(info);
            if (manifest) {
                j["version"] = resolved->version;
                j["path"] = resolved->data_dir.string();
                j["manifest"] = ds::to_json(*manifest);
            }
            print_json(j);
            return;
        }
        std::printf("dataset  %s\nowner    %s\naccess   %s\ncreated  %s\n", info.name.c_str(),
                    info.owner.c_str(), info.private_dataset ? "private" : "public",
                    info.created.c_str());
        std::printf("\n%8s  %-20s  %-12s  %8s  %12s  %s\n", "VERSION", "CREATED", "CREATOR",
                    "FILES", "SIZE", "TAGS");
        for (const auto& v : info.versions) {
            std::string tags;
            for (const auto& t : v.tags) {
                tags += (tags.empty() ? "" : ",") + t;
            }
            std::printf("%8d  %-20s  %-12s  %8llu  %12s  %s\n", v.version, v.created.c_str(),
                        v.creator.c_str(), static_cast<unsigned long long>(v.files),
                        human_bytes(static_cast<double>(v.bytes)).c_str(), tags.c_str());
        }
        if (manifest) {
            std::printf("\nfiles of %s:%d (%s)\n", info.name.c_str(), resolved->version,
                        resolved->data_dir.c_str());
            for (const auto& e : manifest->entries) {
                std::printf("  %04o %-7s %12llu  %s%s\n", e.mode, ds::to_string(e.type),
                            static_cast<unsigned long long>(e.size), e.path.c_str(),
                            e.type == ds::EntryType::symlink ? (" -> " + e.target).c_str() : "");
            }
        }
    });
}

void add_delete_command(CLI::App* datastore) {
    struct DeleteArgs {
        std::string ref;
        bool json = false;
    };
    auto delete_args = std::make_shared<DeleteArgs>();
    auto* del = datastore->add_subcommand(
        "delete", "Delete version NAME:VER (or NAME:TAG), or the whole dataset NAME");
    del->add_option("ref", delete_args->ref, "NAME or NAME:VERSION")->required();
    del->add_flag("--json", delete_args->json, "JSON output");
    del->callback([delete_args] {
        const auto settings = ds::load_settings();
        const auto ref = ds::Ref::parse(delete_args->ref);
        const bool whole =
            !ref.version && !ref.tag && delete_args->ref.find(':') == std::string::npos;
        settings.store().remove(ref, whole);
        if (json_output(delete_args->json)) {
            print_json({{"deleted", delete_args->ref}, {"whole_dataset", whole}});
        } else {
            std::printf("deleted %s%s\n", whole ? "dataset " : "", delete_args->ref.c_str());
        }
    });
}

void add_gc_command(CLI::App* datastore) {
    struct GcArgs {
        long grace = 3600;
        bool cache = false;
        bool evict_all = false;
        bool json = false;
    };
    auto gc_args = std::make_shared<GcArgs>();
    auto* gc = datastore->add_subcommand(
        "gc", "Remove unreferenced objects and abandoned temporaries (yours; all when root)");
    add_integer_option(gc, "--grace", gc_args->grace,
                       "Keep temporaries younger than this many seconds", 0);
    gc->add_flag("--cache", gc_args->cache,
                 "Also clean this node's cache area (trims it to cache_max)");
    gc->add_flag("--evict-all", gc_args->evict_all, "With --cache: evict every entry not in use");
    gc->add_flag("--json", gc_args->json, "JSON output");
    gc->callback([gc_args] {
        const auto settings = ds::load_settings();
        ds::GcOptions options;
        options.grace = std::chrono::seconds(gc_args->grace);
        const auto r = settings.store().gc(options);
        nlohmann::json j = {{"objects_removed", r.objects_removed},
                            {"bytes_removed", r.bytes_removed},
                            {"temporaries_removed", r.temporaries_removed},
                            {"datasets_scanned", r.datasets_scanned},
                            {"skipped", r.problems}};
        for (const auto& problem : r.problems) {
            std::fprintf(stderr, "hpsweep: datastore gc: %s\n", problem.c_str());
        }
        if (gc_args->cache || gc_args->evict_all) {
            const auto c = ds::cache_gc(settings.cache(), gc_args->evict_all);
            j["cache"] = {{"entries_evicted", c.entries_evicted},
                          {"bytes_freed", c.bytes_freed},
                          {"temporaries_removed", c.temporaries_removed}};
        }
        if (json_output(gc_args->json)) {
            print_json(j);
            return;
        }
        std::printf("store: removed %llu objects (%s) and %llu temporaries in %llu datasets\n",
                    static_cast<unsigned long long>(r.objects_removed),
                    human_bytes(static_cast<double>(r.bytes_removed)).c_str(),
                    static_cast<unsigned long long>(r.temporaries_removed),
                    static_cast<unsigned long long>(r.datasets_scanned));
        if (j.contains("cache")) {
            std::printf("cache: evicted %llu entries (%s), removed %llu temporaries\n",
                        j["cache"]["entries_evicted"].get<unsigned long long>(),
                        human_bytes(j["cache"]["bytes_freed"].get<double>()).c_str(),
                        j["cache"]["temporaries_removed"].get<unsigned long long>());
        }
    });
}

void add_stage_command(CLI::App* datastore) {
    struct StageArgs {
        std::string ref;
        unsigned threads = 0;
        bool json = false;
    };
    auto stage_args = std::make_shared<StageArgs>();
    auto* stage = datastore->add_subcommand(
        "stage", "Copy NAME[:VER] into this node's cache (once per node) and print its path");
    stage->add_option("ref", stage_args->ref, "NAME or NAME:VERSION or NAME:TAG")->required();
    add_integer_option(stage, "--threads", stage_args->threads, "Copy threads (default 8)", 1, 64);
    stage->add_flag("--json", stage_args->json, "JSON output");
    stage->callback([stage_args] {
        const auto settings = ds::load_settings();
        ds::StageOptions options;
        options.threads = stage_args->threads;
        ProgressBar bar("stage " + stage_args->ref);
        options.progress = bar.callback();
        auto result = ds::stage(settings.store(), settings.cache(), ds::Ref::parse(stage_args->ref),
                                ds::Credentials::current(), options);
        if (!result.warning.empty()) {
            std::fprintf(stderr, "hpsweep: %s\n", result.warning.c_str());
        }
        if (json_output(stage_args->json)) {
            print_json({{"path", result.path.string()},
                        {"name", result.name},
                        {"version", result.version},
                        {"cached", result.cached},
                        {"filled", result.filled},
                        {"bytes", result.bytes},
                        {"bytes_read_from_store", result.bytes_read_from_store},
                        {"warning", result.warning}});
        } else {
            std::printf("%s\n", result.path.c_str());
        }
    });
}

void add_tag_command(CLI::App* datastore) {
    struct TagArgs {
        std::string ref, tag;
        bool json = false;
    };
    auto tag_args = std::make_shared<TagArgs>();
    auto* tag = datastore->add_subcommand("tag", "Point TAG at NAME:VER (moves an existing tag)");
    tag->add_option("ref", tag_args->ref, "NAME:VERSION")->required();
    tag->add_option("tag", tag_args->tag, "Tag name")->required();
    tag->add_flag("--json", tag_args->json, "JSON output");
    tag->callback([tag_args] {
        const auto settings = ds::load_settings();
        const auto ref = ds::Ref::parse(tag_args->ref);
        settings.store().tag(ref, tag_args->tag);
        const auto resolved = settings.store().resolve(
            ds::Ref{ref.name, std::nullopt, tag_args->tag}, ds::Credentials::current());
        if (json_output(tag_args->json)) {
            print_json({{"name", ref.name}, {"tag", tag_args->tag}, {"version", resolved.version}});
        } else {
            std::printf("%s:%s -> version %d\n", ref.name.c_str(), tag_args->tag.c_str(),
                        resolved.version);
        }
    });
}

void add_datastore_commands(CLI::App& app) {
    auto* datastore = app.add_subcommand("datastore",
                                         "Versioned datasets on shared storage, "
                                         "cached on node-local disk");
    datastore->require_subcommand(1);
    add_create_command(datastore);
    add_list_command(datastore);
    add_show_command(datastore);
    add_delete_command(datastore);
    add_gc_command(datastore);
    add_stage_command(datastore);
    add_tag_command(datastore);
}

const CommandRegistrar registrar{"datastore", &add_datastore_commands};

}  // namespace
}  // namespace hpsweep::cli
