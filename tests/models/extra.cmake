# zoa — extra links for test_models: safetensors headers and the "zoa.config" JSON use Debian's nlohmann-json.
find_package(nlohmann_json 3.10 REQUIRED)
target_link_libraries(test_${area} PRIVATE nlohmann_json::nlohmann_json)
