#ifndef CUECAST_MEMFD_H
#define CUECAST_MEMFD_H

/// memfd_create(2) with MFD_CLOEXEC: an anonymous file in memory. Swift's Glibc module leaves it out, because
/// glibc declares it only under _GNU_SOURCE. Returns -1 and sets errno on failure.
int cuecast_memfd_create(const char *name);

#endif
