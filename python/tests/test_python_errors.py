"""The errors the Python layer raises itself (before or around the C call): each with its exception class, and
nothing written to out= (checked byte for byte where an out= is given). The C statuses' mapping is tested in
test_rows.py, test_attention.py and test_runtime.py."""
import numpy as np
import pytest

import simdmax


def _qkv(heads=2, kv_heads=1, queries=1, keys=5, dim=4, dtype=np.float32):
    rng = np.random.default_rng(heads * 100 + keys)
    return (rng.standard_normal((heads, queries, dim)).astype(dtype),
            rng.standard_normal((kv_heads, keys, dim)).astype(dtype),
            rng.standard_normal((kv_heads, keys, dim)).astype(dtype))


def test_read_only_out_and_dtype_out_mismatch_write_nothing():
    x = np.ones((2, 8), np.float32)
    out = np.full((2, 8), 5, np.float32)
    out.flags.writeable = False
    with pytest.raises(simdmax.ShapeError, match="read-only"):
        simdmax.softmax(x, out=out)
    assert (out == 5).all()
    out = np.full((2, 8), 5, np.float32)
    with pytest.raises(simdmax.ArgumentError, match="differs from out"):
        simdmax.log_softmax(x, out=out, dtype=np.float16)
    assert (out == 5).all()


def test_attention_argument_shapes():
    q, k, v = _qkv()
    out = np.full(q.shape, 9, np.float32)
    cases = [
        (simdmax.ArgumentError, dict(k=k.astype(np.float16)), "same dtype"),          # k and v types differ
        (simdmax.ShapeError, dict(alibi_slopes=[0.5]), "alibi_slopes"),                 # one slope for two heads
        (simdmax.ShapeError, dict(sinks=[0.0, 1.0, 2.0]), "sinks"),                      # three sinks, two heads
        (simdmax.ShapeError, dict(mask=np.zeros((1, 4), np.float32)), "mask"),          # [queries, keys - 1]
        (simdmax.ShapeError, dict(mask=np.zeros((3, 1, 5), np.float32)), "mask"),       # three heads of mask
        (simdmax.ShapeError, dict(n_keys=4), "n_keys"),                                   # n_keys is paged-only
        (simdmax.ShapeError, dict(q=q[:, :, :3].copy()), "head_dim"),                   # q dim 3, k/v dim 4
        (simdmax.ShapeError, dict(q=q[0]), "dimensions"),                                # q must be 3-d
        (simdmax.DTypeError, dict(q=q.astype(np.float64)), "dtype"),
    ]
    for error, change, match in cases:
        kw = dict(q=q, k=k, v=v, out=out)
        kw.update(change)
        with pytest.raises(error, match=match):
            simdmax.attention(kw.pop("q"), kw.pop("k"), kw.pop("v"), **kw)
        assert (out == 9).all(), change


def test_paged_attention_errors():
    rng = np.random.default_rng(5)
    pool = rng.standard_normal((4, 16, 1, 8)).astype(np.float32)  # [n_blocks, block_size, kv_heads, dim]
    q = rng.standard_normal((2, 1, 8)).astype(np.float32)
    out = np.full(q.shape, 3, np.float32)
    with pytest.raises(simdmax.ShapeError, match="block_size"):
        simdmax.attention(q, pool, pool, block_table=[0, 1], block_size=8, out=out)
    with pytest.raises(simdmax.ShapeError, match="block table"):
        simdmax.attention(q, pool, pool, block_table=[0, 1], n_keys=33, out=out)
    with pytest.raises(simdmax.ArgumentError):  # the C check: a table entry outside [0, n_blocks)
        simdmax.attention(q, pool, pool, block_table=[0, 4], out=out)
    with pytest.raises(simdmax.ShapeError, match="differ"):
        simdmax.attention(q, pool, pool[:, :8], block_table=[0], out=out)
    assert (out == 3).all()
    # and the valid call from the same pieces
    simdmax.attention(q, pool, pool, block_table=[2, 0], n_keys=20, out=out)
    assert np.isfinite(out).all() and not (out == 3).any()


def test_an_invalid_call_in_a_batch_writes_nothing_anywhere():
    q, k, v = _qkv(heads=2, keys=7)
    good_out = np.full(q.shape, 4, np.float32)
    bad_q = np.ones((3, 1, 4), np.float32)  # 3 heads cannot share 2 kv heads
    bad_k = np.ones((2, 7, 4), np.float32)
    bad_out = np.full(bad_q.shape, 4, np.float32)
    with pytest.raises(simdmax.ArgumentError):
        simdmax.attention_batch([dict(q=q, k=k, v=v, out=good_out), dict(q=bad_q, k=bad_k, v=bad_k, out=bad_out)])
    assert (good_out == 4).all() and (bad_out == 4).all()
    # outputs of two calls of one batch may not overlap
    shared = np.full((2, 1, 4), 4, np.float32)
    with pytest.raises(simdmax.OverlapError):
        simdmax.attention_batch([dict(q=q, k=k, v=v, out=shared), dict(q=q, k=k, v=v, out=shared)])
    assert (shared == 4).all()


def test_online_errors():
    s = simdmax.OnlineSoftmax()
    with pytest.raises(simdmax.DTypeError):
        s.update(np.ones(4, np.float64))
    x = np.ones(4, np.float32)
    s.update(x)
    out = np.full(3, 2, np.float32)
    with pytest.raises(ValueError):
        s.normalize(x, out=out)  # 4 values, room for 3
    assert (out == 2).all()


# ---- DLPack capsules no framework here can make -----------------------------------------------------------------
# PyTorch refuses DLPack for meta tensors and has no negative strides, so these producers build the DLPack structs
# themselves (dlpack.h's layout, with ctypes) and hand out a capsule named "dltensor" without a destructor: the
# producer object owns the memory and outlives the call.
import ctypes


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


_PyCapsule_New = ctypes.pythonapi.PyCapsule_New
_PyCapsule_New.restype = ctypes.py_object
_PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_CAPSULE_NAME = ctypes.c_char_p(b"dltensor")  # must outlive every capsule


class _HandMadeDLPack:
    """A 2-d float32 tensor over `base` (kept alive here) with the given element strides, byte offset and device."""

    def __init__(self, base, shape, strides, byte_offset=0, device_type=1, code=2, bits=32):
        self.base = base
        self.shape = (ctypes.c_int64 * 2)(*shape)
        self.strides = (ctypes.c_int64 * 2)(*strides)
        t = _DLTensor(base.ctypes.data, _DLDevice(device_type, 0), 2, _DLDataType(code, bits, 1), self.shape,
                      self.strides, byte_offset)
        self.managed = _DLManagedTensor(t, None, None)

    def __dlpack__(self, stream=None):
        return _PyCapsule_New(ctypes.addressof(self.managed), _CAPSULE_NAME, None)

    def __dlpack_device__(self):
        return (self.managed.dl_tensor.device.device_type, 0)


def test_hand_made_dlpack_is_read_where_it_points():
    # The control for the error cases below: a positive-stride capsule with a byte offset is read zero-copy, rows of
    # stride 5 over a 3 x 5 buffer starting at element 1 (columns 1..4 of each row).
    base = np.arange(15, dtype=np.float32).reshape(3, 5) / 7.0
    y = simdmax.softmax(_HandMadeDLPack(base, (3, 4), (5, 1), byte_offset=4))
    np.testing.assert_array_equal(np.asarray(y), simdmax.softmax(base[:, 1:].copy()))


@pytest.mark.parametrize("device_type", [2, 4, 14])  # CUDA, OpenCL, Metal
def test_dlpack_tensor_on_another_device_is_refused(device_type):
    base = np.zeros((2, 3), np.float32)
    out = np.full((2, 3), 7.0, np.float32)
    with pytest.raises(simdmax.ShapeError, match="device type %d" % device_type):
        simdmax.softmax(_HandMadeDLPack(base, (2, 3), (3, 1), device_type=device_type), out=out)
    assert (out == 7.0).all()


@pytest.mark.parametrize("strides", [(-3, 1), (3, -1)])
def test_negative_dlpack_strides_are_refused(strides):
    base = np.zeros((2, 3), np.float32)
    # The data pointer at the element that is first in the reversed axis, as a producer of a flipped view would set.
    offset = 3 * 4 if strides[0] < 0 else 2 * 4
    out = np.full((2, 3), 7.0, np.float32)
    with pytest.raises(simdmax.ShapeError, match="negative DLPack strides"):
        simdmax.log_softmax(_HandMadeDLPack(base, (2, 3), strides, byte_offset=offset), out=out)
    assert (out == 7.0).all()


@pytest.mark.parametrize("code,bits", [(0, 32), (1, 8), (2, 64), (5, 64)])  # int32, uint8, float64, complex64
def test_dlpack_tensor_of_another_type_is_refused(code, bits):
    base = np.zeros((2, 8), np.float32)
    with pytest.raises(simdmax.DTypeError, match="DLPack type code %d, %d bits" % (code, bits)):
        simdmax.softmax(_HandMadeDLPack(base, (2, 3), (3, 1), code=code, bits=bits))
