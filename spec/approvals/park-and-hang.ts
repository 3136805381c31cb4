// Child process for the kill -9 spec: parks one record, prints its id, then hangs until killed.
import { SqliteApprovalStore } from '../../lib/approvals/sqlite-store.js';
import { parked } from './fixtures.js';

const store = new SqliteApprovalStore(process.argv[2]!);
process.stdout.write(`${store.park(parked()).id}\n`);
setInterval(() => {}, 1000);
