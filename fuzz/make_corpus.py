#!/usr/bin/env python3
"""fuzz/make_corpus.py - writes the seed corpora fuzz/corpus/<target>/seed-*.

Each seed is a short program in the targets' input format (see the decoders
in fuzz_common.h, fuzz_tree.cpp and fuzz_cursor.cpp): an op byte followed by
its arguments. The seeds build deep trees quickly (fill, bulk_load) and touch
every operation once, so that fuzzing starts from interesting states instead
of empty trees. Re-run after changing the input format:

    python3 fuzz/make_corpus.py
"""
import os

ROOT = os.path.dirname(os.path.abspath(__file__))


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


# ---- arguments (fuzz_common.h) ----------------------------------------------

def idx(v):
    """An index below 4096 (mode 0: varint % 4096)."""
    assert v < 4096
    if v < 32:
        return bytes([(v << 3) | 3])
    return bytes([0]) + varint(v)


def idx_top(d):
    """max - d (mode 4)."""
    return bytes([4]) + varint(d)


def idx_bound(k, which):
    """A bound of the model's k-th range: 0 first, 1 last, 2 first-1, 3 last+1."""
    return bytes([5 | (which << 3)]) + varint(k)


def idx_abs(v):
    """Any 64-bit index (mode 7: 8 bytes, big-endian)."""
    return bytes([7]) + (v % (1 << 64)).to_bytes(8, "big")


def rng_abs(a, b):
    """[a, b] with both ends absolute (last: mode 6, another index)."""
    return idx_abs(a) + bytes([6]) + idx_abs(b)


KMAX = (1 << 64) - 1


def rng(first, last=None, to_max=False):
    """[first, last]: first is an encoded index; last relative to it."""
    if to_max:
        return first + bytes([5])
    if last is None:
        return first + bytes([0])
    if last < 32:
        return first + bytes([1 | (last << 3)])
    return first + bytes([3]) + varint(last)


def val(k):
    """Value entry k (k < 176)."""
    return bytes([((k % 16) << 4) | (5 + k // 16)])


NULL = bytes([0])
NODE_LIKE = bytes([2])  # word 0x1002
RESERVED = bytes([(12 << 4) | 3])


def write(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- fuzz_tree ------------------------------------------------------------------
T_STORE, T_ERASE_RANGE, T_INSERT, T_ERASE = 0, 2, 3, 4
T_LOAD, T_LOOKUP, T_FIND, T_FIND_AFTER, T_FIND_REV = 5, 6, 7, 8, 9
T_ITER, T_ITER_BACK, T_WALK, T_FILL, T_BULK, T_CLEAR, T_FAIL, T_INSPECT = (
    10, 11, 12, 13, 14, 15, 16, 17)


def fill(op, base, n, stride, width, tag=0, reverse=False):
    """fill: n <= 128 ranges; stride 1..16 and width 1..8 fit the op byte,
    anything else follows as two varints."""
    if stride <= 16 and width <= 8:
        b = (stride - 1) | ((width - 1) << 4)
        out = bytes([op]) + base + bytes([b, n - 1])
    else:
        out = bytes([op]) + base + bytes([0xFF, n - 1]) + varint(stride - 1) + varint(width - 1)
    if op == T_FILL:
        out += bytes([(tag << 1) | (1 if reverse else 0)])
    return out


def tree_seeds():
    reads = (bytes([T_LOAD]) + idx(55) + bytes([T_LOOKUP]) + idx(57) +
             bytes([T_FIND]) + idx(57) + bytes([1]) +
             bytes([T_FIND_AFTER]) + idx(50) + bytes([1]) +
             bytes([T_FIND_REV]) + idx(57) + bytes([1]) +
             bytes([T_FIND]) + idx(100) + bytes([0]) + idx(300) +
             bytes([T_ITER, 1, T_ITER_BACK, 1]) +
             bytes([T_ITER, 0]) + idx(100) + idx(900) +
             bytes([T_WALK, 1, 0x5F]) + varint(0x5A5A5A5A) +
             bytes([T_WALK, 0]) + idx(40) + idx(400) + bytes([0x40]) + varint(0x33))
    # A deep tree (10i, 10i+5), then writes over it and reads.
    deep = (fill(T_FILL, idx(0), 128, 10, 6) + fill(T_FILL, idx(1300), 128, 10, 6, 3) +
            reads +
            bytes([T_STORE]) + rng(idx(95), 400) + val(1) +
            bytes([T_ERASE_RANGE]) + rng(idx(1000), 500) +
            bytes([T_ERASE]) + idx(2005) +
            bytes([T_INSERT]) + rng(idx(7), 1) + val(2) +
            bytes([T_INSERT]) + rng(idx(6), 2) + val(2) +
            reads + bytes([T_INSPECT, 1]))
    write("fuzz_tree", "deep", deep)
    # Reverse fills, overlapping stores, adjacent ranges.
    write("fuzz_tree", "overlap",
          fill(T_FILL, idx(100), 100, 3, 5, 7, reverse=True) +
          fill(T_FILL, idx(50), 120, 2, 2, 9) + reads +
          bytes([T_STORE]) + rng(idx(0), to_max=True) + val(3) + reads +
          bytes([T_STORE]) + rng(idx(10), 20) + NULL)
    # The top of the index space and the whole of it.
    write("fuzz_tree", "top",
          bytes([T_STORE]) + rng(idx_top(10), to_max=True) + val(4) +
          bytes([T_STORE]) + rng(idx(0), None) + val(5) +
          fill(T_FILL, idx_top(4000), 100, 16, 8, 1) +
          bytes([T_FIND_REV]) + idx_top(0) + bytes([1]) +
          bytes([T_ITER_BACK, 1]) + bytes([T_ERASE]) + idx_top(0) +
          bytes([T_STORE]) + rng(idx(0), to_max=True) + NULL)
    # bulk_load: into a fresh tree, then replacing the contents; then writes.
    bulk = (bytes([T_BULK, 1]) + bytes([0x02]) + varint(200) + idx(5) + bytes([0x00]) + rng(idx(30), 40) +
            bytes([T_BULK, 2]) + bytes([0x01]) + varint(400) + bytes([0x01]) +
            reads + bytes([T_STORE]) + rng(idx(3), 600) + val(6) +
            bytes([T_STORE]) + rng(idx_bound(10, 1), None) + NULL + reads)
    write("fuzz_tree", "bulk", bulk)
    # Injected allocation failures on each kind of write.
    write("fuzz_tree", "nomem",
          fill(T_FILL, idx(0), 128, 4, 2) +
          bytes([T_FAIL, 0, 0]) + rng(idx(3), 300) + val(7) +
          bytes([T_FAIL, 1, 8]) + rng(idx(50), 1) +
          bytes([T_FAIL, 2, 1]) + idx(41) +
          bytes([T_FAIL, 0, 4]) + bytes([0x02, 0x01]) + varint(300) + bytes([0]) +
          bytes([T_CLEAR]) + fill(T_FILL, idx(0), 60, 1, 1))
    # Root entries, node-like words, reserved words.
    write("fuzz_tree", "root",
          bytes([T_STORE]) + rng(idx(0)) + val(8) + reads +
          bytes([T_STORE]) + rng(idx(0)) + NODE_LIKE +
          bytes([T_STORE]) + rng(idx(1), 3) + val(9) +
          bytes([T_STORE]) + rng(idx(1), 3) + NULL +
          bytes([T_STORE]) + rng(idx(5)) + RESERVED +
          bytes([T_INSERT]) + rng(idx(0)) + val(1) + bytes([T_INSPECT, 3]))


def kernel_seeds():
    """Op sequences of the kernel's check_fuzzer family and recorded VMA
    churn (tests/tree/kernel_scenarios_test.cpp has the exhaustive versions), on
    16-slot geometry numbers."""
    S, P, B = 16, 0x1000, 0x7F0000000000

    def st(a, b, k=1):
        return bytes([T_STORE]) + rng_abs(a, b) + val(k)

    def sn(a, b):
        return bytes([T_ERASE_RANGE]) + rng_abs(a, b)

    def er(a):
        return bytes([T_ERASE]) + idx_abs(a)

    def ins(a, b):
        return bytes([T_INSERT]) + rng_abs(a, b) + val(9)

    def fl(base, n, stride, width):
        return fill(T_FILL, idx_abs(base), n, stride, width, 5)

    write("fuzz_tree", "kernel-consume-right",
          fl(0, 2 * S, 10, 5) + st(10 * (S // 2) + 2, KMAX) + st(3, 10 * S) + sn(1, KMAX) +
          fl(100, S, 3, 2) + sn(90, 150) + st(0, 0) + sn(1, KMAX))
    n = 5 * S
    end = 10 * (n - 1) + 5
    write("fuzz_tree", "kernel-to-end",
          fl(0, n, 10, 6) + st(10 * (n - 3) + 2, end) + sn(10 * (n - 9) + 3, end) +
          st(end + 1, KMAX) + sn(10 * (n - 20), KMAX - 1) + er(KMAX))
    write("fuzz_tree", "kernel-shrink",
          fl(0, 4 * S, 4, 3) + st(4, 4 * 20 + 1) + st(2, 3) + sn(5, 4 * 20) + ins(5, 6) +
          fl(0, 4 * S, 4, 4) + sn(1, 4 * 7 + 2) + st(0, 4 * 7 + 3) + er(7))
    write("fuzz_tree", "kernel-mmap-churn",
          fl(B, 60, 3 * P, 2 * P) + st(B + 5 * P, B + 40 * P - 1) + sn(B + 41 * P, B + 90 * P - 1) +
          st(B + 2 * P, B + 6 * P - 1) + er(B + 100 * P) + ins(B + P, B + 2 * P - 1) +
          st(B + 60 * P, B + 200 * P - 1) + sn(B, B + 61 * P - 1) + st(B + 180 * P, KMAX))
    H = 0x555500000000
    write("fuzz_tree", "kernel-heap-libs",
          fl(H, 40, 0x21000, 0x20000) + fl(B, 40, 4 * P, 4 * P) +
          sn(H + 0x21000 * 10, B + 20 * 4 * P - 1) + st(H, H + P - 1) + er(B + 30 * 4 * P) +
          st(B + 30 * 4 * P, B + 39 * 4 * P + P) + sn(0, H - 1) + st(0, P - 1) + sn(P, KMAX))
    write("fuzz_tree", "kernel-holes",
          fl(P, 128, 2 * P, P) + sn(50 * P, 51 * P - 1) + sn(49 * P, 52 * P - 1) + er(53 * P) +
          er(47 * P) + st(46 * P, 55 * P - 1) + sn(2 * P, 398 * P) + st(3 * P, 3 * P))


# ---- fuzz_cursor -------------------------------------------------------------------
# op = b % 24; the write cursor when (b // 24) is odd.
C_NEW, C_FIND, C_WALK, C_FIND_REV, C_NEXT, C_PREV, C_NEXT_RANGE, C_PREV_RANGE = (
    0, 1, 3, 4, 5, 6, 7, 8)
C_SET, C_SET_RANGE, C_RESET_PAUSE, C_LOOP = 9, 10, 11, 12
C_STORE, C_ERASE, C_PREALLOC, C_STORE_PREALLOC, C_RELEASE_MOVE, C_GUARDS = 13, 14, 15, 16, 17, 18
C_TREE_WRITE, C_FILL, C_FAIL = 19, 20, 21


def w(op):
    """The op on the write cursor."""
    return op + 24


MAXLIM = bytes([1])  # upper_limit()/lower_limit(): max / 0


def loop(kind, n, limit=MAXLIM):
    """kind: 0 find, 1 find_rev, 2 next, 3 prev, 4 next_range, 5 prev_range, 6 find, 7 upto."""
    return bytes([(n - 1) << 3 | kind]) + limit


def cursor_seeds():
    deep = fill(C_FILL, idx(0), 128, 10, 6) + fill(C_FILL, idx(1300), 128, 10, 6)
    reads = (bytes([C_NEW]) + rng(idx(0)) + loop(0, 32) + loop(3, 32) + loop(2, 16) +
             bytes([C_SET]) + idx(1000) + bytes([C_WALK]) + loop(4, 20) + loop(5, 30) +
             bytes([C_SET]) + idx(2000) + loop(1, 32) +
             bytes([C_NEW]) + rng(idx(500)) + loop(7, 32) +
             bytes([C_RESET_PAUSE, 0]) + bytes([C_FIND]) + MAXLIM +
             bytes([C_FIND, 0]) + idx(700) + bytes([C_NEXT]) + MAXLIM +
             bytes([C_PREV, 0]) + idx(690) + bytes([C_PREV_RANGE]) + MAXLIM)
    write("fuzz_cursor", "reads", deep + reads + bytes([C_GUARDS, 0]) + reads)
    # Writes through the write cursor inside an iteration.
    writes = (bytes([w(C_NEW)]) + rng(idx(0)) +
              bytes([w(C_FIND)]) + MAXLIM + bytes([C_STORE]) + val(1) +
              bytes([w(C_NEXT)]) + MAXLIM + bytes([C_ERASE]) +
              bytes([w(C_FIND)]) + MAXLIM + bytes([w(C_SET_RANGE)]) + rng(idx(95), 300) +
              bytes([C_STORE]) + val(2) + bytes([w(C_PREV)]) + MAXLIM +
              bytes([w(C_SET_RANGE)]) + rng(idx(400), 40) + bytes([C_PREALLOC]) + val(3) + bytes([1]) +
              bytes([w(C_SET_RANGE)]) + rng(idx(600), 2000) + bytes([C_STORE_PREALLOC]) + NULL +
              bytes([w(C_LOOP)]) + loop(2, 16) + bytes([C_RELEASE_MOVE, 0]) +
              bytes([C_FAIL, 0]) + val(4) + bytes([C_FAIL, 1 << 3 | 1]) +
              bytes([C_FAIL, 2 << 3 | 2]) + val(5) + bytes([0]))
    write("fuzz_cursor", "writes", deep + writes + bytes([C_GUARDS, 2]) + writes)
    # Pauses across guards and tree-level writes in between.
    pauses = (deep + bytes([C_NEW]) + rng(idx(0)) + bytes([C_FIND]) + MAXLIM +
              bytes([C_RESET_PAUSE, 0, C_GUARDS, 0]) +
              bytes([C_TREE_WRITE]) + rng(idx(0), 30) + val(6) +
              bytes([C_FIND]) + MAXLIM + bytes([C_RESET_PAUSE, 0]) +
              bytes([w(C_FIND)]) + MAXLIM + bytes([w(C_RESET_PAUSE), 0, C_GUARDS, 1]) +
              bytes([C_TREE_WRITE]) + rng(idx(100), 300) + NULL +
              bytes([w(C_FIND)]) + MAXLIM + bytes([w(C_NEXT)]) + MAXLIM +
              bytes([C_GUARDS, 2]) + bytes([C_FIND]) + MAXLIM)
    write("fuzz_cursor", "pauses", pauses)
    # Limits: overflow and underflow, then wider limits (regression 17).
    limits = (fill(C_FILL, idx(0), 100, 10, 6) +
              bytes([C_NEW]) + rng(idx(0)) + loop(0, 8, bytes([0]) + idx(25)) +
              bytes([C_FIND, 0]) + idx(29) + bytes([C_FIND, 0]) + idx(30) +
              bytes([C_PREV]) + MAXLIM + bytes([C_SET]) + idx(50) + bytes([C_WALK]) +
              bytes([C_PREV, 0]) + idx(36) + bytes([C_PREV, 0]) + idx(36) +
              bytes([C_PREV, 0]) + idx(35) + bytes([C_NEXT]) + MAXLIM +
              bytes([C_SET]) + idx_top(0) + bytes([C_WALK]) + loop(4, 4) + loop(5, 4))
    write("fuzz_cursor", "limits", limits)
    # Trivial trees: empty, a root entry, a node-like word at 0.
    write("fuzz_cursor", "trivial",
          bytes([C_NEW]) + rng(idx(0)) + bytes([C_WALK, C_FIND]) + MAXLIM +
          bytes([C_TREE_WRITE]) + rng(idx(0)) + val(7) +
          bytes([C_NEW]) + rng(idx(0)) + bytes([C_WALK, C_FIND]) + MAXLIM + bytes([C_FIND]) + MAXLIM +
          bytes([w(C_NEW)]) + rng(idx(0)) + bytes([C_ERASE]) + bytes([C_STORE]) + NODE_LIKE +
          bytes([w(C_SET_RANGE)]) + rng(idx(3), 4) + bytes([C_STORE]) + val(8) +
          bytes([w(C_WALK)]) + bytes([C_STORE]) + RESERVED + bytes([w(C_RESET_PAUSE), 1]))


# ---- fuzz_gap ------------------------------------------------------------------------
# op = b % 16 (fuzz_gap.cpp).
G_STORE, G_ERASE_RANGE, G_ERASE, G_FILL = 0, 2, 3, 4
G_SEARCH, G_SEARCH_REV, G_ALLOC, G_ALLOC_REV, G_CYCLIC, G_CURSOR, G_FAIL, G_CLEAR = (
    5, 7, 8, 9, 10, 11, 12, 13)

WHOLE = bytes([0])  # window [0, max]


def win_from(first):
    """[first, max]."""
    return bytes([1]) + first


def win(first, length):
    """[first, first + length]."""
    return bytes([2]) + first + varint(length)


def win_abs(first, last):
    """Both bounds decoded as indices."""
    return bytes([3]) + first + last


def size(n):
    """A size of 1..32 in one byte, else 1..4096 as a varint."""
    if 1 <= n <= 32:
        return bytes([(n - 1) << 3])
    assert 1 <= n <= 4096
    return bytes([2]) + varint(n - 1)


SIZE_EXACT, SIZE_PLUS_ONE, SIZE_ZERO = bytes([3]), bytes([4]), bytes([7])


def size_pow2(k):
    """2^k (k < 32)."""
    return bytes([5 | (k << 3)])


def size_huge(d):
    """max - d (d < 32)."""
    return bytes([6 | (d << 3)])


def gfill(base, n, stride, width, pages=False):
    """n <= 128 ranges; stride 1..16, width 1..8 (x64 / x16 with pages)."""
    b = (stride - 1) | ((width - 1) << 4) | (0x80 if pages else 0)
    return bytes([G_FILL]) + base + bytes([b, n - 1])


def search(w, sz, rev=False):
    return bytes([G_SEARCH_REV if rev else G_SEARCH]) + w + sz


def alloc(w, sz, entry, rev=False):
    return bytes([G_ALLOC_REV if rev else G_ALLOC]) + w + sz + entry


def cyclic(entry, mode=1, lo=b"", hi=b"", nxt=b""):
    """mode bit 0: [0, max]; else min = lo, max = lo + byte (bit 1) or hi;
    bit 2: next = nxt first."""
    return bytes([G_CYCLIC, mode]) + lo + hi + nxt + entry


def cursor(w, sz, at, then=0, entry=NULL, rev=False, write=False):
    b = (1 if rev else 0) | (2 if write else 0)
    return bytes([G_CURSOR, b]) + w + sz + at + bytes([then]) + entry


def gap_seeds():
    # Ranges [10i, 10i + 5]: 4-index gaps, then searches and allocations of
    # every kind into them, forward and reverse, and past the data.
    gaps = gfill(idx(0), 128, 10, 6)
    queries = (search(WHOLE, size(4)) + search(WHOLE, size(4), rev=True) +
               search(WHOLE, size(5)) + search(win(idx(100), 600), size(3), rev=True) +
               search(win(idx(97), 10), SIZE_EXACT) + search(win(idx(96), 3), SIZE_EXACT) +
               search(win(idx(95), 3), SIZE_PLUS_ONE) + search(WHOLE, SIZE_ZERO) +
               search(win_from(idx_bound(3, 3)), size(2)) + search(WHOLE, size_huge(0)) +
               search(win_abs(idx(500), idx(400)), size(1)))
    write("fuzz_gap", "searches", gaps + queries + bytes([G_ERASE]) + idx(55) + queries)
    allocs = b"".join(alloc(WHOLE, size(1 + k % 4), val(k), rev=k % 2 == 1) for k in range(40))
    write("fuzz_gap", "allocs", gaps + allocs + queries +
          alloc(win(idx(200), 300), size(4), val(1)) + alloc(WHOLE, size(4), NULL) +
          alloc(WHOLE, size(4), RESERVED) + alloc(win(idx(6), 3), SIZE_EXACT, val(2)))
    # Page-like spacing (VMA layout), a mmap loop of cursor searches that
    # store into the window, top-down and bottom-up.
    mmap = (gfill(idx(1000), 128, 16, 4, pages=True) +
            b"".join(cursor(win(idx(1000), 3000), size(1 + k % 9), idx(k * 7), then=k % 16,
                            entry=val(k), rev=k % 3 != 0, write=True) for k in range(48)) +
            b"".join(cursor(WHOLE, size(2 + k % 5), idx(k), then=2 * k) for k in range(12)))
    write("fuzz_gap", "mmap", mmap)
    # alloc_cyclic: sequential ids, busy, wrapping at a small max and at
    # the top of the index space.
    cyc = (b"".join(cyclic(val(k), mode=2, lo=idx(10), hi=bytes([20])) for k in range(24)) +
           bytes([G_ERASE]) + idx(12) + bytes([G_ERASE]) + idx(15) +
           b"".join(cyclic(val(k), mode=2, lo=idx(10), hi=bytes([20])) for k in range(4)) +
           cyclic(val(1), mode=4 | 1, nxt=idx_top(1)) + cyclic(val(2)) + cyclic(val(3)) +
           cyclic(val(4)) + cyclic(NULL) + cyclic(val(5), mode=0, lo=idx(9), hi=idx(3)))
    write("fuzz_gap", "cyclic", cyc)
    # Allocation failures on each allocating operation, then clear.
    write("fuzz_gap", "nomem",
          gfill(idx(0), 128, 4, 2) +
          bytes([G_FAIL, 0, 0]) + WHOLE + size(2) + val(3) +
          bytes([G_FAIL, 1, 1]) + WHOLE + size(2) + val(4) +
          bytes([G_FAIL, 0, 2, 1]) + val(5) +
          bytes([G_FAIL, 0, 3, 2]) + WHOLE + size(2) + idx(0) + bytes([0]) + val(6) +
          bytes([G_FAIL, 2, 3, 2]) + WHOLE + size(2) + idx(9) + bytes([8]) + val(7) +
          bytes([G_CLEAR]) + search(WHOLE, size(7)))
    # Trivial trees: empty, only [0, 0], the whole index space used.
    write("fuzz_gap", "trivial",
          search(WHOLE, size(1)) + search(WHOLE, size_huge(0), rev=True) +
          search(WHOLE, size_pow2(31)) + cursor(WHOLE, size(3), idx(5), then=1) +
          bytes([G_STORE]) + rng(idx(0)) + val(1) + search(WHOLE, size(1)) +
          search(win_abs(idx(0), idx(0)), size(1)) + alloc(WHOLE, size(1), val(2), rev=True) +
          bytes([G_STORE]) + rng(idx(0), to_max=True) + val(3) + search(WHOLE, size(1)) +
          alloc(WHOLE, size(1), val(4)) + cyclic(val(5)))


# ---- fuzz_dup -------------------------------------------------------------------
D_STORE, D_ERASE_RANGE, D_INSERT, D_ERASE, D_FILL = 0, 2, 3, 4, 5
D_DUP, D_FAIL, D_REFUSE, D_CLEAR = 7, 11, 12, 139  # 139 % 14 == 13, bit 7 set
(X_NONE, X_IDENTITY, X_DROP_ODD, X_CHANGE, X_DROP_ALL, X_RESERVED, X_THROWER,
 X_DROP_X) = range(8)


def dfill(base, n, stride, width, tag=0, wide=False):
    """n <= 128 stores; stride 1..16, width 1..8 (x16 / x3 with wide)."""
    b = (stride - 1) | ((width - 1) << 4) | (0x80 if wide else 0)
    return bytes([D_FILL]) + base + bytes([b, n - 1, tag])


def pick_nth(k):
    """A transform's entry: the source's k-th range's."""
    return bytes([1]) + varint(k)


def pick_entry(entry):
    return bytes([0]) + entry


def dup(kind, adopt=False, fail=None, x=b"", delta=None, after=None):
    """dup() with a transform kind; fail: the destination's allocation that
    fails (1-based, below 2 * nodes + 4); after: the range stored into the
    copy (default an invalid range: none)."""
    b = kind | (0x10 if adopt else 0) | (0x20 if fail is not None else 0)
    out = bytes([D_DUP, b])
    if kind in (X_RESERVED, X_THROWER, X_DROP_X):
        out += x
    if kind == X_CHANGE:
        out += bytes([delta or 1])
    if fail is not None:
        out += varint(fail - 1)
    return out + (after if after is not None else idx(9) + bytes([6]) + idx(3))


def dfail(k, op, args, after_all=False):
    """The next write fails at allocation k (every one from k with
    after_all): op 0 insert, 1 erase, 2 store."""
    b = (((k - 1) % 16) << 2) | (1 if after_all else 0)
    if op == 2:
        return bytes([D_FAIL, b | 2]) + args
    return bytes([D_FAIL, b, op]) + args


def dup_seeds():
    # A deep tree (three interleaved fills), then every kind of dup.
    # (About 230 ranges: deep enough for the small engines, cheap to check.)
    deep = (dfill(idx(0), 96, 10, 6) + dfill(idx(3), 48, 10, 2, tag=1) +
            dfill(bytes([0]) + varint(2000), 40, 16, 8, tag=3, wide=True))
    kinds = (dup(X_NONE) + dup(X_IDENTITY, after=rng(idx(15), 40)) + dup(X_DROP_ODD) +
             dup(X_CHANGE, delta=5) + dup(X_DROP_ALL) +
             dup(X_RESERVED, x=pick_nth(17)) + dup(X_THROWER, x=pick_nth(40)) +
             dup(X_DROP_X, x=pick_nth(3)) + dup(X_THROWER, x=pick_entry(val(170))))
    write("fuzz_dup", "kinds", deep + kinds)
    # Copies adopted back into the source, so that later dups copy copies.
    write("fuzz_dup", "adopt",
          deep + dup(X_DROP_ODD, adopt=True, after=rng(idx(100), 300)) +
          dup(X_CHANGE, adopt=True, delta=3) + dup(X_NONE, adopt=True) +
          bytes([D_ERASE_RANGE]) + rng(idx(50), 900) + dup(X_IDENTITY, adopt=True) + kinds)
    # The destination runs out of memory at each early allocation, and in the
    # erases that drop entries.
    nomem = b"".join(dup(X_NONE, fail=k) + dup(X_DROP_ODD, fail=k) for k in
                     (1, 2, 3, 4, 6, 9, 14, 22, 35, 60, 90, 140))
    write("fuzz_dup", "nomem", deep + nomem + dup(X_DROP_X, fail=2, x=pick_nth(0)))
    # Writes into the source that fail (once, or from their k-th allocation on).
    writes = b"".join(
        dfail(k, 2, rng(idx(10 * k + 3), 30) + val(k)) +
        dfail(k, 0, rng(idx(10 * k + 6), 2) + val(k + 1)) +
        dfail(k, 1, idx(10 * k)) +
        dfail(k, 2, rng(idx(k), to_max=True) + NULL, after_all=True)
        for k in range(1, 13))
    write("fuzz_dup", "writes-nomem", deep + writes + dup(X_NONE))
    # Large ranges, near the top of the index space, spanning stores.
    large = (dfill(idx(0), 60, 3, 2) + bytes([D_STORE]) + rng(idx(20), to_max=True) + val(9) +
             bytes([D_STORE]) + idx_top(4) + bytes([0]) + val(10) +
             bytes([D_STORE]) + rng_abs(1 << 40, (1 << 41) - 1) + val(11) +
             bytes([D_INSERT]) + rng(idx(5), 2) + val(12) +
             dup(X_NONE) + dup(X_CHANGE, delta=2) +
             bytes([D_ERASE_RANGE]) + rng(idx(0), 100) + dup(X_DROP_ODD, fail=2) +
             bytes([D_ERASE]) + idx_top(1) + dup(X_IDENTITY))
    write("fuzz_dup", "large", large)
    # Trivial trees: empty, a root entry, a lone [0, 0] node-like word in a
    # leaf (mapped to an ordinary entry), the whole index space; refusals.
    trivial = (dup(X_NONE) + dup(X_CHANGE) +
               bytes([D_STORE]) + rng(idx(0)) + val(1) + dup(X_NONE) + dup(X_CHANGE, delta=4) +
               dup(X_DROP_ALL) + dup(X_RESERVED, x=pick_nth(0)) +
               bytes([D_CLEAR, D_INSERT]) + rng(idx(0)) + NODE_LIKE + dup(X_CHANGE, delta=1) +
               dup(X_NONE, fail=1) + bytes([D_STORE]) + rng(idx(3)) + val(2) +
               dup(X_DROP_X, x=pick_nth(1)) +
               bytes([D_STORE]) + rng(idx(0), to_max=True) + val(3) + dup(X_NONE) +
               bytes([D_REFUSE, 0]) + rng(idx(4), 3) + bytes([D_REFUSE, 1, D_REFUSE, 2]))
    write("fuzz_dup", "trivial", trivial)


# ---- fuzz_xarray ----------------------------------------------------------------
XA_NONE, XA_ALLOC, XA_ALLOC1 = 0, 1, 2
(XS_STORE, XS_STORE_ORDER, XS_ERASE, XS_INSERT, XS_CMPXCHG, XS_RESERVE, XS_MARK,
 XS_READS, XS_FIND, XS_EXTRACT, XS_ALLOC, XS_WALK, XS_STEP, XS_SPLIT, XS_STATE_STORE,
 XS_FAIL) = (0, 2, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18)
XS_DESTROY = 145  # 145 % 21 == 19, bit 7 set


def xi(v):
    """An index: < 32 in one byte, < 4096 as a varint."""
    assert v < 4096
    if v < 32:
        return bytes([(v << 3) | 2])
    return bytes([0]) + varint(v)


def xi_top(d):
    return bytes([3]) + varint(d)


def xi_far(off):
    """(1 << 40) + off."""
    return bytes([6]) + varint(off)


def xi_abs(v):
    return bytes([7]) + (v % (1 << 64)).to_bytes(8, "big")


def xorder(o):
    if o == 0:
        return bytes([0])
    if o <= 12:
        return bytes([next(b for b in range(128, 224) if b % 12 + 1 == o)])
    if o == 64:
        return bytes([254])
    return bytes([224, o - 13])


XWIN_ALL = bytes([1])  # [0, max]


def xwin(frm, to=None):
    """[frm, to] (to an index encoding; None: max)."""
    return bytes([0]) + frm if to is None else bytes([4]) + frm + to


def xmark(m):
    return bytes([1]) if m is None else bytes([m << 1])


def xstore(i, e, o=None):
    if o is None:
        return bytes([XS_STORE]) + i + e
    return bytes([XS_STORE_ORDER]) + i + xorder(o) + e


def xinsert(i, e, o=0):
    return bytes([XS_INSERT]) + i + (bytes([1]) + xorder(o) if o else bytes([0])) + e


def xfind(w, m=None, after=False):
    return bytes([XS_FIND]) + w + xmark(m) + bytes([1 if after else 0])


def xiter(w, m=None, extract=None):
    return (bytes([XS_EXTRACT]) + w + xmark(m) +
            bytes([(extract << 1) | 1 if extract is not None else 0]))


def xwalk(w, m=None, pauses=0):
    return bytes([XS_WALK]) + w + xmark(m) + varint(pauses)


def xstep(i, n, dirs):
    return bytes([XS_STEP]) + i + bytes([n - 1]) + varint(dirs)


def xsplit(i, b=0, v=1):
    """Split the entry holding i; b: (b >> 1) picks the new order."""
    return bytes([XS_SPLIT]) + i + bytes([b, 0, v])


def xstate_store(i, o, e, fail=None, mark=None):
    b = (1 if fail is not None else 0) | (0 if mark is None else 2 | (mark << 2) | 0x20)
    return bytes([XS_STATE_STORE]) + i + xorder(o) + bytes([b]) + e + (
        bytes([fail - 1]) if fail is not None else b"")


def xalloc(kind, e=None, cyclic=False, args=b"", nxt=None):
    """kind 0: 32-bit limit, 1: [idx, idx + varint], 2: [idx, idx], 3: all."""
    b = (kind << 1) | (1 if cyclic else 0) | (8 if e is None else 0) | (16 if nxt else 0)
    return bytes([XS_ALLOC, b]) + args + (e or b"") + (nxt or b"")


def xreads(*ixs):
    return bytes([XS_READS, len(ixs) - 1]) + b"".join(ixs)


def xa_checks():
    return (xreads(xi(0), xi(5), xi(64), xi(100), xi(513), xi_top(0)) + xfind(XWIN_ALL) +
            xfind(xwin(xi(70)), after=True) + xfind(xwin(xi(3)), m=1) +
            xiter(XWIN_ALL) + xiter(xwin(xi(60), xi(700)), m=2) + xiter(XWIN_ALL, extract=5) +
            xwalk(XWIN_ALL, pauses=0x5555) + xwalk(XWIN_ALL, m=1, pauses=3) +
            xstep(xi(60), 40, 0xFFFFFFFFFF) + xstep(xi(130), 20, 0) + xstep(xi(0), 4, 0))


def xarray_seeds():
    # Single entries, multi-index entries of several orders, marks on them,
    # reservations; every read; then erases and a split.
    build = (b"".join(xstore(xi(k), val(k % 40)) for k in range(0, 70, 3)) +
             xstore(xi(128), val(1), o=6) + xstore(xi(200), val(2), o=3) +
             xstore(xi(1024), val(3), o=9) + xstore(xi_far(0), val(4), o=12) +
             xstore(xi_top(0), val(5)) + xstore(xi_abs(1 << 33), val(6), o=30) +
             bytes([XS_MARK]) + xi(6) + bytes([1]) + bytes([XS_MARK]) + xi(130) + bytes([2]) +
             bytes([XS_MARK]) + xi(1030) + bytes([1]) + bytes([XS_MARK]) + xi(9) + bytes([0]) +
             bytes([XS_RESERVE]) + xi(300) + bytes([0]) + bytes([XS_MARK]) + xi(300) + bytes([1]))
    erases = (bytes([XS_ERASE]) + xi(201) + bytes([XS_ERASE]) + xi(6) +
              bytes([XS_RESERVE]) + xi(300) + bytes([1]) + xstore(xi(1000), NULL) +
              xstore(xi(140), val(7)))
    write("fuzz_xarray", "basic", bytes([XA_NONE]) + build + xa_checks() + erases + xa_checks())
    # inserts and cmpxchg
    write("fuzz_xarray", "insert-cmpxchg",
          bytes([XA_NONE]) + build + xinsert(xi(5), val(1)) + xinsert(xi(4), val(1)) +
          xinsert(xi(256), val(2), o=4) + xinsert(xi(128), val(2), o=2) + xinsert(xi(400), NULL) +
          bytes([XS_CMPXCHG]) + xi(3) + bytes([0]) + val(9) +
          bytes([XS_CMPXCHG]) + xi(300) + bytes([1]) + val(9) +
          bytes([XS_CMPXCHG]) + xi(131) + bytes([2]) + val(1) + val(8) +
          bytes([XS_CMPXCHG]) + xi(6) + bytes([0]) + NULL + xa_checks())
    # Splits of every supported distance, marks carried over.
    splits = (xstore(xi(0), val(1), o=12) + bytes([XS_MARK]) + xi(0) + bytes([2]) +
              xsplit(xi(5), b=11 << 1) + xa_checks() +
              xstore(xi(0), val(2), o=12) + xsplit(xi(70), b=6 << 1) +
              xstore(xi(0), val(3), o=12) + xsplit(xi(70), b=3 << 1) + xa_checks() +
              xstore(xi_abs(1 << 24), val(4), o=20) + xsplit(xi_abs(1 << 24), b=(8 << 1) | 0x80) +
              xsplit(xi_abs(1 << 24), b=9 << 1) + xstore(xi(64), val(5), o=6) +
              xsplit(xi(64), b=0) + xstep(xi(60), 12, 0xFFF))
    write("fuzz_xarray", "split", bytes([XA_NONE]) + splits)
    # The advanced API: stores through a state (with a failed first attempt),
    # marks through it, walks with pauses, steps both ways.
    state = (b"".join(xstate_store(xi(k * 7), k % 7, val(k), fail=1 + k % 3 if k % 2 else None,
                                   mark=k % 3 if k % 4 == 1 else None) for k in range(30)) +
             xa_checks() + xstate_store(xi(0), 64, NULL) + xstate_store(xi_top(3), 2, val(1)))
    write("fuzz_xarray", "state", bytes([XA_NONE]) + state + xa_checks())
    # Allocating arrays: alloc, alloc_cyclic with wraps, erase, reserve,
    # stores of nullptr keeping ids taken; alloc1.
    allocs = (b"".join(xalloc(0, val(k)) for k in range(70)) +
              bytes([XS_ERASE]) + xi(5) + bytes([XS_ERASE]) + xi(40) + xstore(xi(41), NULL) +
              xalloc(0, val(1)) + xalloc(0) + xalloc(0, val(2)) +
              xalloc(1, val(3), args=xi(10) + varint(8)) + xalloc(2, val(4), args=xi(7) + xi(3)) +
              b"".join(xalloc(1, val(k), cyclic=True, args=xi(100) + varint(5)) for k in range(8)) +
              xalloc(3, val(5), cyclic=True, nxt=xi_top(0)) + xalloc(3, val(6), cyclic=True) +
              xstore(xi(128), val(7), o=5) + xalloc(1, val(8), args=xi(120) + varint(20)) +
              bytes([XS_MARK]) + xi(3) + bytes([0]) + bytes([XS_MARK]) + xi(3) + bytes([1]) +
              xa_checks())
    write("fuzz_xarray", "alloc", bytes([XA_ALLOC]) + allocs)
    write("fuzz_xarray", "alloc1", bytes([XA_ALLOC1]) + allocs[:200] + xa_checks())
    # Failures at each allocation of each kind of write.
    fails = b"".join(
        bytes([XS_FAIL, ((k % 12) << 1) | (k & 1), k % 7]) + args
        for k, args in enumerate([
            xi_far(5) + val(1), xi_abs(1 << 50) + bytes([0]) + val(2), xi_top(2) + bytes([0]),
            xi_abs(1 << 33) + bytes([2]) + val(3) + val(4), bytes([6]) + val(5),
            xi(1024) + bytes([0, 0, 3]), xi_abs(1 << 45) + xorder(9) + val(6),
            xi_far(9000) + val(7), xi_abs(1 << 20) + bytes([1]) + xorder(5) + val(8),
            xi_top(9) + bytes([0]), xi_far(77) + bytes([2]) + val(3) + val(4),
            bytes([0]) + val(9), xi(1030) + bytes([0, 0, 4]), xi(4000) + xorder(64) + val(1)]))
    write("fuzz_xarray", "nomem", bytes([XA_NONE]) + build + fails + xa_checks())
    write("fuzz_xarray", "nomem-alloc", bytes([XA_ALLOC]) + allocs[:300] + fails)
    # Trivial arrays: empty, only index 0 (the head), the last index, an
    # order-64 entry; destroy; invalid words and orders.
    trivial = (xa_checks() + xstore(xi(0), val(1)) + xa_checks() + xstore(xi(0), val(2), o=64) +
               xa_checks() + bytes([XS_DESTROY]) + xstore(xi_top(0), val(3)) + xa_checks() +
               xstore(xi(7), NODE_LIKE) + xstore(xi(7), val(1), o=65) + xinsert(xi(8), RESERVED) +
               bytes([XS_CMPXCHG]) + xi(0) + bytes([2]) + NODE_LIKE + val(1) +
               bytes([XS_DESTROY]) + xa_checks())
    write("fuzz_xarray", "trivial", bytes([XA_NONE]) + trivial)


if __name__ == "__main__":
    tree_seeds()
    kernel_seeds()
    cursor_seeds()
    gap_seeds()
    dup_seeds()
    xarray_seeds()
