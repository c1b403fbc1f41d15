// A project outside zoa's tree that found zoa with find_package(zoa) and links zoa::zoa.
#include <zoa/zoa.hpp>

#include <cstdio>

int main() {
    zoa::rng r(2020);
    const float u = r.uniform();
    if (!(u >= 0.0f && u < 1.0f)) return 1;
    std::printf("cmake_consumer: zoa %s found via find_package\n", zoa::version_string);
    return 0;
}
