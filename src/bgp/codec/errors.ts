// BgpError: malformed input, carrying exactly the NOTIFICATION (code, subcode, data) that RFC 4271
// §6 (as revised by RFC 7606, 6793, 4760, 5492 where they apply) tells the receiver to send. The
// session layer catches it, sends that NOTIFICATION and closes; nothing else is thrown on bad bytes.

export const ERR_HEADER = 1;
export const ERR_OPEN = 2;
export const ERR_UPDATE = 3;
export const ERR_HOLD_TIMER = 4;
export const ERR_FSM = 5;
export const ERR_CEASE = 6;
export const ERR_ROUTE_REFRESH = 7;

// Message Header Error subcodes (RFC 4271 §6.1)
export const HEADER_NOT_SYNCHRONIZED = 1;
export const HEADER_BAD_LENGTH = 2;
export const HEADER_BAD_TYPE = 3;

// OPEN Message Error subcodes (RFC 4271 §6.2; 7 from RFC 5492)
export const OPEN_UNSPECIFIC = 0;
export const OPEN_UNSUPPORTED_VERSION = 1;
export const OPEN_BAD_PEER_AS = 2;
export const OPEN_BAD_BGP_ID = 3;
export const OPEN_UNSUPPORTED_OPTIONAL_PARAMETER = 4;
export const OPEN_UNACCEPTABLE_HOLD_TIME = 6;
export const OPEN_UNSUPPORTED_CAPABILITY = 7;

// UPDATE Message Error subcodes (RFC 4271 §6.3)
export const UPDATE_MALFORMED_ATTRIBUTE_LIST = 1;
export const UPDATE_UNRECOGNIZED_WELL_KNOWN = 2;
export const UPDATE_MISSING_WELL_KNOWN = 3;
export const UPDATE_ATTRIBUTE_FLAGS = 4;
export const UPDATE_ATTRIBUTE_LENGTH = 5;
export const UPDATE_INVALID_ORIGIN = 6;
export const UPDATE_INVALID_NEXT_HOP = 8;
export const UPDATE_OPTIONAL_ATTRIBUTE = 9;
export const UPDATE_INVALID_NETWORK_FIELD = 10;
export const UPDATE_MALFORMED_AS_PATH = 11;

// ROUTE-REFRESH Message Error subcode (RFC 7313 §5)
export const ROUTE_REFRESH_INVALID_LENGTH = 1;

export class BgpError extends Error {
  override readonly name = 'BgpError';
  constructor(
    readonly code: number,
    readonly subcode: number,
    message: string,
    readonly data: Uint8Array = new Uint8Array(0),
  ) {
    super(`${message} (NOTIFICATION ${code}/${subcode})`);
  }
}
