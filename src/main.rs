fn main() -> std::process::ExitCode {
    release_large_allocations();
    schedplus::cli::main()
}

/// Make glibc give large blocks back to the system when they are freed.
///
/// glibc serves an allocation of 128 KiB or more with its own mapping, but after the first
/// such block is freed it raises that threshold to the block's size (up to 32 MiB), and from
/// then on keeps blocks of that size in its per-thread arenas after they are freed. A server
/// that hashes a password (Argon2: 19 MiB) or builds a large answer on one of many worker
/// threads then keeps tens of megabytes per thread resident for good (measured under
/// `scripts/load.sh`: 74 MiB after warm-up where 37 MiB sufficed before passwords). Fixing the
/// threshold at 1 MiB keeps every block from 1 MiB up a mapping of its own, returned on free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_large_allocations() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread
    // exists, and M_MMAP_THRESHOLD with a value under HEAP_MAX is always accepted.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_large_allocations() {}
