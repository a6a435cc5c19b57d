# SPDX-License-Identifier: GPL-2.0-or-later
#
# Added to aarch64.mak for the 10.2 series, for the reason of
# x86_64-10.2.mak: Arm's virt machine selects ACPI_CXL, whose
# hw/acpi/cxl.c calls cxl_fmws_get_all_sorted(), which only the CXL core
# defines; without CXL, a build with --without-default-devices fails to
# link.  CXL needs PXB, and the CXL core the type-3 memory device.
CONFIG_PXB=y
CONFIG_CXL=y
CONFIG_CXL_MEM_DEVICE=y
# Since 10.1 the aspeed boards have a PCIe host whose root port
# (aspeed.pcie-root-port) derives from pcie-root-port-base, which only
# PCIE_PORT builds; without it "-device help" aborts.
CONFIG_PCIE_PORT=y
# 10.0's ASPEED_SOC selects these, 10.2's no longer does, but its boards
# still create them (the AST2600's EHCI and SD controllers, its OR gates).
CONFIG_USB_EHCI_SYSBUS=y
CONFIG_SDHCI=y
CONFIG_OR_IRQ=y
