/**
 * Hooks for admin: webhook endpoints, test events and the delivery log (ExtrasRoutes). Like hooks.ts they hide
 * the transport: components get react-query state; live changes arrive as socket events (provider.tsx).
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ExtrasRoutes, type WebhookDeliveryDTO, type WebhookEndpointCreatedDTO, type WebhookEndpointDTO, type WebhookEndpointInput } from '@solaris/wire';
import { useSolaris } from './provider';
import { keys } from './keys';
import { useAdminChange } from './admin-change';

export function useWebhooks() {
  const { api } = useSolaris();
  return useQuery({ queryKey: keys.adminWebhooks, queryFn: () => api.get<WebhookEndpointDTO[]>(ExtrasRoutes.adminWebhooks) });
}

export function useWebhookDeliveries(endpointId: string) {
  const { api } = useSolaris();
  return useQuery({
    queryKey: keys.adminWebhookDeliveries(endpointId),
    queryFn: () => api.get<WebhookDeliveryDTO[]>(ExtrasRoutes.adminWebhookDeliveries, undefined, { endpointId: endpointId || undefined, limit: 50 }),
  });
}

/** The creation answer carries the signing secret: the caller shows it once and never stores it. */
export function useCreateWebhook() {
  const { api } = useSolaris();
  const qc = useQueryClient();
  return useAdminChange(async (v: WebhookEndpointInput) => {
    const created = await api.send<WebhookEndpointCreatedDTO>('POST', ExtrasRoutes.adminWebhooks, {}, v);
    // listed at once (the refetch confirms it); the secret never goes into the cache
    const { secret: _secret, ...endpoint } = created;
    qc.setQueryData<WebhookEndpointDTO[]>(keys.adminWebhooks, (list) => (list ? [...list, endpoint] : list));
    return created;
  }, [keys.adminWebhooks]);
}

export function useUpdateWebhook() {
  const { api } = useSolaris();
  return useAdminChange(
    (v: { id: string; patch: Partial<WebhookEndpointInput> }) => api.send<WebhookEndpointDTO>('PUT', ExtrasRoutes.adminWebhook, { endpointId: v.id }, v.patch),
    [keys.adminWebhooks],
  );
}

export function useDeleteWebhook() {
  const { api } = useSolaris();
  return useAdminChange((id: string) => api.send<null>('DELETE', ExtrasRoutes.adminWebhook, { endpointId: id }), [keys.adminWebhooks, keys.adminWebhookDeliveriesRoot]);
}

export function useTestWebhook() {
  const { api } = useSolaris();
  return useAdminChange((id: string) => api.send<{ eventId: string }>('POST', ExtrasRoutes.adminWebhookTest, { endpointId: id }), [keys.adminWebhookDeliveriesRoot]);
}
