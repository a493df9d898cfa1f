// The berthd entry point, CommonJS on purpose: FIFO opens block a libuv pool thread until the shim
// opens the other side, so the pool must be larger than the default 4 — and the ESM loader starts
// the pool before an ES module's first line runs. A CommonJS entry sets the size first.
process.env.UV_THREADPOOL_SIZE ??= '64';
void import('./berthd.js');
