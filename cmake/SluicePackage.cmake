# SluicePackage.cmake - installs what an out-of-tree stage needs to build:
# the CMake package (find_package(Sluice): exported targets, config, version
# and the sluice_add_plugin helper) under <libdir>/cmake/Sluice, and sluice.pc
# under <libdir>/pkgconfig. Both are relocatable: they find the prefix from
# their own place, so `cmake --install build --prefix DIR` works for any DIR.
# Included by the top-level CMakeLists.txt once the library targets exist.
include(CMakePackageConfigHelpers)

set(SLUICE_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Sluice)
set(SLUICE_PLUGIN_RELDIR ${CMAKE_INSTALL_LIBDIR}/sluice/stages)

# The ABI number for the package variables, read from its one definition.
file(STRINGS ${PROJECT_SOURCE_DIR}/lib/include/sluice/version.h _sl_abi_line
  REGEX "^#define SL_STAGE_ABI ")
string(REGEX REPLACE "^#define SL_STAGE_ABI ([0-9]+).*" "\\1" SLUICE_STAGE_ABI "${_sl_abi_line}")

install(EXPORT SluiceTargets NAMESPACE Sluice:: DESTINATION ${SLUICE_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/SluiceConfig.cmake.in
  ${PROJECT_BINARY_DIR}/SluiceConfig.cmake
  INSTALL_DESTINATION ${SLUICE_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR SLUICE_PLUGIN_RELDIR)
# Before 1.0 a minor release may change the API, hence SameMinorVersion.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/SluiceConfig.cmake ${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/SluicePlugin.cmake
  DESTINATION ${SLUICE_CMAKE_INSTALL_DIR})

file(RELATIVE_PATH SLUICE_PC_PREFIX_FROM_PCDIR
  ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" SLUICE_PC_PREFIX_FROM_PCDIR "${SLUICE_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/sluice.pc.in ${PROJECT_BINARY_DIR}/sluice.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sluice.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
