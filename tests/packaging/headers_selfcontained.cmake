# Every public header compiles on its own (and twice in one TU: include guards work).
# Usage: cmake -DCXX=... -DROOT=... -P headers_selfcontained.cmake
file(GLOB_RECURSE _headers RELATIVE ${ROOT}/include ${ROOT}/include/zoa/*.hpp)
list(SORT _headers)
set(_tmp ${CMAKE_CURRENT_BINARY_DIR}/zoa_selfcontained.cpp)
set(_failed "")
foreach(h IN LISTS _headers)
  file(WRITE ${_tmp} "#include \"${h}\"\n#include \"${h}\"\nint main() { return 0; }\n")
  execute_process(COMMAND ${CXX} -std=c++17 -fsyntax-only -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror
                          -I${ROOT}/include ${_tmp}
    RESULT_VARIABLE _rc ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    list(APPEND _failed ${h})
    message("${h} is not self-contained:\n${_err}")
  endif()
endforeach()
list(LENGTH _headers _n)
if(_failed)
  message(FATAL_ERROR "headers not self-contained: ${_failed}")
endif()
message(STATUS "${_n} headers compile on their own")
