// Waits on a signal that only an unref'd timer aborts: nothing else holds the event loop.
import { untilAborted } from '../wait.js';

const controller = new AbortController();
setTimeout(() => controller.abort(), Number(process.argv[2] ?? 1000)).unref();
await untilAborted(controller.signal);
console.log('kept until abort');
