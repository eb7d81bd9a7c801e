// The worker thread's entry point: TypeScript needs tsx registered in this thread too, then the
// run itself (worker.ts). Plain JavaScript so that Node can start it without a loader.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
