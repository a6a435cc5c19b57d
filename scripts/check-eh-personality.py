#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check that every CIE of an ELF binary's .eh_frame with a personality
routine ("zP..." augmentation) points, through its DW.ref.* slot, at a
function symbol whose name ends in "_personality" or "_personality_v0".

Two copies of Rust's std in one binary (QEMU's --enable-rust beside this
library's archive) each bring a COMDAT group DW.ref.rust_eh_personality;
when the linker keeps one group and drops the other, the dropped side's
CIEs point into .eh_frame itself and the first panic there crashes in the
unwinder (scripts/build-staticlib.sh renames our groups to prevent it).

usage: scripts/check-eh-personality.py BINARY
Prints one line per CIE with a personality; exit status 1 if one is bad.
Needs readelf and nm (binutils); x86_64/aarch64 ELF, little-endian.
"""
import struct
import subprocess
import sys


def sections(path):
    out = subprocess.run(['readelf', '-SW', path], capture_output=True,
                         text=True, check=True, env={'LC_ALL': 'C'}).stdout
    secs = {}
    for line in out.splitlines():
        p = line.replace('[ ', '[').split()
        if len(p) > 5 and p[0].startswith('[') and p[0] != '[Nr]':
            secs[p[1]] = (int(p[3], 16), int(p[4], 16), int(p[5], 16))
    return secs


def symbols(path):
    out = subprocess.run(['nm', path], capture_output=True, text=True,
                         check=True, env={'LC_ALL': 'C'}).stdout
    syms = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3:
            syms.setdefault(int(p[0], 16), []).append((p[1], p[2]))
    return syms


def uleb(data, p):
    r = s = 0
    while True:
        b = data[p]
        p += 1
        r |= (b & 0x7f) << s
        s += 7
        if b < 0x80:
            return r, p


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    data = open(path, 'rb').read()
    secs = sections(path)
    syms = symbols(path)
    eh_addr, eh_off, eh_size = secs['.eh_frame']

    def v2o(a):
        for n, (sa, so, ss) in secs.items():
            if sa and sa <= a < sa + ss:
                return a - sa + so, n
        return None, None

    bad = 0
    pos = 0
    while pos < eh_size:
        length, = struct.unpack_from('<I', data, eh_off + pos)
        if length == 0:
            break
        if length == 0xffffffff:
            sys.exit('64-bit DWARF .eh_frame is not handled')
        cie_id, = struct.unpack_from('<I', data, eh_off + pos + 4)
        if cie_id == 0:
            aug_start = eh_off + pos + 9
            aug = data[aug_start:data.index(b'\0', aug_start)].decode()
            if aug.startswith('z') and 'P' in aug:
                p = aug_start + len(aug) + 1
                _, p = uleb(data, p)           # code alignment
                _, p = uleb(data, p)           # data alignment (sleb: size only)
                _, p = uleb(data, p)           # return address register
                _, p = uleb(data, p)           # augmentation data length
                for c in aug[1:]:
                    if c == 'P':
                        break
                    p += 1                     # 'L' and 'R' take one byte each
                enc = data[p]
                p += 1
                if enc != 0x9b:                # indirect | pcrel | sdata4
                    sys.exit(f'CIE at .eh_frame+{pos:#x}: personality encoding {enc:#x} not handled')
                rel, = struct.unpack_from('<i', data, p)
                slot = eh_addr + (p - eh_off) + rel
                so, sname = v2o(slot)
                target = struct.unpack_from('<Q', data, so)[0] if so is not None else 0
                names = [n for _, n in syms.get(slot, [])]
                funcs = [n for t, n in syms.get(target, []) if t in 'Tt' and
                         (n.endswith('_personality') or n.endswith('_personality_v0'))]
                ok = bool(funcs)
                bad += not ok
                print(f"{'ok ' if ok else 'BAD'} CIE at .eh_frame+{pos:#x}: slot {slot:#x} "
                      f"({sname}, {' '.join(names) or '?'}) -> {target:#x} "
                      f"{' '.join(funcs) or 'not a personality routine'}")
        pos += length + 4
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
