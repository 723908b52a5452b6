# Cross-building for 64-bit Windows with Debian's mingw-w64 (gcc-mingw-w64,
# libz-mingw-w64-dev for zlib):
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
#         -DWS_CRYPTO_HOOK=ON -DWS_CRYPTO_SOURCES=path/to/crypto.c -DWS_CRYPTO_LIBS=bcrypt
# (Debian has no mingw build of mbedTLS: SHA-1 and base64 come through the
# crypto hook, include/ws/crypto.h.)
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
