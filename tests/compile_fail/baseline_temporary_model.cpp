// The baselines keep a pointer to their model too: NoAdapt from a temporary model must be refused at compile time.
// expect: zoa: no_adapt keeps a pointer to the model: construct it from a model variable
#include <xtensor/xtensor.hpp>

#include "zoa/adapt/baselines.hpp"

struct model {
    zoa::adapt::adapt_layout layout() const { return {}; }
    void forward_adapt(const xt::xtensor<float, 2>&, const zoa::adapt::forward_request&,
                       zoa::adapt::forward_result&) const {}
};

int main() {
    zoa::adapt::no_adapt<model> a{model{}};
    return static_cast<int>(a.stats().batches);
}
