// Why an image update did not land, as the reason of the GitSource's ImagesUpdated condition.
import { sanitizeMessage } from '../api/index.ts';

export type UpdateReason = 'PushRejected' | 'PushFailed' | 'InvalidSpec' | 'InvalidMarker';

export class UpdateError extends Error {
  override readonly name = 'UpdateError';
  constructor(
    readonly reason: UpdateReason,
    message: string,
  ) {
    super(sanitizeMessage(message, { maxBytes: 4096 }));
  }
}
