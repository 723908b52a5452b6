# What libws links, found the same way by its own build (CMakeLists.txt) and
# by find_package(libws CONFIG) (libwsConfig.cmake, with the options it was
# built with): zlib with LIBWS_DEFLATE, mbedTLS's libmbedcrypto unless
# LIBWS_CRYPTO_HOOK. Debian's mbedTLS ships no CMake package, so
# libws::mbedcrypto is made from the header and library found by name.
include(CMakeFindDependencyMacro)
if(LIBWS_DEFLATE)
	find_dependency(ZLIB)
endif()
if(NOT LIBWS_CRYPTO_HOOK AND NOT TARGET libws::mbedcrypto)
	find_path(LIBWS_MBEDTLS_INCLUDE_DIR mbedtls/sha1.h)
	find_library(LIBWS_MBEDCRYPTO_LIBRARY mbedcrypto)
	if(NOT LIBWS_MBEDTLS_INCLUDE_DIR OR NOT LIBWS_MBEDCRYPTO_LIBRARY)
		set(libws_FOUND FALSE)
		set(libws_NOT_FOUND_MESSAGE "mbedTLS's libmbedcrypto not found (Debian: libmbedtls-dev)")
		return()
	endif()
	add_library(libws::mbedcrypto UNKNOWN IMPORTED)
	set_target_properties(libws::mbedcrypto PROPERTIES IMPORTED_LOCATION ${LIBWS_MBEDCRYPTO_LIBRARY}
		INTERFACE_INCLUDE_DIRECTORIES ${LIBWS_MBEDTLS_INCLUDE_DIR})
endif()
