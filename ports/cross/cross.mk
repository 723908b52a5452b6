# make cross (issue 24): the library and its unit tests cross-built and run
# where no machine of the kind is at hand: s390x (big-endian, 64-bit), i686
# (32-bit x86), armhf (32-bit ARM) and aarch64 (NEON kernels) under
# qemu-user, Windows x86-64 (mingw-w64) under Wine; and an endian bug put in
# on purpose, which the s390x run must catch. ports/cross/cross.sh says how
# each is built; each program prints "target/name: N passed, M failed".
# Included by the main Makefile; part of make check.

CROSS_B := $(BUILD)/cross
CROSS_ENV := WARN="$(WARN)" HOSTCC="$(CC)" CROSS_WINEPREFIX="$(abspath $(BUILD)/wineprefix)"

.PHONY: cross cross-s390x cross-i686 cross-armhf cross-aarch64 cross-windows cross-endian-mutant

# Two lanes side by side, each in its own build directory; one closing line,
# "N passed, M failed", and a failure if M is not 0.
cross:
	@mkdir -p $(CROSS_B)
	@sh test/steps.sh -p "$(MAKE)" $(CROSS_B)/steps cross-s390x,cross-armhf,cross-endian-mutant \
	  cross-windows,cross-aarch64,cross-i686 | tee $(CROSS_B)/cross.log
	@sh test/summary.sh $(CROSS_B)/cross.log

cross-s390x cross-i686 cross-armhf cross-aarch64 cross-windows:
	@$(CROSS_ENV) sh ports/cross/cross.sh $(@:cross-%=%) "$(MAKE)" $(CROSS_B)

cross-endian-mutant:
	@$(CROSS_ENV) sh ports/cross/endian_mutant.sh "$(MAKE)" $(CROSS_B)/mutant

CHECK_EMU_STEPS += cross
