# SPDX-License-Identifier: GPL-2.0-or-later
#
# Added to x86_64.mak for the 10.2 series.  Since QEMU 10.1, hw/acpi/cxl.c
# (built for every x86 ACPI machine) calls cxl_fmws_get_all_sorted(), which
# only the CXL core defines (its stubs do not): without CXL, a build with
# --without-default-devices fails to link.  CXL needs PXB, and the CXL core
# the type-3 memory device.
CONFIG_PXB=y
CONFIG_CXL=y
CONFIG_CXL_MEM_DEVICE=y
