#ifndef CUECAST_MALLOCINFO_H
#define CUECAST_MALLOCINFO_H

#include <stddef.h>

/// Bytes the C allocator has handed out and not had back, over every arena, from glibc's mallinfo2(3): the
/// in-use heap, which unlike RSS does not keep the pages that freed memory leaves behind. Swift's Glibc module
/// does not declare mallinfo2. Takes each arena's lock for a moment, so call it per scrape, not per frame.
size_t cuecast_heap_in_use(void);

/// Gives the pages of freed memory back to the kernel, in every arena, with glibc's malloc_trim(3): the free
/// space at each arena's top and, since glibc 2.8, whole free pages between chunks still in use. Returns 1 if
/// any memory was released. Walks each arena's free chunks under its lock: call it every few seconds at most.
int cuecast_heap_trim(void);

#endif
