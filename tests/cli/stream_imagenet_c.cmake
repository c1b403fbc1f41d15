# `zoa stream` on an ImageNet-C-shaped JPEG tree written by tools/make_imagenet_c.cpp (two small domains): the
# imagenet-c:ROOT:CORRUPTION:SEV specs, the same results with and without prefetching (loader threads), the whole
# 15-domain spec refusing a missing domain before streaming, and an image above --max-megapixels refused by name.
# Usage: cmake -DZOA=<bin/zoa> -DMAKE_TREE=<bin/make_imagenet_c> -DWEIGHTS=<fmnist_resnet.safetensors> -DWORK=<dir>
#              -P stream_imagenet_c.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${MAKE_TREE} ${WORK}/inc --images 40 --classes 4 --size 36 --corruptions gaussian_noise,fog
                        --threads 2 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT EXISTS ${WORK}/inc/fog/5/n00000003/ILSVRC2012_val_00000004.JPEG)
  message(FATAL_ERROR "make_imagenet_c failed (${rc}): ${out} ${err}")
endif()
message(STATUS "${out}")

set(DATA imagenet-c:${WORK}/inc:gaussian_noise:5,imagenet-c:${WORK}/inc:fog:5)
set(S stream --weights ${WEIGHTS} --method none,zoa --data ${DATA} --batch 16 --source fmnist-train --source-images 64
      --threads 2)
execute_process(COMMAND ${ZOA} ${S} --prefetch 2 --loader-threads 2 --log ${WORK}/a.jsonl
                RESULT_VARIABLE rc OUTPUT_VARIABLE a ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "zoa stream on the tree failed (${rc}): ${err}")
endif()
message(STATUS "${a}")
string(REGEX MATCHALL "domain=(gaussian_noise|fog) round=1 images=40 accuracy=[0-9.]+" lines "${a}")
list(LENGTH lines n)
if(NOT n EQUAL 4)
  message(FATAL_ERROR "expected 4 domain lines with images=40 (2 methods x 2 domains), got ${n}")
endif()
file(STRINGS ${WORK}/a.jsonl log)
list(LENGTH log n)
if(NOT n EQUAL 12)  # 2 methods x 2 domains x 3 batches (16 + 16 + 8)
  message(FATAL_ERROR "expected 12 log lines, got ${n}")
endif()
# no prefetch (decoded on the main thread between batches): the same accuracies
execute_process(COMMAND ${ZOA} ${S} --prefetch 0 RESULT_VARIABLE rc OUTPUT_VARIABLE b ERROR_VARIABLE err)
string(REGEX REPLACE "ms_per_batch=[0-9.]+" "" a_ "${a}")
string(REGEX REPLACE "ms_per_batch=[0-9.]+" "" b_ "${b}")
if(NOT rc EQUAL 0 OR NOT a_ STREQUAL b_)
  message(FATAL_ERROR "--prefetch 0 differs from --prefetch 2 (${rc}): '${b}' vs '${a}' ${err}")
endif()

# expect_fail(<name> <substring> <args...>): exit 2, one line on stderr containing the substring
function(expect_fail name expected)
  execute_process(COMMAND ${ZOA} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX MATCHALL "\n" nl "${err}")
  list(LENGTH nl lines)
  string(FIND "${err}" "${expected}" at)
  if(NOT rc EQUAL 2 OR NOT lines EQUAL 1 OR at EQUAL -1)
    message(FATAL_ERROR "${name}: expected exit 2 and one stderr line containing '${expected}', got exit ${rc}, "
                        "${lines} line(s): ${err}")
  endif()
  string(STRIP "${err}" err)
  message(STATUS "ok ${name}: ${err}")
endfunction()
# all 15 corruptions: the tree has 2, the third (impulse_noise... in order: shot_noise) is missing
expect_fail(imagenet_c_missing_domain "shot_noise/5: image folder root is not a directory"
            stream --weights ${WEIGHTS} --method none --data imagenet-c:${WORK}/inc)
expect_fail(imagenet_c_bad_severity "severity 7" stream --weights ${WEIGHTS} --data imagenet-c:${WORK}/inc:fog:7)
# an image above the pixel budget (36 x 36 = 1296 px > 0.001 Mpx ... the smallest budget is 1 Mpx: a big image)
file(MAKE_DIRECTORY ${WORK}/big/c0)
execute_process(COMMAND ${MAKE_TREE} ${WORK}/bigtree --images 1 --classes 1 --size 1100 --corruptions fog
                RESULT_VARIABLE rc)
file(COPY ${WORK}/bigtree/fog/5/n00000000/ILSVRC2012_val_00000001.JPEG DESTINATION ${WORK}/big/c0)
expect_fail(image_above_pixel_budget "ILSVRC2012_val_00000001.JPEG: image is 1100x1100 pixels (1.2 Mpx), above the pixel budget of 1.0 Mpx"
            stream --weights ${WEIGHTS} --method none --data ${WORK}/big --max-megapixels 1)
expect_fail(stream_help_unknown_option "unknown option '--nope'" stream --weights ${WEIGHTS} --data fmnist --nope)
execute_process(COMMAND ${ZOA} stream --help RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "imagenet-c:ROOT" OR NOT out MATCHES "--checkpoint FILE")
  message(FATAL_ERROR "zoa stream --help: exit ${rc}, '${out}'")
endif()
# ImageNet-C data must not take Fashion-MNIST's default clean images for the source statistics
expect_fail(imagenet_c_needs_source "imagenet-c data needs --source DIR"
            stream --weights ${WEIGHTS} --method zoa --data imagenet-c:${WORK}/inc:fog:5)
