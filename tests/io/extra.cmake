# zoa — extra links for test_io: the safetensors header parser uses Debian's nlohmann-json (header-only).
# (zoa::zoa itself should link nlohmann_json::nlohmann_json once zoa/io/safetensors.hpp is in the umbrella.)
find_package(nlohmann_json 3.10 REQUIRED)
target_link_libraries(test_${area} PRIVATE nlohmann_json::nlohmann_json)
