// Entry of a tune worker thread: TypeScript sources run through tsx here as in the main thread.
import { register } from 'tsx/esm/api';

register();
await import('./tune-worker.ts');
