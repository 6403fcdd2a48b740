#include "hpsweep/searcher/array_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "hpsweep/error.hpp"
#include "hpsweep/strings.hpp"

namespace hpsweep::searcher {

long ArrayChunk::count() const {
    long n = 0;
    for (const auto& [first, last] : indices) n += last - first + 1;
    return n;
}

long ArrayChunk::first_trial() const {
    return indices.empty() ? offset : offset + indices.front().first * pack;
}

long ArrayChunk::last_trial() const {
    if (indices.empty())
        return offset - 1;
    const long last = offset + indices.back().second * pack + pack - 1;
    return pack > 1 ? std::min(last, trial_end - 1) : last;
}

long ArrayChunk::trial_count() const {
    if (pack <= 1)
        return count();
    long n = 0;
    for (const auto& [first, last] : indices) {
        n += std::min(offset + (last + 1) * pack, trial_end) - (offset + first * pack);
    }
    return n;
}

std::string ArrayChunk::array_spec(int max_concurrent) const {
    std::string spec;
    for (const auto& [first, last] : indices) {
        if (!spec.empty())
            spec += ',';
        spec += first == last ? std::to_string(first) : fmt::format("{}-{}", first, last);
    }
    if (max_concurrent > 0)
        spec += fmt::format("%{}", max_concurrent);
    return spec;
}

bool ArrayChunk::contains_trial(long trial_id) const {
    const long index = trial_id - offset;
    return std::any_of(indices.begin(), indices.end(), [index](const IndexRange& r) {
        return index >= r.first && index <= r.second;
    });
}

std::vector<ArrayChunk> plan_arrays(long num_trials, long max_array_size) {
    if (num_trials < 0)
        throw Error(ErrorKind::config, "negative number of trials");
    if (max_array_size < 1) {
        throw Error(ErrorKind::config,
                    fmt::format("MaxArraySize {} leaves no room for a job array", max_array_size));
    }
    std::vector<ArrayChunk> chunks;
    for (long offset = 0; offset < num_trials; offset += max_array_size) {
        ArrayChunk chunk;
        chunk.offset = offset;
        chunk.indices.push_back({0, std::min(max_array_size, num_trials - offset) - 1});
        chunks.push_back(std::move(chunk));
    }
    return chunks;
}

std::vector<ArrayChunk> plan_arrays_for_trials(std::vector<long> trial_ids, long max_array_size) {
    if (max_array_size < 1) {
        throw Error(ErrorKind::config,
                    fmt::format("MaxArraySize {} leaves no room for a job array", max_array_size));
    }
    std::sort(trial_ids.begin(), trial_ids.end());
    trial_ids.erase(std::unique(trial_ids.begin(), trial_ids.end()), trial_ids.end());
    std::vector<ArrayChunk> chunks;
    for (const long id : trial_ids) {
        if (id < 0)
            throw Error(ErrorKind::config, fmt::format("negative trial id {}", id));
        const long offset = (id / max_array_size) * max_array_size;
        if (chunks.empty() || chunks.back().offset != offset) {
            chunks.push_back(ArrayChunk{offset, {}, 1, 0});
        }
        auto& ranges = chunks.back().indices;
        const long index = id - offset;
        if (!ranges.empty() && ranges.back().second + 1 == index) {
            ranges.back().second = index;
        } else {
            ranges.push_back({index, index});
        }
    }
    return chunks;
}

std::vector<IndexRange> parse_array_spec(const std::string& spec) {
    std::string body = spec.substr(0, spec.find('%'));
    std::vector<IndexRange> ranges;
    auto number = [&spec](std::string_view text) {
        long v = 0;
        const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size() || v < 0) {
            throw Error(ErrorKind::data, fmt::format("invalid job array spec '{}'", spec));
        }
        return v;
    };
    for (const auto& part : split(body, ',')) {
        const auto dash = part.find('-');
        if (dash == std::string::npos) {
            const long v = number(part);
            ranges.push_back({v, v});
        } else {
            const long first = number(std::string_view(part).substr(0, dash));
            const long last = number(std::string_view(part).substr(dash + 1));
            if (last < first)
                throw Error(ErrorKind::data, fmt::format("invalid job array spec '{}'", spec));
            ranges.push_back({first, last});
        }
    }
    return ranges;
}

}  // namespace hpsweep::searcher
