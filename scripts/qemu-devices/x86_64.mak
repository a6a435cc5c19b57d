# SPDX-License-Identifier: GPL-2.0-or-later
#
# Device set of the test QEMU.  scripts/build-qemu.sh installs it as
# configs/devices/x86_64-softmmu/vi2c.mak and configures with
# --without-default-devices --with-devices-x86_64=vi2c.  In that mode every
# "default y" is off, boards included, so each device a test uses is listed.

# Boards.  Q35 brings ICH9 LPC/ACPI and the ICH9 SMBus (an i2c-bus with eight
# SPD EEPROMs at 0x50-0x57, i2c-i801 in the guest); I440FX is "-M pc".
CONFIG_Q35=y
CONFIG_I440FX=y
# microvm: virtio-mmio transports, no PCI; virtio-i2c-rust-device there.
CONFIG_MICROVM=y

# virtio over PCI; virtio-rng as a known-good virtio device.
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_RNG=y

# pcie-root-port, for hot-plug tests on q35.
CONFIG_PCIE_PORT=y

# virtio-9p-pci (with configure --enable-virtfs): shares host directories with
# a guest, e.g. the QEMU binary for a nested run.
CONFIG_VIRTIO_9P=y

# User-creatable I2C targets for the tests.
CONFIG_TMP105=y
CONFIG_AT24C=y
CONFIG_DS1338=y
CONFIG_PCA954X=y
CONFIG_I2C_ECHO=y

# This project's devices.  build-qemu.sh appends each line below (without the
# '#') once the patched tree defines the symbol in a Kconfig file:
# CONFIG_VIRTIO_I2C_RUST=y
# CONFIG_HOST_I2CDEV=y

# I2C targets of QEMU's qos-graph device tests (the tests/qtest/*-test.c that
# consume "i2c-bus"), which tests/qtest/run.sh runs on x86_64 through
# virtio-i2c-rust-pci (qemu-patches/<series>/0009).  TMP105 and DS1338 are above.
# ADM1272 and MAX34451 use the PMBus helpers without selecting PMBUS.
CONFIG_PCA9552=y
CONFIG_EMC141X=y
CONFIG_PMBUS=y
CONFIG_ADM1272=y
CONFIG_ADM1266=y
CONFIG_MAX34451=y
CONFIG_ISL_PMBUS_VR=y
CONFIG_LSM303DLHC_MAG=y
CONFIG_RS5C372_RTC=y
