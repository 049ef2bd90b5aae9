import type { ProviderConfig } from '../ai-schema.ts';
import { failure } from '../provider-errors.ts';
import type { ProviderAdapter } from '../provider.ts';

export function createAnthropicAdapter(config: ProviderConfig): ProviderAdapter {
  void config;
  return {
    type: 'anthropic',
    chat: async () => failure('provider_unavailable', null, 'not implemented yet', null),
    embed: async () => failure('provider_unavailable', null, 'not implemented yet', null),
  };
}
