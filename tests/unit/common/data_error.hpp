#pragma once
// Checks that reading a contract fails with Error(data) and a message containing every
// fragment (the file and the field a person has to fix).

#include <catch2/catch.hpp>

#include <functional>
#include <initializer_list>
#include <string>

#include "hpsweep/error.hpp"

inline void check_data_error(const std::function<void()>& read,
                             std::initializer_list<std::string> fragments) {
    try {
        read();
        FAIL("expected Error(data)");
    } catch (const hpsweep::Error& e) {
        CHECK(e.kind() == hpsweep::ErrorKind::data);
        for (const auto& fragment : fragments) CHECK_THAT(e.what(), Catch::Contains(fragment));
    }
}
