// zoa — ResNet fp32 forward vs PyTorch (tools/reference/gen_resnet_fixture.py): eval and batch-statistics BN,
// ZOA features, embedding statistics, adapted BNs, activation shift, FOA prompt
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "resnet_fixture.hpp"

namespace {

using zoa::adapt::forward_request;
using zoa::adapt::forward_result;

void check(const char* what, const std::string& name, const xt::xtensor<float, 2>& got, const xt::xtensor<float, 2>& want) {
    REQUIRE(got.shape(0) == want.shape(0));
    REQUIRE(got.shape(1) == want.shape(1));
    const float r = rt::rel_diff(got, want);
    MESSAGE(name << " " << std::string(what) << ": max |zoa - torch| / max |torch| = " << r);
    CHECK(r <= 1e-4f);
}
void check(const char* what, const std::string& name, const std::vector<float>& got, const std::vector<float>& want) {
    REQUIRE(got.size() == want.size());
    const float r = rt::rel_diff(got, want);
    MESSAGE(name << " " << std::string(what) << ": max |zoa - torch| / max |torch| = " << r);
    CHECK(r <= 1e-4f);
}

}  // namespace

TEST_CASE("resnet fp32 golden: eval, batch statistics, adapted BNs, shift, prompt (BasicBlock and Bottleneck)") {
    for (const std::string name : {"basic", "bottleneck"}) {
        CAPTURE(name);
        const rt::golden g(name);
        const auto m = rt::fp_resnet::load(rt::model_path(name));
        const auto x = g.images("input");

        check("eval logits (predict)", name, m.predict(x), g.mat("eval.logits"));
        forward_result r;
        m.forward_adapt(x, forward_request{}, r);
        check("eval logits", name, r.logits, g.mat("eval.logits"));
        check("eval features", name, r.features, g.mat("eval.features"));
        check("embedding mean", name, r.embed_mean, g.vec("eval.embed_mean"));
        check("embedding var", name, r.embed_var, g.vec("eval.embed_var"));
        CHECK(r.shifted_logits.size() == 0);

        forward_request bs;
        bs.batch_statistics = true;
        m.forward_adapt(x, bs, r);
        check("batch-stat logits", name, r.logits, g.mat("batch.logits"));
        check("batch-stat features", name, r.features, g.mat("batch.features"));

        const std::vector<float> theta = g.vec("adapted.params");
        REQUIRE(theta.size() == m.layout().parameter_count());
        forward_request ad = bs;
        ad.norm_params = theta.data();
        m.forward_adapt(x, ad, r);
        check("adapted-BN logits", name, r.logits, g.mat("adapted.logits"));
        check("adapted-BN features", name, r.features, g.mat("adapted.features"));

        const std::vector<float> shift = g.vec("shift.vector");
        forward_request sh;
        sh.shift = shift.data();
        m.forward_adapt(x, sh, r);
        check("shifted logits", name, r.shifted_logits, g.mat("shift.logits"));
        check("unshifted logits next to a shift", name, r.logits, g.mat("eval.logits"));

        const std::vector<float> prompt = g.vec("prompt.weight");
        forward_request pr = bs;
        pr.prompt = prompt.data();
        pr.prompt_size = prompt.size();
        m.forward_adapt(x, pr, r);
        check("prompt logits", name, r.logits, g.mat("prompt.logits"));
        check("prompt features", name, r.features, g.mat("prompt.features"));
        check("prompt embedding mean", name, r.embed_mean, g.vec("prompt.embed_mean"));
        check("prompt embedding var", name, r.embed_var, g.vec("prompt.embed_var"));
    }
}
