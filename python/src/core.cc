// simdmax._core: the Python binding of the C API (include/simdmax/simdmax.h) and nothing else.
//
// Why this shape: NumPy arrays and DLPack tensors both reduce to (address, element type, shape, strides), so the
// binding takes that tuple and leaves axis handling, output allocation and the choice of framework to the pure-Python
// layer (simdmax/_rows.py, _attention.py). Every kernel call drops the GIL, so Python threads run kernels in
// parallel. Errors come back as a status int; simdmax/_errors.py maps them to exceptions with the library's message.
#include <dlpack/dlpack.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "simdmax/simdmax.h"

namespace py = pybind11;

namespace {

using Address = std::uintptr_t;

const void* ConstPtr(Address a) { return reinterpret_cast<const void*>(a); }
void* MutPtr(Address a) { return reinterpret_cast<void*>(a); }

simdmax_dtype ToDtype(int code) { return static_cast<simdmax_dtype>(code); }

int Rows(bool log, size_t rows, size_t cols, int x_type, Address x, size_t x_stride, int y_type, Address y,
         size_t y_stride) {
  py::gil_scoped_release release;
  return log ? simdmax_log_softmax(rows, cols, ToDtype(x_type), ConstPtr(x), x_stride, ToDtype(y_type), MutPtr(y),
                                   y_stride)
             : simdmax_softmax(rows, cols, ToDtype(x_type), ConstPtr(x), x_stride, ToDtype(y_type), MutPtr(y),
                               y_stride);
}

// The online state as a Python value: (max, sum) is all there is, which makes pickling a tuple.
struct OnlineState {
  simdmax_online_state s;
  OnlineState() { simdmax_online_init(&s); }
};

// ---- DLPack -----------------------------------------------------------------------------------------------------
// Consuming: the producer's capsule is read while the caller keeps it alive and is never renamed, so its own
// destructor frees the tensor when the capsule goes (the protocol's rule for an unconsumed capsule).
py::tuple DLPackInfo(py::capsule capsule) {
  if (std::strcmp(capsule.name(), "dltensor") != 0) throw py::value_error("not an unconsumed DLPack capsule");
  auto* managed = static_cast<DLManagedTensor*>(capsule.get_pointer());
  const DLTensor& t = managed->dl_tensor;
  std::vector<int64_t> shape(t.shape, t.shape + t.ndim);
  std::vector<int64_t> strides;
  if (t.strides != nullptr) {
    strides.assign(t.strides, t.strides + t.ndim);
  } else {  // NULL strides mean C-contiguous
    strides.resize(t.ndim);
    int64_t s = 1;
    for (int i = t.ndim - 1; i >= 0; --i) {
      strides[i] = s;
      s *= t.shape[i];
    }
  }
  const Address data = reinterpret_cast<Address>(static_cast<char*>(t.data) + t.byte_offset);
  return py::make_tuple(data, static_cast<int>(t.device.device_type), static_cast<int>(t.dtype.code),
                        static_cast<int>(t.dtype.bits), static_cast<int>(t.dtype.lanes), shape, strides);
}

// Producing: a C-contiguous tensor that owns its memory, handed to a framework's from_dlpack (for outputs of the
// framework's own type, bf16 included, which NumPy has no dtype for).
struct OwnedTensor {
  DLManagedTensor managed;
  std::vector<int64_t> shape;
  void* data;
};

void DeleteOwned(DLManagedTensor* m) {
  auto* owned = static_cast<OwnedTensor*>(m->manager_ctx);
  std::free(owned->data);
  delete owned;
}

py::tuple DLPackEmpty(std::vector<int64_t> shape, int dtype) {
  auto* owned = new OwnedTensor();
  owned->shape = std::move(shape);
  size_t n = 1;
  for (int64_t d : owned->shape) n *= static_cast<size_t>(d);
  const size_t bytes = n * simdmax_dtype_size(ToDtype(dtype));
  owned->data = std::malloc(bytes > 0 ? bytes : 1);
  if (owned->data == nullptr) {
    delete owned;
    throw std::bad_alloc();
  }
  DLTensor& t = owned->managed.dl_tensor;
  t.data = owned->data;
  t.device = {kDLCPU, 0};
  t.ndim = static_cast<int32_t>(owned->shape.size());
  t.dtype.code = dtype == SIMDMAX_F32 ? kDLFloat : dtype == SIMDMAX_F16 ? kDLFloat : kDLBfloat;
  t.dtype.bits = dtype == SIMDMAX_F32 ? 32 : 16;
  t.dtype.lanes = 1;
  t.shape = owned->shape.data();
  t.strides = nullptr;
  t.byte_offset = 0;
  owned->managed.manager_ctx = owned;
  owned->managed.deleter = DeleteOwned;
  const Address data = reinterpret_cast<Address>(owned->data);
  // A capsule nobody consumed frees the tensor; a consumer renames it to "used_dltensor" and calls the deleter.
  PyObject* cap = PyCapsule_New(&owned->managed, "dltensor", [](PyObject* self) {
    if (PyCapsule_IsValid(self, "dltensor")) {
      auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(self, "dltensor"));
      if (m != nullptr && m->deleter != nullptr) m->deleter(m);
    }
  });
  if (cap == nullptr) {
    DeleteOwned(&owned->managed);
    throw py::error_already_set();
  }
  return py::make_tuple(py::reinterpret_steal<py::object>(cap), data);
}

// ---- attention --------------------------------------------------------------------------------------------------
// The Python layer fills a dict with exactly the fields of simdmax_attention_args (addresses as ints); unknown keys
// are an error so that a misspelt field cannot silently take its default.
simdmax_attention_args ArgsFromDict(const py::dict& d) {
  simdmax_attention_args a;
  simdmax_attention_args_init(&a);
  for (auto item : d) {
    const std::string key = py::cast<std::string>(item.first);
    py::handle v = item.second;
    auto addr = [&] { return py::cast<Address>(v); };
    auto sz = [&] { return py::cast<size_t>(v); };
    if (key == "q")
      a.q = ConstPtr(addr());
    else if (key == "k")
      a.k = ConstPtr(addr());
    else if (key == "v")
      a.v = ConstPtr(addr());
    else if (key == "out")
      a.out = MutPtr(addr());
    else if (key == "lse")
      a.lse = static_cast<float*>(MutPtr(addr()));
    else if (key == "q_type")
      a.q_type = ToDtype(py::cast<int>(v));
    else if (key == "kv_type")
      a.kv_type = ToDtype(py::cast<int>(v));
    else if (key == "out_type")
      a.out_type = ToDtype(py::cast<int>(v));
    else if (key == "mask_type")
      a.mask_type = ToDtype(py::cast<int>(v));
    else if (key == "n_heads")
      a.n_heads = sz();
    else if (key == "n_kv_heads")
      a.n_kv_heads = sz();
    else if (key == "n_queries")
      a.n_queries = sz();
    else if (key == "n_keys")
      a.n_keys = sz();
    else if (key == "head_dim")
      a.head_dim = sz();
    else if (key == "q_head_stride")
      a.q_head_stride = sz();
    else if (key == "q_row_stride")
      a.q_row_stride = sz();
    else if (key == "k_head_stride")
      a.k_head_stride = sz();
    else if (key == "k_row_stride")
      a.k_row_stride = sz();
    else if (key == "v_head_stride")
      a.v_head_stride = sz();
    else if (key == "v_row_stride")
      a.v_row_stride = sz();
    else if (key == "out_head_stride")
      a.out_head_stride = sz();
    else if (key == "out_row_stride")
      a.out_row_stride = sz();
    else if (key == "block_table")
      a.block_table = static_cast<const int32_t*>(ConstPtr(addr()));
    else if (key == "block_size")
      a.block_size = sz();
    else if (key == "n_blocks")
      a.n_blocks = sz();
    else if (key == "k_block_stride")
      a.k_block_stride = sz();
    else if (key == "v_block_stride")
      a.v_block_stride = sz();
    else if (key == "scale")
      a.scale = py::cast<float>(v);
    else if (key == "softcap")
      a.softcap = py::cast<float>(v);
    else if (key == "alibi_slopes")
      a.alibi_slopes = static_cast<const float*>(ConstPtr(addr()));
    else if (key == "mask")
      a.mask = ConstPtr(addr());
    else if (key == "mask_head_stride")
      a.mask_head_stride = sz();
    else if (key == "mask_row_stride")
      a.mask_row_stride = sz();
    else if (key == "causal")
      a.causal = py::cast<int>(v);
    else if (key == "window")
      a.window = sz();
    else if (key == "sinks")
      a.sinks = static_cast<const float*>(ConstPtr(addr()));
    else
      throw py::key_error("simdmax_attention_args has no field '" + key + "'");
  }
  return a;
}

int AttentionBatch(const py::list& calls) {
  std::vector<simdmax_attention_args> args;
  args.reserve(calls.size());
  for (auto c : calls) args.push_back(ArgsFromDict(py::cast<py::dict>(c)));
  py::gil_scoped_release release;
  return simdmax_attention_batch(args.data(), args.size());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "simdmax C API binding (use the simdmax package, not this module)";
  m.attr("F32") = static_cast<int>(SIMDMAX_F32);
  m.attr("F16") = static_cast<int>(SIMDMAX_F16);
  m.attr("BF16") = static_cast<int>(SIMDMAX_BF16);
  m.def("version", [] { return std::string(simdmax_version()); });
  m.def("status_string", [](int s) { return std::string(simdmax_status_string(static_cast<simdmax_status>(s))); });
  m.def("rows", &Rows);
  m.def("target_count", [] { return simdmax_target_count(); });
  m.def("target_name", [](size_t i) -> py::object {
    const char* n = simdmax_target_name(i);
    if (n == nullptr) return py::none();
    return py::str(n);
  });
  m.def("select_target", [](py::object name) {
    if (name.is_none()) return static_cast<int>(simdmax_select_target(nullptr));
    const std::string s = py::cast<std::string>(name);
    return static_cast<int>(simdmax_select_target(s.c_str()));
  });
  m.def("selected_target", [] { return std::string(simdmax_selected_target()); });
  m.def("set_max_threads", [](size_t n) { return static_cast<int>(simdmax_set_max_threads(n)); });

  py::class_<OnlineState>(m, "OnlineState")
      .def(py::init<>())
      .def_property_readonly("max", [](const OnlineState& s) { return s.s.max; })
      .def_property_readonly("sum", [](const OnlineState& s) { return s.s.sum; })
      .def("set",
           [](OnlineState& s, float max, double sum) {
             s.s.max = max;
             s.s.sum = sum;
           })
      .def("update",
           [](OnlineState& s, int x_type, Address x, size_t n) {
             py::gil_scoped_release release;
             return static_cast<int>(simdmax_online_update(&s.s, ToDtype(x_type), ConstPtr(x), n));
           })
      .def("merge", [](OnlineState& s,
                       const OnlineState& other) { return static_cast<int>(simdmax_online_merge(&s.s, &other.s)); })
      .def("log_sum_exp", [](const OnlineState& s) { return simdmax_online_log_sum_exp(&s.s); })
      .def("normalize", [](const OnlineState& s, bool log, int x_type, Address x, int y_type, Address y, size_t n) {
        py::gil_scoped_release release;
        return static_cast<int>(
            log ? simdmax_online_log_normalize(&s.s, ToDtype(x_type), ConstPtr(x), ToDtype(y_type), MutPtr(y), n)
                : simdmax_online_normalize(&s.s, ToDtype(x_type), ConstPtr(x), ToDtype(y_type), MutPtr(y), n));
      });

  m.def("dlpack_info", &DLPackInfo);
  m.def("dlpack_empty", &DLPackEmpty);
  m.def("attention_batch", &AttentionBatch);
  m.attr("DL_CPU") = static_cast<int>(kDLCPU);
  m.attr("DL_FLOAT") = static_cast<int>(kDLFloat);
  m.attr("DL_BFLOAT") = static_cast<int>(kDLBfloat);
}
