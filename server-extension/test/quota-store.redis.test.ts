import { quotaStoreContract } from './quota-store.contract';

quotaStoreContract('redis');
import { settleReleaseContract } from './quota-store.settle-release.contract';

settleReleaseContract('redis');
