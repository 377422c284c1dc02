# Writes the record corpus's patch entries (fuzz/corpus/record) at the offsets of the base record's fields.
# Usage: python3 fuzz/make_record_corpus.py fuzz/base/FIRST.ipcrec fuzz/corpus/record
# The struct offsets below are include/ipcprof/record.h's at layout version 6 (offsetof of each field);
# the crash-* entries are the fuzzer's own finds and are not written here.
import os
import struct
import sys

base = open(sys.argv[1], 'rb').read()
out = sys.argv[2]
os.makedirs(out, exist_ok=True)


def u32(o):
    return struct.unpack_from('<I', base, o)[0]


def u64(o):
    return struct.unpack_from('<Q', base, o)[0]


PROC = 88    # struct ipcprof_process
PROF = 4744  # struct ipcprof_profile
REC = u32(12)                # record_size: the timeline follows
CHO = u64(32)                # channels_offset (the pipe is entry 0)
CAP = u32(40)                # channels_cap
AREA = u64(PROF + 16)        # prof.area_offset
PYC = base.find(struct.pack('<I', 0x31435950), AREA)
STK = base.find(struct.pack('<I', 0x314b5453), AREA)
assert PYC == AREA


def p(off, b):
    """One patch of the record harness's mode 1: offset, length, bytes."""
    return struct.pack('<IB', off, len(b)) + b


def rec(name, *patches, cut=0):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(b'\x01' + struct.pack('<I', cut) + b''.join(patches))


def q(v):
    return struct.pack('<Q', v)


def l(v):
    return struct.pack('<I', v)


A = b'A' * 255
# header and process
rec('argv-unterminated', p(PROC + 24, l(4096)), *[p(PROC + 496 + k * 255, A) for k in range(16)], p(PROC + 496 + 16 * 255, b'A' * 16))
rec('channels-used-beyond', p(48, l(100000)))
rec('channels-used-max', p(48, l(CAP)))
rec('cut-in-tables', cut=REC // 2)
rec('cut-timeline', cut=REC + 76)
rec('end-before-start', p(PROC + 40, q(0x4000000000000000)), p(PROC + 56, q(5)))
rec('exe-unterminated-utf8', p(PROC + 136, b'\xff\xfe\xc3' * 85), p(PROC + 136 + 255, b'\xe2'))
rec('file-size-wrong', p(24, q(1)))
rec('intact')
rec('intervals-used-huge', p(60, l(0xffffffff)))
rec('mappings-modules-max', p(52, l(50)), p(56, l(9999)))
rec('seq-huge', p(PROC + 16, l(2000000)))
# a file size that would fit no timeline: the channel table is then where it should not be
rec('timeline-cap-zero', p(20, l(0)), p(24, q(u64(24) - (CHO - ((REC + 4095) & ~4095)))))
rec('version-other', p(8, l(99)))
# channel table (the pipe is entry 0)
rec('channel-kind-bad', p(CHO, l(77)))
rec('channel-name-html', p(CHO + 88, b'<script>alert(1)</script>"\\\x01\x1b[31m' + b'x' * 60))
rec('v6-channels-offset-huge', p(32, q(0xffffffffffff0000)))
rec('v6-channels-offset-zero', p(32, q(0)))
rec('v6-channels-offset-overlap', p(32, q(4096)))
rec('v6-channels-offset-unaligned', p(32, q(CHO + 8)))
rec('v6-channels-offset-in-area', p(32, q(AREA)))
rec('v6-channels-cap-huge', p(40, l(0xffffffff)))
rec('v6-channels-cap-zero', p(40, l(0)))
rec('v6-channels-cap-over-max', p(40, l((1 << 21) + 1)))
rec('v6-channel-size-zero', p(44, l(0)))
rec('v6-channel-size-huge', p(44, l(0xffffffff)))
rec('v6-channel-size-small', p(44, l(8)))
rec('v6-channel-size-larger', p(44, l(2048)))
rec('v6-cut-in-channels', cut=CHO + 1000)
rec('v6-interval-channel-huge', p(REC + 32, l(0xffffffff)))
rec('v6-interval-channel-unused', p(REC + 32, l(CAP - 1)))
rec('v6-interval-channel-cap', p(REC + 32, l(CAP)))
rec('v6-conn-pid-garbage', p(CHO + 204, l(0xffffffff)), p(CHO + 208, l(0x80000000)), p(CHO + 216, q(0xffffffffffffffff)))
rec('v6-conn-flags-garbage', p(CHO + 4, l(0x60)), p(CHO + 204, l(0x7fffffff)), p(CHO + 208, l(1)), p(CHO + 216, q(1)))
# CPU profile header and sample area
rec('v2-area-cap-odd', p(PROF + 24, q(0xffff)))
rec('v2-area-offset-wrong', p(PROF + 16, q(4096)))
rec('v2-area-used-huge', p(PROF + 32, q(0xffffffffffffffff)))
rec('v2-cut-in-area', cut=AREA + 100)
rec('v2-period-zero', p(PROF + 8, q(0)))
rec('v2-state-bad', p(PROF + 4, l(9)))
rec('v2-sample-depth-huge', p(STK + 4, l(0xffffffff)))
rec('v2-sample-garbage', p(STK, b'\xa5' * 16), p(STK + 200, q(0x314b5453)))
rec('v2-weight-huge', p(STK + 16, q(0xffffffffffffffff)))
rec('v3-pycode-size-huge', p(PYC + 4, l(0xfffffff8)))
rec('v3-pycode-names-long', p(PYC + 20, l(0xffffffff)))
rec('v3-pycode-linetable-len-huge', p(PYC + 24, l(0xfffffff0)))
rec('v3-pycode-firsttraceable-huge', p(PYC + 28, l(0xffffffff)))
rec('v3-pycode-linetable-garbage', p(PYC + 32 + struct.unpack_from('<H', base, PYC + 20)[0] + struct.unpack_from('<H', base, PYC + 22)[0], b'\xff' * 16))
