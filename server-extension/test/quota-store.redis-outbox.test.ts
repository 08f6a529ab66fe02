import { quotaStoreContract } from './quota-store.contract';

quotaStoreContract('redis-outbox');
import { settleReleaseContract } from './quota-store.settle-release.contract';

settleReleaseContract('redis-outbox');
