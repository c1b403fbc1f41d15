// zoa — a consumer built with only -I single_include: the generated header is complete and usable
#include <zoa/zoa.hpp>

#include <cstdio>

int main() {
    zoa::execution_context ctx(2);
    zoa::aligned_buffer<float> buf(1000);
    ctx.parallel_for(buf.size(), [&](std::size_t b, std::size_t e) {
        zoa::rng r(7);
        for (std::size_t i = b; i < e; ++i) buf[i] = static_cast<float>(i) * 0.5f;
        (void)r;
    });
    double sum = 0;
    for (float v : buf) sum += v;
    if (sum != 0.5 * 999.0 * 1000.0 / 2.0) {
        std::printf("single_header_consumer: wrong sum %f\n", sum);
        return 1;
    }
    std::printf("single_header_consumer: zoa %s ok (arch %s)\n", zoa::version_string, zoa::arch_name());
    return 0;
}
