#!/bin/sh
# Proves the target build of libws freestanding: the objects import nothing
# but the four functions GCC may call even with -ffreestanding (memcpy,
# memmove, memset, memcmp) and the crypto hook the board supplies. That also
# excludes floating point (on a Cortex-M3 without FPU every float operation is
# an __aeabi_f*/__aeabi_d* call) and any libc or libgcc helper. The SIMD files
# must compile to nothing. Usage: check_freestanding.sh NM OBJECT...
nm=$1
shift
allowed="memcpy memmove memset memcmp ws_crypto_sha1 ws_crypto_base64_encode ws_crypto_base64_decode"
pass=0 fail=0
defined=$($nm -g --defined-only "$@" | awk 'NF == 3 {print $3}' | sort -u)
imports=$($nm -u "$@" | awk 'NF == 2 {print $2}' | sort -u | while read -r s; do
	printf '%s\n' "$defined" | grep -qx "$s" || echo "$s"
done)
echo "  imports of the target objects: $(echo $imports)"
bad=""
for s in $imports; do
	case " $allowed " in *" $s "*) ;; *) bad="$bad $s" ;; esac
done
if [ -n "$bad" ]; then
	echo "  FAIL: not freestanding:$bad"
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
for o in "$@"; do
	case $o in
	*/simd_x86.o | */simd_neon.o) # the vector kernels; simd_dispatch.o holds the entry points
		if [ -n "$($nm "$o")" ]; then
			echo "  FAIL: $o has code: the target build must not use SIMD"
			fail=$((fail + 1))
		else
			pass=$((pass + 1))
		fi ;;
	esac
done
echo "mcu_freestanding: $pass passed, $fail failed"
[ $fail -eq 0 ]
