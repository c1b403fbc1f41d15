// An adapter keeps a pointer to its model: constructing one from a temporary model (which would dangle) must be
// refused at compile time with one readable static_assert.
// expect: zoa: zoa_adapter keeps a pointer to the model: construct it from a model variable
#include <xtensor/xtensor.hpp>

#include "zoa/adapt/zoa_adapter.hpp"

struct model {
    zoa::adapt::adapt_layout layout() const { return {}; }
    void forward_adapt(const xt::xtensor<float, 2>&, const zoa::adapt::forward_request&,
                       zoa::adapt::forward_result&) const {}
    static model load() { return {}; }
};

int main() {
    zoa::adapt::zoa_adapter<model> a(model::load(), zoa::adapt::zoa_options{}, zoa::adapt::source_statistics{});
    return static_cast<int>(a.stats().batches);
}
