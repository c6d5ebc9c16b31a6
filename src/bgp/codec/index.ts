// The BGP-4 codec: pure, symmetric, strictly validating. What the session layer uses.
export * from './types.ts';
export { BgpError } from './errors.ts';
export * as errors from './errors.ts';
export { frameLength, HEADER_LENGTH, MAX_MESSAGE_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, maxMessageLength } from './header.ts';
export { decodeMessage, encodeMessage, encodingLength } from './message.ts';
export { BGP_VERSION } from './open.ts';
export { notificationFor } from './notification.ts';
export { endOfRib, endOfRibFamily, packUpdates, packWithdrawals } from './pack.ts';
