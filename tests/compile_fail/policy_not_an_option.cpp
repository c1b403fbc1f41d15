// A type without `using axis` is not a policy option.
// expect: zoa::policy: an option is not a zoa policy option
#include "zoa/core/policy.hpp"

struct not_an_option {};

int main() {
    zoa::policy<not_an_option> p;
    (void)p;
}
