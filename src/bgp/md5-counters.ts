// Why a TCP MD5 mismatch is silent, and how we still say it: the kernel drops a segment whose MD5
// signature is wrong, missing or unexpected before any socket sees it, so a passive session just
// never starts. The drops are counted per network namespace in /proc/net/netstat (TcpExt
// TCPMD5Failure / TCPMD5NotFound / TCPMD5Unexpected); a rise while a peer is not established is
// the evidence the status reports. The counters are not per address: the hint says so.
import { readFileSync } from 'node:fs';

export interface Md5Counters {
  /** Signed segment with a wrong signature (passwords differ). */
  failure: number;
  /** We have a key for the address, the segment was unsigned (the router has no password). */
  notFound: number;
  /** Signed segment, but we have no key for the address (only the router has a password). */
  unexpected: number;
}

/** The TcpExt MD5 counters from /proc/net/netstat text; undefined when absent. Pure. */
export function parseMd5Counters(netstat: string): Md5Counters | undefined {
  const lines = netstat.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith('TcpExt:') || !lines[i + 1]!.startsWith('TcpExt:')) continue;
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    const get = (n: string): number | undefined => {
      const k = names.indexOf(n);
      return k > 0 ? Number(values[k]) : undefined;
    };
    const failure = get('TCPMD5Failure');
    const notFound = get('TCPMD5NotFound');
    const unexpected = get('TCPMD5Unexpected');
    if (failure === undefined || notFound === undefined || unexpected === undefined) return undefined;
    return { failure, notFound, unexpected };
  }
  return undefined;
}

export function readMd5Counters(): Md5Counters | undefined {
  try {
    return parseMd5Counters(readFileSync('/proc/net/netstat', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The status text for a peer that is not established, given the rise of the counters since the
 * last look, or undefined when nothing was dropped. Pure.
 */
export function md5Hint(rise: Md5Counters, peerHasPassword: boolean): string | undefined {
  const parts: string[] = [];
  if (rise.failure > 0) parts.push(`${rise.failure} with a wrong MD5 signature`);
  if (rise.notFound > 0 && peerHasPassword) parts.push(`${rise.notFound} unsigned though a password is set`);
  if (rise.unexpected > 0 && !peerHasPassword) parts.push(`${rise.unexpected} signed though no password is set`);
  if (parts.length === 0) return undefined;
  return `the kernel dropped TCP segments (${parts.join(', ')}; counted for all peers of this node): authPassword probably differs from the router's`;
}

export function rise(now: Md5Counters, before: Md5Counters): Md5Counters {
  return { failure: now.failure - before.failure, notFound: now.notFound - before.notFound, unexpected: now.unexpected - before.unexpected };
}
