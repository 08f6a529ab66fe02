import { quotaStoreContract } from './quota-store.contract';

quotaStoreContract('redis-outbox');
