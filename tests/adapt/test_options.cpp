// zoa — zoa_options ranges and set(key, value) (issue #16 items 15 and 17: values that wreck a stream are refused
// with their range; numbers are range-checked before they are converted)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <string>

#include "zoa/adapt/options.hpp"

namespace {

std::string error_of(zoa::adapt::zoa_options o, const std::string& key, double v) {
    try {
        o.set(key, v);
        o.validate();
    } catch (const zoa::error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("zoa_options: the paper's settings and the defaults are inside every range") {
    zoa::adapt::zoa_options{}.validate();
    for (int bits : {32, 8, 6, 4})
        for (auto fam : {zoa::adapt::model_family::vit, zoa::adapt::model_family::resnet})
            zoa::adapt::zoa_options::paper(fam, bits).validate();
}

TEST_CASE("zoa_options::set refuses values outside the range and names the range") {
    const zoa::adapt::zoa_options o;
    CHECK(error_of(o, "lr", 1e30) == "zoa: argument: zoa_options: lr = 1e+30 is outside [0, 1]");
    CHECK(error_of(o, "momentum", 5) == "zoa: argument: zoa_options: momentum = 5 is outside [0, 1)");
    CHECK(error_of(o, "momentum", 1) == "zoa: argument: zoa_options: momentum = 1 is outside [0, 1)");
    CHECK(error_of(o, "weight_decay", -10) == "zoa: argument: zoa_options: weight_decay = -10 is outside [0, 10]");
    CHECK(error_of(o, "domain_t", -1) == "zoa: argument: zoa_options: domain_t = -1 is outside [0, 1e+06]");
    // before: 3e9 was converted to int first (undefined; -2147483648 here)
    CHECK(error_of(o, "sp_avg", 3e9) ==
          "zoa: argument: zoa_options: sp_avg = 3e+09 is outside [1, 64] (a whole number)");
    CHECK(error_of(o, "sp_avg", 2.5) ==
          "zoa: argument: zoa_options: sp_avg = 2.5 is outside [1, 64] (a whole number)");
    // before: "is not a finite number" (1e-45 underflows float; it is a tiny finite value, outside the range)
    CHECK(error_of(o, "spsa_c", 1e-45) == "zoa: argument: zoa_options: spsa_c = 1e-45 is outside [1e-06, 1]");
    CHECK(error_of(o, "alpha_scale", 0) == "zoa: argument: zoa_options: alpha_scale = 0 is outside (0, 1000]");
    CHECK(error_of(o, "lambda", std::numeric_limits<double>::quiet_NaN()).find("lambda = nan is outside") !=
          std::string::npos);
    const std::string unknown = error_of(o, "learning_rate", 0.1);
    CHECK(unknown.find("unknown key 'learning_rate' (expected one of lr, momentum, weight_decay,") !=
          std::string::npos);
}

TEST_CASE("zoa_options::set stores accepted values; validate() checks fields set directly") {
    zoa::adapt::zoa_options o;
    o.set("lr", 2e-4);
    o.set("sp_avg", 3);
    o.set("momentum", 0.9);
    CHECK(o.lr == 2e-4f);
    CHECK(o.sp_avg == 3);
    CHECK(o.momentum == 0.9f);
    o.validate();
    o.weight_margin = -1.0f;
    CHECK_THROWS_WITH_AS(o.validate(), "zoa: argument: zoa_options: weight_margin = -1 is outside (0, 1]",
                         zoa::error);
}
