// The file cluster forks for every worker; all the logic lives in worker.ts.
import { workerMain } from './worker.ts';

workerMain();
