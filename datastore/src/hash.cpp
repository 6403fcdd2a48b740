#include "hpsweep/datastore/hash.hpp"

#include <fmt/format.h>

namespace hpsweep::datastore {

std::string Digest::hex() const {
    return fmt::format("{:016x}{:016x}", high, low);
}

std::optional<Digest> Digest::from_hex(std::string_view text) {
    if (text.size() != 32) {
        return std::nullopt;
    }
    Digest digest;
    for (std::size_t i = 0; i < 32; ++i) {
        const char c = text[i];
        unsigned value = 0;
        if (c >= '0' && c <= '9') {
            value = static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            value = static_cast<unsigned>(c - 'a' + 10);
        } else {
            return std::nullopt;
        }
        auto& half = i < 16 ? digest.high : digest.low;
        half = (half << 4) | value;
    }
    return digest;
}

Hasher::Hasher() {
    XXH3_128bits_reset(&state_);
}

void Hasher::update(const void* data, std::size_t size) {
    XXH3_128bits_update(&state_, data, size);
}

Digest Hasher::finish() const {
    const XXH128_hash_t h = XXH3_128bits_digest(&state_);
    return Digest{h.high64, h.low64};
}

Digest hash_bytes(const void* data, std::size_t size) {
    const XXH128_hash_t h = XXH3_128bits(data, size);
    return Digest{h.high64, h.low64};
}

}  // namespace hpsweep::datastore
