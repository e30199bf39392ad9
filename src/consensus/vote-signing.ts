import { createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import type { SignedVote, VoteBody } from '../domain/consensus.js';
import type { ConsensusStore } from '../ports/consensus-store.js';

/**
 * Votes are signed with Ed25519 (node:crypto). What is signed is the canonical JSON of the vote's
 * body: its six fields in a fixed order, so that signer and verifier serialise it byte for byte alike.
 */
export function canonicalVote(body: VoteBody): string {
  return JSON.stringify(voteBody(body));
}

/** An Ed25519 signature is 64 bytes: 88 characters of base64 ending in `==`. */
const SIGNATURE_PATTERN = /^[A-Za-z0-9+/]{86}==$/;

interface VoterKey {
  privateKey: KeyObject;
  /** SPKI DER, base64, as registered in the store. */
  publicKey: string;
}

export interface VoterKeyringOptions {
  store: Pick<ConsensusStore, 'putVoterKey'>;
  now: () => number;
}

/**
 * The signing keys of the voters this process votes for (one keyring per colony). A voter's key
 * pair is created on first use and its public key registered in the store; the private key lives
 * only in this process's memory. A restarted process therefore registers a fresh key for a voter
 * it signs for, which replaces the old one: votes are verified when they are cast, so nothing
 * stored needs the old key again.
 */
export class VoterKeyring {
  readonly #options: VoterKeyringOptions;
  readonly #keys = new Map<string, Promise<VoterKey>>();

  constructor(options: VoterKeyringOptions) {
    this.#options = options;
  }

  /** The voter's public key (SPKI DER, base64), creating and registering its key pair on first use. */
  async publicKey(voterId: string): Promise<string> {
    return (await this.#key(voterId)).publicKey;
  }

  /** Signs the vote with the voter's key (`body.voterId`). */
  async sign(body: VoteBody): Promise<SignedVote> {
    const key = await this.#key(body.voterId);
    const signature = await new Promise<Buffer>((resolve, reject) =>
      sign(null, Buffer.from(canonicalVote(body)), key.privateKey, (error, sig) => (error ? reject(error) : resolve(sig))),
    );
    return { ...voteBody(body), signature: signature.toString('base64') };
  }

  #key(voterId: string): Promise<VoterKey> {
    let key = this.#keys.get(voterId);
    if (!key) {
      key = this.#create(voterId);
      this.#keys.set(voterId, key);
      // A failed registration is tried again next time rather than remembered.
      key.catch(() => this.#keys.delete(voterId));
    }
    return key;
  }

  async #create(voterId: string): Promise<VoterKey> {
    const pair = await new Promise<{ publicKey: KeyObject; privateKey: KeyObject }>((resolve, reject) =>
      generateKeyPair('ed25519', {}, (error, publicKey, privateKey) => (error ? reject(error) : resolve({ publicKey, privateKey }))),
    );
    const publicKey = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    await this.#options.store.putVoterKey(voterId, publicKey, this.#options.now());
    return { privateKey: pair.privateKey, publicKey };
  }
}

/** A registered public key (SPKI DER, base64) as a key object; null when it is not an Ed25519 key. */
export function parsePublicKey(spkiBase64: string): KeyObject | null {
  try {
    const key = createPublicKey({ key: Buffer.from(spkiBase64, 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ed25519' ? key : null;
  } catch {
    return null;
  }
}

/** Whether `signature` is the voter's signature of `body`; anything malformed is simply false. */
export function verifyVote(body: VoteBody, signature: string, publicKey: KeyObject | string): boolean {
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
  if (!key || !SIGNATURE_PATTERN.test(signature)) return false;
  try {
    return verify(null, Buffer.from(canonicalVote(body)), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** verifyVote on libuv's thread pool, so that a round's many verifications use every core. */
export function verifyVoteAsync(body: VoteBody, signature: string, publicKey: KeyObject): Promise<boolean> {
  if (!SIGNATURE_PATTERN.test(signature)) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(null, Buffer.from(canonicalVote(body)), publicKey, Buffer.from(signature, 'base64'), (error, ok) => resolve(!error && ok));
    } catch {
      resolve(false);
    }
  });
}

/** Only the body's own fields (a caller's object may carry more), in the order that is signed. */
export function voteBody(body: VoteBody): VoteBody {
  return {
    proposalId: body.proposalId,
    round: body.round,
    voterId: body.voterId,
    decision: body.decision,
    confidence: body.confidence,
    reason: body.reason,
  };
}
