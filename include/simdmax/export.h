/* Symbol visibility for the simdmax C API. SIMDMAX_STATIC is defined by the CMake package for a static build. */
#ifndef SIMDMAX_EXPORT_H_
#define SIMDMAX_EXPORT_H_

#if defined(SIMDMAX_STATIC)
#define SIMDMAX_API
#elif defined(_WIN32)
#if defined(SIMDMAX_BUILDING)
#define SIMDMAX_API __declspec(dllexport)
#else
#define SIMDMAX_API __declspec(dllimport)
#endif
#else
#define SIMDMAX_API __attribute__((visibility("default")))
#endif

#endif /* SIMDMAX_EXPORT_H_ */
