# Compiles through ccache (Debian's `ccache`) when it is installed and SCULPT_CCACHE is ON, so that
# a rebuild, a second build directory or a second clone of the same sources reuses earlier work.
# A launcher given by the user (-DCMAKE_CXX_COMPILER_LAUNCHER=...) wins.
#
# The settings make hits independent of where the clone lives:
#   base_dir = the source tree: absolute paths under it are hashed as relative ones;
#   hash_dir = false: the working directory (only recorded in -g debug info) is not hashed;
#   sloppiness pch_defines,time_macros: required for the precompiled headers to be cacheable.
# The cache itself is ccache's default (~/.cache/ccache, 5 GB; CCACHE_DIR and CCACHE_MAXSIZE move
# and size it); `ccache -s` shows its hit rate.
if(NOT SCULPT_CCACHE OR CMAKE_CXX_COMPILER_LAUNCHER)
  return()
endif()
find_program(SCULPT_CCACHE_PROGRAM ccache)
if(NOT SCULPT_CCACHE_PROGRAM)
  message(STATUS "ccache not found: compiling without a cache (apt-get install ccache)")
  return()
endif()
set(CMAKE_CXX_COMPILER_LAUNCHER
    ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=1
    CCACHE_SLOPPINESS=pch_defines,time_macros ${SCULPT_CCACHE_PROGRAM})
message(STATUS "compiling through ${SCULPT_CCACHE_PROGRAM}")
