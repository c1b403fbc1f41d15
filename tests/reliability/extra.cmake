# zoa — extras of test_reliability: ZOA_TEST_SANITIZED=1 in the sanitizer build (make test-sanitize, ZOA_SANITIZE=ON)
# SPDX-License-Identifier: MIT
# g++'s UBSan has no function-level ignore list, so a test whose input is known to hit undefined behaviour inside a
# third-party header (stb_image 2.27, nothings/stb#1293; tests/fuzz/known/) is skipped there and runs everywhere else.
if(ZOA_SANITIZE)
  target_compile_definitions(test_${area} PRIVATE ZOA_TEST_SANITIZED=1)
endif()
