// zoa — ODR check: two TUs including zoa.hpp link into one program and agree
#include <cstdint>
#include <cstdio>

std::uint32_t odr_a();
std::uint32_t odr_b();

int main() {
    if (odr_a() != odr_b()) {
        std::puts("odr_link: the two translation units disagree");
        return 1;
    }
    std::puts("odr_link: ok");
    return 0;
}
