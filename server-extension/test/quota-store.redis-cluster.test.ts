import { quotaStoreContract } from './quota-store.contract';

quotaStoreContract('redis-cluster');
import { settleReleaseContract } from './quota-store.settle-release.contract';

settleReleaseContract('redis-cluster');
