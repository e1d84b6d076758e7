#include <malloc.h>
#include "mallocinfo.h"

size_t cuecast_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    // uordblks: allocated chunks in the arenas; hblkhd: large blocks the allocator mmapped on their own.
    return info.uordblks + info.hblkhd;
}

int cuecast_heap_trim(void) {
    // Pad 0: keep nothing spare at the top; the allocator asks the kernel again when it needs to.
    return malloc_trim(0);
}
