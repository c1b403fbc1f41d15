# zoa — CMake toolchain file: cross-compile for 64-bit ARM Linux with Debian's g++-aarch64-linux-gnu, tests run
# under qemu-aarch64 (Debian packages g++-aarch64-linux-gnu, qemu-user; `make test-arm64`, docs/building.md).
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DZOA_ARM_MARCH=armv8.2-a+dotprod -DZOA_QEMU_CPU=cortex-a76
#
# ZOA_ARM_MARCH picks the instruction set, hence the integer kernels (kernels/arm/): armv8-a (NEON, every 64-bit
# ARM), armv8.2-a+dotprod (SDOT), armv8.6-a+i8mm (SMMLA). ZOA_QEMU_CPU is the CPU model qemu emulates when CMake
# or CTest run a test binary (cortex-a53, cortex-a76, max, ...).
# xtensor, xsimd, nlohmann-json, doctest and stb are header-only: the host's copies in /usr/include are searched
# *after* the cross compiler's own C/C++ headers (-idirafter), so the AArch64 libc/libstdc++ headers always win.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

set(ZOA_ARM_MARCH "armv8-a" CACHE STRING "-march for the AArch64 build (armv8-a, armv8.2-a+dotprod, armv8.6-a+i8mm)")
set(ZOA_QEMU_CPU "max" CACHE STRING "qemu-aarch64 -cpu model for running test binaries")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ZOA_ARM_MARCH ZOA_QEMU_CPU)

set(CMAKE_CXX_FLAGS_INIT "-march=${ZOA_ARM_MARCH} -idirafter /usr/include")
set(CMAKE_C_FLAGS_INIT "-march=${ZOA_ARM_MARCH}")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -cpu ${ZOA_QEMU_CPU} -L /usr/aarch64-linux-gnu)

# The header-only packages' CMake configs live in the host's multiarch directory.
list(APPEND CMAKE_PREFIX_PATH /usr/lib/x86_64-linux-gnu/cmake /usr/lib/cmake /usr/share/cmake)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
