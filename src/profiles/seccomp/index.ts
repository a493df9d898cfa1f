export * from './seccomp.js';
export { defaultProfileSource } from './default.js';
