// Two options on one axis must be rejected with one readable static_assert.
// expect: zoa::policy: two options set the same axis
#include "zoa/core/policy.hpp"

namespace zoa::axis {
struct demo_bits;
}
struct bits8 {
    using axis = zoa::axis::demo_bits;
};
struct bits4 {
    using axis = zoa::axis::demo_bits;
};
namespace zoa::axis {
struct demo_bits {
    using default_option = bits8;
};
}  // namespace zoa::axis

int main() {
    zoa::policy<bits8, bits4>::get<zoa::axis::demo_bits> b;
    (void)b;
}
