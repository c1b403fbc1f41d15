// zoa — ZOA_DETAIL_STB_WARNINGS_BEGIN / _END: silence the stb code that zoa compiles into the including TU
// SPDX-License-Identifier: MIT
#pragma once

// io/image.hpp (stb_image) and data/corruptions/jpeg.hpp (stb_image_write) compile stb's implementation into the
// including translation unit. stb is third-party C-style code that a strict user build (-Wall -Wextra -Wconversion
// -Wold-style-cast ... -Werror) would reject, so both wrap their stb #include in these macros: diagnostic push, the
// warnings below ignored (one list; a few exist in only one compiler), pop after the include.
#define ZOA_DETAIL_STB_PRAGMA(text) _Pragma(#text)
#if defined(__clang__)  // ZOA_DETAIL_STB_PUSH: push, and ignore the warnings only this compiler has
#define ZOA_DETAIL_STB_IGNORE(flag) ZOA_DETAIL_STB_PRAGMA(clang diagnostic ignored flag)
#define ZOA_DETAIL_STB_PUSH _Pragma("clang diagnostic push") ZOA_DETAIL_STB_IGNORE("-Wcomma")
#define ZOA_DETAIL_STB_WARNINGS_END _Pragma("clang diagnostic pop")
#elif defined(__GNUC__)
#define ZOA_DETAIL_STB_IGNORE(flag) ZOA_DETAIL_STB_PRAGMA(GCC diagnostic ignored flag)
#define ZOA_DETAIL_STB_PUSH                                                                                         \
    _Pragma("GCC diagnostic push")                                                                                  \
    ZOA_DETAIL_STB_IGNORE("-Wsign-compare") ZOA_DETAIL_STB_IGNORE("-Wunused-but-set-variable")                     \
    ZOA_DETAIL_STB_IGNORE("-Wtype-limits") ZOA_DETAIL_STB_IGNORE("-Wuseless-cast")                                 \
    ZOA_DETAIL_STB_IGNORE("-Wduplicated-branches") ZOA_DETAIL_STB_IGNORE("-Wmaybe-uninitialized")
#define ZOA_DETAIL_STB_WARNINGS_END _Pragma("GCC diagnostic pop")
#else
#define ZOA_DETAIL_STB_IGNORE(flag)
#define ZOA_DETAIL_STB_PUSH
#define ZOA_DETAIL_STB_WARNINGS_END
#endif
#define ZOA_DETAIL_STB_WARNINGS_BEGIN                                                                               \
    ZOA_DETAIL_STB_PUSH                                                                                             \
    ZOA_DETAIL_STB_IGNORE("-Wunused-function") ZOA_DETAIL_STB_IGNORE("-Wunused-variable")                          \
    ZOA_DETAIL_STB_IGNORE("-Wunused-parameter") ZOA_DETAIL_STB_IGNORE("-Wconversion")                              \
    ZOA_DETAIL_STB_IGNORE("-Wsign-conversion") ZOA_DETAIL_STB_IGNORE("-Wshadow")                                   \
    ZOA_DETAIL_STB_IGNORE("-Wimplicit-fallthrough") ZOA_DETAIL_STB_IGNORE("-Wmissing-field-initializers")          \
    ZOA_DETAIL_STB_IGNORE("-Wcast-qual") ZOA_DETAIL_STB_IGNORE("-Wcast-align")                                     \
    ZOA_DETAIL_STB_IGNORE("-Wdouble-promotion") ZOA_DETAIL_STB_IGNORE("-Wold-style-cast")                          \
    ZOA_DETAIL_STB_IGNORE("-Wzero-as-null-pointer-constant") ZOA_DETAIL_STB_IGNORE("-Wpedantic")
