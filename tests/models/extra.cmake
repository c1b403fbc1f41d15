# zoa — extras of test_models: the `zoa predict` checks
# against PyTorch (tools/reference/check_vit_predict.py, run with Debian's /usr/bin/python3 when present):
#   cli_vit_predict        the committed tiny fixture: PNG -> logits vs stored PyTorch logits, exit status 2 cases
#   vit_fullsize_vs_torch  OPT-IN, label "heavy": random-weight vit_base_patch16_224 (344 MB file, ~1 min); skipped
#                          (exit 77) unless ZOA_HEAVY_TESTS=1 and torch is importable.
#                          Run: ZOA_HEAVY_TESTS=1 ctest --test-dir build -L heavy --output-on-failure
if(TARGET zoa_cli)
  if(EXISTS /usr/bin/python3)
    set(_zoa_torch_python /usr/bin/python3)
  else()
    set(_zoa_torch_python ${Python3_EXECUTABLE})
  endif()
  set(_zoa_check ${PROJECT_SOURCE_DIR}/tools/reference/check_vit_predict.py)
  add_test(NAME cli_vit_predict COMMAND ${_zoa_torch_python} ${_zoa_check} --zoa $<TARGET_FILE:zoa_cli> --fixture)
  add_test(NAME vit_fullsize_vs_torch
    COMMAND ${_zoa_torch_python} ${_zoa_check} --zoa $<TARGET_FILE:zoa_cli> --fullsize
            --workdir ${PROJECT_BINARY_DIR}/vit_fullsize)
  set_tests_properties(cli_vit_predict PROPERTIES SKIP_RETURN_CODE 77)
  set_tests_properties(vit_fullsize_vs_torch PROPERTIES LABELS heavy SKIP_RETURN_CODE 77 TIMEOUT 1800)
endif()
