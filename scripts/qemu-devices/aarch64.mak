# SPDX-License-Identifier: GPL-2.0-or-later
#
# Device set of the test qemu-system-aarch64.  scripts/build-qemu.sh installs
# it as configs/devices/aarch64-softmmu/vi2c.mak and configures with
# --without-default-devices --with-devices-aarch64=vi2c (beside x86_64.mak,
# in the same build directory).  In that mode every "default y" and every
# "imply" is off, boards included, so each device a test uses is listed.

# Boards.  Arm's virt machine (-M virt): PCIe (generic host bridge), its
# virtio-mmio transports (virtio-i2c-rust-device there), PL011 UART
# (ttyAMA0).  The arm64 guest cases (tests/guest/cases/90-*) run on it.
CONFIG_ARM_VIRT=y
CONFIG_VIRTIO_MMIO=y
CONFIG_VIRTIO_PCI=y
# The aspeed BMC boards (rainier-bmc, ast2600-evb, ast2700-evb, ...): their
# I2C controller is what QEMU's own tpm-tis-i2c-test drives, through
# hw/i2c/core.c (which the series patches) to a TPM on an I2C bus.
CONFIG_ASPEED_SOC=y
# The AST2600's Cortex-A7 MPCore (the boards select it, ASPEED_SOC does not).
CONFIG_A15MPCORE=y
CONFIG_TPM_TIS_I2C=y
# The TPM backend the qtest uses (-tpmdev emulator): "default y", so off in
# this mode.
CONFIG_TPM_EMULATOR=y
# Raspberry Pi boards: bcm2835-i2c-test drives the BCM2835 I2C controller.
CONFIG_RASPI=y

# User-creatable I2C targets for the tests (as in x86_64.mak).
CONFIG_TMP105=y
CONFIG_AT24C=y
CONFIG_DS1338=y
CONFIG_PCA954X=y
CONFIG_I2C_ECHO=y

# This project's devices.  build-qemu.sh appends each line below (without the
# '#') once the patched tree defines the symbol in a Kconfig file:
# CONFIG_VIRTIO_I2C_RUST=y
# CONFIG_HOST_I2CDEV=y

# I2C targets of QEMU's qos-graph device tests, which tests/qtest/run.sh
# also runs on aarch64/virt through virtio-i2c-rust-pci behind the generic
# PCIe host (as x86_64.mak, which explains the list).
CONFIG_PCA9552=y
CONFIG_EMC141X=y
CONFIG_PMBUS=y
CONFIG_ADM1272=y
CONFIG_ADM1266=y
CONFIG_MAX34451=y
CONFIG_ISL_PMBUS_VR=y
CONFIG_LSM303DLHC_MAG=y
CONFIG_RS5C372_RTC=y
