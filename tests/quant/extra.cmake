# zoa — extra links for test_quant: the PyTorch golden test reads tests/fixtures/quant_golden.json with Debian's
# nlohmann-json (header-only).
find_package(nlohmann_json 3.10 REQUIRED)
target_link_libraries(test_${area} PRIVATE nlohmann_json::nlohmann_json)
