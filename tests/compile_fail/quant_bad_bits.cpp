// A bit-width outside 2..8 must be rejected by zoa::quant::bits<W,A> with one readable static_assert.
// expect: zoa: bits<W,A>: bit-widths must be in 2..8
#include "zoa/quant/bit_width.hpp"

int main() {
    using bad = zoa::quant::bits<9, 8>;
    return bad::weight_bits;
}
