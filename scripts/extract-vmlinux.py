#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Extract the uncompressed kernel from an x86 bzImage or an arm64 vmlinuz.

Usage: extract-vmlinux.py BZIMAGE OUT
       extract-vmlinux.py --arm64 VMLINUZ OUT

x86: QEMU boots an ELF vmlinux through its PVH entry point, which skips the
kernel's self-decompression (the slowest part of a boot under TCG).  The
payload is located with the boot protocol header (payload_offset/length),
its format is found by magic, and the result must be an ELF file with the
Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY).

arm64: QEMU's -kernel wants the raw Image (the arm64 boot header, magic
"ARM\x64" at 0x38).  A vmlinuz is that Image as it is (Debian's 6.12
packages: OUT is a copy), gzip'd (Image.gz), or an EFI zboot image ("zimg"
at offset 4: payload offset, size and compression in its header), whose
payload is gzip or zstd.

Exits non-zero when the result is not what QEMU needs.
"""

import lzma
import os
import struct
import subprocess
import sys
import zlib

XEN_ELFNOTE_PHYS32_ENTRY = 18


def fail(msg):
    sys.exit(f"extract-vmlinux: {msg}")


def payload(image):
    # struct setup_header starts at 0x1f1; "HdrS" at 0x202.
    if image[0x202:0x206] != b"HdrS":
        fail("not a bzImage (no HdrS signature)")
    setup_sects = image[0x1F1] or 4
    version = struct.unpack_from("<H", image, 0x206)[0]
    if version < 0x208:
        fail(f"boot protocol {version:#x} has no payload fields")
    off, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sects + 1) * 512 + off
    data = image[start:start + length]
    if len(data) != length:
        fail("payload runs past the end of the file")
    # The build appends the uncompressed size (le32) to the compressed data.
    size = struct.unpack_from("<I", data, len(data) - 4)[0]
    return data, size


def decompress(data):
    if data.startswith(b"\xfd7zXZ\x00"):
        d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        return "xz", d.decompress(data)
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        out = subprocess.run(["zstd", "-dcq"], input=data[:-4],
                             stdout=subprocess.PIPE, check=True).stdout
        return "zstd", out
    if data.startswith(b"\x1f\x8b"):
        return "gzip", zlib.decompressobj(wbits=31).decompress(data)
    if data.startswith(b"\x5d\x00\x00"):
        d = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
        return "lzma", d.decompress(data)
    fail(f"unknown payload compression (magic {data[:6].hex()})")


def has_pvh_note(elf):
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        fail("payload is not a little-endian ELF64 file")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            pos += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)
    return False


ARM64_MAGIC = b"ARM\x64"


def is_arm64_image(data):
    return len(data) >= 64 and data[0x38:0x3C] == ARM64_MAGIC


def arm64_image(vmlinuz):
    """The raw arm64 Image in VMLINUZ, and how it was stored."""
    if is_arm64_image(vmlinuz):
        return "raw", vmlinuz
    if vmlinuz[:2] == b"MZ" and vmlinuz[4:8] == b"zimg":
        off, size = struct.unpack_from("<II", vmlinuz, 8)
        ctype = vmlinuz[24:32].rstrip(b"\0").decode("ascii", "replace")
        data = vmlinuz[off:off + size]
        if len(data) != size:
            fail("zboot payload runs past the end of the file")
        if data.startswith(b"\x28\xb5\x2f\xfd"):
            # The payload may or may not end with the le32 size of the
            # uncompressed Image: zstd accepts the frame alone.
            res = subprocess.run(["zstd", "-dcq"], input=data,
                                 stdout=subprocess.PIPE, check=False)
            if res.returncode != 0:
                res = subprocess.run(["zstd", "-dcq"], input=data[:-4],
                                     stdout=subprocess.PIPE, check=True)
            kind, image = "zstd", res.stdout
        else:
            kind, image = decompress(data)
        return f"EFI zboot ({ctype}, {kind})", image
    if vmlinuz.startswith(b"\x1f\x8b"):
        return "gzip", zlib.decompressobj(wbits=31).decompress(vmlinuz)
    fail(f"not an arm64 Image, Image.gz or EFI zboot image (magic {vmlinuz[:8].hex()})")


def main_arm64(src, out):
    with open(src, "rb") as f:
        vmlinuz = f.read()
    kind, image = arm64_image(vmlinuz)
    if not is_arm64_image(image):
        fail(f"{kind} payload is not an arm64 Image (no ARM\\x64 magic at 0x38)")
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(image)
    os.replace(tmp, out)
    print(f"{out}: {len(image)} bytes, arm64 Image ({kind} in {os.path.basename(src)})")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--arm64":
        main_arm64(*sys.argv[2:])
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1:]
    with open(src, "rb") as f:
        image = f.read()
    data, size = payload(image)
    kind, elf = decompress(data)
    if len(elf) != size:
        fail(f"{kind} payload gave {len(elf)} bytes, header says {size}")
    if not has_pvh_note(elf):
        fail("vmlinux has no PVH entry note (kernel built without CONFIG_PVH)")
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(elf)
    os.replace(tmp, out)
    print(f"{out}: {len(elf)} bytes ({kind} payload), PVH entry note present")


if __name__ == "__main__":
    main()
