// The berthd entry point. FIFO opens block a libuv pool thread until the shim opens the other
// side, so the pool must be larger than the default 4 before anything touches it.
process.env.UV_THREADPOOL_SIZE ??= '64';
await import('./berthd.js');
