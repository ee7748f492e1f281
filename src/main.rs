fn main() -> std::process::ExitCode {
    release_large_allocations();
    schedplus::cli::main()
}

/// Make glibc give large blocks back to the system when they are freed, and keep what
/// threads free in few arenas.
///
/// glibc serves an allocation of 128 KiB or more with its own mapping, but after the first
/// such block is freed it raises that threshold to the block's size (up to 32 MiB), and from
/// then on keeps blocks of that size in its per-thread arenas after they are freed. A server
/// that hashes a password (Argon2: 19 MiB) or builds a large answer on one of many worker
/// threads then keeps tens of megabytes per thread resident for good (measured under
/// `scripts/load.sh`: 74 MiB after warm-up where 37 MiB sufficed before passwords). Fixing the
/// threshold at 1 MiB keeps every block from 1 MiB up a mapping of its own, returned on free.
///
/// glibc also gives threads arenas of their own, up to 8 per core, and memory freed in one
/// stays with it. A listing streams its pages from whichever blocking-pool thread runs next,
/// so each of those threads' arenas ended up holding pages of the store read and freed: a
/// `PROPFIND Depth: 1` of 100,000 messages peaked at 64 MB with 16 arenas and 48 MB with 2
/// (the server at 22 MB before it, a 16 MiB page cache; measured with `MALLOC_ARENA_MAX`).
/// Two arenas serve two busy threads at once; small blocks come from each thread's own
/// cache (tcache) without taking an arena's lock at all. An operator's own
/// `MALLOC_ARENA_MAX` (read by glibc before `main`) is left as set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_large_allocations() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread
    // exists, and M_MMAP_THRESHOLD with a value under HEAP_MAX and M_ARENA_MAX with a
    // positive value are always accepted.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_large_allocations() {}
