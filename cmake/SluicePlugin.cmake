# SluicePlugin.cmake - sluice_add_plugin: one line builds a stage plugin
# against an installed sluice (loaded by SluiceConfig.cmake).
#
#   sluice_add_plugin(NAME SOURCES src... [LIBS lib...] [INSTALL])
#
# Builds the MODULE library NAME.so (no "lib" prefix: the loader looks for
# stage NAME in the file NAME.so) in the current binary directory, as C11 with
# hidden visibility, so the plugin exports only what SL_STAGE_EXPORT marks
# (sl_stage_entry). It links Sluice::sluice and LIBS privately. Point
# SLUICE_STAGE_PATH at the build directory to run it; INSTALL also installs it
# to <prefix>/<libdir>/sluice/stages of the project being built. The in-tree
# stages use sluice_add_stage (cmake/SluiceStage.cmake) instead.
function(sluice_add_plugin name)
  cmake_parse_arguments(ARG "INSTALL" "" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "sluice_add_plugin(${name}): no SOURCES given")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "sluice_add_plugin(${name}): unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name} SUFFIX ".so"
    C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
    C_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${name} PRIVATE Sluice::sluice ${ARG_LIBS})
  if(ARG_INSTALL)
    include(GNUInstallDirs)
    install(TARGETS ${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/sluice/stages)
  endif()
endfunction()
