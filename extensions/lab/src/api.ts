/** Calls to the server extension (`<base_url>api/cartable/…`), never to the exchange itself. */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { Messages } from './model';

export class PanelError extends Error {
  constructor(
    readonly messages: Messages,
    readonly status: number,
    readonly code: string
  ) {
    super(messages.en || messages.fr || code);
  }
}

export async function requestAPI<T>(endpoint: string, body?: object): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'api', 'cartable', endpoint);
  const init: RequestInit = body ? { method: 'POST', body: JSON.stringify(body) } : { method: 'GET' };
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  let data: any = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new PanelError(data?.messages ?? {}, response.status, data?.error ?? String(response.status));
  }
  return data as T;
}
