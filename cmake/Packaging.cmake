# Installing neuralart: the files applications need to link libneuralart
# (CMake package config, pkg-config), the documentation, and the Debian
# package that `cpack -G DEB` builds from a build folder. Included last from
# the top CMakeLists.txt, after every install() rule.
include(CMakePackageConfigHelpers)

# find_package(Neuralart) -> Neuralart::core (and Neuralart::media).
set(NEURALART_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Neuralart)
install(EXPORT NeuralartTargets NAMESPACE Neuralart::
  DESTINATION ${NEURALART_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/NeuralartConfig.cmake.in
  ${PROJECT_BINARY_DIR}/NeuralartConfig.cmake
  INSTALL_DESTINATION ${NEURALART_CMAKE_DIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/NeuralartConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/NeuralartConfig.cmake
  ${PROJECT_BINARY_DIR}/NeuralartConfigVersion.cmake
  DESTINATION ${NEURALART_CMAKE_DIR})

# pkg-config: neuralart (core) and neuralart-media. LibTorch has no .pc
# file, so its flags are written out here. The prefix is found from the .pc
# file's own folder, so one file serves /usr (the package) and any prefix.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(NEURALART_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(NEURALART_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  string(REGEX MATCHALL "[^/]+" libdir_parts "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  set(NEURALART_PC_PREFIX "\${pcfiledir}")
  foreach(part IN LISTS libdir_parts)
    string(APPEND NEURALART_PC_PREFIX "/..")
  endforeach()
  set(NEURALART_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(NEURALART_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(NEURALART_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(NEURALART_PC_TORCH_CFLAGS "${TORCH_CXX_FLAGS}")
foreach(dir IN LISTS TORCH_INCLUDE_DIRS)
  string(APPEND NEURALART_PC_TORCH_CFLAGS " -I${dir}")
endforeach()
get_filename_component(torch_libdir "${TORCH_LIBRARY}" DIRECTORY)
# As TorchConfig links them: libtorch's operators register themselves at
# load time, so it must stay linked even when no symbol of it is used.
set(NEURALART_PC_TORCH_LIBS
  "-L${torch_libdir} -Wl,--no-as-needed -ltorch -ltorch_cpu")
if(TARGET torch_cuda)
  string(APPEND NEURALART_PC_TORCH_LIBS " -ltorch_cuda")
endif()
string(APPEND NEURALART_PC_TORCH_LIBS " -Wl,--as-needed -lc10")
if(TARGET c10_cuda)
  string(APPEND NEURALART_PC_TORCH_LIBS " -lc10_cuda")
endif()
string(STRIP "${NEURALART_PC_TORCH_CFLAGS}" NEURALART_PC_TORCH_CFLAGS)
set(NEURALART_PC_FILES neuralart.pc)
if(NEURALART_WITH_MEDIA)
  list(APPEND NEURALART_PC_FILES neuralart-media.pc)
endif()
foreach(pc IN LISTS NEURALART_PC_FILES)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.in
    ${PROJECT_BINARY_DIR}/${pc} @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

# Documentation: README and docs/ keep their relative links.
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB NEURALART_DOC_PAGES ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${NEURALART_DOC_PAGES} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(DIRECTORY docs/images DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(FILES examples/models/README.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/models)

# The Debian package: `cpack -G DEB` in the build folder writes
# neuralart_<version>_<arch>.deb, laid out for /usr whatever prefix the
# build was configured with (the plugin goes to NEURALART_GST_PLUGIN_DIR,
# GStreamer's own folder by default; the elements and the trainer find the
# models under the prefix they are installed in).
set(NEURALART_PACKAGE_MAINTAINER
  "neuralart maintainers <maintainers@users.noreply.r-seed-74dc1d49.example>"
  CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME neuralart)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${NEURALART_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
  "neuralart brings generative adversarial networks and neural style
transfer into GStreamer pipelines, in C++ with LibTorch.

This package holds the GStreamer plugin (elements gansrc, a trained
generator as a video source, and styletransfer, which restyles video frame
by frame with a style model or a TorchScript network), the trainer
neuralart-train, the shipped default models, and libneuralart (static
library, headers, pkg-config and CMake files) for applications.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the ELF files' own libraries when dpkg-shlibdeps (dpkg-dev,
# part of build-essential) is here; otherwise Debian 12's runtime packages.
find_program(NEURALART_DPKG_SHLIBDEPS dpkg-shlibdeps)
mark_as_advanced(NEURALART_DPKG_SHLIBDEPS)
if(NEURALART_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libtorch1.13, libgstreamer1.0-0 (>= 1.18), \
libgstreamer-plugins-base1.0-0 (>= 1.18), libopencv-core406, \
libopencv-imgproc406, libopencv-imgcodecs406, libopencv-video406, \
libboost-program-options1.74.0, libglib2.0-0, zlib1g, libstdc++6, libgcc-s1, \
libc6")
endif()
# Not linked, but what the measured speeds and the documented pipelines use.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-openmp | libopenblas0, \
gstreamer1.0-plugins-base, gstreamer1.0-tools")
# For building against libneuralart (headers include LibTorch's and
# nlohmann-json's).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libtorch-dev, nlohmann-json3-dev, \
zlib1g-dev, libopencv-dev, pkg-config, gstreamer1.0-plugins-good")
# `cpack --config CPackSourceConfig.cmake`: the sources without builds.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/out/")
include(CPack)
