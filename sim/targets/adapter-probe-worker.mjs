// The probe's worker thread (adapter-probe.ts): tsx registered in this thread, then the probe itself.
import { register } from 'tsx/esm/api';

register();
await import('./adapter-probe-worker.ts');
