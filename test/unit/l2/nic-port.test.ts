import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkChange, type LinkSeen } from '../../../src/l2/nic-port.ts';

const seen: LinkSeen = { ifindex: 3, mac: '02:00:00:00:00:01', up: true, receiveErrors: 1 };
const nic = { index: 3, mac: '02:00:00:00:00:01', up: true };

test('a NIC check: gone, replaced (new ifindex or MAC), down, up, socket errors, or nothing', () => {
  assert.equal(linkChange(seen, undefined, 1), 'gone');
  assert.equal(linkChange(seen, { ...nic, index: 4 }, 1), 'replaced');
  assert.equal(linkChange(seen, { ...nic, mac: '02:00:00:00:00:02' }, 1), 'replaced');
  assert.equal(linkChange(seen, { ...nic, up: false }, 2), 'down');
  assert.equal(linkChange({ ...seen, up: false }, nic, 2), 'up');
  assert.equal(linkChange(seen, nic, 1), 'none');
  // A flap shorter than the check interval leaves only the ENETDOWN it raised on the socket.
  assert.equal(linkChange(seen, nic, 2), 'errors');
  // While down, errors are expected; the reopen waits for the link.
  assert.equal(linkChange({ ...seen, up: false }, { ...nic, up: false }, 5), 'none');
});
