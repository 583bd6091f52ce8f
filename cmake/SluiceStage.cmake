# sluice_add_stage(NAME SOURCES src... [KERNEL ksrc...] [LIBS lib...])
#
# Builds stage plugin NAME as NAME.so in the build tree's stages/ directory
# (where `sluice` finds it) and installs it next to the other plugins. KERNEL
# sources also become the static library sl_kernel_NAME, which the plugin and
# the unit tests (tests/unit/test_stage_NAME.c) link.
function(sluice_add_stage name)
  cmake_parse_arguments(ARG "" "" "SOURCES;KERNEL;LIBS;INCLUDES" ${ARGN})
  if(ARG_KERNEL)
    add_library(sl_kernel_${name} STATIC ${ARG_KERNEL})
    target_include_directories(sl_kernel_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${ARG_INCLUDES})
    target_link_libraries(sl_kernel_${name} PUBLIC sluice ${ARG_LIBS})
  endif()
  add_library(stage_${name} MODULE ${ARG_SOURCES})
  set_target_properties(stage_${name} PROPERTIES
    OUTPUT_NAME ${name} PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${SLUICE_STAGE_BUILD_DIR})
  target_include_directories(stage_${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${ARG_INCLUDES})
  target_link_libraries(stage_${name} PRIVATE sluice ${ARG_LIBS})
  if(ARG_KERNEL)
    target_link_libraries(stage_${name} PRIVATE sl_kernel_${name})
  endif()
  install(TARGETS stage_${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/sluice/stages)
endfunction()
