"""The devices cgroup of cgroup v2 is a BPF program (BPF_PROG_TYPE_CGROUP_DEVICE) the kernel runs
for each open or mknod of a device node: it returns 1 to allow, 0 to refuse. This builds that
program from allow rules in the v1 syntax ("c 1:3 rwm", "b *:* m"), as runc's devicefilter does:
default refuse, the first matching rule allows. Pure: bytes out (kernel/bpf.py loads them).

The program reads struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }, where
access_type is (access << 16) | type.
"""

from __future__ import annotations

import struct

DEV_BLOCK, DEV_CHAR = 1, 2                # BPF_DEVCG_DEV_*
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4  # BPF_DEVCG_ACC_*
_ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}

# eBPF opcodes used (class | operation | source)
_LDX_W = 0x61      # BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
_AND_K = 0x57      # BPF_ALU64 | BPF_AND | BPF_K
_RSH_K = 0x77      # BPF_ALU64 | BPF_RSH | BPF_K
_MOV_K = 0xB7      # BPF_ALU64 | BPF_MOV | BPF_K
_MOV_X = 0xBF      # BPF_ALU64 | BPF_MOV | BPF_X
_JNE_K = 0x55      # BPF_JMP | BPF_JNE | BPF_K: if dst != imm, pc += off
_EXIT = 0x95       # BPF_JMP | BPF_EXIT: return r0


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, dst | src << 4, off, imm)


def _rule_block(rule: str) -> list[tuple]:
    """One allow rule as instructions; a jump to the end of the block is (code, dst, src, "next", imm)."""
    kind, numbers, access = rule.split()
    major, _, minor = numbers.partition(":")
    block: list[tuple] = []
    if kind != "a":
        block.append((_JNE_K, 2, 0, "next", DEV_BLOCK if kind == "b" else DEV_CHAR))
    wanted = sum(_ACCESS[a] for a in set(access))
    if wanted != ACC_MKNOD | ACC_READ | ACC_WRITE:  # any access asked outside the rule's: not this rule
        block += [(_MOV_X, 1, 3, 0, 0), (_AND_K, 1, 0, 0, ~wanted & 7), (_JNE_K, 1, 0, "next", 0)]
    if major != "*":
        block.append((_JNE_K, 4, 0, "next", int(major)))
    if minor != "*":
        block.append((_JNE_K, 5, 0, "next", int(minor)))
    return block + [(_MOV_K, 0, 0, 0, 1), (_EXIT, 0, 0, 0, 0)]


def program(rules: list[str]) -> bytes:
    """The instructions: load type, access, major, minor into r2..r5, then each rule's block, then
    refuse."""
    out = [_insn(_LDX_W, 2, 1, 0), _insn(_AND_K, 2, imm=0xFFFF), _insn(_LDX_W, 3, 1, 0), _insn(_RSH_K, 3, imm=16),
           _insn(_LDX_W, 4, 1, 4), _insn(_LDX_W, 5, 1, 8)]
    for rule in rules:
        block = _rule_block(rule)
        for index, (code, dst, src, off, imm) in enumerate(block):
            out.append(_insn(code, dst, src, len(block) - index - 1 if off == "next" else off, imm))
    out += [_insn(_MOV_K, 0, imm=0), _insn(_EXIT)]
    return b"".join(out)
