/**
 * Preloaded into a measured process (`node --expose-gc --import <this file>`): over the IPC channel,
 * `{ type: 'memory' }` is answered with `process.memoryUsage()` taken after two full garbage
 * collections. Does nothing in a process started without IPC. The channel does not keep the process
 * alive.
 */
interface MemoryRequest {
  type?: string;
  id?: number;
}

if (typeof process.send === 'function') {
  process.on('message', (msg: MemoryRequest) => {
    if (msg?.type !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const usage = process.memoryUsage();
    process.send?.({ type: 'memory', id: msg.id, gc: gc !== undefined, ...usage });
  });
  // After adding the listener (which refs the channel): the probe must not keep the process alive.
  process.channel?.unref();
}
