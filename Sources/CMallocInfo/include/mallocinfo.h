#ifndef CUECAST_MALLOCINFO_H
#define CUECAST_MALLOCINFO_H

#include <stddef.h>

/// Bytes the C allocator has handed out and not had back, over every arena, from glibc's mallinfo2(3): the
/// in-use heap, which unlike RSS does not keep the pages that freed memory leaves behind. Swift's Glibc module
/// does not declare mallinfo2. Takes each arena's lock for a moment, so call it per scrape, not per frame.
size_t cuecast_heap_in_use(void);

#endif
