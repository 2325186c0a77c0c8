// Handing freed memory back to the kernel after a large, short-lived
// allocation (the JSON tree of a 100,000-recipient campaign request: tens of
// MB freed at once). glibc keeps freed heap memory for reuse, per thread
// arena and above M_TRIM_THRESHOLD (main.cpp sets 64 MB): without this the
// API worker and the campaign runner each kept their parse's pages resident.
#pragma once

#include <malloc.h>

namespace volley {

inline void release_free_memory() { ::malloc_trim(0); }

}  // namespace volley
