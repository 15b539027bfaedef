// A refused webhook delivery whose answer must not say which check failed: a caller probing the endpoint (a
// padding oracle, a replay, a guessed signature) learns nothing from the status, body or message. The precise
// reason is a short snake_case code for the metrics label and the log, which only the operator sees.
import { UnauthorizedError } from '../core/errors.js';

export class RefusedDelivery extends UnauthorizedError {
  constructor(
    publicMessage: string,
    readonly reason: string,
  ) {
    super(publicMessage);
  }
}
