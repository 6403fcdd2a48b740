// The SPANK plugin's plugstack.conf words (common/src/site_config.cpp: parse_plugin_args),
// parsed by slurmstepd as root on every node, and the site file a `config=` word names.
//
// Input: one word per line. A line "---" ends the words; what follows is the text of the
// site file. Every `config=/absolute/path` word is pointed at that text (written to a
// scratch file) instead of the named file, so the fuzzer never reads arbitrary files
// (config=/dev/zero would never end) and still drives the site-file parser. Without any
// config= word, config=none is added: the real default, /etc/hpsweep/hpsweep.conf, would make
// the result depend on this machine.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "hpsweep/site_config.hpp"

using namespace hpsweep;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = fuzz::as_text(data, size);
    std::string_view words_text = input;
    std::string_view site_text;
    bool has_site_text = false;
    if (const auto sep = input.find("\n---\n"); sep != std::string_view::npos) {
        words_text = input.substr(0, sep);
        site_text = input.substr(sep + 5);
        has_site_text = true;
    }
    std::vector<std::string> words;
    bool has_config = false;
    const auto site_file = fuzz::scratch_dir() / "hpsweep.conf";
    std::size_t start = 0;
    while (start <= words_text.size() && !words_text.empty()) {
        auto end = words_text.find('\n', start);
        if (end == std::string_view::npos)
            end = words_text.size();
        std::string word(words_text.substr(start, end - start));
        if (word.starts_with("config=")) {
            has_config = true;
            if (word.size() > 7 && word[7] == '/')
                word = "config=" + site_file.string();
        }
        words.push_back(std::move(word));
        start = end + 1;
    }
    if (!has_config)
        words.emplace_back("config=none");
    if (has_site_text) {
        fuzz::write_bytes(site_file, reinterpret_cast<const std::uint8_t*>(site_text.data()),
                          site_text.size());
    } else {
        std::error_code ec;
        std::filesystem::remove(site_file, ec);
    }

    SiteConfig config;
    if (!fuzz::only_bad_input([&] { config = parse_plugin_args(words); }))
        return 0;
    // Every value the plugin accepted is one an admin could write back into the site file:
    // `hpsweep doctor` prints exactly this, and it must load to the same configuration.
    const std::string text = to_config_text(config);
    SiteConfig again;
    try {
        apply_site_config_text(again, text, "doctor output");
    } catch (const Error& e) {
        fuzz::finding("to_config_text() output does not load back: %s\n%s", e.what(), text.c_str());
    }
    if (to_config_text(again) != text) {
        fuzz::finding("to_config_text() output loads back as something else:\n%s---\n%s",
                      text.c_str(), to_config_text(again).c_str());
    }
    if (config.port_range.first < 1024 || config.port_range.last > 65535 ||
        config.port_range.first > config.port_range.last || config.cache_max_bytes == 0 ||
        !config.cache_dir.is_absolute() || !config.datastore_root.is_absolute()) {
        fuzz::finding("an accepted configuration breaks a documented limit:\n%s", text.c_str());
    }
    return 0;
}
