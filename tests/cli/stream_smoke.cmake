# `zoa stream` end to end on the shipped Fashion-MNIST ResNet: a short continual stream (clean, then fog 5) with
# NoAdapt and ZOA must print one well-formed line per domain, a mean, and write the Markdown/SVG reports; a bad
# option must exit 2 with exactly one line on stderr.
# Usage: cmake -DZOA=<bin/zoa> -DWEIGHTS=<file> -DWORK=<dir> -P stream_smoke.cmake
if(NOT EXISTS /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz)
  message(STATUS "SKIP: Debian's dataset-fashion-mnist is not installed")
  return()
endif()
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${ZOA} stream --weights ${WEIGHTS} --method none,zoa --precision w8a8 --calib-images 8
                        --data fmnist,fmnist-c:fog:5 --limit 128 --source-images 128 --threads 2
                        --out ${WORK}/r.md --svg ${WORK}/r.svg
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "zoa stream failed (${rc}): ${err}")
endif()
string(REGEX MATCHALL "domain=[a-z_]+ round=1 images=128 accuracy=[0-9]+\\.[0-9][0-9] forwards_per_batch=[0-9.]+ ms_per_batch=[0-9.]+"
       lines "${out}")
list(LENGTH lines n)
if(NOT n EQUAL 4)
  message(FATAL_ERROR "expected 4 domain lines (2 methods x 2 domains), got ${n}")
endif()
if(NOT out MATCHES "forwards_per_batch=2.00")
  message(FATAL_ERROR "ZOA did not report 2 forward passes per batch")
endif()
string(REGEX MATCHALL "mean_accuracy=[0-9]+\\.[0-9][0-9]" means "${out}")
list(LENGTH means m)
if(NOT m EQUAL 2 OR NOT EXISTS ${WORK}/r.md OR NOT EXISTS ${WORK}/r.svg)
  message(FATAL_ERROR "missing mean_accuracy lines or report files")
endif()
execute_process(COMMAND ${ZOA} stream --weights ${WEIGHTS} --method nope --data fmnist
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCHALL "\n" nl "${err}")
list(LENGTH nl errlines)
if(NOT rc EQUAL 2 OR NOT errlines EQUAL 1 OR NOT err MATCHES "unknown --method 'nope'")
  message(FATAL_ERROR "bad --method: expected exit 2 and one stderr line, got ${rc}: ${err}")
endif()
execute_process(COMMAND ${ZOA} stream --weights ${WORK}/missing.safetensors --data fmnist
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "missing weights file: expected exit 2, got ${rc}: ${err}")
endif()
# `zoa predict` on the ResNet: one line per image, `<path>\t<top-1>\t<10 logits>`
set(img ${CMAKE_CURRENT_LIST_DIR}/../fixtures/images/decode/gray.png)
execute_process(COMMAND ${ZOA} predict --weights ${WEIGHTS} ${img} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "gray.png\t[0-9]\t[-0-9.e]+(,[-0-9.e]+)(,[-0-9.e]+)(,[-0-9.e]+)(,[-0-9.e]+)(,[-0-9.e]+)(,[-0-9.e]+)(,[-0-9.e]+)(,[-0-9.e]+)(,[-0-9.e]+)\n$")
  message(FATAL_ERROR "zoa predict on the ResNet: exit ${rc}, output '${out}', stderr '${err}'")
endif()
