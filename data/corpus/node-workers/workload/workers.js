// worker_threads: two workers exchange Buffers and a SharedArrayBuffer with
// the main thread; the main thread allocates large Buffers (mmap'd by
// glibc) and frees some of them.
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

if (isMainThread) {
  const shared = new SharedArrayBuffer(1 << 20);
  const counts = new Int32Array(shared);
  const big = [];
  for (let i = 0; i < 6; i++) big.push(Buffer.alloc((2 + i) << 20, i));
  let done = 0;
  for (let w = 0; w < 2; w++) {
    const worker = new Worker(__filename, { workerData: { shared, id: w } });
    worker.on('message', (buf) => {
      counts[w] += buf.length;
    });
    worker.on('exit', () => {
      if (++done === 2) {
        big.length = 2;
        console.log('bytes', counts[0], counts[1]);
      }
    });
  }
} else {
  const counts = new Int32Array(workerData.shared);
  for (let round = 0; round < 3; round++) {
    const b = Buffer.alloc((1 + round) << 20, workerData.id);
    Atomics.add(counts, 16 + workerData.id, 1);
    parentPort.postMessage(b);
  }
}
