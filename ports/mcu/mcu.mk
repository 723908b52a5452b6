# The core on a microcontroller (issue 14): libws for a Cortex-M3, built
# freestanding, its socket-free unit tests and a bare-metal example run under
# QEMU (Arm MPS2 AN385 board), and its size. Included by the main Makefile.
#
#   make mcu        libws for the target, the proof that it needs nothing but
#                   memcpy/memmove/memset/memcmp, the size table, and the
#                   check of the size goal (a server under 12 KiB)
#   make mcu-test   test_frame, test_conformance, test_utf8, test_handshake and
#                   ports/mcu/baremetal_echo.c on the emulated board (two to
#                   three minutes, most of it test_utf8's exhaustive runs of both
#                   DFA forms), and the stand-in crypto against mbedTLS
#
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm
# (scripts/deps.sh installs them). Choices: no zlib (WS_DEFLATE=0), no
# floating point (-mfloat-abi=soft on a core without an FPU: any float would
# show as an __aeabi_f*/d* import), no SIMD (simd_x86.c, simd_neon.c compile to
# nothing off x86-64/AArch64, so the scalar and 32-bit-word paths run),
# SHA-1 and base64 through the crypto hook (include/ws/crypto.h).

MCU_CC ?= arm-none-eabi-gcc
MCU_AR ?= arm-none-eabi-ar
MCU_NM ?= arm-none-eabi-nm
MCU_SIZE ?= arm-none-eabi-size
MCU_LD ?= arm-none-eabi-ld
MCU_QEMU ?= qemu-system-arm
MCU_OPT ?= -Os
MCU_B := $(BUILD)/mcu
MCU_ARCH := -mcpu=cortex-m3 -mthumb -mfloat-abi=soft
MCU_CFLAGS := -std=c99 $(MCU_OPT) -g $(WARN) $(MCU_ARCH) -ffunction-sections -fdata-sections \
              -Iinclude -DWS_DEFLATE=0
# The library itself: freestanding, SHA-1/base64 from the hook.
MCU_LIB_CFLAGS := $(MCU_CFLAGS) -ffreestanding -DWS_FREESTANDING=1 -DWS_CRYPTO_HOOK=1
MCU_LIB_OBJ := $(LIB_SRC:libws/%.c=$(MCU_B)/obj/%.o)
# Tests and examples are hosted programs on newlib, with output and exit
# through semihosting (librdimon) and our own startup code.
MCU_LDFLAGS := $(MCU_ARCH) -nostartfiles -Tports/mcu/mps2_an385.ld -Wl,--gc-sections --specs=rdimon.specs
MCU_TESTS := test_frame test_conformance test_utf8 test_handshake
MCU_PROGS := $(MCU_TESTS) baremetal_echo
MCU_HDRS := $(wildcard libws/*.h) $(wildcard include/ws/*.h) ports/mcu/mcu.mk

.PHONY: mcu mcu-lib mcu-test

mcu: $(MCU_B)/libws.a
	@sh ports/mcu/check_freestanding.sh "$(MCU_NM)" $(MCU_LIB_OBJ)
	@sh ports/mcu/size.sh "$(MCU_LD)" "$(MCU_SIZE)" "$(MCU_NM)" $(MCU_B)/libws.a $(MCU_B)/size
	@$(CC) -std=c99 -Iinclude $(WARN) -Wno-unused-local-typedefs -S -o $(MCU_B)/sizeof_host.s ports/mcu/sizeof.c
	@$(MCU_CC) $(MCU_ARCH) -std=c99 -Iinclude $(WARN) -Wno-unused-local-typedefs -S -o $(MCU_B)/sizeof.s ports/mcu/sizeof.c
	@echo "sizeof(ws_conn): $$(awk 'f {print $$NF; exit} /^ws_conn_size:/ {f=1}' $(MCU_B)/sizeof.s) bytes on Cortex-M3," \
	  "$$(awk 'f {print $$NF; exit} /^ws_conn_size:/ {f=1}' $(MCU_B)/sizeof_host.s) on this host"

mcu-lib: $(MCU_B)/libws.a

$(MCU_B)/obj/%.o: libws/%.c $(MCU_HDRS)
	@mkdir -p $(@D)
	$(MCU_CC) $(MCU_LIB_CFLAGS) -c $< -o $@

$(MCU_B)/libws.a: $(MCU_LIB_OBJ)
	@rm -f $@
	$(MCU_AR) rcs $@ $^

$(MCU_B)/crypto_standin.o: ports/mcu/crypto_standin.c include/ws/crypto.h
	@mkdir -p $(@D)
	$(MCU_CC) $(MCU_CFLAGS) -c $< -o $@

$(MCU_B)/printf_c99.o: ports/mcu/printf_c99.c
	@mkdir -p $(@D)
	$(MCU_CC) $(MCU_CFLAGS) -c $< -o $@

$(MCU_B)/harness.o: test/harness.c test/harness.h test/contract.h $(MCU_HDRS)
	@mkdir -p $(@D)
	$(MCU_CC) $(MCU_CFLAGS) -Ilibws -c $< -o $@

# The contract checker, without page placement on the target (no MMU).
$(MCU_B)/contract.o: test/contract.c test/contract.h $(MCU_HDRS)
	@mkdir -p $(@D)
	$(MCU_CC) $(MCU_CFLAGS) -Ilibws -c $< -o $@

# One startup object per program: it passes the name as argv[0], which the
# tests print in their summary line.
$(MCU_B)/startup_%.o: ports/mcu/startup.c
	@mkdir -p $(@D)
	$(MCU_CC) $(MCU_CFLAGS) -DMCU_PROG='"$*"' -c $< -o $@

.SECONDARY: $(MCU_PROGS:%=$(MCU_B)/startup_%.o) $(MCU_PROGS:%=$(MCU_B)/%.elf)

$(MCU_B)/test_%.elf: test/test_%.c $(MCU_B)/startup_test_%.o $(MCU_B)/harness.o $(MCU_B)/contract.o \
                     $(MCU_B)/printf_c99.o $(MCU_B)/crypto_standin.o $(MCU_B)/libws.a ports/mcu/mps2_an385.ld \
                     test/harness.h
	$(MCU_CC) $(MCU_CFLAGS) -Ilibws $(MCU_LDFLAGS) -o $@ $< $(MCU_B)/startup_test_$*.o \
	  $(MCU_B)/harness.o $(MCU_B)/contract.o $(MCU_B)/printf_c99.o $(MCU_B)/crypto_standin.o \
	  $(MCU_B)/libws.a

$(MCU_B)/baremetal_echo.elf: ports/mcu/baremetal_echo.c $(MCU_B)/startup_baremetal_echo.o \
                             $(MCU_B)/printf_c99.o $(MCU_B)/crypto_standin.o $(MCU_B)/libws.a \
                             ports/mcu/mps2_an385.ld
	$(MCU_CC) $(MCU_CFLAGS) $(MCU_LDFLAGS) -o $@ $< $(MCU_B)/startup_baremetal_echo.o \
	  $(MCU_B)/printf_c99.o $(MCU_B)/crypto_standin.o $(MCU_B)/libws.a

# A wrapper per program runs it on the emulated board, so test/run.sh
# prints each one's "name: N passed, M failed" line as for the host tests.
$(MCU_B)/run/%: $(MCU_B)/%.elf ports/mcu/qemu.sh
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec sh ports/mcu/qemu.sh "%s" "%s"\n' "$(MCU_QEMU)" $< > $@
	@chmod +x $@

# The stand-in crypto checked against mbedTLS, on the host.
$(MCU_B)/check_standin: ports/mcu/check_standin.c ports/mcu/crypto_standin.c include/ws/crypto.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ ports/mcu/check_standin.c ports/mcu/crypto_standin.c -lmbedcrypto

mcu-test: $(MCU_B)/check_standin $(MCU_PROGS:%=$(MCU_B)/run/%)
	@sh test/run.sh $^

CHECK_EMU_STEPS += mcu mcu-test
