#!/bin/sh
# Runs a target program on QEMU's model of the Arm MPS2 AN385 board
# (Cortex-M3): no display, no serial; stdout, stderr and the exit status come
# through semihosting. Bounded in time, so a program that hangs fails.
qemu=$1 elf=$2
exec timeout 900 "$qemu" -M mps2-an385 -display none -monitor none -serial null \
	-semihosting-config enable=on,target=native -kernel "$elf"
